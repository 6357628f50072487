/**
 * The runner without SSH: every "host" is a local shell working in its own
 * temp directory, so ordering, check mode, handlers, failures and exit codes
 * are tested with real commands and no network.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import type { TaskResult } from '../../../src/core/results.js';
import { run, type RunOptions } from '../../../src/core/runner.js';
import { batches } from '../../../src/core/selection.js';
import { registry } from '../../../src/tasks/index.js';

const INVENTORY = `
all:
  children:
    web:
      hosts:
        web1: { dir_name: w1 }
        web2: { dir_name: w2 }
    db:
      hosts:
        db1: { dir_name: d1 }
`;

function setup(playbook: string, extra: Partial<RunOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'provision-runner-'));
  const inventory = parseInventory(INVENTORY, 'inv.yaml');
  const book = parsePlaybook(playbook.replaceAll('ROOT', root), join(root, 'site.yaml'), registry);
  const go = (opts: Partial<RunOptions> = {}) =>
    run({ inventory, playbook: book, registry, connect: async (spec) => new LocalConnection(spec.name), ...extra, ...opts });
  return { root, go };
}

const line = (r: TaskResult) => `${r.host} ${r.status} ${r.task}`;

describe('runner', () => {
  it('runs tasks in order per host, hosts in parallel, and reports exit 0', async () => {
    const { root, go } = setup(`
- hosts: all
  tasks:
    - name: dir
      file: { path: "ROOT/{{ dir_name }}", state: directory }
    - name: file
      copy: { dest: "ROOT/{{ dir_name }}/f", content: "{{ inventory_hostname }}" }
`);
    const s = await go();
    expect(s.exitCode).toBe(0);
    expect(s.results.map(line).sort()).toEqual(
      ['db1 changed dir', 'db1 changed file', 'web1 changed dir', 'web1 changed file', 'web2 changed dir', 'web2 changed file'],
    );
    expect(readFileSync(join(root, 'w2/f'), 'utf8')).toBe('web2');
    expect(s.hosts.map((h) => [h.host, h.changed])).toEqual([['web1', 2], ['web2', 2], ['db1', 2]]);
  });

  it('check mode changes nothing, predicts later tasks, and exits 3 on drift', async () => {
    const { root, go } = setup(`
- hosts: web1
  tasks:
    - name: create
      copy: { dest: ROOT/a, content: "x" }
    - name: then set mode
      file: { path: ROOT/a, mode: "0600" }
`);
    const s = await go({ check: true });
    expect(existsSync(join(root, 'a'))).toBe(false);
    // the second task sees the file the first would create (prediction), not "missing"
    expect(s.results.map(line)).toEqual(['web1 changed create', 'web1 changed then set mode']);
    expect(s.exitCode).toBe(3);
  });

  it('a failed task stops its host; other hosts go on; exit 2', async () => {
    const { go } = setup(`
- hosts: all
  tasks:
    - name: fail on web1
      command: "false"
      when: inventory_hostname == 'web1'
    - name: after
      command: "true"
`);
    const s = await go();
    expect(s.results.map(line).sort()).toEqual([
      'db1 changed after',
      'db1 skipped fail on web1',
      'web1 failed fail on web1',
      'web2 changed after',
      'web2 skipped fail on web1',
    ]);
    expect(s.exitCode).toBe(2);
  });

  it('ignore_errors, register, changed_when, failed_when and loops', async () => {
    const { go } = setup(`
- hosts: db1
  tasks:
    - name: soft fail
      command: "false"
      ignore_errors: true
    - name: probe
      shell: "echo {{ item }}"
      loop: [a, b]
      register: out
      changed_when: false
    - name: use it
      command: "true"
      failed_when: out.results | length != 2
      changed_when: false
`);
    const s = await go();
    expect(s.results.map((r) => `${r.status}${r.ignored ? ' ignored' : ''} ${r.task}`)).toEqual([
      'failed ignored soft fail',
      'ok probe (item=a)',
      'ok probe (item=b)',
      'ok use it',
    ]);
    expect(s.results[2]?.stdout).toBe('b');
    expect(s.exitCode).toBe(0);
    expect(s.hosts[0]).toMatchObject({ ok: 3, ignored: 1, failed: 0 });
  });

  it('handlers run once at the end, only where notified by a change', async () => {
    const { root, go } = setup(`
- hosts: web
  tasks:
    - name: config
      copy: { dest: "ROOT/{{ dir_name }}.conf", content: "v1" }
      notify: restart
    - name: config again
      copy: { dest: "ROOT/{{ dir_name }}.conf", content: "v1" }
      notify: restart
  handlers:
    - name: restart
      shell: "echo restarted >> ROOT/{{ dir_name }}.log"
`);
    const first = await go();
    expect(first.results.filter((r) => r.handler).map((r) => r.host).sort()).toEqual(['web1', 'web2']);
    expect(readFileSync(join(root, 'w1.log'), 'utf8')).toBe('restarted\n');
    const second = await go();
    expect(second.results.filter((r) => r.handler)).toEqual([]);
  });

  it('an interrupted run starts no new task and exits 130', async () => {
    const controller = new AbortController();
    const { go } = setup(`
- hosts: web1
  tasks:
    - name: one
      command: "true"
    - name: two
      command: "true"
`);
    const s = await go({ signal: controller.signal, events: { taskEnd: () => controller.abort() } });
    expect(s.results.map((r) => r.task)).toEqual(['one']);
    expect(s.interrupted).toBe(true);
    expect(s.exitCode).toBe(130);
  });

  it('tags and --limit select tasks and hosts', async () => {
    const { go } = setup(`
- hosts: all
  tasks:
    - name: tagged
      command: "true"
      tags: [ssh]
    - name: untagged
      command: "true"
`);
    const s = await go({ tags: ['ssh'], limit: 'web:!web2' });
    expect(s.results.map(line)).toEqual(['web1 changed tagged']);
  });

  it('a connection failure marks the host unreachable and exits 4', async () => {
    const { go } = setup(`
- hosts: all
  tasks:
    - name: t
      command: "true"
`);
    const s = await go({
      connect: async (spec) => {
        if (spec.name === 'db1') throw new Error('connect ECONNREFUSED');
        return new LocalConnection(spec.name);
      },
    });
    expect(s.hosts.find((h) => h.host === 'db1')).toMatchObject({ unreachable: true, error: 'connect ECONNREFUSED' });
    expect(s.exitCode).toBe(4);
  });

  it('gather_facts: false reads no host facts when no task needs them; a check audit reads every fact in one command per host', async () => {
    const commands: string[] = [];
    const recording = async (spec: { name: string }) => {
      const c = new LocalConnection(spec.name);
      const exec = c.exec.bind(c);
      return Object.assign(c, { exec: (cmd: string, o?: Parameters<typeof exec>[1]) => (commands.push(cmd), exec(cmd, o)) });
    };
    const plain = setup(`
- hosts: web1
  gather_facts: false
  tasks:
    - { name: one, shell: "echo one > ROOT/one" }
    - { name: two, shell: "echo two > ROOT/two" }
`);
    expect((await plain.go({ connect: recording })).exitCode).toBe(0);
    expect(readFileSync(join(plain.root, 'two'), 'utf8')).toBe('two\n');
    expect(commands).toHaveLength(2);
    expect(commands.some((c) => c.includes('__osrelease_begin'))).toBe(false);

    commands.length = 0;
    const audit = setup(`
- hosts: web1
  tasks:
    - { name: dir, file: { path: ROOT/d, state: directory } }
    - { name: conf, copy: { dest: ROOT/d/c.conf, content: "x\\n" } }
    - { name: line, lineinfile: { path: ROOT/d/c.conf, line: "y" } }
`);
    const s = await audit.go({ connect: recording, check: true });
    expect(s.results.map(line)).toEqual(['web1 changed dir', 'web1 changed conf', 'web1 changed line']);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toContain('__osrelease_begin');
    expect(existsSync(join(audit.root, 'd'))).toBe(false);
  });
});

  it('reports the run while the connections close, and returns once every one is closed', async () => {
    const log: string[] = [];
    const slowClose = async (spec: { name: string }) => {
      const c = new LocalConnection(spec.name);
      return Object.assign(c, {
        close: async () => {
          log.push(`close ${spec.name} begins`);
          await new Promise((r) => setTimeout(r, 20));
          log.push(`close ${spec.name} done`);
        },
      });
    };
    const { go } = setup(`
- hosts: web1
  tasks:
    - { name: dir, file: { path: ROOT/d, state: directory } }
`);
    const s = await go({ connect: slowClose, events: { runEnd: () => log.push('report') } });
    log.push('returned');
    expect(s.exitCode).toBe(0);
    expect(log).toEqual(['close web1 begins', 'report', 'close web1 done', 'returned']);
  });

describe('serial batches', () => {
  it('splits by count, percentage and lists, the last size repeating', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    expect(batches(hosts, undefined)).toEqual([hosts]);
    expect(batches(hosts, [2])).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(batches(hosts, ['40%'])).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(batches(hosts, [1, '50%'])).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
  });
});
