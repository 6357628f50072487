/**
 * The whole play's lockout pre-flight on one host, before its first change.
 * Every task is planned in order the way check mode plans it (each task sees
 * what the earlier ones would leave: a firewall opened, sshd moved), and the
 * first change the pre-flight refuses is returned, so a play that would lock
 * us out at task 9 does not leave tasks 1 to 8 applied. Nothing runs on the
 * host but fact reads; the session's predictions are dropped afterwards, the
 * facts read stay for the run.
 */
import { loopItems, registeredValue, runTaskItem, type PipelineEnv } from './pipeline.js';
import type { PlayDef, TaskDef, TaskRegistry } from './playbook.js';

/** A play needs the pass when one of its tasks can cut SSH access and a refusal would stop it. */
export function needsPreflight(tasks: readonly TaskDef[], registry: TaskRegistry, o: { protection: boolean; allowLockout: boolean; ssh: boolean }): boolean {
  return o.ssh && o.protection && !o.allowLockout && tasks.some((t) => registry[t.module]?.lockout !== undefined);
}

export interface Refusal {
  task: TaskDef;
  message: string;
}

/** Plan `tasks` in check mode with `env` (its `check` must be true); the first refusal, or undefined. */
export async function preflightPlay(
  play: PlayDef,
  tasks: readonly TaskDef[],
  env: PipelineEnv,
  varsOf: (registered: Record<string, unknown>, task: TaskDef) => Record<string, unknown>,
  registered: Record<string, unknown>,
): Promise<Refusal | undefined> {
  let reg = registered;
  const accessPort = env.session.accessPort;
  try {
    for (const task of tasks) {
      let vars: Record<string, unknown>;
      let items: unknown[] | undefined;
      try {
        vars = varsOf(reg, task);
        items = loopItems(task, vars);
      } catch {
        continue; // the real run reports it
      }
      const perItem: Record<string, unknown>[] = [];
      for (const item of items ?? [undefined]) {
        const outcome = await runTaskItem(task, play, items ? { ...vars, [task.loopVar]: item } : vars, env);
        if (outcome.result.code === 'E_LOCKOUT') return { task, message: outcome.result.message };
        if (outcome.unreachable) return undefined;
        perItem.push(outcome.registered);
      }
      if (task.register) reg = { ...reg, [task.register]: registeredValue(items, perItem) };
    }
    return undefined;
  } finally {
    // nothing changed on the host: what was read stays, what was predicted goes
    env.session.dropPredictions();
    env.session.accessPort = accessPort;
  }
}
