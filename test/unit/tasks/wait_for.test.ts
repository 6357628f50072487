/**
 * `wait_for`: the arguments (Ansible's refusals, ours where Ansible would
 * ignore something), the probe plan, and the waiting script itself run by
 * /bin/sh on this machine against real files and TCP servers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/contract/task.js';
import { waitFor, waitScript } from '../../../src/tasks/wait_for.js';
import { ctx } from './_helpers.js';

const parse = (raw: unknown) => waitFor.schema.parse(raw);
const invalid = (raw: unknown) => waitFor.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const probe = (raw: unknown): Extract<Plan, { kind: 'probe' }> => {
  const p = waitFor.plan(parse(raw), {}, ctx);
  if (p.kind !== 'probe') throw new Error(`not a probe: ${p.kind}`);
  return p;
};

/** Run a script with /bin/sh without blocking this process's event loop (the test servers must answer). */
function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = spawn('/bin/sh', ['-c', script]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** What the pipeline does with a probe plan in an apply: run the step, register data(stdout). */
async function apply(raw: unknown) {
  const p = probe(raw);
  const r = await run(p.step.command);
  return { ...r, data: r.code === 0 ? p.data?.(r.stdout) : undefined };
}

function listen(onConnection: (s: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    // a probe that resets its connection (the port check closes as soon as it connects) is not this test's error
    const server = createServer((s) => {
      s.on('error', () => undefined);
      onConnection(s);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('wait_for arguments', () => {
  it('defaults as Ansible\'s', () => {
    expect(parse({ port: 22 })).toEqual({ port: 22, state: 'started', timeout: 300, connect_timeout: 5, delay: 0, sleep: 1 });
  });

  it('refuses what Ansible refuses, and what it would ignore', () => {
    expect(invalid({ port: 22, path: '/x' })).toBe('path: port and path parameter can not both be passed to wait_for');
    expect(invalid({ path: '/x', state: 'stopped' })).toMatch(/^state: state=stopped and state=drained should only be used for checking a port/);
    expect(invalid({ state: 'drained' })).toBe('state: state=drained needs port');
    expect(invalid({ port: 22, state: 'stopped', search_regex: 'x' })).toBe('search_regex: search_regex is only used with port or path and state started or present');
    expect(invalid({ search_regex: 'x' })).toMatch(/^search_regex: search_regex is only used with port or path/);
    expect(invalid({ path: '/x', host: 'db1' })).toBe('host: host is only used with port');
    expect(invalid({ port: 22, search_regex: '(' })).toMatch(/^search_regex: not a regular expression provision can match/);
    expect(invalid({ port: 22, host: 'a;b' })).toBe('host: a host name or an IP address');
    expect(invalid({ port: 70000 })).toMatch(/^port: /);
    expect(invalid({ port: 22, exclude_hosts: ['10.0.0.1'] })).toMatch(/Unrecognized key: "exclude_hosts"/);
    expect(invalid({ port: 22, active_connection_states: ['ESTABLISHED'] })).toMatch(/Unrecognized key: "active_connection_states"/);
  });

  it('plans a probe: the waiting step bounded by its own timeout, a single try for check mode', () => {
    const p = probe({ port: 8080, timeout: 60, delay: 5 });
    expect(p.summary).toBe('port 8080 on 127.0.0.1 open');
    expect(p.step.timeoutMs).toBe((5 + 60 + 5 + 1 + 30) * 1000);
    expect(p.checkStep.timeoutMs).toBe((5 + 1 + 30) * 1000);
    expect(p.checkStep.command).not.toMatch(/sleep 5/);
    expect(probe({ path: '/run/app.pid' }).summary).toBe('/run/app.pid exists');
    expect(probe({ path: '/run/app.pid', state: 'absent' }).summary).toBe('/run/app.pid is absent');
    expect(probe({ timeout: 3 }).summary).toBe('sleep 3 s');
  });
});

describe('wait_for script on this machine', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'provision-wait-for-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a file that appears after a second; delay counts in the timeout', async () => {
    const path = join(dir, 'appears');
    setTimeout(() => writeFileSync(path, 'x'), 1200);
    const r = await apply({ path, timeout: 10 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.data).toEqual({ elapsed: expect.any(Number), state: 'started', port: null, path, search_regex: null, match_groups: [], match_groupdict: {} });
    expect(r.data?.elapsed).toBeGreaterThanOrEqual(1);
    const late = await apply({ path: join(dir, 'never'), timeout: 1, delay: 1 });
    expect(late).toMatchObject({ code: 1, stderr: `Timeout when waiting for file ${join(dir, 'never')}\n` });
    expect(late.ms).toBeLessThan(4000);
  }, 20_000);

  it('search_regex in a file: the whole file, multiline, with the match groups', async () => {
    const path = join(dir, 'log');
    writeFileSync(path, 'starting\nmigration done in 42 s\nbye\n');
    const r = await apply({ path, search_regex: '^migration done in (?P<secs>\\d+) s$', timeout: 5 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.data).toMatchObject({ match_groups: ['42'], match_groupdict: { secs: '42' }, search_regex: '^migration done in (?P<secs>\\d+) s$' });
    const none = await apply({ path, search_regex: 'failed', timeout: 1, msg: 'the migration did not finish' });
    expect(none).toMatchObject({ code: 1, stderr: 'the migration did not finish\n' });
  }, 20_000);

  it('absent: a file that goes away; Ansible\'s timeout message', async () => {
    const path = join(dir, 'lock');
    writeFileSync(path, '');
    setTimeout(() => rmSync(path), 1200);
    expect((await apply({ path, state: 'absent', timeout: 10 })).code).toBe(0);
    writeFileSync(path, '');
    expect(await apply({ path, state: 'absent', timeout: 1 })).toMatchObject({ code: 1, stderr: `Timeout when waiting for ${path} to be absent.\n` });
  }, 20_000);

  it('a port: open, closed, a banner matching search_regex', async () => {
    const { server, port } = await listen((s) => s.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
    try {
      expect((await apply({ port, timeout: 5 })).code).toBe(0);
      const banner = await apply({ port, timeout: 5, search_regex: 'OpenSSH_(\\d+)\\.(\\d+)' });
      expect(banner.code, banner.stderr).toBe(0);
      expect(banner.data).toMatchObject({ port, state: 'started', match_groups: ['9', '2'], match_groupdict: {} });
      expect(await apply({ port, timeout: 1, state: 'stopped' })).toMatchObject({ code: 1, stderr: `Timeout when waiting for 127.0.0.1:${port} to stop.\n` });
    } finally {
      server.close();
    }
    expect((await apply({ port, timeout: 5, state: 'stopped' })).code).toBe(0);
    expect(await apply({ port, host: 'localhost', timeout: 1 })).toMatchObject({ code: 1, stderr: `Timeout when waiting for localhost:${port}\n` });
  }, 30_000);

  it('drained: no connections left on the port', async () => {
    const { server, port } = await listen(() => undefined);
    try {
      expect((await apply({ port, state: 'drained', timeout: 2 })).code).toBe(0);
    } finally {
      server.close();
    }
  }, 20_000);

  it('check mode\'s step tries once, without delay or waiting', async () => {
    const p = probe({ path: join(dir, 'never'), timeout: 300, delay: 60 });
    const r = await run(p.checkStep.command);
    expect(r).toMatchObject({ code: 1, stderr: `Timeout when waiting for file ${join(dir, 'never')}\n` });
    expect(r.ms).toBeLessThan(3000);
  });

  it('without port or path it sleeps the timeout', async () => {
    const r = await apply({ timeout: 1 });
    expect(r.code).toBe(0);
    // it slept the whole second; `elapsed` is whole seconds of the host's clock (date +%s, as Ansible's),
    // so a second that straddles two clock ticks reads 2 (CI saw it under load)
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.data?.elapsed).toBeGreaterThanOrEqual(1);
    expect(r.data?.elapsed).toBeLessThanOrEqual(Math.ceil(r.ms / 1000));
    expect(waitScript(parse({ timeout: 300 }), true)).not.toMatch(/sleep/);
  }, 10_000);
});
