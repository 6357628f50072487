/**
 * A second Ctrl-C quits at once: the local commands the run started (their own
 * process groups, so they would outlive us) end with it. Driven through the CLI
 * in a child process; the command's pid is read from a file it writes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url).pathname;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (ok()) return true;
  return ok();
};

describe('local commands and a second Ctrl-C', () => {
  it('ends the running local command and exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-ctrlc-'));
    const pidFile = join(dir, 'pid');
    const pb = join(dir, 'pb.yaml');
    writeFileSync(pb, `- hosts: all\n  tasks:\n    - shell: 'echo $$ > ${pidFile}; exec sleep 300'\n`);
    const child = spawn(tsx, [main, '-i', 'localhost,', pb], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    expect(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 30_000), out).toBe(true);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(sleeper)).toBe(true);
    child.kill('SIGINT');
    await until(() => /Ctrl-C again to quit now/.test(out), 10_000);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).toBe(130);
    expect(out).toMatch(/interrupt: quitting now/);
    expect(await until(() => !alive(sleeper), 5000), `sleep ${sleeper} still running`).toBe(true);
  });
});
