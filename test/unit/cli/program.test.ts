import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../../src/cli/program.js';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env, onInterrupt: () => () => {} };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

function files(playbook: string) {
  const dir = mkdtempSync(join(tmpdir(), 'provision-cli-'));
  const pb = join(dir, 'site.yaml');
  writeFileSync(pb, playbook.replaceAll('DIR', dir));
  return { dir, pb };
}

describe('provision CLI', () => {
  it('--help teaches: usage, examples, exit codes; exit 0', async () => {
    const t = io();
    expect(await run(['--help'], t.io)).toBe(0);
    expect(t.out()).toMatch(/provision \[run\] -i INVENTORY/);
    expect(t.out()).toMatch(/Exit codes:[\s\S]*3 +check mode found drift/);
    const r = io();
    expect(await run(['run', '--help'], r.io)).toBe(0);
    for (const flag of ['--inventory', '--check', '--diff', '--limit', '--tags', '--extra-vars', '--forks', '--report', '--host-key-policy']) {
      expect(r.out()).toContain(flag);
    }
  });

  it('a malformed playbook exits 2 naming file:line:col and field, no stack trace', async () => {
    const { pb } = files('- hosts: all\n  tasks:\n    - copy:\n        dest: /tmp/x\n        mode: [1]\n');
    const t = io();
    expect(await run(['-i', 'localhost,', pb], t.io)).toBe(2);
    expect(t.err()).toContain(`${pb}:5:15 [0].tasks[0].copy.mode`);
    expect(t.err()).not.toMatch(/\n\s+at /);
  });

  it('validate checks files without contacting hosts', async () => {
    const { pb } = files('- hosts: all\n  tasks:\n    - command: "true"\n');
    const t = io();
    expect(await run(['validate', pb, '-i', 'web1,web2,'], t.io)).toBe(0);
    expect(t.out()).toContain('valid:');
  });

  it('applies on localhost, writes a JSON report, and check mode exits 3 on drift then 0', async () => {
    const { dir, pb } = files('- hosts: all\n  tasks:\n    - name: f\n      copy: { dest: DIR/out, content: "x" }\n');
    const check = io();
    expect(await run(['-i', 'localhost,', '--check', pb], check.io)).toBe(3);
    expect(check.out()).toMatch(/drift +localhost +f/);
    const apply = io();
    expect(await run(['-i', 'localhost,', '--report', `json=${join(dir, 'r.json')}`, pb], apply.io)).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(report).toMatchObject({ schema: 'provision-report/1', mode: 'apply', totals: { changed: 1 } });
    const audit = io();
    expect(await run(['-i', 'localhost,', '--check', pb], audit.io)).toBe(0);
    expect(audit.out()).toMatch(/no drift/);
  });

  it('masks secrets given as extra vars in every output', async () => {
    const { dir, pb } = files('- hosts: all\n  tasks:\n    - name: echo\n      shell: "echo {{ db_password }}"\n');
    const t = io();
    const report = join(dir, 'r.json');
    expect(await run(['-i', 'localhost,', '-v', '-e', 'db_password=hunter2hunter2', '--report', `json=${report}`, pb], t.io)).toBe(0);
    expect(t.out()).toContain('********');
    expect(t.out()).not.toContain('hunter2');
    expect(readFileSync(report, 'utf8')).not.toContain('hunter2');
  });

  it('rejects a bad --report and -e with exit 2', async () => {
    const { pb } = files('- hosts: all\n  tasks: []\n');
    const t = io();
    expect(await run(['-i', 'localhost,', '--report', 'pdf=x', pb], t.io)).toBe(2);
    expect(t.err()).toMatch(/FORMAT one of json/);
    const e = io();
    expect(await run(['-i', 'localhost,', '-e', 'novalue', pb], e.io)).toBe(2);
  });

  it('refuses a --log-file it cannot write with exit 2 and the reason, before any host', async () => {
    const { dir, pb } = files('- hosts: all\n  tasks:\n    - copy: { dest: DIR/f, content: "x" }\n');
    writeFileSync(join(dir, 'plain'), '');
    // a path under a file (ENOTDIR), and one under /proc, where pino's own mkdir retried forever and ignored Ctrl-C
    for (const [log, why] of [[join(dir, 'plain', 'run.log'), /ENOTDIR|EEXIST/], ['/proc/nope/run.log', /ENOENT|EACCES|EPERM/]] as const) {
      const t = io();
      expect(await run(['-i', 'localhost,', '--log-file', log, pb], t.io)).toBe(2);
      expect(t.err()).toContain(`--log-file: cannot write the log file ${log}: `);
      expect(t.err()).toMatch(why);
      expect(t.err()).not.toMatch(/^\s+at /m);
      expect(readdirSync(dir).sort()).toEqual(['plain', 'site.yaml']); // the task did not run
    }
    // a directory that does not exist yet is made
    const ok = io();
    const log = join(dir, 'logs', 'deep', 'run.log');
    expect(await run(['-i', 'localhost,', '--check', '--log-file', log, pb], ok.io)).toBe(3);
    expect(readFileSync(log, 'utf8')).toMatch(/"msg":"play start"/);
  });

  // a full disk needs a small filesystem of its own: a tmpfs, which only root can mount (CI runs as root)
  it.runIf(process.getuid?.() === 0)('a report that cannot be written (full disk) keeps the run\'s exit code, says why, leaves no temp file', async () => {
    const { dir, pb } = files('- hosts: all\n  tasks:\n    - copy: { dest: DIR/f, content: "x" }\n');
    const full = join(dir, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', full]);
    try {
      const check = io();
      expect(await run(['-i', 'localhost,', '--check', '--report', `html=${join(full, 'r.html')}`, pb], check.io)).toBe(3);
      expect(check.err()).toMatch(/^error: cannot write the html report .*r\.html: ENOSPC/m);
      const apply = io();
      expect(await run(['-i', 'localhost,', '--report', `html=${join(full, 'r.html')}`, '--report', `json=${join(dir, 'r.json')}`, pb], apply.io)).toBe(0);
      expect(apply.err()).toMatch(/ENOSPC/);
      expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).exitCode).toBe(0); // the other report was written
      expect(readdirSync(full)).toEqual([]);
    } finally {
      execFileSync('umount', [full]);
    }
  });
});
