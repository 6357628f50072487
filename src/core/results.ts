/**
 * What a run produces, as plain data: the per-task results, the per-host recap
 * and the summary that reporters read, the events they subscribe to, and the
 * exit codes. Nothing here does I/O.
 */
import type { ConnectionStats } from '../connections/types.js';
import type { Diff } from '../contract/task.js';
import type { PlayDef, TaskDef } from './playbook.js';

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
  /** Error code of a failure (see contract/errors.ts). */
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

/** What a run reports of one host's connection: commands run, round trips made, and how many of them went to authenticating. */
export interface HostStats {
  commands: number;
  roundTrips: number;
  authRoundTrips?: number;
}

export const statsOf = (s: ConnectionStats): HostStats => ({ commands: s.commands, roundTrips: s.roundTrips, authRoundTrips: s.authRoundTrips });
