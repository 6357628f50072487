/**
 * The operator's terminal: the built CLI in a real pty (tmux), its screen read
 * as a person reads it. A check run on a terminal draws a live area while it
 * runs; when it ends, the screen must still say which tasks drifted, on which
 * hosts and why, then the recap.
 *
 * Hosts here are local connections, each working in its own temp dir, so no
 * container is needed; test/integration/terminal.test.ts does the same against
 * a fleet host over SSH.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';
import { Terminal, hasTmux } from '../support/tmux.js';

const tmux = hasTmux();
if (!tmux) console.warn('terminal e2e skipped: tmux is missing (apt-get install -y tmux; .ci/run installs it)');

/** Rows of the screen that the live area would have drawn: `[###...] n/m tasks`. */
const LIVE_ROW = /\[[#.]+\] \d+\/\d+ tasks/;

describe.skipIf(!tmux)('the built CLI on a real terminal (tmux)', () => {
  let cli: string;
  let term: Terminal | undefined;
  beforeAll(() => {
    cli = builtCli();
  });
  afterEach(async () => {
    await term?.stop();
    term = undefined;
  });

  it('1 host: the live area runs, then every drifted task stays on screen with its reason, then the recap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-tty-'));
    writeFileSync(
      join(dir, 'site.yaml'),
      `- name: day one
  hosts: all
  tasks:
    - name: motd
      copy: { dest: ${dir}/motd, content: "hello\\n" }
    - name: app config
      copy: { dest: ${dir}/app.conf, content: "port = 8080\\n" }
    - name: state directory
      file: { path: ${dir}/state, state: directory, mode: "0750" }
    - name: a slow probe that keeps the live area on screen
      command: sleep 3
      check_mode: false
      changed_when: false
    - name: 日本語の設定ファイル 🎉 with a long name that the live area must cut without breaking a character
      lineinfile: { path: ${dir}/jp.conf, line: "言語 = 日本語", create: true }
    - name: log level
      lineinfile: { path: ${dir}/app.conf, line: "log = debug", create: true }
`,
    );
    term = await Terminal.start({ columns: 100, rows: 40, cwd: dir });
    await term.type(`clear; node ${cli} --check -i localhost, site.yaml; echo "EXIT=$?"`);
    // while the probe sleeps, the live area is on screen
    const during = await term.waitFor(/^ {2}localhost {2}a slow probe that keeps the live area on screen {2}4\/6 · /m, 30_000);
    expect(during).toMatch(LIVE_ROW);
    const screen = await term.waitFor(/^EXIT=\d+$/m, 60_000);
    expect(screen).toMatch(/^EXIT=3$/m);
    // the live area is gone; what drifted is listed, one row each, with host and reason
    expect(screen).not.toMatch(LIVE_ROW);
    const rows = screen.split('\n');
    const listed = (task: string, reason: RegExp) => rows.find((r) => r.includes(task) && /^ {2}drift +localhost {2}/.test(r) && reason.test(r));
    expect(listed('motd', / — \S/), screen).toBeDefined();
    expect(listed('app config', / — \S/), screen).toBeDefined();
    expect(listed('state directory', / — \S/), screen).toBeDefined();
    expect(listed('日本語の設定ファイル 🎉', /…$/), screen).toBeDefined();
    expect(listed('log level', / — \S/), screen).toBeDefined();
    // the list comes after the live area, before the recap and the verdict
    const at = (re: RegExp) => rows.findIndex((r) => re.test(r));
    expect(at(/^DRIFT$/)).toBeGreaterThan(at(/^PLAY day one/));
    expect(at(/^RECAP \(check mode\)/)).toBeGreaterThan(at(/log level/));
    expect(screen).toMatch(/^ {2}localhost +1 +5 +0 +0 +no$/m);
    expect(screen).toMatch(/1 host drifted · 1 host in [\d.]+ s · exit 3/);
    // no row wider than the terminal, no broken character
    for (const r of rows) expect(r).not.toContain('\ufffd');
  }, 120_000);

  it('a pty that reports no width (0 columns): 80 columns, cut whole characters, no mangled bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-tty0-'));
    const long = 'タスク名'.repeat(12);
    writeFileSync(
      join(dir, 'site.yaml'),
      `- hosts: all
  tasks:
    - name: ${long}
      copy: { dest: ${dir}/a, content: "x" }
    - name: wait
      command: sleep 2
      check_mode: false
      changed_when: false
`,
    );
    term = await Terminal.start({ columns: 100, rows: 30, cwd: dir });
    await term.type(`clear; stty cols 0 rows 0; node ${cli} --check -i localhost, site.yaml; echo "EXIT=$?"`);
    const during = await term.waitFor(LIVE_ROW, 30_000);
    for (const r of during.split('\n')) expect(r.length, r).toBeLessThanOrEqual(100);
    const screen = await term.waitFor(/^EXIT=\d+$/m, 60_000);
    expect(screen).toMatch(/^EXIT=3$/m);
    expect(screen).not.toContain('\ufffd');
    // the drifted task, cut to 79 columns at a whole character, with a whole ellipsis
    const row = screen.split('\n').find((r) => r.startsWith('  drift  localhost  タスク名'));
    expect(row, screen).toBeDefined();
    expect(row).toMatch(/^ {2}drift {2}localhost {2}(タスク名)+タ?ス?ク?名?…$/);
  });

  it('values from hosts cannot forge lines or clear the screen: escape sequences and newlines are shown escaped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-ttyx-'));
    writeFileSync(
      join(dir, 'site.yaml'),
      `- hosts: all
  tasks:
    - name: hostile output
      shell: "printf 'before\\\\033[2J\\\\033[Hok   localhost  forged line\\\\n\\\\342\\\\200\\\\256reversed' >&2; exit 1"
      check_mode: false
`,
    );
    term = await Terminal.start({ columns: 100, rows: 30, cwd: dir });
    await term.type(`clear; echo MARKER-ABOVE; node ${cli} --check -i localhost, site.yaml; echo "EXIT=$?"`);
    // rows the terminal wrapped, joined: the lines as printed
    const screen = await term.waitFor(/^EXIT=\d+$/m, 60_000, { joined: true });
    expect(screen).toMatch(/^EXIT=2$/m);
    // the screen was not cleared, no line starts with the forged text
    expect(screen).toContain('MARKER-ABOVE');
    expect(screen).not.toMatch(/^ok {3}localhost {2}forged line/m);
    const failed = screen.split('\n').find((r) => /^ {2}failed +localhost {2}hostile output/.test(r));
    expect(failed, screen).toBeDefined();
    expect(screen).toContain('before\\e[2J\\e[Hok   localhost  forged line | \\u202ereversed');
  });

  it('50 hosts: after the live area, every drifted task with its hosts grouped, a compact recap, all on one screen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p50-'));
    const names = Array.from({ length: 50 }, (_, i) => `node${String(i + 1).padStart(2, '0')}`);
    const hostLines = names.map((n) => `    ${n}: { connection: local, dir: "${dir}/${n}" }`);
    writeFileSync(join(dir, 'inventory.yaml'), `all:\n  hosts:\n${hostLines.join('\n')}\n`);
    for (const [i, n] of names.entries()) {
      // node47 lacks its state dir: that drifts on one host only
      if (n !== 'node47') mkdirSync(join(dir, n, 'state'), { recursive: true });
      // node01..node10 already have the right config: the config drifts on 40 hosts
      if (i < 10) writeFileSync(join(dir, n, 'app.conf'), 'port = 8080\n');
    }
    writeFileSync(
      join(dir, 'site.yaml'),
      `- name: fleet audit
  hosts: all
  tasks:
    - name: motd
      copy: { dest: "{{ dir }}/motd", content: "hello\\n" }
    - name: app config
      copy: { dest: "{{ dir }}/app.conf", content: "port = 8080\\n" }
    - name: state directory
      file: { path: "{{ dir }}/state", state: directory }
    - name: a slow probe
      command: sleep 2
      check_mode: false
      changed_when: false
    - name: 設定 🎉
      lineinfile: { path: "{{ dir }}/jp.conf", line: "言語 = 日本語", create: true }
`,
    );
    term = await Terminal.start({ columns: 100, rows: 40, cwd: dir });
    await term.type(`clear; node ${cli} --check -i inventory.yaml site.yaml; echo "EXIT=$?"`);
    const during = await term.waitFor(/\d+ running/, 60_000);
    expect(during).toMatch(LIVE_ROW);
    const screen = await term.waitFor(/^EXIT=\d+$/m, 120_000);
    expect(screen).toMatch(/^EXIT=3$/m);
    expect(screen).not.toMatch(LIVE_ROW);
    const rows = screen.split('\n');
    expect(rows, screen).toContain('DRIFT');
    // the host's own path is in each reason: one row per task all the same, saying whose reason it shows
    expect(screen).toMatch(/^ {2}drift {2}all 50 hosts {2}motd — create \S+\/node01\/motd \(on node01; 49 other reasons\)$/m);
    expect(screen).toMatch(/^ {2}drift {2}all 50 hosts {2}motd — \S/m);
    expect(screen).toMatch(/^ {2}drift {2}node11, node12, (node\d\d, )*… \(40 hosts\) {2}app config — \S/m);
    expect(screen).toMatch(/^ {2}drift {2}node47 {2}state directory — \S/m);
    expect(screen).toMatch(/^ {2}drift {2}all 50 hosts {2}設定 🎉 — \S/m);
    // the recap merges hosts with the same counts, so all of it fits on the screen with the list
    expect(screen).toMatch(/^RECAP \(check mode\)$/m);
    expect(screen).toMatch(/^ {2}node01, node02, .*\(10 hosts\) +3 +2 +0 +0 +no$/m);
    expect(screen).toMatch(/^ {2}node11, node12, .*\(39 hosts\) +2 +3 +0 +0 +no$/m);
    expect(screen).toMatch(/^ {2}node47 +1 +4 +0 +0 +no$/m);
    expect(screen).toMatch(/50 hosts drifted · 50 hosts in [\d.]+ s · exit 3/);
  }, 240_000);
  it('provision exec on 50 hosts: a live count while it runs, then the output grouped, on one screen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pexec-'));
    const hosts = Array.from({ length: 50 }, (_, i) => `    n${String(i + 1).padStart(2, '0')}: { connection: local }`);
    writeFileSync(join(dir, 'inventory.yaml'), `all:\n  hosts:\n${hosts.join('\n')}\n`);
    term = await Terminal.start({ columns: 100, rows: 40, cwd: dir });
    await term.type(`clear; node ${cli} exec -i inventory.yaml all -- 'sleep 2; echo 日本語 ok; echo "warn\\033[2J" >&2'; echo "EXIT=$?"`);
    await term.waitFor(/^\d+\/50 hosts done · \d+ running · [\d.]+s$/m, 60_000);
    const screen = await term.waitFor(/^EXIT=\d+$/m, 120_000);
    expect(screen).toMatch(/^EXIT=0$/m);
    expect(screen).not.toMatch(/hosts done/);
    expect(screen).toContain('all 50 hosts · exit 0\n  | 日本語 ok\n  ! warn\\e[2J\n');
    expect(screen).toMatch(/^50 succeeded · 50 hosts in [\d.]+ s · exit 0$/m);
  }, 180_000);
});
