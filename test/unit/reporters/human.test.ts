import { describe, expect, it } from 'vitest';
import type { PlayDef } from '../../../src/core/playbook.js';
import { humanReporter, notOkSection, recapTable } from '../../../src/reporters/human.js';
import { makeStyle } from '../../../src/reporters/style.js';
import { displayWidth } from '../../../src/reporters/text.js';
import { fleetRun, mixedRun, result, summary } from './_summary.js';

const plain = makeStyle(false);

function printed(s: ReturnType<typeof summary>, o: { verbosity?: 0 | 1 | 2; columns?: number } = {}): string {
  let out = '';
  const r = humanReporter({ write: (t) => (out += t), style: plain, check: s.check, diff: false, verbosity: o.verbosity ?? 1, ...(o.columns ? { columns: () => o.columns } : {}) });
  r.playStart!({ name: 'harden', hosts: 'all' } as PlayDef, s.hosts.map((h) => h.host));
  for (const x of s.results) r.taskEnd!(x);
  r.runEnd!(s);
  return out;
}

describe('end of run: what was not ok', () => {
  it('lists every drift, failure and unreachable host with its reason, before the recap', () => {
    const s = mixedRun(true);
    const out = printed(s);
    const end = out.slice(out.lastIndexOf('DRIFT · FAILED · UNREACHABLE'));
    expect(end.split('RECAP')[0]).toBe(
      [
        'DRIFT · FAILED · UNREACHABLE',
        '  drift             web1  sshd hardening — would set PermitRootLogin no',
        '  drift             web1  packages (pkg=telnet) — would write /etc/motd',
        // the hostile task name from _summary.ts: its control character is shown, not sent
        '  failed            web2  <script>alert("x")</script> & ]]> \' | `code` \\x01 *em* --> <!-- — exit 1: <script>alert("x")</script> & ]]> \' | `code` \\x01 *em* --> <!-- · playbooks/harden.yaml:25 (E_COMMAND)',
        '  failed (ignored)  db1  optional — exit 2: ignored · playbooks/harden.yaml:12',
        '  unreachable       db2.example.com  connect ECONNREFUSED 10.0.0.9:22',
        '',
        '',
      ].join('\n'),
    );
    expect(out).toMatch(/RECAP \(check mode\)[\s\S]*exit 2\n$/);
  });

  it('groups hosts that share a task and a reason: "web1, web2, … (N hosts)"', () => {
    const hosts = Array.from({ length: 40 }, (_, i) => `web${i + 1}`);
    const results = hosts.flatMap((host, i) => [
      result({ host, task: 'sshd hardening', status: 'changed', message: 'would set PermitRootLogin no' }),
      result({ host, task: 'motd', status: i < 37 ? 'changed' : 'ok', message: i < 37 ? 'would write /etc/motd' : 'as wanted' }),
      ...(i === 2 || i === 8 ? [result({ host, task: 'apt', status: 'failed', message: 'exit 100: lock held', code: 'E_COMMAND' })] : []),
    ]);
    const s = summary(results, { check: true });
    expect(notOkSection(s, { style: plain, columns: 100 })).toEqual([
      'DRIFT · FAILED',
      '  drift   all 40 hosts  sshd hardening — would set PermitRootLogin no',
      '  drift   web1, web2, web3, … (37 hosts)  motd — would write /etc/motd',
      '  failed  web3, web9 (2 hosts)  apt — exit 100: lock held · playbooks/harden.yaml:12 (E_COMMAND)',
    ]);
    // in a CI log (no terminal) nothing is cut and up to 50 names are listed
    const log = notOkSection(s, { style: plain });
    expect(log[2]).toBe(`  drift   ${hosts.slice(0, 37).join(', ')} (37 hosts)  motd — would write /etc/motd`);
  });

  it('a task whose reason names each host: one entry, the first reason, how many others', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    const s = summary(hosts.map((host) => result({ host, task: 'motd', status: 'changed', message: `create /srv/${host}/motd` })), { check: true });
    expect(notOkSection(s, { style: plain, columns: 120 })).toEqual(['DRIFT', '  drift  all 5 hosts  motd — create /srv/a/motd (on a; 4 other reasons)']);
    // up to 3 reasons: a line each
    const few = summary(hosts.map((host, i) => result({ host, task: 'motd', status: 'changed', message: i < 3 ? 'create' : 'rewrite' })), { check: true });
    expect(notOkSection(few, { style: plain, columns: 120 }).slice(1)).toEqual(['  drift  a, b, c (3 hosts)  motd — create', '  drift  d, e (2 hosts)  motd — rewrite']);
  });

  it('-q: only failures and unreachable hosts, then the recap; nothing while running', () => {
    const s = mixedRun(true);
    const out = printed(s, { verbosity: 0 });
    expect(out).not.toMatch(/^ {2}drift /m);
    expect(out).not.toContain('PLAY');
    expect(out.trimStart().startsWith('FAILED · UNREACHABLE\n  failed')).toBe(true);
    expect(out).not.toContain('(ignored)  db1');
    expect(out).toContain('RECAP');
  });

  it('on a terminal each entry is one screen line, cut at the width', () => {
    const s = summary([result({ host: 'web1', task: `日本語のタスク ${'x'.repeat(100)}`, status: 'changed', message: '👍🏽'.repeat(50) })], { check: true });
    const lines = notOkSection(s, { style: makeStyle(true), columns: 60 });
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(59);
    expect(lines[1]).toMatch(/web1 {2}日本語のタスク x+…\x1b\[0m$/);
  });

  it('nothing to list: no section, the recap alone', () => {
    const s = summary([result({ host: 'web1', task: 'motd', status: 'ok' })], { check: true });
    expect(notOkSection(s, { style: plain })).toEqual([]);
    expect(printed(s)).toMatch(/\n\nRECAP \(check mode\)\n/);
  });
});

describe('recap', () => {
  it('a row per host up to 10 hosts', () => {
    const s = mixedRun(true);
    expect(recapTable(s, { style: plain })).toEqual([
      'RECAP (check mode)',
      '  host             ok    drift    failed  skipped  unreachable',
      '  web1             2     2        0       1        no',
      '  web2             1     0        1       0        no',
      '  db1              0     0        0       1        no  (1 failure ignored)',
      '  db2.example.com  0     0        0       0        yes',
    ]);
  });

  it('over 10 hosts, hosts with the same counts share a row, so the list above stays on screen', () => {
    const s = fleetRun(200, 14, true);
    const lines = recapTable(s, { style: plain, columns: 100 });
    expect(lines.length).toBeLessThan(40);
    expect(lines[1]).toMatch(/^ {2}hosts +ok +drift/);
    // every host is counted in exactly one row
    const counted = lines.slice(2).reduce((n, l) => n + Number(/\((\d+) hosts\)/.exec(l)?.[1] ?? 1), 0);
    expect(counted).toBe(200);
  });
});
