/**
 * The runner: the only place that does I/O on hosts. For each play it selects
 * hosts, connects (once per host for the whole run), gathers facts, and runs the
 * tasks in order on each host, hosts in parallel bounded by `forks`.
 * Planning is pure (task modules); check mode stops after planning.
 */
import { dirname } from 'node:path';
import pLimit from 'p-limit';
import type { z } from 'zod';
import { LocalConnection } from '../connections/local.js';
import { SshConnection, connectSsh } from '../connections/ssh.js';
import type { Connection, ExecResult } from '../connections/types.js';
import type { HostFacts } from '../contract/host-facts.js';
import type { FactRequest } from '../contract/fact.js';
import { CommandError, ConnectionError, HostKeyError, LockoutError, ProvisionError, TaskError, TimeoutError, ValidationError, errorMessage } from '../contract/errors.js';
import { ROLLBACK_ROOT, armScript, dialPort, disarmScript, extendScript, newGuardId, rolledBackScript } from './guard.js';
import { quote } from '../contract/quote.js';
import { HostSession, type RunAs } from './host.js';
import type { HostSpec, Inventory } from './inventory.js';
import type { AccessInfo, Diff, Plan, TaskContext, TaskModule } from '../contract/task.js';
import { selectHosts } from './patterns.js';
import type { PlayDef, Playbook, TaskDef } from './playbook.js';
import { Secrets } from './secrets.js';
import { evalCondition, renderValue } from './template.js';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface TaskResult {
  host: string;
  play: string;
  task: string;
  module: string;
  /** file:line of the task in the playbook. */
  location: string;
  status: TaskStatus;
  /** Failed, but `ignore_errors: true`. */
  ignored: boolean;
  handler: boolean;
  /** Why ok/skipped, what changed, or why it failed. */
  message: string;
  diffs: Diff[];
  durationMs: number;
  item?: unknown;
  rc?: number | null;
  stdout?: string;
  stderr?: string;
  /** Error code of a failure (see errors.ts). */
  code?: string;
}

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  ignored: number;
  unreachable: boolean;
  /** Why the host is unreachable or stopped. */
  error?: string;
}

export interface RunSummary {
  check: boolean;
  startedAt: string;
  durationMs: number;
  interrupted: boolean;
  hosts: HostRecap[];
  results: TaskResult[];
  exitCode: number;
  /** Round trips and commands per host, from the connection layer. */
  stats: Record<string, { commands: number; roundTrips: number }>;
}

/** Reporters and progress views subscribe to these; all payloads are already masked. */
export interface RunEvents {
  playStart?(play: PlayDef, hosts: string[]): void;
  taskStart?(host: string, task: TaskDef, index: number, total: number): void;
  taskEnd?(result: TaskResult): void;
  hostUnreachable?(host: string, message: string): void;
  runEnd?(summary: RunSummary): void;
}

export interface RunOptions {
  inventory: Inventory;
  playbook: Playbook;
  registry: Readonly<Record<string, TaskModule>>;
  check?: boolean;
  /** Parallel hosts (default 256). */
  forks?: number;
  /** Extra host pattern every play's hosts are intersected with (--limit). */
  limit?: string;
  tags?: readonly string[];
  skipTags?: readonly string[];
  extraVars?: Record<string, unknown>;
  /** Default per-task timeout in ms (0: none). */
  taskTimeoutMs?: number;
  events?: RunEvents;
  /** Abort to stop starting new tasks (Ctrl-C): running ones finish, the recap is produced. */
  signal?: AbortSignal;
  /** Replace how hosts are connected (tests). */
  connect?: (spec: HostSpec, extra?: ConnectExtra) => Promise<Connection>;
  secrets?: Secrets;
  /** Overrides of the plays' lockout options (command line). */
  lockout?: { protection?: boolean; rollbackTimeoutSec?: number; allowLockout?: boolean };
}

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  FAILED: 2,
  DRIFT: 3,
  UNREACHABLE: 4,
  INTERRUPTED: 130,
} as const;

export interface ConnectExtra {
  /** Host key verified on the previous connection (sshd moved port). */
  trustKey?: Buffer;
  /** Connect attempts (the guard's own loop retries, so it asks for one). */
  attempts?: number;
}

/** The default way to reach a host described by the inventory. */
export function connectHost(spec: HostSpec, extra: ConnectExtra = {}): Promise<Connection> {
  const c = spec.connection;
  if (c.connection === 'local') return Promise.resolve(new LocalConnection(spec.name));
  return connectSsh({
    name: spec.name,
    host: c.host,
    port: c.port,
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.identityFile !== undefined ? { identityFile: c.identityFile } : {}),
    ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.knownHostsFile !== undefined ? { knownHostsFile: c.knownHostsFile } : {}),
    hostKeyPolicy: c.hostKeyPolicy,
    jump: c.jump,
    connectTimeoutMs: c.connectTimeoutMs,
    ...(extra.trustKey ? { trustKey: extra.trustKey } : {}),
    ...(extra.attempts ? { attempts: extra.attempts } : {}),
  });
}

/** Variables an Ansible user expects to find about the host. */
function factVars(f: HostFacts): Record<string, unknown> {
  const distribution: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', rocky: 'Rocky', centos: 'CentOS', rhel: 'RedHat', almalinux: 'AlmaLinux', fedora: 'Fedora' };
  return {
    facts: f,
    os_family: f.os.family,
    ansible_os_family: f.os.family === 'debian' ? 'Debian' : f.os.family === 'rhel' ? 'RedHat' : 'Unknown',
    ansible_distribution: distribution[f.os.id] ?? f.os.id,
    ansible_distribution_version: f.os.versionId,
    ansible_distribution_major_version: String(Number.isNaN(f.os.major) ? '' : f.os.major),
    ansible_hostname: f.hostname,
    ansible_architecture: f.arch,
    ansible_user_id: f.user,
    ansible_service_mgr: f.init,
    ansible_pkg_mgr: f.packageManager,
  };
}

/** Render variables that refer to other variables until they settle (Ansible renders lazily). */
function settleVars(vars: Record<string, unknown>): Record<string, unknown> {
  let current = vars;
  for (let pass = 0; pass < 8; pass++) {
    let changed = false;
    const next: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(current)) {
      if (!JSON.stringify(v ?? null).includes('{{')) {
        next[k] = v;
        continue;
      }
      try {
        next[k] = renderValue(v, current);
        if (JSON.stringify(next[k]) !== JSON.stringify(v)) changed = true;
      } catch {
        next[k] = v; // refers to something defined later (e.g. a registered result): rendered when used
      }
    }
    current = next;
    if (!changed) break;
  }
  return current;
}

function matchesTags(task: TaskDef, play: PlayDef, tags: readonly string[] | undefined, skip: readonly string[] | undefined): boolean {
  const all = new Set([...task.tags, ...play.tags]);
  if (all.has('always')) return !skip?.some((t) => all.has(t) && t !== 'always');
  if (tags && tags.length > 0 && !tags.some((t) => t === 'all' || all.has(t))) return false;
  if (skip && skip.some((t) => all.has(t))) return false;
  return true;
}

interface HostState {
  spec: HostSpec;
  session?: HostSession;
  unreachable: boolean;
  /** Failed in an earlier play: out of the rest of the run, like Ansible. */
  failed: boolean;
  registered: Record<string, unknown>;
  recap: HostRecap;
}

export function exitCodeOf(summary: Pick<RunSummary, 'interrupted' | 'hosts' | 'results' | 'check'>): number {
  if (summary.interrupted) return EXIT.INTERRUPTED;
  if (summary.hosts.some((h) => h.failed > 0)) return EXIT.FAILED;
  if (summary.hosts.some((h) => h.unreachable)) return EXIT.UNREACHABLE;
  if (summary.check && summary.hosts.some((h) => h.changed > 0)) return EXIT.DRIFT;
  return EXIT.OK;
}

/** Split hosts into serial batches (`serial: 2`, `"30%"`, `[1, 5, "25%"]`); the last size repeats. */
export function batches(hosts: readonly string[], serial: readonly (number | string)[] | undefined): string[][] {
  if (!serial || serial.length === 0) return hosts.length ? [hosts.slice()] : [];
  const size = (s: number | string): number => {
    if (typeof s === 'number') return Math.max(1, s);
    const pct = Number.parseFloat(s);
    return Math.max(1, Math.floor((hosts.length * pct) / 100));
  };
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const n = size(serial[Math.min(step, serial.length - 1)]!);
    out.push(hosts.slice(i, i + n));
    i += n;
    step++;
  }
  return out;
}

export async function run(options: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const check = options.check ?? false;
  const secrets = options.secrets ?? new Secrets();
  secrets.add(...options.inventory.secrets);
  secrets.addFromVars(options.extraVars ?? {});
  const connect = options.connect ?? connectHost;
  const events = options.events ?? {};
  const limit = pLimit(options.forks ?? 256);
  const results: TaskResult[] = [];
  const states = new Map<string, HostState>();
  const limitHosts = options.limit ? new Set(selectHosts(options.limit, options.inventory)) : undefined;
  const interrupted = () => options.signal?.aborted ?? false;

  const stateOf = (name: string): HostState => {
    let s = states.get(name);
    if (!s) {
      const spec = options.inventory.hosts.get(name)!;
      secrets.addFromVars(spec.vars);
      s = {
        spec,
        unreachable: false,
        failed: false,
        registered: {},
        recap: { host: name, ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false },
      };
      states.set(name, s);
    }
    return s;
  };

  const record = (state: HostState, r: TaskResult): void => {
    const masked: TaskResult = secrets.maskDeep(r);
    results.push(masked);
    // a task cut off by a lost connection makes the host unreachable, not failed (like Ansible)
    if (r.code === 'E_UNREACHABLE') {
      /* counted by markUnreachable */
    } else if (r.status === 'failed' && r.ignored) state.recap.ignored++;
    else state.recap[r.status]++;
    events.taskEnd?.(masked);
  };

  const markUnreachable = (state: HostState, err: unknown): void => {
    state.unreachable = true;
    state.recap.unreachable = true;
    state.recap.error = secrets.mask(errorMessage(err));
    events.hostUnreachable?.(state.spec.name, state.recap.error);
  };

  const ensureSession = async (state: HostState): Promise<HostSession | undefined> => {
    if (state.session) return state.session;
    try {
      const conn = await connect(state.spec);
      const session = new HostSession(state.spec.name, conn, state.spec.connection.becomePassword);
      await session.gather();
      state.session = session;
      return session;
    } catch (err) {
      markUnreachable(state, err);
      return undefined;
    }
  };

  for (const play of options.playbook.plays) {
    if (interrupted()) break;
    secrets.addFromVars(play.vars);
    const selected = selectHosts(play.hosts, options.inventory).filter(
      (h) => (!limitHosts || limitHosts.has(h)) && !stateOf(h).unreachable && !stateOf(h).failed,
    );
    events.playStart?.(play, selected);
    for (const batch of batches(selected, play.serial)) {
      if (interrupted()) break;
      await Promise.all(batch.map((name) => limit(() => runPlayOnHost(play, stateOf(name)))));
      if (play.maxFailPercentage !== undefined) {
        const failed = batch.filter((h) => stateOf(h).failed || stateOf(h).unreachable).length;
        if ((failed / batch.length) * 100 > play.maxFailPercentage) break;
      }
    }
  }

  await Promise.all([...states.values()].map((s) => s.session?.close()));
  const hosts = [...states.values()].map((s) => s.recap);
  const summary: RunSummary = {
    check,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    interrupted: interrupted(),
    hosts,
    results,
    exitCode: 0,
    stats: Object.fromEntries(
      [...states.values()]
        .filter((s) => s.session)
        .map((s) => [s.spec.name, { commands: s.session!.connection.stats.commands, roundTrips: s.session!.connection.stats.roundTrips }]),
    ),
  };
  summary.exitCode = exitCodeOf(summary);
  events.runEnd?.(summary);
  return summary;

  async function runPlayOnHost(play: PlayDef, state: HostState): Promise<void> {
    const session = await ensureSession(state);
    if (!session) return;
    const notified = new Set<string>();
    const tasks = play.tasks.filter((t) => matchesTags(t, play, options.tags, options.skipTags));
    for (const [index, task] of tasks.entries()) {
      if (interrupted() || state.unreachable) return;
      events.taskStart?.(state.spec.name, task, index, tasks.length);
      const failed = await runTask(play, state, session, task, false, notified);
      if (failed) {
        state.failed = true;
        return;
      }
    }
    // handlers: once, in definition order, where a notifying task changed something
    for (const handler of play.handlers) {
      if (interrupted() || state.unreachable) return;
      if (!notified.has(handler.name) && !handler.listen.some((l) => notified.has(l))) continue;
      const failed = await runTask(play, state, session, handler, true, notified);
      if (failed) {
        state.failed = true;
        return;
      }
    }
  }

  /** Runs one task (all loop items) on one host. Returns true when the host must stop. */
  async function runTask(play: PlayDef, state: HostState, session: HostSession, task: TaskDef, handler: boolean, notified: Set<string>): Promise<boolean> {
    const baseVars = settleVars({
      ...state.spec.vars,
      ...play.vars,
      ...(options.extraVars ?? {}),
      ...factVars(session.facts),
      ...state.registered,
      inventory_hostname: state.spec.name,
      group_names: state.spec.groups.filter((g) => g !== 'all'),
      groups: Object.fromEntries([...options.inventory.groups].map(([g, hs]) => [g, [...hs]])),
      ansible_check_mode: check,
      check_mode: check,
    });
    const base = {
      host: state.spec.name,
      play: play.name,
      module: task.module,
      location: `${task.location.file}:${task.location.line}`,
      ignored: false,
      handler,
      diffs: [] as Diff[],
    };
    let items: unknown[] | undefined;
    try {
      if (task.loop !== undefined) {
        const rendered = renderValue(task.loop, baseVars);
        if (!Array.isArray(rendered)) throw new ProvisionError('E_LOOP', `loop must be a list, got ${typeof rendered}`);
        items = rendered;
      }
    } catch (err) {
      record(state, { ...base, task: task.name, status: 'failed', message: errorMessage(err), durationMs: 0, code: codeOf(err) });
      return !task.ignoreErrors;
    }
    const perItem: Record<string, unknown>[] = [];
    let anyChanged = false;
    let stop = false;
    for (const item of items ?? [undefined]) {
      const vars = items ? { ...baseVars, [task.loopVar]: item } : baseVars;
      const name = items ? `${task.name} (${task.loopVar}=${typeof item === 'object' ? JSON.stringify(item) : String(item)})` : task.name;
      const outcome = await runOne(task, vars, state, session, play);
      const result: TaskResult = { ...base, task: name, ...outcome.result, ...(items ? { item } : {}) };
      if (result.status === 'failed' && task.ignoreErrors) result.ignored = true;
      record(state, result);
      if (outcome.unreachable) {
        markUnreachable(state, outcome.unreachable);
        return true;
      }
      perItem.push(outcome.registered);
      if (result.status === 'changed') anyChanged = true;
      if (result.status === 'failed' && !task.ignoreErrors) stop = true;
      if (stop) break;
    }
    if (task.register) {
      state.registered[task.register] = items ? { results: perItem, changed: anyChanged, skipped: false } : perItem[0];
    }
    if (anyChanged) for (const n of task.notify) notified.add(n);
    return stop;
  }

  /**
   * Commit-confirmed apply (see guard.ts): snapshot + armed rollback, the steps
   * (each pushes the deadline back first), then a NEW connection with the
   * post-change port must disarm the rollback. Otherwise the host restores
   * itself and the task fails with E_ROLLED_BACK.
   */
  async function applyConfirmed(
    state: HostState,
    session: HostSession,
    taskName: string,
    sshPort: number | undefined,
    timeoutSec: number,
    runSteps: (prefix: string, timeoutMs: number | undefined, graceMs?: number) => Promise<void>,
    timeoutMs: number | undefined,
  ): Promise<void> {
    const root: RunAs = { become: true, becomeUser: 'root' };
    const id = newGuardId();
    const label = `${taskName} (${new Date().toISOString()})`;
    const armed = await session.exec(armScript({ id, timeoutSec, init: session.facts.init, loginUser: session.facts.user, label }), root);
    if (armed.code !== 0) throw new TaskError(`cannot arm the rollback on the host, so the change was not applied: ${armed.stderr.trim() || `exit ${armed.code}`}`);
    let armedAt = Date.now();
    const extend = `{ ${extendScript(id, timeoutSec)}; } >/dev/null 2>&1\n`;
    // a step that loses the connection must not hang the run: bound it well inside the rollback window
    const stepTimeout = Math.min(timeoutMs || Number.POSITIVE_INFINITY, (timeoutSec * 1000) / 2);
    try {
      // a connection the change cut answers nothing: give up on it soon after the remote timeout
      await runSteps(extend, stepTimeout, 2000);
      armedAt = Date.now();
    } catch (err) {
      if (!(err instanceof ConnectionError) && !(err instanceof TimeoutError)) {
        // the change failed half-way: restore the snapshot now rather than at the deadline
        await session.exec(`echo 0 > ${quote(`${ROLLBACK_ROOT}/${id}/deadline`)}`, root).catch(() => undefined);
        for (let i = 0; i < 20; i++) {
          const r = await session.exec(rolledBackScript(id), root).catch(() => undefined);
          if (r?.code === 0) break;
          await sleep(500);
        }
        throw err;
      }
      // connection lost during the steps: the confirm below decides
    }
    const spec = state.spec;
    const port = sshPort !== undefined ? dialPort(sshPort, spec.connection.portMap, sshPort) : spec.connection.port;
    const confirmBy = armedAt + timeoutSec * 1000 - 3000;
    let confirmError: unknown;
    while (Date.now() < confirmBy) {
      try {
        const trustKey = session.connection instanceof SshConnection ? session.connection.hostKey : undefined;
        const conn = await connect(
          { ...spec, connection: { ...spec.connection, port, connectTimeoutMs: Math.max(2000, Math.min(10_000, confirmBy - Date.now())) } },
          { attempts: 1, ...(trustKey ? { trustKey } : {}) },
        );
        const probe = session.sibling(conn);
        const res = await probe.exec(disarmScript(id), { ...root, timeoutMs: 10_000 });
        if (res.code === 0) {
          spec.connection.port = port;
          if (sshPort !== undefined) session.accessPort = sshPort;
          await session.swap(conn).close();
          return;
        }
        await conn.close();
        confirmError = new TaskError(res.stderr.trim() || `disarm exit ${res.code}`);
        break;
      } catch (err) {
        confirmError = err;
        if (err instanceof HostKeyError) break;
        await sleep(1000);
      }
    }
    // no confirmation: the host restores its snapshot at the deadline; then check with the old parameters
    await sleep(Math.max(0, armedAt + timeoutSec * 1000 + 3000 - Date.now()));
    let restored = false;
    const giveUpAt = Date.now() + 30_000;
    while (!restored && Date.now() < giveUpAt) {
      try {
        const conn = await connect({ ...spec, connection: { ...spec.connection, connectTimeoutMs: 5000 } }, { attempts: 1 });
        const probe = session.sibling(conn);
        const marker = await probe.exec(rolledBackScript(id), root);
        restored = marker.code === 0;
        await session.swap(conn).close();
        if (!restored) await sleep(1000);
      } catch {
        await sleep(1000);
      }
    }
    throw new LockoutError(
      'E_ROLLED_BACK',
      restored
        ? `rolled back: access lost after ${taskName}; the host restored its previous firewall/sshd/user state (${errorMessage(confirmError)})`
        : `access lost after ${taskName} and the host did not answer after its rollback deadline (${errorMessage(confirmError)})`,
      { cause: confirmError },
    );
  }

  async function runOne(
    task: TaskDef,
    vars: Record<string, unknown>,
    state: HostState,
    session: HostSession,
    play: PlayDef,
  ): Promise<{ result: Omit<TaskResult, 'host' | 'play' | 'module' | 'location' | 'ignored' | 'handler' | 'task'> & { diffs: Diff[] }; registered: Record<string, unknown>; unreachable?: unknown }> {
    const t0 = Date.now();
    const done = (status: TaskStatus, message: string, extra: Partial<TaskResult> = {}) => {
      const result = { status, message, durationMs: Date.now() - t0, ...extra, diffs: extra.diffs ?? [] };
      const registered: Record<string, unknown> = {
        changed: status === 'changed',
        failed: status === 'failed',
        skipped: status === 'skipped',
        msg: message,
        ...(extra.rc !== undefined ? { rc: extra.rc } : {}),
        ...(extra.stdout !== undefined ? { stdout: extra.stdout, stdout_lines: extra.stdout.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1) } : {}),
        ...(extra.stderr !== undefined ? { stderr: extra.stderr } : {}),
      };
      return { result, registered };
    };
    try {
      if (task.when !== undefined && !evalCondition(task.when, vars)) return done('skipped', 'condition is false (when)');
      const module = options.registry[task.module];
      if (!module) throw new ProvisionError('E_UNKNOWN_TASK', `unknown task type ${task.module}`);
      const rendered = renderValue(task.args, vars);
      const parsed = module.schema.safeParse(rendered);
      if (!parsed.success) {
        throw new ValidationError(
          parsed.error.issues.map((i) => ({
            location: task.location,
            path: [task.module, ...i.path.map(String)].join('.'),
            message: i.message,
          })),
        );
      }
      const as: RunAs = { become: task.become ?? play.become, becomeUser: task.becomeUser ?? play.becomeUser };
      const ctx: TaskContext = { host: session.facts, check, become: as.become, baseDir: dirname(task.location.file) };
      let args = parsed.data as z.output<z.ZodType>;
      if (module.prepare) args = await module.prepare(args, ctx);
      const requests = module.facts(args, ctx) as Record<string, FactRequest>;
      const values = await session.readFacts(Object.values(requests), as);
      const facts = Object.fromEntries(Object.entries(requests).map(([k, r]) => [k, values.get(r.id)]));
      const plan: Plan = module.plan(args, facts as never, ctx);
      if (plan.kind === 'ok') return done('ok', plan.reason);
      if (plan.kind === 'skip') return done('skipped', plan.reason);
      const diffs = [...(plan.diffs ?? [])];
      const lockout = { protection: play.lockoutProtection, rollbackTimeoutSec: play.rollbackTimeout, allowLockout: play.allowLockout, ...options.lockout };
      const guarded = plan.risk === 'access' && session.connection.kind === 'ssh' && session.facts.ssh !== null;
      let warning = '';
      if (guarded && module.lockout) {
        const reason = module.lockout(args, facts as never, accessOf(state, session), ctx);
        if (reason && !lockout.allowLockout) {
          throw new LockoutError(
            'E_LOCKOUT',
            `refused: ${reason}; this would cut the SSH access this run depends on (set allow_lockout: true on the play or pass --allow-lockout to apply it anyway; the rollback still guards it)`,
          );
        }
        if (reason) warning = ` (pre-flight warning overridden: ${reason})`;
      }
      // Opaque tasks (command, shell) cannot be predicted: check mode skips them unless check_mode: false
      const execute = !check || task.checkMode === false;
      if (!execute) {
        if (module.opaque) return done('skipped', `check mode: would run: ${plan.summary}`);
        for (const p of plan.predictions ?? []) session.predict(p.request, p.value, as);
        if (plan.sshPort !== undefined) session.accessPort = plan.sshPort;
        return done('changed', plan.summary + warning, { diffs });
      }
      let last: ExecResult | undefined;
      const timeoutMs = task.timeoutMs ?? options.taskTimeoutMs;
      const runSteps = async (prefix: string, defaultTimeoutMs: number | undefined, graceMs?: number) => {
        for (const step of plan.steps) {
          const stepTimeout = step.timeoutMs ?? defaultTimeoutMs;
          last = await session.exec(prefix + step.command, {
            ...as,
            ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
            ...(stepTimeout ? { timeoutMs: stepTimeout } : {}),
            ...(graceMs !== undefined ? { graceMs } : {}),
          });
          if (!(step.okCodes ?? [0]).includes(last.code ?? -1) && !(module.opaque && task.failedWhen !== undefined)) {
            throw new CommandError(step.command, last.code, last.stderr, `${plan.summary}: exit ${last.code ?? 'by signal'}${last.stderr.trim() ? `: ${last.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
          }
        }
      };
      if (guarded && lockout.protection) {
        await applyConfirmed(state, session, task.name, plan.sshPort, lockout.rollbackTimeoutSec, runSteps, timeoutMs);
      } else {
        await runSteps('', timeoutMs);
      }
      session.invalidate();
      const io = last ? { rc: last.code, stdout: last.stdout.replace(/\n$/, ''), stderr: last.stderr.replace(/\n$/, '') } : {};
      let status: TaskStatus = 'changed';
      const probe = { ...done(status, plan.summary, io).registered };
      const condVars = task.register ? { ...vars, [task.register]: probe, ...probe } : { ...vars, ...probe };
      if (task.changedWhen !== undefined) status = evalCondition(task.changedWhen, condVars) ? 'changed' : 'ok';
      if (task.failedWhen !== undefined && evalCondition(task.failedWhen, condVars)) status = 'failed';
      return done(status, status === 'failed' ? `failed_when is true: ${plan.summary}` : plan.summary + warning, { ...io, diffs });
    } catch (err) {
      if (err instanceof ConnectionError) return { ...done('failed', errorMessage(err), { code: err.code }), unreachable: err };
      const extra: Partial<TaskResult> = { code: codeOf(err) };
      if (err instanceof CommandError) Object.assign(extra, { rc: err.exitCode, stderr: err.stderr });
      return done('failed', errorMessage(err), extra);
    }
  }
}

/** How this session reaches the host, as the host sees it. */
function accessOf(state: { spec: HostSpec }, session: HostSession): AccessInfo {
  const c = state.spec.connection;
  return {
    user: session.facts.user,
    clientIp: session.facts.ssh?.clientIp ?? '',
    serverPort: session.accessPort,
    auth: c.password !== undefined && c.identityFile === undefined ? 'password' : 'publickey',
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function codeOf(err: unknown): string {
  return err instanceof ProvisionError ? err.code : 'E_INTERNAL';
}
