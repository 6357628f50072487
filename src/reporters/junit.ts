/**
 * JUnit XML (`--report junit=FILE`) for CI test views (GitHub Actions
 * reporters, GitLab, Jenkins): one <testsuite> per host, one <testcase> per
 * host × task. A failure, and drift in check mode (the host differs from the
 * playbook), is a <failure>; skipped is <skipped/>; an unreachable host is one
 * failed testcase. Follows the Jenkins/Ant junit-10 schema.
 */
import type { RunSummary, TaskResult } from '../core/results.js';
import { unifiedDiff } from './diff.js';
import type { ReportMeta } from './json.js';

/** `file:line` → parts; a location without a line keeps the whole string as file. */
export function splitLocation(location: string): { file: string; line?: number } {
  const m = /^(.*):(\d+)$/.exec(location);
  return m ? { file: m[1]!, line: Number(m[2]) } : { file: location };
}

/**
 * The task's own name: loop items are reported as `name (var=value)`; the
 * matrix/rule views group them back under the task.
 */
export function baseTaskName(r: Pick<TaskResult, 'task' | 'item'>): string {
  if (r.item === undefined) return r.task;
  const i = r.task.lastIndexOf(' (');
  return i > 0 && r.task.endsWith(')') ? r.task.slice(0, i) : r.task;
}

/** A result that makes the run not clean: a (not ignored) failure, or drift in check mode. */
export function problemOf(r: TaskResult, check: boolean): 'failed' | 'drift' | undefined {
  if (r.status === 'failed' && !r.ignored) return 'failed';
  if (r.status === 'changed' && check) return 'drift';
  return undefined;
}

/** XML 1.0 text/attribute escape; characters XML cannot carry at all are replaced. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

function failureBody(r: TaskResult): string {
  const parts = [`${r.message}`, `at ${r.location}${r.code ? ` (${r.code})` : ''}`];
  if (r.rc !== undefined && r.rc !== null) parts.push(`exit code ${r.rc}`);
  if (r.stderr) parts.push(`stderr:\n${r.stderr}`);
  for (const d of r.diffs) parts.push(unifiedDiff(d));
  return parts.join('\n\n');
}

function testcase(r: TaskResult, check: boolean): string {
  const loc = splitLocation(r.location);
  const head = `    <testcase${attrs({ classname: r.host, name: r.handler ? `handler: ${r.task}` : r.task, time: secs(r.durationMs), file: loc.file, line: loc.line })}`;
  const problem = problemOf(r, check);
  if (problem === 'failed') {
    return `${head}>\n      <failure${attrs({ type: r.code ?? 'failed', message: r.message })}>${xmlEscape(failureBody(r))}</failure>\n    </testcase>`;
  }
  if (problem === 'drift') {
    const body = [`drift: ${r.message}`, ...r.diffs.map(unifiedDiff)].join('\n\n');
    return `${head}>\n      <failure${attrs({ type: 'drift', message: `drift: ${r.message}` })}>${xmlEscape(body)}</failure>\n    </testcase>`;
  }
  if (r.status === 'skipped') return `${head}>\n      <skipped${attrs({ message: r.message })}/>\n    </testcase>`;
  if (r.status === 'failed') {
    // ignore_errors: passes, with the failure kept as output
    return `${head}>\n      <system-out>${xmlEscape(`failed (ignored): ${failureBody(r)}`)}</system-out>\n    </testcase>`;
  }
  if (r.status === 'changed' && r.diffs.length) {
    return `${head}>\n      <system-out>${xmlEscape([`changed: ${r.message}`, ...r.diffs.map(unifiedDiff)].join('\n\n'))}</system-out>\n    </testcase>`;
  }
  return `${head}/>`;
}

export function junitReport(s: RunSummary, meta: ReportMeta): string {
  const byHost = new Map<string, TaskResult[]>();
  for (const h of s.hosts) byHost.set(h.host, []);
  for (const r of s.results) {
    const list = byHost.get(r.host) ?? [];
    list.push(r);
    byHost.set(r.host, list);
  }
  const playbookFile = meta.playbooks[0] ?? '';
  let total = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const [host, results] of byHost) {
    const recap = s.hosts.find((h) => h.host === host);
    const cases = results.map((r) => testcase(r, s.check));
    let f = results.filter((r) => problemOf(r, s.check)).length;
    if (recap?.unreachable) {
      f++;
      cases.push(
        `    <testcase${attrs({ classname: host, name: 'host is reachable', time: '0.000', file: playbookFile || undefined })}>\n      <failure${attrs({ type: 'unreachable', message: recap.error ?? 'unreachable' })}>${xmlEscape(recap.error ?? 'unreachable')}</failure>\n    </testcase>`,
      );
    }
    const sk = results.filter((r) => r.status === 'skipped').length;
    const time = results.reduce((n, r) => n + r.durationMs, 0);
    total += cases.length;
    failures += f;
    suites.push(
      `  <testsuite${attrs({ name: host, tests: cases.length, failures: f, errors: 0, skipped: sk, time: secs(time), timestamp: s.startedAt.replace(/Z$/, ''), hostname: host })}>\n${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`,
    );
  }
  const name = `provision ${s.check ? 'check' : 'apply'}${meta.playbooks.length ? `: ${meta.playbooks.join(', ')}` : ''}${meta.shard ? ` (shard ${meta.shard.index}/${meta.shard.count})` : ''}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name, tests: total, failures, errors: 0, time: secs(s.durationMs) })}>\n${suites.join('\n')}${suites.length ? '\n' : ''}</testsuites>\n`;
}
