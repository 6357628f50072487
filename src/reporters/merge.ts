/**
 * `provision report merge OUT.json IN.json…`: combine the JSON reports of
 * several runs (typically the N shards of `--shard K/N`) into one report with
 * one exit code, computed by the same rules as a single run (`exitCodeOf`).
 * Hosts must not repeat across inputs (a repeated host means two jobs ran the
 * same shard); all inputs must be of the same mode (check or apply).
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../contract/errors.js';
import { exitCodeOf, type HostRecap, type RunSummary, type TaskResult, type TaskStatus } from '../core/results.js';
import { JSON_REPORT_SCHEMA, type ReportMeta } from './json.js';

export interface LoadedReport {
  file: string;
  summary: RunSummary;
  meta: ReportMeta;
}

interface JsonDoc {
  schema?: unknown;
  mode?: unknown;
  startedAt?: unknown;
  durationMs?: unknown;
  interrupted?: unknown;
  playbooks?: unknown;
  inventory?: unknown;
  shard?: { index: number; count: number };
  hosts?: unknown;
  results?: unknown;
  stats?: unknown;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** A JSON report (provision-report/1) back to the summary it was rendered from (minus stdout/stderr). */
export function parseJsonReport(text: string, file = '<report>'): LoadedReport {
  let doc: JsonDoc;
  try {
    doc = JSON.parse(text) as JsonDoc;
  } catch (err) {
    throw new ValidationError([{ path: file, message: `not JSON: ${(err as Error).message}` }]);
  }
  if (!doc || typeof doc !== 'object' || doc.schema !== JSON_REPORT_SCHEMA) {
    throw new ValidationError([{ path: file, message: `not a ${JSON_REPORT_SCHEMA} report (schema: ${JSON.stringify((doc as JsonDoc | null)?.schema)})` }]);
  }
  if (!Array.isArray(doc.hosts) || !Array.isArray(doc.results) || (doc.mode !== 'check' && doc.mode !== 'apply')) {
    throw new ValidationError([{ path: file, message: 'report lacks hosts, results or mode' }]);
  }
  const results = (doc.results as Record<string, unknown>[]).map(
    (r): TaskResult => ({
      host: String(r.host),
      play: String(r.play ?? ''),
      task: String(r.task ?? ''),
      module: String(r.module ?? ''),
      location: String(r.location ?? ''),
      status: r.status as TaskResult['status'],
      ignored: Boolean(r.ignored),
      handler: Boolean(r.handler),
      message: String(r.message ?? ''),
      durationMs: Number(r.durationMs ?? 0),
      ...(typeof r.code === 'string' ? { code: r.code } : {}),
      ...(Array.isArray(r.controls)
        ? { controls: (r.controls as Record<string, unknown>[]).map((c) => ({ id: String(c.id ?? ''), subject: String(c.subject ?? ''), status: c.status as TaskStatus })) }
        : {}),
      ...(r.rc !== undefined ? { rc: r.rc as number | null } : {}),
      ...(typeof r.stderr === 'string' ? { stderr: r.stderr } : {}),
      diffs: (Array.isArray(r.diffs) ? (r.diffs as Record<string, unknown>[]) : []).map((d) => ({ label: String(d.label ?? ''), before: String(d.before ?? ''), after: String(d.after ?? '') })),
    }),
  );
  const summary: RunSummary = {
    check: doc.mode === 'check',
    startedAt: typeof doc.startedAt === 'string' ? doc.startedAt : new Date(0).toISOString(),
    durationMs: Number(doc.durationMs ?? 0),
    interrupted: Boolean(doc.interrupted),
    hosts: doc.hosts as HostRecap[],
    results,
    exitCode: 0,
    stats: (doc.stats ?? {}) as RunSummary['stats'],
  };
  summary.exitCode = exitCodeOf(summary);
  return { file, summary, meta: { playbooks: strings(doc.playbooks), inventory: strings(doc.inventory), ...(doc.shard ? { shard: doc.shard } : {}) } };
}

export function loadJsonReport(file: string): LoadedReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError([{ path: file, message: `cannot read: ${(err as Error).message}` }]);
  }
  return parseJsonReport(text, file);
}

export interface Merged {
  summary: RunSummary;
  meta: ReportMeta;
  /** Not fatal: missing or repeated shards. */
  warnings: string[];
}

export function mergeReports(inputs: readonly LoadedReport[]): Merged {
  if (inputs.length === 0) throw new ValidationError([{ path: 'report merge', message: 'no input reports' }]);
  const modes = new Set(inputs.map((i) => i.summary.check));
  if (modes.size > 1) {
    throw new ValidationError([{ path: 'report merge', message: `cannot merge check-mode and apply reports: ${inputs.map((i) => `${i.file} (${i.summary.check ? 'check' : 'apply'})`).join(', ')}` }]);
  }
  const seen = new Map<string, string>();
  const issues: { path: string; message: string }[] = [];
  for (const i of inputs) {
    for (const h of i.summary.hosts) {
      const other = seen.get(h.host);
      if (other !== undefined) issues.push({ path: i.file, message: `host ${h.host} is also in ${other}: were two jobs given the same --shard?` });
      else seen.set(h.host, i.file);
    }
  }
  if (issues.length) throw new ValidationError(issues);

  const warnings: string[] = [];
  const shards = inputs.map((i) => i.meta.shard);
  if (shards.some(Boolean)) {
    const counts = new Set(shards.map((s) => s?.count));
    if (counts.size > 1 || shards.some((s) => !s)) warnings.push(`inputs mix different shard counts or unsharded runs: ${inputs.map((i) => `${i.file}: ${i.meta.shard ? `${i.meta.shard.index}/${i.meta.shard.count}` : 'unsharded'}`).join(', ')}`);
    else {
      const n = shards[0]!.count;
      const have = new Set(shards.map((s) => s!.index));
      const missing = Array.from({ length: n }, (_, k) => k + 1).filter((k) => !have.has(k));
      if (missing.length) warnings.push(`shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${n}`).join(', ')} missing: their hosts are not in the merged report`);
    }
  }

  const starts = inputs.map((i) => Date.parse(i.summary.startedAt)).filter((t) => !Number.isNaN(t));
  const ends = inputs.map((i) => Date.parse(i.summary.startedAt) + i.summary.durationMs).filter((t) => !Number.isNaN(t));
  const start = starts.length ? Math.min(...starts) : 0;
  const summary: RunSummary = {
    check: inputs[0]!.summary.check,
    startedAt: new Date(start).toISOString(),
    durationMs: ends.length ? Math.max(...ends) - start : 0,
    interrupted: inputs.some((i) => i.summary.interrupted),
    hosts: inputs.flatMap((i) => i.summary.hosts),
    results: inputs.flatMap((i) => i.summary.results),
    exitCode: 0,
    stats: Object.assign({}, ...inputs.map((i) => i.summary.stats)) as RunSummary['stats'],
  };
  summary.exitCode = exitCodeOf(summary);
  const uniq = (xs: string[]) => [...new Set(xs)];
  const meta: ReportMeta = {
    playbooks: uniq(inputs.flatMap((i) => i.meta.playbooks)),
    inventory: uniq(inputs.flatMap((i) => i.meta.inventory)),
    merged: { reports: inputs.length, shards: inputs.flatMap((i) => (i.meta.shard ? [i.meta.shard] : [])) },
  };
  return { summary, meta, warnings };
}
