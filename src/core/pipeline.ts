/**
 * One task on one host, for one loop item: evaluate `when`, render and
 * validate the arguments, read the facts the module asks for, plan, run the
 * lockout pre-flight, then predict (check mode) or apply, and build the
 * registered result. All host I/O goes through the session it is given, so
 * the pipeline can be driven by a fake session in tests.
 */
import type { z } from 'zod';
import type { ExecResult } from '../connections/types.js';
import { CommandError, ConnectionError, LockoutError, ProvisionError, TemplateError, ValidationError, errorMessage, formatIssue } from '../contract/errors.js';
import type { FactRequest } from '../contract/fact.js';
import type { HostFacts } from '../contract/host-facts.js';
import type { AccessInfo, Control, Diff, HostKeyChange, Plan, RebootRequest, RegisterData, TaskContext, TaskModule } from '../contract/task.js';
import type { Rebooted } from './reboot.js';
import type { ConfirmRequest, StepRunner } from './confirm.js';
import type { ExecRequest, FactRead, ReadAfter, RunAs } from './host.js';
import { searchDirsOf, type PlayDef, type TaskDef, type TaskRegistry } from './playbook.js';
import type { TaskResult, TaskStatus } from './results.js';
import { fileglob } from './local-files.js';
import { lookupItems } from './loops.js';
import { dropOmitted, evalCondition, renderValue } from './template.js';

/** What the pipeline needs of a host session (HostSession, or a fake in tests). */
export interface PipelineSession {
  readonly facts: HostFacts;
  readonly connection: { readonly kind: string };
  /** The sshd port on the host side our access goes through. */
  accessPort: number;
  /** Check mode: how many changes were reported on this host so far, only predicted (reset with the predictions). */
  predictedChanges: number;
  /** Read the facts not cached in one round trip; `ahead`: reads of later task items to ride along when a round trip is needed. */
  readFacts(requests: readonly FactRequest[], as: RunAs, ahead?: () => readonly FactRead[]): Promise<Map<string, unknown>>;
  exec(command: string, req: ExecRequest): Promise<ExecResult>;
  /** exec, then in the same round trip the facts of `reads` as the command left them, kept apart until adopted. */
  execThenRead(command: string, req: ExecRequest, reads: readonly FactRead[]): Promise<{ res: ExecResult; after: ReadAfter }>;
  /** Take values read after a command as the host's (once it is known to have succeeded, after invalidate). */
  adopt(after: ReadAfter): void;
  predict(request: FactRequest, value: unknown, as: RunAs): void;
  /** Forget the predictions; keep what was read. */
  dropPredictions(): void;
  invalidate(): void;
}

export interface LockoutOverrides {
  protection?: boolean;
  rollbackTimeoutSec?: number;
  allowLockout?: boolean;
}

/** What the inventory (and `-b`, where the inventory is silent) says about becoming on this host. */
export interface HostBecome {
  readonly become?: boolean;
  readonly becomeUser?: string;
}

/**
 * Who a task's commands run as. Each setting comes from the first of these that
 * says it: the task, the play, the host's inventory variables (`become` /
 * `ansible_become`, `become_user` / `ansible_become_user`, group vars
 * included), then `-b` (become only). Otherwise no sudo; the user to become
 * defaults to root.
 */
export function runAs(task: Pick<TaskDef, 'become' | 'becomeUser'>, play: Pick<PlayDef, 'become' | 'becomeUser'>, host: HostBecome): RunAs {
  return {
    become: task.become ?? play.become ?? host.become ?? false,
    becomeUser: task.becomeUser ?? play.becomeUser ?? host.becomeUser ?? 'root',
  };
}

export interface PipelineEnv {
  readonly registry: TaskRegistry;
  readonly hostBecome: HostBecome;
  readonly check: boolean;
  /** Default per-step timeout in ms (0 or undefined: none). */
  readonly taskTimeoutMs?: number;
  /** Command-line overrides of the play's lockout options. */
  readonly lockout?: LockoutOverrides;
  readonly session: PipelineSession;
  /** How we reach the host right now, as the host sees it. */
  access(): AccessInfo;
  /** Apply an access-risky change commit-confirmed (confirm.ts); returns what to add to the message. */
  applyConfirmed(req: ConfirmRequest): Promise<string>;
  /** Record sshd's new host keys in known_hosts after an unconfirmed change (confirm.ts); returns what to add to the message. */
  recordHostKeys(change: HostKeyChange): Promise<string>;
  /** Reboot the host and continue over a new connection once it is back (reboot.ts). */
  reboot(req: RebootRequest, as: RunAs): Promise<Rebooted>;
  /**
   * What the task items after this one will read (prefetch.ts readsAhead): an
   * apply reads them in the round trip of its last step. Unset: none.
   */
  readsAhead?(): readonly FactRead[];
  /** Wait between the attempts of an `until` task (tests pass a fake; default: a timer). */
  sleep?(ms: number): Promise<void>;
}

/** The part of a TaskResult the pipeline decides; the runner adds host, play, task name. */
export type ItemResult = Pick<TaskResult, 'status' | 'message' | 'durationMs' | 'rc' | 'stdout' | 'stderr' | 'code'> & { diffs: Diff[] };

export interface ItemOutcome {
  result: ItemResult;
  /** What `register:` stores for this item. */
  registered: Record<string, unknown>;
  /** Set when the connection was lost: the host is unreachable from now on. */
  unreachable?: unknown;
  /** A control task's request to the run (variables to set, a flush or end of the play). */
  control?: Control;
}

/** The items a task (or include) loops over, rendered (undefined: no loop); `with_<lookup>` builds them as that lookup does. */
export function loopItems(task: Pick<TaskDef, 'loop' | 'loopWith' | 'searchPath' | 'location'>, vars: Record<string, unknown>): unknown[] | undefined {
  if (task.loop === undefined) return undefined;
  const rendered = renderValue(typeof task.loop === 'string' ? task.loop.trim() : task.loop, vars);
  if (task.loopWith === 'fileglob') return fileglob((Array.isArray(rendered) ? rendered : [rendered]).map(String), searchDirsOf(task).files);
  if (task.loopWith !== undefined) return lookupItems(task.loopWith, rendered);
  if (!Array.isArray(rendered)) throw new ProvisionError('E_LOOP', `loop must be a list, got ${typeof rendered}`);
  return rendered;
}

/** What `register:` stores for a task: the item's result, or every item's under `results` for a loop. */
export function registeredValue(items: unknown[] | undefined, perItem: Record<string, unknown>[]): unknown {
  return items ? { results: perItem, changed: perItem.some((r) => r.changed === true), skipped: false } : perItem[0];
}

export function codeOf(err: unknown): string {
  return err instanceof ProvisionError ? err.code : 'E_INTERNAL';
}

/**
 * The result as `register:` stores it (Ansible's names), with the module's own
 * return values (`data`: `stat`, `ping`, `dest`...) merged in first, so the
 * common keys always mean what they mean for every task.
 */
export function registeredOf(result: Pick<ItemResult, 'status' | 'message' | 'rc' | 'stdout' | 'stderr'>, data?: RegisterData): Record<string, unknown> {
  return {
    ...data,
    changed: result.status === 'changed',
    failed: result.status === 'failed',
    skipped: result.status === 'skipped',
    msg: result.message,
    ...(result.rc !== undefined ? { rc: result.rc } : {}),
    ...(result.stdout !== undefined
      ? { stdout: result.stdout, stdout_lines: result.stdout.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1) }
      : {}),
    ...(result.stderr !== undefined ? { stderr: result.stderr } : {}),
  };
}

interface Prepared {
  module: TaskModule;
  args: z.output<z.ZodType>;
  as: RunAs;
  ctx: TaskContext;
}

/** Render the arguments, validate them with the module's schema, and run its local preparation. */
async function prepare(task: TaskDef, play: PlayDef, vars: Record<string, unknown>, env: PipelineEnv): Promise<Prepared> {
  const module = env.registry[task.module];
  if (!module) throw new ProvisionError('E_UNKNOWN_TASK', `unknown task type ${task.module}`);
  // arguments set to `omit` are left out, as in Ansible
  const parsed = module.schema.safeParse(dropOmitted(renderValue(task.args, vars)));
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => ({ location: task.location, path: [task.module, ...i.path.map(String)].join('.'), message: i.message })),
    );
  }
  const as = runAs(task, play, env.hostBecome);
  const ctx: TaskContext = { host: env.session.facts, check: env.check, become: as.become, vars, searchDirs: searchDirsOf(task), earlierChanges: env.session.predictedChanges };
  const args = module.prepare ? await module.prepare(parsed.data, ctx) : parsed.data;
  return { module, args, as, ctx };
}

/** Read the module's facts in one round trip and plan. */
async function planTask(p: Prepared, env: PipelineEnv): Promise<{ plan: Plan; facts: Record<string, unknown> }> {
  const requests = p.module.facts(p.args, p.ctx) as Record<string, FactRequest>;
  const values = await env.session.readFacts(Object.values(requests), p.as, env.readsAhead);
  const facts = Object.fromEntries(Object.entries(requests).map(([k, r]) => [k, values.get(r.id)]));
  return { plan: p.module.plan(p.args, facts as never, p.ctx), facts };
}

/** Refuse a change that would cut our own access, unless allowed; returns a warning to show when allowed. */
function preflight(p: Prepared, facts: Record<string, unknown>, allowLockout: boolean, env: PipelineEnv): string {
  const reason = p.module.lockout?.(p.args, facts as never, env.access(), p.ctx);
  if (!reason) return '';
  if (!allowLockout) {
    throw new LockoutError(
      'E_LOCKOUT',
      `refused: ${reason}; this would cut the SSH access this run depends on (set allow_lockout: true on the play or pass --allow-lockout to apply it anyway; the rollback still guards it)`,
    );
  }
  return ` (pre-flight warning overridden: ${reason})`;
}

/**
 * The steps of a plan, in order, as the task's user; a step outside its ok
 * codes fails the task. `ahead`: facts to read after the last step, in its
 * round trip (their values in `last.after`).
 */
function stepRunner(task: TaskDef, p: Prepared, plan: Extract<Plan, { kind: 'change' }>, env: PipelineEnv, last: { res?: ExecResult; after?: ReadAfter }, ahead: readonly FactRead[] = []): StepRunner {
  return async (prefix, defaultTimeoutMs, graceMs) => {
    for (const [i, step] of plan.steps.entries()) {
      const stepTimeout = step.timeoutMs ?? defaultTimeoutMs;
      const req = {
        ...p.as,
        ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
        ...(stepTimeout ? { timeoutMs: stepTimeout } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
      };
      const { res, after } = i === plan.steps.length - 1 && ahead.length > 0 ? await env.session.execThenRead(prefix + step.command, req, ahead) : { res: await env.session.exec(prefix + step.command, req), after: undefined };
      last.res = res;
      last.after = after;
      if (!(step.okCodes ?? [0]).includes(res.code ?? -1) && !(p.module.opaque && task.failedWhen !== undefined)) {
        const stderr = res.stderr.trim();
        throw new CommandError(step.command, res.code, res.stderr, `${plan.summary}: exit ${res.code ?? 'by signal'}${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}`);
      }
    }
  };
}

/** Ansible's defaults for `until` without `retries` / `delay`: 3 attempts in all, 5 seconds apart. */
export const UNTIL_DEFAULTS = { attempts: 3, delaySec: 5 } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One task on one host for one loop item; with `until`, run again (after
 * `delay` seconds) until the condition holds over the registered result, as
 * Ansible does: `retries` more attempts after the first (3 attempts in all
 * without it), the result has `attempts`, and once they are spent the task
 * fails. A skipped task, a lost connection, and check mode (which plans the
 * task once: nothing ran that could make the condition hold) are not retried.
 */
export async function runTaskItem(task: TaskDef, play: PlayDef, vars: Record<string, unknown>, env: PipelineEnv): Promise<ItemOutcome> {
  const until = task.until;
  if (until === undefined) return runTaskOnce(task, play, vars, env);
  const attempts = until.retries === undefined ? UNTIL_DEFAULTS.attempts : Math.max(1, until.retries + 1);
  const delayMs = (until.delaySec ?? UNTIL_DEFAULTS.delaySec) * 1000;
  for (let attempt = 1; ; attempt++) {
    const out = await runTaskOnce(task, play, vars, env);
    const registered = { ...out.registered, attempts: attempt };
    const final = { ...out, registered };
    if (out.unreachable || out.result.status === 'skipped' || (env.check && task.checkMode !== false)) return final;
    const condVars = task.register ? { ...vars, [task.register]: registered, ...registered } : { ...vars, ...registered };
    let holds: boolean;
    try {
      holds = evalCondition(until.condition, condVars);
    } catch (err) {
      const message = `until: ${errorMessage(err)}`;
      return { ...out, result: { ...out.result, status: 'failed', message, code: codeOf(err) }, registered: { ...registered, failed: true, msg: message } };
    }
    if (holds) return final;
    if (attempt >= attempts) {
      const message = `until is still false after ${attempt} attempts: ${out.result.message}`;
      return { ...out, result: { ...out.result, status: 'failed', message }, registered: { ...registered, failed: true, msg: message } };
    }
    await (env.sleep ?? sleep)(delayMs);
  }
}

async function runTaskOnce(task: TaskDef, play: PlayDef, vars: Record<string, unknown>, env: PipelineEnv): Promise<ItemOutcome> {
  const t0 = Date.now();
  const done = (status: TaskStatus, message: string, extra: Partial<ItemResult> = {}, data?: RegisterData): ItemOutcome => {
    const result: ItemResult = { status, message, durationMs: Date.now() - t0, ...extra, diffs: extra.diffs ?? [] };
    return { result, registered: registeredOf(result, data) };
  };
  try {
    if (task.when !== undefined && !evalCondition(task.when, vars)) return done('skipped', 'condition is false (when)');
    const p = await prepare(task, play, vars, env);
    const { plan, facts } = await planTask(p, env);
    if (plan.kind === 'ok') return { ...done('ok', plan.reason, {}, plan.data), ...(plan.control ? { control: plan.control } : {}) };
    if (plan.kind === 'skip') return done('skipped', plan.reason);
    if (plan.kind === 'probe') return await probe(task, p, plan, env, done);
    const diffs = [...(plan.diffs ?? [])];
    const lockout = { protection: play.lockoutProtection, rollbackTimeoutSec: play.rollbackTimeout, allowLockout: play.allowLockout, ...env.lockout };
    const session = env.session;
    const guarded = plan.risk === 'access' && session.connection.kind === 'ssh' && session.facts.ssh !== null;
    const warning = guarded ? preflight(p, facts, lockout.allowLockout, env) : '';
    // Opaque tasks (command, shell) cannot be predicted: check mode skips them unless check_mode: false
    if (env.check && task.checkMode !== false) {
      if (p.module.opaque) return done('skipped', `check mode: would run: ${plan.summary}`);
      for (const pr of plan.predictions ?? []) session.predict(pr.request, pr.value, p.as);
      session.predictedChanges++;
      if (plan.sshPort !== undefined) session.accessPort = plan.sshPort;
      return done('changed', plan.summary + warning, { diffs }, plan.data);
    }
    const last: { res?: ExecResult; after?: ReadAfter } = {};
    const timeoutMs = task.timeoutMs ?? env.taskTimeoutMs;
    // reads ahead on the plain path only: a reboot, a commit-confirmed apply or new host keys change more than the steps say
    const plain = !plan.reboot && !(guarded && lockout.protection) && !plan.hostKeys;
    const runSteps = stepRunner(task, p, plan, env, last, plain ? (env.readsAhead?.() ?? []) : []);
    let note = '';
    let data = plan.data;
    try {
      if (plan.reboot) {
        const back = await env.reboot(plan.reboot, p.as);
        note = `; back after ${back.elapsedSec} s, boot id ${back.bootId}`;
        data = { ...data, elapsed: back.elapsedSec };
      } else if (guarded && lockout.protection) {
        const hostKeys = plan.hostKeys ? { hostKeys: plan.hostKeys } : {};
        note = await env.applyConfirmed({ taskName: task.name, sshPort: plan.sshPort, timeoutSec: lockout.rollbackTimeoutSec, runSteps, timeoutMs, ...hostKeys });
      } else {
        await runSteps('', timeoutMs);
        if (plan.hostKeys && session.connection.kind === 'ssh') note = await env.recordHostKeys(plan.hostKeys);
      }
    } finally {
      // the host may have changed, even by a step that failed: facts read ahead are read again
      session.invalidate();
    }
    const io = last.res ? { rc: last.res.code, stdout: last.res.stdout.replace(/\n$/, ''), stderr: last.res.stderr.replace(/\n$/, '') } : {};
    const status = evaluateStatus(task, vars, registeredOf({ status: 'changed', message: plan.summary, ...io }));
    // what the next tasks will read, read after the last step: theirs only when every step did what it should
    if (last.after && status !== 'failed') session.adopt(last.after);
    return done(status, status === 'failed' ? `failed_when is true: ${plan.summary}` : plan.summary + warning + note, { ...io, diffs }, data);
  } catch (err) {
    if (err instanceof ConnectionError) return { ...done('failed', errorMessage(err), { code: err.code }), unreachable: err };
    const extra: Partial<ItemResult> = { code: codeOf(err) };
    if (err instanceof CommandError) Object.assign(extra, { rc: err.exitCode, stderr: err.stderr });
    // a template that cannot render is a mistake in the playbook: say where
    const where = err instanceof TemplateError ? `${formatIssue({ location: task.location, path: '', message: '' }).trim()} ` : '';
    return done('failed', where + errorMessage(err), extra);
  }
}

/**
 * A probe plan (wait_for): the step in an apply, the check step in check mode
 * (unless `check_mode: false`). Success is ok with the probe's data; a failed
 * step fails the task, or in check mode skips it (the condition may be what an
 * earlier, only predicted, task would bring about).
 */
async function probe(
  task: TaskDef,
  p: Prepared,
  plan: Extract<Plan, { kind: 'probe' }>,
  env: PipelineEnv,
  done: (status: TaskStatus, message: string, extra?: Partial<ItemResult>, data?: RegisterData) => ItemOutcome,
): Promise<ItemOutcome> {
  const check = env.check && task.checkMode !== false;
  const step = check ? plan.checkStep : plan.step;
  const timeoutMs = step.timeoutMs ?? task.timeoutMs ?? env.taskTimeoutMs;
  const res = await env.session.exec(step.command, { ...p.as, ...(step.stdin !== undefined ? { stdin: step.stdin } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  if ((step.okCodes ?? [0]).includes(res.code ?? -1)) return done('ok', plan.summary, { rc: res.code }, plan.data?.(res.stdout));
  const why = res.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${res.code ?? 'by signal'}`;
  if (!check) throw new CommandError(step.command, res.code, res.stderr, why);
  return done('skipped', `check mode: not now (${why}); an apply waits for it`, { rc: res.code });
}

/** `changed_when` / `failed_when` over the result (also under the `register` name). */
function evaluateStatus(task: TaskDef, vars: Record<string, unknown>, probe: Record<string, unknown>): TaskStatus {
  const condVars = task.register ? { ...vars, [task.register]: probe, ...probe } : { ...vars, ...probe };
  let status: TaskStatus = 'changed';
  if (task.changedWhen !== undefined) status = evalCondition(task.changedWhen, condVars) ? 'changed' : 'ok';
  if (task.failedWhen !== undefined && evalCondition(task.failedWhen, condVars)) status = 'failed';
  return status;
}
