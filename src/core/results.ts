/**
 * What a run produces, as plain data: the per-task results, the per-host recap
 * and the summary that reporters read, the events they subscribe to, and the
 * exit codes. Nothing here does I/O.
 */
import type { ConnectionStats } from '../connections/types.js';
import type { Diff } from '../contract/task.js';
import type { ControlRef, PlayDef, TaskDef } from './playbook.js';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

/** A compliance control of the task (`controls:`), as this result leaves it on its host. */
export interface ControlResult {
  /** e.g. `CIS 5.1.20`, `dev-sec sshd-06`. */
  id: string;
  /** The setting it covers, or the task's name. */
  subject: string;
  /** changed: drift in check mode. */
  status: TaskStatus;
}

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
  /** Error code of a failure (see contract/errors.ts). */
  code?: string;
  /** The compliance controls the task enforces, when it names any. */
  controls?: ControlResult[];
}

const mentions = (text: string, word: string): boolean => new RegExp(`(^|[^\\w.-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.-])`).test(text);

/**
 * The controls of a task (named `task`) as one of its results leaves them: the
 * result's status, except that a change leaves a control of a named setting ok
 * unless the change names that setting, in its message or as the loop item
 * (sshd_config changed MaxAuthTries: its PermitRootLogin controls still hold).
 */
export function controlResults(refs: readonly ControlRef[], r: Pick<TaskResult, 'task' | 'status' | 'message'>, task: string): ControlResult[] {
  const item = r.task.startsWith(`${task} (`) ? r.task.slice(task.length) : '';
  return refs.map(({ id, subject }) => ({
    id,
    subject: subject ?? task,
    status: r.status === 'changed' && subject !== undefined && !mentions(`${r.message} ${item}`, subject) ? 'ok' : r.status,
  }));
}

/** The task's compliance controls as this result leaves them (a task that names none has none). */
export function withControls(task: Pick<TaskDef, 'controls' | 'name'> | undefined, r: TaskResult): TaskResult {
  return task?.controls.length ? { ...r, controls: controlResults(task.controls, r, task.name) } : r;
}

/** One control over the run: what it covers and its worst status on each host. */
export interface ControlRow {
  id: string;
  /** Settings or tasks it covers, in order of appearance. */
  subjects: string[];
  /** Worst status per host (failed, then changed, ok, skipped). */
  hosts: Map<string, TaskStatus>;
  /** Worst over all hosts. */
  status: TaskStatus;
}

const WORST: Record<TaskStatus, number> = { failed: 0, changed: 1, ok: 2, skipped: 3 };
const worse = (a: TaskStatus | undefined, b: TaskStatus): TaskStatus => (a === undefined || WORST[b] < WORST[a] ? b : a);

/** Every control the results name, worst first, then in order of appearance. */
export function controlRows(results: readonly TaskResult[]): ControlRow[] {
  const rows = new Map<string, ControlRow>();
  for (const r of results) {
    for (const c of r.controls ?? []) {
      let row = rows.get(c.id);
      if (!row) rows.set(c.id, (row = { id: c.id, subjects: [], hosts: new Map(), status: c.status }));
      if (!row.subjects.includes(c.subject)) row.subjects.push(c.subject);
      row.hosts.set(r.host, worse(row.hosts.get(r.host), c.status));
      row.status = worse(row.status, c.status);
    }
  }
  return [...rows.values()].sort((a, b) => WORST[a.status] - WORST[b.status]);
}

/** Hosts on which a control stands at `status`, in the order they reported. */
export const hostsAt = (row: ControlRow, status: TaskStatus): string[] => [...row.hosts].filter(([, st]) => st === status).map(([h]) => h);

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
  stats: Record<string, HostStats>;
}

/** Reporters and progress views subscribe to these; all payloads are already masked. */
export interface RunEvents {
  playStart?(play: PlayDef, hosts: string[]): void;
  taskStart?(host: string, task: TaskDef, index: number, total: number): void;
  taskEnd?(result: TaskResult): void;
  hostUnreachable?(host: string, message: string): void;
  /** Something the run will not do as written (a host pattern that matches nothing, ...). */
  warning?(message: string): void;
  runEnd?(summary: RunSummary): void;
}

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  FAILED: 2,
  DRIFT: 3,
  UNREACHABLE: 4,
  INTERRUPTED: 130,
} as const;

export function exitCodeOf(summary: Pick<RunSummary, 'interrupted' | 'hosts' | 'results' | 'check'>): number {
  if (summary.interrupted) return EXIT.INTERRUPTED;
  if (summary.hosts.some((h) => h.failed > 0)) return EXIT.FAILED;
  if (summary.hosts.some((h) => h.unreachable)) return EXIT.UNREACHABLE;
  if (summary.check && summary.hosts.some((h) => h.changed > 0)) return EXIT.DRIFT;
  return EXIT.OK;
}

/** What a run reports of one host's connection: commands run, round trips made, and how many of them went to authenticating and to keepalives. */
export interface HostStats {
  commands: number;
  roundTrips: number;
  authRoundTrips?: number;
  keepaliveRoundTrips?: number;
}

export const statsOf = (s: ConnectionStats): HostStats => ({ commands: s.commands, roundTrips: s.roundTrips, authRoundTrips: s.authRoundTrips, keepaliveRoundTrips: s.keepaliveRoundTrips });

/** A host's counts over all its connections (one per login user); undefined without any. */
export function sumStats(all: readonly ConnectionStats[]): HostStats | undefined {
  if (all.length === 0) return undefined;
  const sum = (k: keyof HostStats) => all.reduce((n, x) => n + x[k], 0);
  return { commands: sum('commands'), roundTrips: sum('roundTrips'), authRoundTrips: sum('authRoundTrips'), keepaliveRoundTrips: sum('keepaliveRoundTrips') };
}
