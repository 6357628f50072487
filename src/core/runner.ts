/**
 * The runner: for each play it selects hosts, connects (once per host for the
 * whole run), gathers facts, and runs the tasks in order on each host, hosts in
 * parallel bounded by `forks`; then the notified handlers, then the recap.
 * One task's pipeline is pipeline.ts; commit-confirmed apply is confirm.ts.
 */
import pLimit from 'p-limit';
import { ValidationError, errorMessage } from '../contract/errors.js';
import type { HostFacts } from '../contract/host-facts.js';
import { applyConfirmed, recordHostKeys } from './confirm.js';
import { connectHost, type Connector } from './connect.js';
import { HandshakeLimiter, limitHandshakes } from './handshakes.js';
import { HostSession, UNGATHERED } from './host.js';
import type { HostSpec, Inventory } from './inventory.js';
import { codeOf, loopItems, registeredValue, runTaskItem, type LockoutOverrides, type PipelineEnv } from './pipeline.js';
import type { PlayDef, Playbook, TaskDef, TaskRegistry } from './playbook.js';
import { controlResults, exitCodeOf, statsOf, type HostRecap, type RunEvents, type RunSummary, type TaskResult } from './results.js';
import { Secrets } from './secrets.js';
import { needsPreflight, preflightPlay } from './preflight.js';
import { needsHostFacts, prefetchPlay, type PrefetchEnv } from './prefetch.js';
import { accessOf, withDefaults, type HostDefaults } from './access.js';
import { hideOutput, itemLabel } from './result-view.js';
import { batches, matchesTags, patternWarnings, selectPlays, type PlaySelection, type SelectOptions } from './selection.js';
import { checkVariables } from './varcheck.js';
import { VarsMemo } from './vars.js';


export interface RunOptions extends SelectOptions {
  inventory: Inventory;
  playbook: Playbook;
  registry: TaskRegistry;
  check?: boolean;
  /** Parallel hosts (default 256). */
  forks?: number;
  defaults?: HostDefaults;
  /** Host key policy for every host, over the inventory's (`--host-key-policy`). */
  hostKeyPolicy?: 'strict' | 'accept-new';
  tags?: readonly string[];
  skipTags?: readonly string[];
  extraVars?: Record<string, unknown>;
  /** Default per-task timeout in ms (0: none). */
  taskTimeoutMs?: number;
  events?: RunEvents;
  /** Abort to stop starting new tasks (Ctrl-C): running ones finish, the recap is produced. */
  signal?: AbortSignal;
  /** Replace how hosts are connected (tests). */
  connect?: Connector;
  secrets?: Secrets;
  /** Overrides of the plays' lockout options (command line). */
  lockout?: LockoutOverrides;
}

interface HostState {
  spec: HostSpec;
  session?: HostSession;
  unreachable: boolean;
  /** Failed in an earlier play: out of the rest of the run, like Ansible. */
  failed: boolean;
  registered: Record<string, unknown>;
  vars: VarsMemo;
  recap: HostRecap;
}

/** The task's compliance controls as this result leaves them (a task that names none has none). */
function withControls(task: TaskDef, r: TaskResult): TaskResult {
  return task.controls.length ? { ...r, controls: controlResults(task.controls, r, task.name) } : r;
}

export async function run(options: RunOptions): Promise<RunSummary> {
  const selection = selectPlays(options.playbook, options.inventory, options);
  const issues = checkVariables({
    playbook: options.playbook,
    inventory: options.inventory,
    extraVars: options.extraVars ?? {},
    hostsOf: (play) => selection.find((p) => p.play === play)?.hosts ?? [],
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return new Run(options, selection).execute();
}

/** One run: per-host state, results, and the play / host / task loops. */
class Run {
  private readonly started = Date.now();
  private readonly check: boolean;
  private readonly secrets: Secrets;
  private readonly connect: Connector;
  private readonly events: RunEvents;
  private readonly forks: ReturnType<typeof pLimit>;
  private readonly extraVars: Record<string, unknown>;
  private readonly results: TaskResult[] = [];
  private readonly states = new Map<string, HostState>();
  private readonly selection: Map<PlayDef, string[]>;
  /** Host facts of the last host gathered: what other hosts' reads ahead are rendered with until theirs are known. */
  private guess = UNGATHERED;

  constructor(
    private readonly options: RunOptions,
    selection: readonly PlaySelection[],
  ) {
    this.check = options.check ?? false;
    this.secrets = options.secrets ?? new Secrets();
    this.secrets.add(...options.inventory.secrets);
    this.secrets.addFromVars(options.extraVars ?? {});
    this.connect = limitHandshakes(options.connect ?? connectHost, new HandshakeLimiter());
    this.events = options.events ?? {};
    this.forks = pLimit(options.forks ?? 256);
    this.extraVars = options.extraVars ?? {};
    this.selection = new Map(selection.map((p) => [p.play, p.hosts]));
  }

  private get interrupted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  async execute(): Promise<RunSummary> {
    for (const w of patternWarnings(this.options.playbook, this.options.inventory, this.options)) this.events.warning?.(w);
    for (const play of this.options.playbook.plays) {
      if (this.interrupted) break;
      await this.runPlay(play);
    }
    await Promise.all([...this.states.values()].map((s) => s.session?.close()));
    const summary: RunSummary = {
      check: this.check,
      startedAt: new Date(this.started).toISOString(),
      durationMs: Date.now() - this.started,
      interrupted: this.interrupted,
      hosts: [...this.states.values()].map((s) => s.recap),
      results: this.results,
      exitCode: 0,
      stats: Object.fromEntries(
        [...this.states.values()].flatMap((s) =>
          s.session ? [[s.spec.name, statsOf(s.session.connection.stats)]] : [],
        ),
      ),
    };
    summary.exitCode = exitCodeOf(summary);
    this.events.runEnd?.(summary);
    return summary;
  }

  private async runPlay(play: PlayDef): Promise<void> {
    this.secrets.addFromVars(play.vars);
    const selected = (this.selection.get(play) ?? []).filter((h) => !this.stateOf(h).unreachable && !this.stateOf(h).failed);
    this.events.playStart?.(play, selected);
    for (const batch of batches(selected, play.serial)) {
      if (this.interrupted) break;
      await Promise.all(batch.map((name) => this.forks(() => this.runPlayOnHost(play, this.stateOf(name)))));
      if (play.maxFailPercentage !== undefined) {
        const failed = batch.filter((h) => this.stateOf(h).failed || this.stateOf(h).unreachable).length;
        if ((failed / batch.length) * 100 > play.maxFailPercentage) break;
      }
    }
  }

  private stateOf(name: string): HostState {
    let s = this.states.get(name);
    if (!s) {
      const spec = withDefaults(this.options.inventory.hosts.get(name)!, this.options);
      this.secrets.addFromVars(spec.vars);
      s = {
        spec,
        unreachable: false,
        failed: false,
        registered: {},
        vars: new VarsMemo(),
        recap: { host: name, ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false },
      };
      this.states.set(name, s);
    }
    return s;
  }

  private record(state: HostState, r: TaskResult): void {
    const masked: TaskResult = this.secrets.maskDeep(r);
    this.results.push(masked);
    // a task cut off by a lost connection makes the host unreachable, not failed (like Ansible)
    if (r.code === 'E_UNREACHABLE') {
      /* counted by markUnreachable */
    } else if (r.status === 'failed' && r.ignored) state.recap.ignored++;
    else state.recap[r.status]++;
    this.events.taskEnd?.(masked);
  }

  private markUnreachable(state: HostState, err: unknown): void {
    state.unreachable = true;
    state.recap.unreachable = true;
    state.recap.error = this.secrets.mask(errorMessage(err));
    this.events.hostUnreachable?.(state.spec.name, state.recap.error);
  }

  /** The host's session (connected on first use), with the play's facts read ahead (prefetch.ts). */
  private async ensureSession(play: PlayDef, state: HostState, tasks: readonly TaskDef[]): Promise<HostSession | undefined> {
    try {
      state.session ??= new HostSession(state.spec.name, await this.connect(state.spec), state.spec.connection.becomePassword);
      const session = state.session;
      const env: PrefetchEnv = { ...this.pipelineEnv(state, session), varsOf: (facts) => this.varsOf(play, state, facts, state.registered) };
      await prefetchPlay(session, play, tasks, env, !session.gathered && needsHostFacts(play, env), this.guess);
      if (session.gathered) this.guess = session.facts;
      return session;
    } catch (err) {
      this.markUnreachable(state, err);
      return undefined;
    }
  }

  private async runPlayOnHost(play: PlayDef, state: HostState): Promise<void> {
    const tasks = play.tasks.filter((t) => matchesTags(t, play, this.options.tags, this.options.skipTags));
    const session = await this.ensureSession(play, state, tasks);
    if (!session) return;
    const notified = new Set<string>();
    if (await this.refusedBeforeAnyChange(play, state, session, tasks)) {
      state.failed = true;
      return;
    }
    for (const [index, task] of tasks.entries()) {
      if (this.interrupted || state.unreachable) return;
      this.events.taskStart?.(state.spec.name, task, index, tasks.length);
      if (await this.runTask(play, state, session, task, false, notified)) {
        state.failed = true;
        return;
      }
    }
    // handlers: once, in definition order, where a notifying task changed something
    for (const handler of play.handlers) {
      if (this.interrupted || state.unreachable) return;
      if (!notified.has(handler.name) && !handler.listen.some((l) => notified.has(l))) continue;
      if (await this.runTask(play, state, session, handler, true, notified)) {
        state.failed = true;
        return;
      }
    }
  }

  /** Runs one task (all loop items) on one host. Returns true when the host must stop. */
  /** The whole play's lockout pre-flight (preflight.ts); records the refusal and returns true when there is one. */
  private async refusedBeforeAnyChange(play: PlayDef, state: HostState, session: HostSession, tasks: readonly TaskDef[]): Promise<boolean> {
    const lockout = { protection: play.lockoutProtection, allowLockout: play.allowLockout, ...this.options.lockout };
    const ssh = session.connection.kind === 'ssh' && session.facts.ssh !== null;
    if (this.check || !needsPreflight(tasks, this.options.registry, { protection: lockout.protection, allowLockout: lockout.allowLockout, ssh })) return false;
    const env = { ...this.pipelineEnv(state, session), check: true };
    const refusal = await preflightPlay(play, tasks, env, (registered) => this.varsOf(play, state, session.gathered ? session.facts : undefined, registered), state.registered);
    if (!refusal) return false;
    const t = refusal.task;
    this.record(state, withControls(t, {
      host: state.spec.name,
      play: play.name,
      task: t.name,
      module: t.module,
      location: `${t.location.file}:${t.location.line}`,
      status: 'failed',
      ignored: false,
      handler: false,
      message: `${refusal.message.replace(/^refused: /, 'refused before any change on this host: ')}`,
      diffs: [],
      durationMs: 0,
      code: 'E_LOCKOUT',
    }));
    return true;
  }

  private varsOf(play: PlayDef, state: HostState, facts: HostFacts | undefined, registered: Record<string, unknown>): Record<string, unknown> {
    return state.vars.of({
      spec: state.spec,
      inventory: this.options.inventory,
      playVars: play.vars,
      extraVars: this.extraVars,
      facts,
      registered,
      check: this.check,
    });
  }

  /** Runs one task (all loop items) on one host. Returns true when the host must stop. */
  private async runTask(play: PlayDef, state: HostState, session: HostSession, task: TaskDef, handler: boolean, notified: Set<string>): Promise<boolean> {
    const base = { host: state.spec.name, play: play.name, module: task.module, location: `${task.location.file}:${task.location.line}`, ignored: false, handler, diffs: [] };
    let vars: Record<string, unknown>;
    let items: unknown[] | undefined;
    try {
      vars = this.varsOf(play, state, session.gathered ? session.facts : undefined, state.registered);
      items = loopItems(task, vars);
    } catch (err) {
      this.record(state, withControls(task, { ...base, task: task.name, status: 'failed', message: errorMessage(err), durationMs: 0, code: codeOf(err) }));
      return !task.ignoreErrors;
    }
    const env = this.pipelineEnv(state, session);
    const perItem: Record<string, unknown>[] = [];
    let stop = false;
    for (const item of items ?? [undefined]) {
      const itemVars = items ? { ...vars, [task.loopVar]: item } : vars;
      const outcome = await runTaskItem(task, play, itemVars, env);
      const shown = items ? itemLabel(task, item, itemVars) : undefined;
      const result: TaskResult = withControls(task, {
        ...base,
        task: shown === undefined ? task.name : `${task.name} (${shown.text})`,
        ...outcome.result,
        ...(shown ? { item: shown.item } : {}),
      });
      if (result.status === 'failed' && task.ignoreErrors) result.ignored = true;
      this.record(state, task.noLog ? hideOutput(result) : result);
      if (outcome.unreachable) {
        this.markUnreachable(state, outcome.unreachable);
        return true;
      }
      perItem.push(outcome.registered);
      stop = result.status === 'failed' && !task.ignoreErrors;
      if (stop) break;
    }
    if (task.register) state.registered = { ...state.registered, [task.register]: registeredValue(items, perItem) };
    if (perItem.some((r) => r.changed === true)) for (const n of task.notify) notified.add(n);
    return stop;
  }

  private pipelineEnv(state: HostState, session: HostSession): PipelineEnv {
    return {
      registry: this.options.registry,
      check: this.check,
      ...(this.options.taskTimeoutMs !== undefined ? { taskTimeoutMs: this.options.taskTimeoutMs } : {}),
      ...(this.options.lockout ? { lockout: this.options.lockout } : {}),
      hostBecome: { become: state.spec.connection.become, becomeUser: state.spec.connection.becomeUser },
      session,
      access: () => accessOf(state.spec, session),
      applyConfirmed: (req) => applyConfirmed(session, state.spec, this.connect, req),
      recordHostKeys: async (change) => (await recordHostKeys(session, state.spec, change)).note,
    };
  }
}
