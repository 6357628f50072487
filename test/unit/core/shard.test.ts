import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../../src/cli/program.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { selectPlays } from '../../../src/core/selection.js';
import { parseShard, shardHosts } from '../../../src/core/shard.js';
import { registry } from '../../../src/tasks/index.js';

describe('shard', () => {
  it('parses K/N and rejects the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/3', '4/3', '1/0', '1', 'a/b', '-1/2', '1/2/3', '']) expect(() => parseShard(bad), bad).toThrow(/--shard/);
  });

  it('N shards cover every host exactly once, sizes differ by at most one (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (hosts, n) => {
        const slices = Array.from({ length: n }, (_, k) => shardHosts(hosts, { index: k + 1, count: n }));
        expect(slices.flat().sort()).toEqual([...hosts].sort());
        expect(new Set(slices.flat()).size).toBe(hosts.length);
        const sizes = slices.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('does not depend on the order hosts come in (same slices on every machine)', () => {
    const hosts = ['web10', 'web2', 'Web1', 'db1', 'ärger', 'cache-a', 'web1'];
    const a = shardHosts(hosts, { index: 2, count: 3 });
    const b = shardHosts([...hosts].reverse(), { index: 2, count: 3 });
    expect(a).toEqual(b);
    // code-unit order, not locale: "Web1" < "cache-a" < "db1" < "web1" < "web10" < "web2" < "ärger"
    expect(shardHosts(hosts, { index: 1, count: 1 })).toEqual(['Web1', 'cache-a', 'db1', 'web1', 'web10', 'web2', 'ärger']);
    expect(a).toEqual(['cache-a', 'web10']);
  });

  it('a shard is taken over the hosts the plays select after --limit, leaving the inventory whole', () => {
    const inv = parseInventory('all:\n  children:\n    web:\n      hosts: { w1: {}, w2: {}, w3: {} }\n    db:\n      hosts: { d1: {} }\n', 'inv.yaml');
    const book = parsePlaybook('- hosts: web\n  tasks: []\n- hosts: all\n  tasks: []\n', 'pb.yaml', registry);
    const sel = selectPlays(book, inv, { limit: 'all:!w3', shard: { index: 2, count: 2 } });
    // selected after --limit: d1 w1 w2 (sorted) -> shard 2 of 2 takes w1
    expect(sel.map((p) => p.hosts)).toEqual([['w1'], ['w1']]);
    expect([...inv.hosts.keys()]).toEqual(['w1', 'w2', 'w3', 'd1']);
  });
});

describe('--shard and report merge through the CLI, real runner on local shells', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    const value: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: {}, onInterrupt: () => () => {} };
    return { io: value, out: () => out.join(''), err: () => err.join('') };
  }

  it('N sharded check runs merge to the totals and exit code of one unsharded run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-shard-'));
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'];
    writeFileSync(join(dir, 'inv.yaml'), `all:\n  hosts:\n${hosts.map((h) => `    ${h}: { connection: local }`).join('\n')}\n  children:\n    odd:\n      hosts: { h1: {}, h3: {}, h5: {}, h7: {} }\n`);
    writeFileSync(
      join(dir, 'site.yaml'),
      `- hosts: all
  tasks:
    - name: motd
      copy: { dest: "${dir}/{{ inventory_hostname }}.motd", content: "hi" }
    - name: broken on h3
      command: "false"
      check_mode: false
      when: inventory_hostname == 'h3'
- hosts: odd
  tasks:
    - name: odd marker
      file: { path: "${dir}/{{ inventory_hostname }}.odd", state: directory }
`,
    );
    const inv = join(dir, 'inv.yaml');
    const pb = join(dir, 'site.yaml');
    const whole = io();
    const wholeCode = await run(['-C', '-i', inv, '--report', `json=${join(dir, 'all.json')}`, pb], whole.io);
    const codes: number[] = [];
    for (let k = 1; k <= 3; k++) {
      const t = io();
      codes.push(await run(['-C', '-i', inv, '--shard', `${k}/3`, '--report', `json=${join(dir, `s${k}.json`)}`, pb], t.io));
    }
    const m = io();
    const mergedCode = await run(['report', 'merge', join(dir, 'merged.json'), ...[1, 2, 3].map((k) => join(dir, `s${k}.json`)), '--report', `junit=${join(dir, 'merged.xml')}`, '--report', `markdown=${join(dir, 'merged.md')}`], m.io);

    const all = JSON.parse(readFileSync(join(dir, 'all.json'), 'utf8'));
    const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8'));
    const shards = [1, 2, 3].map((k) => JSON.parse(readFileSync(join(dir, `s${k}.json`), 'utf8')));
    expect(wholeCode).toBe(2);
    expect(mergedCode).toBe(wholeCode);
    expect(merged.exitCode).toBe(all.exitCode);
    expect(merged.totals).toEqual(all.totals);
    expect(shards.map((s) => s.shard)).toEqual([1, 2, 3].map((k) => ({ index: k, count: 3 })));
    expect(shards.flatMap((s) => s.hosts.map((h: { host: string }) => h.host)).sort()).toEqual(hosts);
    expect(codes).toEqual(shards.map((s) => s.exitCode));
    const key = (r: { host: string; task: string; status: string }) => `${r.host} ${r.task} ${r.status}`;
    expect(merged.results.map(key).sort()).toEqual(all.results.map(key).sort());
    expect(merged.merged).toEqual({ reports: 3, shards: [1, 2, 3].map((k) => ({ index: k, count: 3 })) });
    expect(m.out()).toMatch(/1 host failed, 7 hosts drifted · 7 hosts in [\d.]+ s · exit 2/);
    expect(readFileSync(join(dir, 'merged.xml'), 'utf8')).toContain('<testsuite name="h7"');
    expect(readFileSync(join(dir, 'merged.md'), 'utf8')).toContain('### Drift');
  });

  it('--list-hosts shows only the shard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-shard-'));
    writeFileSync(join(dir, 'site.yaml'), '- hosts: all\n  tasks:\n    - name: t\n      command: "true"\n');
    const t = io();
    expect(await run(['-i', 'e,a,c,b,d,', '--shard', '2/2', '--list-hosts', join(dir, 'site.yaml')], t.io)).toBe(0);
    expect(t.out()).toBe('play all (2 hosts)\n  b\n  d\n');
  });
});
