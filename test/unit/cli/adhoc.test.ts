/**
 * `provision exec` and `provision facts` through the CLI on local connections
 * (several inventory hosts, each a local connection): what a user sees, the
 * JSON report, the exit codes; facts checked against what this machine says
 * when asked directly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../../src/cli/program.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: { NO_COLOR: '1' }, onInterrupt: () => () => {} };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

function inventory(hosts: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'provision-adhoc-'));
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, `all:\n  children:\n    web:\n      hosts:\n${hosts}`);
  return file;
}

const local = (n: number) => Array.from({ length: n }, (_, i) => `        web${i + 1}: { connection: local }\n`).join('');

describe('provision exec', () => {
  it('one command on every host, identical output grouped, a verdict, exit 0; a JSON report with each stdout', async () => {
    const inv = inventory(local(3));
    const report = join(tmpdir(), `exec-${process.pid}.json`);
    const t = io();
    expect(await run(['exec', '-i', inv, 'web', '--report', `json=${report}`, '--', 'echo', 'hello;', 'uname', '-s'], t.io)).toBe(0);
    expect(t.out()).toBe(`all 3 hosts · exit 0\n  | hello\n  | Linux\n\n3 succeeded · 3 hosts in ${/in ([\d.]+) s/.exec(t.out())![1]} s · exit 0\n`);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json).toMatchObject({ schema: 'provision-report/1', command: 'echo hello; uname -s', exitCode: 0, totals: { hosts: 3, changed: 3 } });
    expect(json.results.map((r: { host: string; stdout: string; rc: number }) => [r.host, r.stdout, r.rc])).toEqual([
      ['web1', 'hello\nLinux', 0],
      ['web2', 'hello\nLinux', 0],
      ['web3', 'hello\nLinux', 0],
    ]);
  });

  it('a failing command: exit status and stderr per group, exit 2; an unreachable host: exit 4 when nothing failed', async () => {
    const inv = inventory(`${local(2)}        web9: { host: 127.0.0.1, port: 1, connect_timeout: 2 }\n`);
    const failed = io();
    expect(await run(['exec', '-i', inv, 'all', '--', 'echo out; echo oops >&2; exit 3'], failed.io)).toBe(2);
    expect(failed.out()).toContain('web1, web2 (2 hosts) · exit 3\n  | out\n  ! oops\n');
    expect(failed.out()).toMatch(/^web9 · unreachable: no way to authenticate/m);
    expect(failed.out()).toMatch(/2 failed, 1 unreachable · 3 hosts in [\d.]+ s · exit 2\n$/);
    const ok = io();
    expect(await run(['exec', '-i', inv, 'all', '--', 'true'], ok.io)).toBe(4);
    expect(ok.out()).toContain('web1, web2 (2 hosts) · exit 0 · no output\n');
  });

  it('--limit and --shard select hosts as a run does; a pattern that matches nothing is said', async () => {
    const inv = inventory(local(4));
    const t = io();
    expect(await run(['exec', '-i', inv, 'all', '--limit', 'web1:web2:web3', '--shard', '2/2', '--', 'echo x'], t.io)).toBe(0);
    expect(t.out()).toMatch(/^web2 · exit 0: x$/m);
    const none = io();
    expect(await run(['exec', '-i', inv, 'db', '--', 'true'], none.io)).toBe(0);
    expect(none.err()).toContain('warning: host pattern "db" matches no host');
    expect(none.out()).toContain('no host selected');
  });

  it('the command must come after --, so its flags are never read as provision\'s', async () => {
    const inv = inventory(local(1));
    const t = io();
    expect(await run(['exec', '-i', inv, 'all', 'ls', '-l', '/'], t.io)).toBe(2);
    expect(t.err()).toBe('error: put the command after --: provision exec -i INVENTORY PATTERN -- COMMAND...\n');
    expect(t.out()).toBe('');
  });

  it('--timeout stops a command that runs too long: the host fails with why', async () => {
    const inv = inventory(local(1));
    const t = io();
    expect(await run(['exec', '-i', inv, 'all', '--timeout', '1', '--', 'sleep 30'], t.io)).toBe(2);
    expect(t.out()).toMatch(/^web1 · failed: timed out after 1 s$/m);
  });

  it('Ctrl-C: no new host starts, the running one finishes, exit 130', async () => {
    const inv = inventory(local(3));
    const t = io();
    let interrupt = () => {};
    t.io.onInterrupt = (h) => ((interrupt = h), () => {});
    const marker = join(mkdtempSync(join(tmpdir(), 'provision-int-')), 'started');
    const running = run(['exec', '-i', inv, 'all', '-f', '1', '--', `touch ${marker}; sleep 1; echo done`], t.io);
    for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
    interrupt();
    expect(await running).toBe(130);
    expect(t.err()).toContain('interrupt: no new host is started');
    expect(t.out()).toMatch(/^web1 · exit 0: done$/m);
    expect(t.out()).not.toMatch(/web2|web3/);
    expect(t.out()).toMatch(/^interrupted \(2 hosts not started\), 1 succeeded · 1 host in [\d.]+ s · exit 130$/m);
  });

  it('output from hosts is escaped: it cannot forge lines', async () => {
    const inv = inventory(local(1));
    const t = io();
    await run(['exec', '-i', inv, 'all', '--', `printf 'a\\033[2Jb\\342\\200\\256c'`], t.io);
    expect(t.out()).toContain('web1 · exit 0: a\\e[2Jb\\u202ec\n');
  });
});

describe('provision facts', () => {
  it('--json: what this machine says about itself, in one round trip per host', async () => {
    const inv = inventory(local(2));
    const t = io();
    const code = await run(['facts', '-i', inv, 'all', '--json'], t.io);
    const r = JSON.parse(t.out());
    expect(r.schema).toBe('provision-facts/1');
    expect(r.hosts.map((h: { host: string }) => h.host)).toEqual(['web1', 'web2']);
    const h = r.hosts[0];
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    expect(h.os.distribution).toBe(/^ID=(.*)$/m.exec(osRelease)![1]!.replace(/"/g, ''));
    expect(h.os.version).toBe((/^VERSION_ID=(.*)$/m.exec(osRelease)?.[1] ?? '').replace(/"/g, ''));
    expect(h.user).toBe(execFileSync('id', ['-un'], { encoding: 'utf8' }).trim());
    expect(h.kernel).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    // every fact was read, or says why not, and the exit code says which
    for (const k of ['sshd', 'firewall', 'listeners']) expect(h[k]).toBeDefined();
    const anyError = r.hosts.some((x: Record<string, unknown>) => ['sshd', 'firewall', 'listeners'].some((k) => (x[k] as { error?: string }).error));
    expect(code).toBe(anyError ? 2 : 0);
    // one command per host for all the facts
    expect(r.hosts).toHaveLength(2);
  });

  it('a table by default, a row per host; unreachable hosts say why', async () => {
    const inv = inventory(`${local(1)}        web9: { host: 127.0.0.1, port: 1, connect_timeout: 2 }\n`);
    const t = io();
    expect([2, 4]).toContain(await run(['facts', '-i', inv, 'all'], t.io));
    const lines = t.out().split('\n');
    expect(lines[0]).toMatch(/^HOST +OS +INIT +PKG +CONTAINER +SSH PORT +ROOT LOGIN +PASSWORDS +FIREWALL +LISTENING$/);
    expect(lines[1]).toMatch(/^web1 +\S+ \S+ +(systemd|sysv|none) +(apt|dnf|yum|none) +(yes|no) /);
    expect(lines[2]).toMatch(/^web9 +unreachable$/);
    expect(t.out()).toMatch(/^! web9: unreachable: /m);
  });
});
