import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FactError } from '../../../src/contract/errors.js';
import {
  iptablesSave,
  normaliseSave,
  parseIptablesFact,
  parseSaveText,
  renderSave,
  tableOf,
} from '../../../src/facts/iptables.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/iptables/${name}`, import.meta.url), 'utf8');
/** The fact command's output around a recorded iptables-save text. */
const wrap = (version: string, save: string, rc = 0) => `__version=${version}\n__save_begin\n${save}__save_rc=${rc}\n`;

describe('iptables_save fact (recorded outputs)', () => {
  it.each([
    ['debian11', 'iptables v1.8.7 (nf_tables)', '1.8.7'],
    ['debian12', 'iptables v1.8.9 (nf_tables)', '1.8.9'],
    ['debian13', 'iptables v1.8.11 (nf_tables)', '1.8.11'],
  ])('%s: Docker and fail2ban chains, nf_tables backend', (release, version, number) => {
    const text = fixture(`${release}-docker-f2b.v4.txt`);
    const f = parseIptablesFact(wrap(version, text), 4);
    expect(f).toMatchObject({ available: true, backend: 'nft', version: number, legacyTablesPresent: false, ipVersion: 4 });
    const filter = f.tables.filter!;
    expect(filter.chains.slice(0, 3)).toEqual([
      { name: 'INPUT', policy: 'DROP' },
      { name: 'FORWARD', policy: 'DROP' },
      { name: 'OUTPUT', policy: 'ACCEPT' },
    ]);
    expect(filter.chains.map((c) => c.name)).toContain('f2b-sshd');
    expect(filter.chains.find((c) => c.name === 'DOCKER')).toEqual({ name: 'DOCKER', policy: null });
    expect(filter.rules[0]).toEqual({ chain: 'INPUT', spec: '-p tcp -m multiport --dports 22 -j f2b-sshd' });
    expect(filter.rules.filter((r) => r.chain === 'INPUT')).toHaveLength(10);
    expect(filter.rules).toContainEqual({ chain: 'INPUT', spec: '-m limit --limit 5/min -j LOG --log-prefix "iptables denied: "' });
    expect(f.raw).toBe(text);
  });

  it('legacy backend (iptables -V says legacy), all tables of one save', () => {
    const f = parseIptablesFact(wrap('iptables v1.8.7 (legacy)', fixture('debian11-legacy-applied.v4.txt')), 4);
    expect(f.backend).toBe('legacy');
    expect(Object.keys(f.tables).sort()).toEqual(['filter', 'nat']);
  });

  it('old iptables without a backend suffix is legacy', () => {
    expect(parseIptablesFact(wrap('iptables v1.4.21', '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'), 4).backend).toBe('legacy');
  });

  it('IPv6 rules', () => {
    const f = parseIptablesFact(wrap('ip6tables v1.8.9 (nf_tables)', fixture('debian12-baseline.v6.txt')), 6);
    expect(f.tables.filter!.rules).toContainEqual({ chain: 'INPUT', spec: '-s ::1/128 ! -i lo -j DROP' });
    expect(f.ipVersion).toBe(6);
  });

  it('notices the iptables-nft warning about legacy tables (printed on stderr, captured by the fact)', () => {
    const f = parseIptablesFact(wrap('iptables v1.8.9 (nf_tables)', fixture('debian12-legacy-warning.v4.txt')), 4);
    expect(f.legacyTablesPresent).toBe(true);
    expect(f.tables.filter).toBeDefined();
    expect(f.raw).not.toMatch(/Warning/);
  });

  it('iptables not installed', () => {
    expect(parseIptablesFact('__missing\n', 4)).toMatchObject({ available: false, tables: {}, raw: '' });
  });

  it('a failing iptables-save is a FactError that says root is needed', () => {
    const out = wrap('iptables v1.8.9 (nf_tables)', 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n', 4);
    expect(() => parseIptablesFact(out, 4)).toThrow(FactError);
    expect(() => parseIptablesFact(out, 4)).toThrow(/become: true/);
    expect(() => parseIptablesFact('garbage', 4)).toThrow(FactError);
  });

  it('command per family, with sbin on PATH; one fact id per family', () => {
    expect(iptablesSave(4).command).toContain('iptables-save');
    expect(iptablesSave(4).command).toContain('/usr/sbin');
    expect(iptablesSave(6).command).toContain('ip6tables-save');
    expect(iptablesSave(6).id).toBe('iptables_save:v6');
    expect(iptablesSave(4).id).not.toBe(iptablesSave(6).id);
  });

  it('an absent table reads as the kernel default', () => {
    const f = parseIptablesFact(wrap('iptables v1.8.9 (nf_tables)', fixture('debian12-empty.v4.txt')), 4);
    expect(tableOf(f, 'mangle').chains.map((c) => c.name)).toEqual(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
    expect(tableOf(f, 'filter')).toBe(f.tables.filter);
  });
});

describe('save text helpers', () => {
  it('render then parse keeps tables', () => {
    const { tables } = parseSaveText(fixture('debian13-docker-f2b.v4.txt'));
    const again = parseSaveText(renderSave([tables.filter!]));
    expect(again.tables.filter).toEqual(tables.filter);
  });

  it('normaliseSave ignores comments, counters, trailing spaces and table order', () => {
    const a = fixture('debian12-docker-f2b.v4.txt') + fixture('debian12-docker.nat.v4.txt');
    const b =
      fixture('debian12-docker.nat.v4.txt').replace(/# Generated.*\n/, '# other date\n') +
      fixture('debian12-docker-f2b.v4.txt').replace(':INPUT DROP [0:0]', ':INPUT DROP [12:3456]').replace('-j f2b-sshd', '-j f2b-sshd   ');
    expect(normaliseSave(a)).toBe(normaliseSave(b));
    expect(normaliseSave(a)).not.toBe(normaliseSave(a.replace('-j REJECT --reject-with tcp-reset', '-j DROP')));
  });
});
