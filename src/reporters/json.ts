/**
 * The JSON report (`--report json=FILE`). Versioned: `schema` changes its
 * number whenever a field changes meaning or disappears; new fields may be added.
 */
import type { RunSummary } from '../core/results.js';
import { unifiedDiff } from './diff.js';

export const JSON_REPORT_SCHEMA = 'provision-report/1';

export interface ReportMeta {
  playbooks: string[];
  inventory: string[];
  /** --shard K/N, when given. */
  shard?: { index: number; count: number };
  /** Set by `provision exec`: the ad-hoc command; its results carry `stdout` and `stderr`. */
  command?: string;
  /** Set by `provision report merge`: how many reports were combined, and their shards. */
  merged?: { reports: number; shards: { index: number; count: number }[] };
}

export function jsonReport(s: RunSummary, meta: ReportMeta): string {
  const doc = {
    schema: JSON_REPORT_SCHEMA,
    tool: 'provision',
    mode: s.check ? 'check' : 'apply',
    startedAt: s.startedAt,
    durationMs: s.durationMs,
    exitCode: s.exitCode,
    interrupted: s.interrupted,
    playbooks: meta.playbooks,
    inventory: meta.inventory,
    ...(meta.command !== undefined ? { command: meta.command } : {}),
    ...(meta.shard ? { shard: meta.shard } : {}),
    ...(meta.merged ? { merged: meta.merged } : {}),
    totals: {
      hosts: s.hosts.length,
      ok: sum(s, 'ok'),
      changed: sum(s, 'changed'),
      failed: sum(s, 'failed'),
      skipped: sum(s, 'skipped'),
      unreachable: s.hosts.filter((h) => h.unreachable).length,
    },
    hosts: s.hosts,
    results: s.results.map((r) => ({
      host: r.host,
      play: r.play,
      task: r.task,
      module: r.module,
      location: r.location,
      status: r.status,
      ignored: r.ignored,
      handler: r.handler,
      message: r.message,
      durationMs: r.durationMs,
      ...(r.code ? { code: r.code } : {}),
      ...(r.controls ? { controls: r.controls } : {}),
      ...(r.rc !== undefined ? { rc: r.rc } : {}),
      ...(meta.command !== undefined ? { stdout: r.stdout ?? '', stderr: r.stderr ?? '' } : r.status === 'failed' && r.stderr ? { stderr: r.stderr } : {}),
      diffs: r.diffs.map((d) => ({ label: d.label, before: d.before, after: d.after, unified: unifiedDiff(d) })),
    })),
    stats: s.stats,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function sum(s: RunSummary, k: 'ok' | 'changed' | 'failed' | 'skipped'): number {
  return s.hosts.reduce((n, h) => n + h[k], 0);
}
