/**
 * Reads ahead of an apply (issue 16): an apply reads the next task items'
 * facts after its last step, in the same command. The runner drives local
 * shells (every "host" a temp directory, real commands, no network): the
 * commands are counted, and what the tasks did is read back from the files.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import { HostSession } from '../../../src/core/host.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import type { TaskResult } from '../../../src/core/results.js';
import { run } from '../../../src/core/runner.js';
import { statOf } from '../../../src/facts/stat.js';
import { registry } from '../../../src/tasks/index.js';

/** Runs `playbook` (ROOT: a fresh directory) on one local host, recording every command sent. */
function setup(playbook: string) {
  const root = mkdtempSync(join(tmpdir(), 'provision-ahead-'));
  const inventory = parseInventory('all:\n  hosts:\n    h1: {}\n', 'inv.yaml');
  const book = parsePlaybook(playbook.replaceAll('ROOT', root), join(root, 'site.yaml'), registry);
  const commands: string[] = [];
  const connect = async (spec: { name: string }) => {
    const c = new LocalConnection(spec.name);
    const exec = c.exec.bind(c);
    return Object.assign(c, { exec: (cmd: string, o?: Parameters<typeof exec>[1]) => (commands.push(cmd), exec(cmd, o)) });
  };
  const go = async (check = false) => {
    commands.length = 0;
    return run({ inventory, playbook: book, registry, connect, check });
  };
  return { root, commands, go };
}

const line = (r: TaskResult) => `${r.status} ${r.task}`;
/** Commands that read facts after an apply's step. */
const withReadsAfter = (commands: readonly string[]) => commands.filter((c) => /__PF_[0-9a-f]+_after/.test(c));

const THREE = `
- hosts: h1
  tasks:
    - { name: dir, file: { path: ROOT/d, state: directory, mode: "0750" } }
    - { name: conf, copy: { dest: ROOT/d/c.conf, content: "x\\n" } }
    - { name: line, lineinfile: { path: ROOT/d/other.conf, line: "y", create: true } }
`;

describe('reads ahead of an apply', () => {
  it('an apply of three changes is one command per task after the first batch, and converges', async () => {
    const { root, commands, go } = setup(THREE);
    const s = await go();
    expect(s.results.map(line)).toEqual(['changed dir', 'changed conf', 'changed line']);
    // the host facts with every task's facts, then one command per change (it was 1 + 3 + 2 reads)
    expect(commands).toHaveLength(4);
    expect(withReadsAfter(commands)).toHaveLength(2);
    expect(readFileSync(join(root, 'd/c.conf'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(root, 'd/other.conf'), 'utf8')).toBe('y\n');
    expect(statSync(join(root, 'd')).mode & 0o777).toBe(0o750);
    const again = await go();
    expect(again.results.map(line)).toEqual(['ok dir', 'ok conf', 'ok line']);
    expect(commands).toHaveLength(1);
    await go(true);
    expect(withReadsAfter(commands)).toEqual([]);
  });

  it('a loop reads its next item ahead; the task after a read-less task reads its own facts', async () => {
    const { root, commands, go } = setup(`
- hosts: h1
  tasks:
    - { name: dirs, file: { path: "ROOT/{{ item }}", state: directory }, loop: [a, b, c] }
    - { name: wait, wait_for: { path: ROOT/c } }
    - { name: f, copy: { dest: ROOT/c/f, content: "z" } }
`);
    const s = await go();
    expect(s.results.map(line)).toEqual(['changed dirs (item=a)', 'changed dirs (item=b)', 'changed dirs (item=c)', 'ok wait', 'changed f']);
    // batch, three items (the first two read their next item ahead), wait_for, then f reads its own facts and changes
    expect(withReadsAfter(commands)).toHaveLength(2);
    expect(commands).toHaveLength(1 + 3 + 1 + 2);
    expect(readFileSync(join(root, 'c/f'), 'utf8')).toBe('z');
  });

  it('a task whose arguments name a registered result is not read ahead', async () => {
    const { root, commands, go } = setup(`
- hosts: h1
  tasks:
    - { name: name, command: "echo ROOT/c.conf", register: r }
    - { name: line, lineinfile: { path: "{{ r.stdout }}", line: "y", create: true } }
`);
    const s = await go();
    expect(s.results.map(line)).toEqual(['changed name', 'changed line']);
    expect(withReadsAfter(commands)).toEqual([]);
    expect(commands).toHaveLength(1 + 1 + 2);
    expect(readFileSync(join(root, 'c.conf'), 'utf8')).toBe('y\n');
  });

  it('a failed step discards what was read after it: the next task reads its own facts and sees what the step did', async () => {
    const { root, commands, go } = setup(`
- hosts: h1
  tasks:
    - { name: half, shell: "printf 'y\\\\n' > ROOT/f; exit 3", ignore_errors: true }
    - { name: line, lineinfile: { path: ROOT/f, line: "y" } }
    - { name: more, lineinfile: { path: ROOT/f, line: "z" } }
`);
    const s = await go();
    expect(s.results.map(line)).toEqual(['failed half', 'ok line', 'changed more']);
    // batch, the failing shell (with reads after it, discarded), line's own read, more's change
    expect(withReadsAfter(commands)).toHaveLength(1);
    expect(commands).toHaveLength(4);
    expect(readFileSync(join(root, 'f'), 'utf8')).toBe('y\nz\n');
  });

  it('the reads after a step never reach its output: stdout, stderr and rc are the step\'s', async () => {
    const { commands, go } = setup(`
- hosts: h1
  tasks:
    - { name: talk, shell: "printf hello; echo oops >&2", register: out }
    - { name: conf, copy: { dest: ROOT/c.conf, content: "x" } }
`);
    const s = await go();
    expect(withReadsAfter(commands)).toHaveLength(1);
    expect(s.results[0]).toMatchObject({ status: 'changed', stdout: 'hello', stderr: 'oops', rc: 0 });
  });
});

describe('HostSession.execThenRead', () => {
  it('returns the command\'s own output and exit code, and the values as they are after it, apart from the cache', async () => {
    const root = mkdtempSync(join(tmpdir(), 'provision-ahead-'));
    const session = new HostSession('h', new LocalConnection('h'), undefined);
    await session.gather();
    const path = join(root, 'made');
    const read = { request: statOf({ path, follow: false, checksum: null, mime: false, attributes: false }), as: { become: false, becomeUser: 'root' } };
    const { res, after } = await session.execThenRead(`printf 'out'; echo err >&2; mkdir ${path}; exit 3`, { become: false, becomeUser: 'root' }, [read]);
    expect(res).toEqual({ stdout: 'out', stderr: 'err\n', code: 3 });
    expect([...after.values()]).toMatchObject([{ exists: true, isdir: true }]);
    // a command that must not wait on the reads (a timeout) reads nothing after it
    const timed = await session.execThenRead('true', { become: false, becomeUser: 'root', timeoutMs: 5000 }, [read]);
    expect(timed.after.size).toBe(0);
  });
});

describe('reads ahead in check mode', () => {
  const PLAY = `
- hosts: h1
  tasks:
    - { name: d, file: { path: ROOT/d, state: directory } }
    - { name: which, command: "ls ROOT/in", register: seen, changed_when: false, check_mode: false }
    - { name: per, file: { path: "ROOT/d/{{ item }}", state: directory }, loop: "{{ seen.stdout_lines }}" }
    - { name: a, copy: { dest: ROOT/a, content: "a" } }
    - { name: b, lineinfile: { path: ROOT/b, line: "b", create: true } }
`;

  it('after a step that runs in check mode, the rest of the play is read in its round trip and in the first read after it, not task by task', async () => {
    const { root, commands, go } = setup(PLAY);
    for (const d of ['in/p1', 'in/p2', 'in/p3']) mkdirSync(join(root, d), { recursive: true });
    const s = await go(true);
    expect(s.results.map(line)).toEqual(['changed d', 'ok which', 'changed per (item=p1)', 'changed per (item=p2)', 'changed per (item=p3)', 'changed a', 'changed b']);
    // the first batch; the command with a and b read after it; the first loop item with the other two
    // (task by task it was 1 + 1 + 3 + 2: every task after the command read its own facts)
    expect(commands).toHaveLength(3);
    expect(withReadsAfter(commands)).toHaveLength(1);
    // nothing was changed by the audit, and an apply then does what it predicted
    expect(existsSync(join(root, 'd'))).toBe(false);
    const applied = await go();
    expect(applied.results.map(line)).toEqual(s.results.map(line));
    expect(readdirSync(join(root, 'd')).sort()).toEqual(['p1', 'p2', 'p3']);
  });
});
