import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../../src/core/results.js';
import { jsonReport } from '../../../src/reporters/json.js';
import { mergeReports, parseJsonReport, type LoadedReport } from '../../../src/reporters/merge.js';
import { fleetRun, mixedRun, result, summary } from './_summary.js';

const META = { playbooks: ['site.yaml'], inventory: ['inv.yaml'] };
const load = (s: ReturnType<typeof summary>, file: string, shard?: { index: number; count: number }): LoadedReport =>
  parseJsonReport(jsonReport(s, { ...META, ...(shard ? { shard } : {}) }), file);

/** Split a run by host into N parts, as N shards would have produced. */
function split(s: ReturnType<typeof summary>, n: number) {
  return Array.from({ length: n }, (_, k) => {
    const hosts = s.hosts.filter((_, i) => i % n === k);
    const names = new Set(hosts.map((h) => h.host));
    const part = { ...s, hosts, results: s.results.filter((r) => names.has(r.host)) };
    part.exitCode = exitCodeOf(part);
    return load(part, `s${k + 1}.json`, { index: k + 1, count: n });
  });
}

describe('report merge', () => {
  it('a JSON report parses back to the summary it came from', () => {
    const s = mixedRun(true);
    const back = parseJsonReport(jsonReport(s, META), 'r.json');
    expect(back.summary.hosts).toEqual(s.hosts);
    expect(back.summary.results.map((r) => [r.host, r.task, r.status, r.diffs])).toEqual(s.results.map((r) => [r.host, r.task, r.status, r.diffs]));
    expect(back.summary.exitCode).toBe(s.exitCode);
    // a failure's stderr survives, so merged junit/markdown still show it
    expect(back.summary.results.find((r) => r.status === 'failed' && !r.ignored)!.stderr).toContain('bad <script>');
  });

  it('merging shards gives the totals and exit code of the whole run', () => {
    const whole = fleetRun(200, 14);
    const m = mergeReports(split(whole, 4));
    const totals = (x: string) => JSON.parse(x).totals;
    expect(totals(jsonReport(m.summary, m.meta))).toEqual(totals(jsonReport(whole, META)));
    expect(m.summary.exitCode).toBe(whole.exitCode);
    expect(m.warnings).toEqual([]);
    expect(JSON.parse(jsonReport(m.summary, m.meta)).merged).toEqual({ reports: 4, shards: [1, 2, 3, 4].map((k) => ({ index: k, count: 4 })) });
  });

  it('one exit code, with the rules of a single run', () => {
    const drift = summary([result({ host: 'a', task: 't', status: 'changed' })], { check: true });
    const clean = summary([result({ host: 'b', task: 't', status: 'ok' })], { check: true });
    const down = summary([], { check: true, unreachable: { c: 'refused' } });
    const failed = summary([result({ host: 'd', task: 't', status: 'failed' })], { check: true });
    const clean2 = summary([result({ host: 'e', task: 't', status: 'ok' })], { check: true });
    expect(mergeReports([load(clean, '1'), load(clean2, '2')]).summary.exitCode).toBe(EXIT.OK);
    expect(mergeReports([load(clean, '1'), load(drift, '2')]).summary.exitCode).toBe(EXIT.DRIFT);
    expect(mergeReports([load(drift, '1'), load(down, '2')]).summary.exitCode).toBe(EXIT.UNREACHABLE);
    expect(mergeReports([load(down, '1'), load(failed, '2'), load(drift, '3')]).summary.exitCode).toBe(EXIT.FAILED);
    const interrupted = summary([result({ host: 'x', task: 't', status: 'ok' })], { check: true, interrupted: true });
    expect(mergeReports([load(failed, '1'), load(interrupted, '2')]).summary.exitCode).toBe(EXIT.INTERRUPTED);
  });

  it('refuses a host in two inputs, mixed modes, and non-reports', () => {
    const s = mixedRun(true);
    expect(() => mergeReports([load(s, 'a.json'), load(s, 'b.json')])).toThrow(/host web1 is also in a.json/);
    expect(() => mergeReports([load(mixedRun(true), 'a.json'), load(summary([result({ host: 'z', task: 't', status: 'ok' })]), 'b.json')])).toThrow(/check-mode and apply/);
    expect(() => parseJsonReport('{"schema":"other/1"}', 'x.json')).toThrow(/not a provision-report\/1 report/);
    expect(() => parseJsonReport('nope', 'x.json')).toThrow(/not JSON/);
    expect(() => mergeReports([])).toThrow(/no input/);
  });

  it('warns about missing shards', () => {
    const parts = split(fleetRun(30, 3), 3);
    expect(mergeReports([parts[0]!, parts[2]!]).warnings).toEqual(['shard 2/3 missing: their hosts are not in the merged report']);
  });

  it('spans the wall-clock time of all inputs', () => {
    const a = summary([result({ host: 'a', task: 't', status: 'ok' })]);
    const b = { ...summary([result({ host: 'b', task: 't', status: 'ok' })]), startedAt: '2025-01-02T03:05:00.000Z', durationMs: 1000 };
    const m = mergeReports([load(a, '1'), load(b, '2')]);
    expect(m.summary.startedAt).toBe(a.startedAt);
    expect(m.summary.durationMs).toBe(Date.parse('2025-01-02T03:05:01.000Z') - Date.parse(a.startedAt));
  });
});
