/**
 * makeDirs: `mkdir -p` on the control machine for the log file and known_hosts.
 * Node 20's own recursive mkdir spins forever under /proc; the /proc cases run in
 * a child process with a time limit, so a return of that loop fails here instead
 * of hanging the suite.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../../src/contract/local-dirs.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'provision-dirs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run this module code in a child (tsx), at most 20 s: its stdout, or "timed out". */
function inChild(code: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return r.error ? `timed out: ${r.error.message}` : r.stdout + r.stderr;
}

describe('makeDirs', () => {
  it('makes every missing level with the mode asked for, and leaves an existing directory alone', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirs(deep, 0o700);
    for (const d of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(() => makeDirs(deep, 0o755)).not.toThrow();
    expect(statSync(deep).mode & 0o777).toBe(0o700);
  });

  it('fails with the reason under a file', () => {
    writeFileSync(join(dir, 'plain'), '');
    expect(() => makeDirs(join(dir, 'plain', 'x'))).toThrow(/ENOTDIR|EEXIST/);
  });

  it('fails at once under /proc, for the log file and for known_hosts', () => {
    const out = inChild(`
      import { makeDirs } from './src/contract/local-dirs.ts';
      import { appendKnownHost } from './src/connections/known-hosts.ts';
      for (const f of [() => makeDirs('/proc/nope/logs'), () => appendKnownHost('/proc/nope/known_hosts', 'h', Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIE', 'base64'))]) {
        try { f(); console.log('made'); } catch (e) { console.log('refused', e.code); }
      }`);
    expect(out).toMatch(/^refused (ENOENT|EACCES|EPERM)\nrefused (ENOENT|EACCES|EPERM)\n$/);
  }, 60_000);
});
