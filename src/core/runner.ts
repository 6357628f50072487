/**
 * The runner: for each play it selects hosts, connects (once per host for the
 * whole run), gathers facts, and runs the tasks in order on each host, hosts in
 * parallel bounded by `forks`; then the notified handlers, then the recap.
 * One task's pipeline is pipeline.ts; commit-confirmed apply is confirm.ts.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import pLimit from 'p-limit';
import { ValidationError, errorMessage } from '../contract/errors.js';
import type { HostFacts } from '../contract/host-facts.js';
import { applyConfirmed, recordHostKeys } from './confirm.js';
import { rebootAndWait } from './reboot.js';
import { connectHost, type Connector } from './connect.js';
import { HandshakeLimiter, limitHandshakes } from './handshakes.js';
import { HostSession, UNGATHERED } from './host.js';
import { HostPlay, type HostState, type PlayRun } from './host-play.js';
import type { Inventory } from './inventory.js';
import type { LockoutOverrides, PipelineEnv } from './pipeline.js';
import type { PlayDef, Playbook, RoleScope, TaskDef, TaskRegistry } from './playbook.js';
import { exitCodeOf, sumStats, withControls, type RunEvents, type RunSummary, type TaskResult } from './results.js';
import { withPromptedVars } from './prompts.js';
import { Secrets } from './secrets.js';
import { needsPreflight, preflightPlay } from './preflight.js';
import { needsHostFacts, prefetchPlay } from './prefetch.js';
import { accessOf, loginUser, withDefaults, type HostDefaults } from './access.js';
import { batches, matchesTags, patternWarnings, selectPlays, type PlaySelection, type SelectOptions } from './selection.js';
import { checkVariables } from './varcheck.js';
import { hostVars, hostvarsView, playFilesVars } from './vars.js';


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

export async function run(given: RunOptions): Promise<RunSummary> {
  const secrets = given.secrets ?? new Secrets();
  const options = { ...given, secrets, playbook: withPromptedVars(given.playbook, given.extraVars ?? {}, secrets) };
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

/** Sessions closed at once per slice: closing one encrypts and writes a disconnect, about 0.4 ms of CPU. */
const CLOSE_SLICE = 32;

/**
 * Start closing every session, a slice at a time with the event loop let run between
 * slices: all 500 at once held it for about 200 ms (bench/results/2026-11-28.md).
 * Resolves once every close is under way (each has written its disconnect), to the
 * promise that all of them are done: the run reports meanwhile.
 */
export async function closeInSlices(sessions: readonly HostSession[]): Promise<{ done: Promise<void> }> {
  const closing: Promise<void>[] = [];
  for (let i = 0; i < sessions.length; i += CLOSE_SLICE) {
    if (i > 0) await nextTurn();
    closing.push(...sessions.slice(i, i + CLOSE_SLICE).map((x) => x.close()));
  }
  return { done: Promise.all(closing).then(() => undefined) };
}

/** One run: per-host state, results, and the play and batch loops (one play on one host: host-play.ts). */
class Run implements PlayRun {
  private readonly started = Date.now();
  private readonly check: boolean;
  private readonly secrets: Secrets;
  private readonly connect: Connector;
  readonly events: RunEvents;
  readonly tags: readonly string[] | undefined;
  readonly skipTags: readonly string[] | undefined;
  private readonly forks: ReturnType<typeof pLimit>;
  private readonly results: TaskResult[] = [];
  private readonly states = new Map<string, HostState>();
  private readonly selection: Map<PlayDef, string[]>;
  private readonly ended = new Set<PlayDef>();
  /** The hosts of the running batch of each play (ansible_play_batch). */
  private readonly batchOf = new Map<PlayDef, readonly string[]>();
  private readonly hostvars: Record<string, unknown>;
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
    this.tags = options.tags;
    this.skipTags = options.skipTags;
    this.forks = pLimit(options.forks ?? 256);
    this.selection = new Map(selection.map((p) => [p.play, p.hosts]));
    this.hostvars = hostvarsView(options.inventory, options.extraVars ?? {}, (name) => {
      const s = this.states.get(name);
      const first = s?.sessions.values().next().value;
      return { spec: s?.spec ?? options.inventory.hosts.get(name)!, facts: first?.gatheredFacts, hostFacts: s?.hostFacts ?? {} };
    });
  }

  interrupted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  playEnded(play: PlayDef): boolean {
    return this.ended.has(play);
  }

  endPlay(play: PlayDef): void {
    this.ended.add(play);
  }

  async execute(): Promise<RunSummary> {
    for (const w of [...this.options.playbook.warnings, ...patternWarnings(this.options.playbook, this.options.inventory, this.options)]) this.events.warning?.(w);
    for (const play of this.options.playbook.plays) {
      if (this.interrupted()) break;
      await this.runPlay(play);
    }
    const closing = await closeInSlices([...this.states.values()].flatMap((s) => [...s.sessions.values()]));
    const summary: RunSummary = {
      check: this.check,
      startedAt: new Date(this.started).toISOString(),
      durationMs: Date.now() - this.started,
      interrupted: this.interrupted(),
      hosts: [...this.states.values()].map((s) => s.recap),
      results: this.results,
      exitCode: 0,
      stats: Object.fromEntries(
        [...this.states.values()].flatMap((s) => {
          const stats = sumStats([...s.sessions.values()].map((x) => x.connection.stats));
          return stats ? [[s.spec.name, stats]] : [];
        }),
      ),
    };
    summary.exitCode = exitCodeOf(summary);
    // reported while the hosts close the connections (sshd takes some 10 ms), and returned once they have
    try {
      this.events.runEnd?.(summary);
    } finally {
      await closing.done;
    }
    return summary;
  }

  private inPlay(h: string): boolean {
    return !this.stateOf(h).unreachable && !this.stateOf(h).failed;
  }

  private async runPlay(play: PlayDef): Promise<void> {
    this.secrets.addFromVars(play.vars);
    this.secrets.addFromVars(play.varsFilesVars);
    const selected = (this.selection.get(play) ?? []).filter((h) => this.inPlay(h));
    this.events.playStart?.(play, selected);
    for (const batch of batches(selected, play.serial)) {
      if (this.interrupted() || this.ended.has(play)) break;
      this.batchOf.set(play, batch);
      await Promise.all(batch.map((name) => this.forks(() => this.runPlayOnHost(play, this.stateOf(name)))));
      if (play.maxFailPercentage !== undefined) {
        const failed = batch.filter((h) => !this.inPlay(h)).length;
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
        sessions: new Map(),
        unreachable: false,
        failed: false,
        hostFacts: {},
        playFiles: {},
        recap: { host: name, ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false },
      };
      this.states.set(name, s);
    }
    return s;
  }

  record(state: HostState, result: TaskResult, task?: TaskDef): void {
    const r = withControls(task, result);
    const masked: TaskResult = this.secrets.maskDeep(r);
    this.results.push(masked);
    // a task cut off by a lost connection makes the host unreachable, not failed (like Ansible)
    if (r.code === 'E_UNREACHABLE') {
      /* counted by markUnreachable */
    } else if (r.status === 'failed' && r.ignored) state.recap.ignored++;
    else state.recap[r.status]++;
    this.events.taskEnd?.(masked);
  }

  markUnreachable(state: HostState, err: unknown): void {
    state.unreachable = true;
    state.recap.unreachable = true;
    state.recap.error = this.secrets.mask(errorMessage(err));
    this.events.hostUnreachable?.(state.spec.name, state.recap.error);
  }

  /**
   * The session for the login user the play or task asks for (one per user, connected once). The
   * play's session gathers with the play's reads ahead (runPlayOnHost); a task's own login user's
   * session gathers at once.
   */
  async session(state: HostState, play: PlayDef, task?: TaskDef): Promise<HostSession | undefined> {
    const user = loginUser(state.spec, play, task, { ...state.spec.vars, ...play.vars, ...this.options.extraVars }) ?? '';
    const known = state.sessions.get(user);
    if (known || state.unreachable) return known;
    try {
      const spec = this.specOf(state, user);
      const session = new HostSession(state.spec.name, await this.connect(spec), spec.connection.becomePassword);
      if (task) await session.gather();
      state.sessions.set(user, session);
      return session;
    } catch (err) {
      this.markUnreachable(state, err);
      return undefined;
    }
  }

  /** The host as a session with this login user reaches it. */
  private specOf(state: HostState, user: string): HostState['spec'] {
    return user === '' ? state.spec : { ...state.spec, connection: { ...state.spec.connection, user } };
  }

  private async runPlayOnHost(play: PlayDef, state: HostState): Promise<void> {
    const session = await this.session(state, play);
    if (!session) return;
    const tasks = play.tasks.filter((t) => matchesTags(t, play, this.tags, this.skipTags));
    try {
      // vars_files named with templates may name host facts (vars/{{ ansible_os_family }}.yml)
      if (play.varsFiles.length > 0 && !session.gathered) await session.gather();
    } catch (err) {
      this.markUnreachable(state, err);
      return;
    }
    try {
      state.playFiles = playFilesVars(play, this.varsOf(play, state, session, undefined, {}));
    } catch (err) {
      this.record(state, { host: state.spec.name, play: play.name, task: 'vars_files', module: 'vars_files', location: `${play.location.file}:${play.location.line}`, status: 'failed', ignored: false, handler: false, message: errorMessage(err), diffs: [], durationMs: 0, code: 'E_VARS_FILES' });
      state.failed = true;
      return;
    }
    try {
      // the reads ahead are rendered with this play's variables, its vars_files included
      const env = { ...this.pipelineEnv(state, session), varsOf: (facts: HostFacts | undefined) => this.varsWith(play, state, facts, undefined, {}) };
      await prefetchPlay(session, play, tasks, env, !session.gathered && needsHostFacts(play, env), this.guess);
      if (session.gathered) this.guess = session.facts;
    } catch (err) {
      this.markUnreachable(state, err);
      return;
    }
    if (await this.refusedBeforeAnyChange(play, state, session, tasks)) {
      state.failed = true;
      return;
    }
    await new HostPlay(this, play, state).execute();
  }

  /** The whole play's lockout pre-flight (preflight.ts); records the refusal and returns true when there is one. */
  private async refusedBeforeAnyChange(play: PlayDef, state: HostState, session: HostSession, tasks: readonly TaskDef[]): Promise<boolean> {
    const lockout = { protection: play.lockoutProtection, allowLockout: play.allowLockout, ...this.options.lockout };
    const ssh = session.connection.kind === 'ssh' && session.facts.ssh !== null;
    if (this.check || !needsPreflight(tasks, this.options.registry, { protection: lockout.protection, allowLockout: lockout.allowLockout, ssh })) return false;
    const env = { ...this.pipelineEnv(state, session), check: true };
    const refusal = await preflightPlay(play, tasks, env, (registered, task) => this.varsOf(play, { ...state, hostFacts: registered }, session, task, {}), state.hostFacts);
    if (!refusal) return false;
    const t = refusal.task;
    this.record(
      state,
      {
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
      },
      t,
    );
    return true;
  }

  varsOf(play: PlayDef, state: HostState, session: HostSession, scope: { vars?: Record<string, unknown>; role?: RoleScope } | undefined, dynamic: Record<string, unknown>): Record<string, unknown> {
    return this.varsWith(play, state, session.gatheredFacts, scope, dynamic);
  }

  /** The host's variables with these host facts (undefined: not gathered, the fact variables are undefined). */
  private varsWith(play: PlayDef, state: HostState, facts: HostFacts | undefined, scope: { vars?: Record<string, unknown>; role?: RoleScope } | undefined, dynamic: Record<string, unknown>): Record<string, unknown> {
    const all = this.selection.get(play) ?? [];
    return hostVars({
      spec: state.spec,
      inventory: this.options.inventory,
      play,
      playFiles: state.playFiles,
      ...(scope ? { scope } : {}),
      extraVars: this.options.extraVars ?? {},
      facts,
      hostFacts: state.hostFacts,
      dynamic,
      magic: { allHosts: all, playHosts: all.filter((h) => this.inPlay(h)), batch: (this.batchOf.get(play) ?? all).filter((h) => this.inPlay(h)) },
      hostvars: this.hostvars,
      check: this.check,
    });
  }

  pipelineEnv(state: HostState, session: HostSession): PipelineEnv {
    const user = [...state.sessions].find(([, s]) => s === session)?.[0] ?? '';
    const spec = this.specOf(state, user);
    return {
      registry: this.options.registry,
      check: this.check,
      ...(this.options.taskTimeoutMs !== undefined ? { taskTimeoutMs: this.options.taskTimeoutMs } : {}),
      ...(this.options.lockout ? { lockout: this.options.lockout } : {}),
      hostBecome: { become: spec.connection.become, becomeUser: spec.connection.becomeUser },
      session,
      access: () => accessOf(spec, session),
      applyConfirmed: (req) => applyConfirmed(session, spec, this.connect, req),
      recordHostKeys: async (change) => (await recordHostKeys(session, spec, change)).note,
      reboot: (req, as) => rebootAndWait(session, () => this.connect(spec), req, as),
    };
  }
}
