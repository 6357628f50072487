/**
 * reboot: the task's arguments (Ansible 2.14's reboot action) and the
 * runner's wait for the host, with fake connections and a fake clock: the
 * reboot command may lose its connection, new connections are tried until
 * the boot id changes and the test command passes, within reboot_timeout.
 */
import { describe, expect, it } from 'vitest';
import type { Connection, ExecResult } from '../../../src/connections/types.js';
import { ConnectionError } from '../../../src/contract/errors.js';
import type { RebootRequest } from '../../../src/contract/task.js';
import { HostSession } from '../../../src/core/host.js';
import { rebootAndWait, REBOOT_POLL_MS, type RebootClock } from '../../../src/core/reboot.js';
import { reboot, rebootCommand } from '../../../src/tasks/reboot.js';
import { parseBootId } from '../../../src/facts/boot.js';
import { ctx } from '../tasks/_helpers.js';

const as = { become: false, becomeUser: 'root' };
const req: RebootRequest = { command: 'reboot-now', bootTimeCommand: 'bootid', bootIdBefore: 'old', testCommand: 'whoami', timeoutSec: 60, postDelaySec: 3 };

class FakeConn implements Connection {
  readonly kind = 'ssh' as const;
  readonly name = 'web1';
  readonly commands: string[] = [];
  closed = false;
  constructor(private readonly answer: (command: string) => ExecResult | Error) {}
  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    const a = this.answer(command);
    if (a instanceof Error) throw a;
    return a;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  readonly stats = { commands: 0, roundTrips: 0, authRoundTrips: 0, keepaliveRoundTrips: 0, bytesIn: 0, bytesOut: 0 };
}

function fakeClock(): RebootClock & { t: number; slept: number[] } {
  const c = { t: 0, slept: [] as number[], now: () => c.t, sleep: async (ms: number) => { c.slept.push(ms); c.t += ms; } };
  return c;
}

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });

describe('rebootAndWait', () => {
  it('tolerates the connection lost under the reboot command, waits post_reboot_delay, reconnects until a new boot id and a passing test command, then swaps', async () => {
    const first = new FakeConn((c) => (c.includes('reboot-now') ? new ConnectionError('web1', 'connection reset') : ok('old\n')));
    const session = new HostSession('web1', first, undefined);
    session.gathered = true;
    const tries: FakeConn[] = [];
    const answers = ['refused', 'same', 'new'];
    const connect = async (): Promise<Connection> => {
      const kind = answers.shift() ?? 'new';
      if (kind === 'refused') throw new ConnectionError('web1', 'connect ECONNREFUSED');
      const conn = new FakeConn((c) => (c === 'bootid' ? ok(kind === 'same' ? 'old\n' : 'fresh-id\n') : ok('root\n')));
      tries.push(conn);
      return conn;
    };
    const clock = fakeClock();
    const back = await rebootAndWait(session, connect, req, as, clock);
    expect(back).toEqual({ elapsedSec: 7, bootId: 'fresh-id' });
    expect(clock.slept).toEqual([3000, REBOOT_POLL_MS, REBOOT_POLL_MS]);
    expect(first.commands).toEqual(['timeout -k 5 30 /bin/sh -c reboot-now']);
    expect(first.closed).toBe(true);
    expect(tries[0]!.closed).toBe(true);
    expect(tries[1]!.commands).toEqual(['bootid', 'whoami']);
    expect(session.connection).toBe(tries[1]);
  });

  it('fails when the reboot command fails, and when reboot_timeout passes without a new boot id', async () => {
    const failing = new HostSession('web1', new FakeConn(() => ({ code: 1, stdout: '', stderr: 'shutdown: not found' })), undefined);
    failing.gathered = true;
    await expect(rebootAndWait(failing, async () => new FakeConn(() => ok()), req, as, fakeClock())).rejects.toThrow('reboot command failed (exit 1): shutdown: not found');
    const never = new HostSession('web1', new FakeConn(() => ok()), undefined);
    never.gathered = true;
    const clock = fakeClock();
    await expect(rebootAndWait(never, async () => new FakeConn(() => ok('old\n')), req, as, clock)).rejects.toThrow(
      'timed out waiting for a new boot id (reboot_timeout 60 s; last: boot id still old)',
    );
    expect(clock.t).toBeGreaterThanOrEqual(60_000);
  });
});

describe('reboot task', () => {
  const parse = (raw: unknown) => reboot.schema.parse(raw);
  it("takes Ansible's arguments; shutdown -r gets pre_reboot_delay in whole minutes and msg quoted", () => {
    expect(rebootCommand(parse({}))).toBe(`PATH="$PATH:/sbin:/usr/sbin" shutdown -r 0 'Reboot initiated by Ansible'`);
    expect(rebootCommand(parse({ pre_reboot_delay: 150, msg: "it's time" }))).toBe(`PATH="$PATH:/sbin:/usr/sbin" shutdown -r 2 'it'\\''s time'`);
    expect(rebootCommand(parse({ reboot_command: 'systemctl reboot' }))).toBe('systemctl reboot');
    expect(parse({ reboot_timeout_sec: 90 }).reboot_timeout).toBe(90);
    expect(parse({}).reboot_timeout).toBe(600);
    expect(reboot.schema.safeParse({ search_paths: ['/sbin'] }).error?.issues[0]?.message).toMatch(/search_paths/);
    expect(reboot.schema.safeParse({ reboot_timeout: 1, reboot_timeout_sec: 2 }).success).toBe(false);
    const p = reboot.plan(parse({ reboot_timeout: 300, test_command: 'uptime' }), { boot: 'abc' }, ctx);
    expect(p).toMatchObject({ kind: 'change', summary: 'reboot (boot id now abc)', steps: [], data: { rebooted: true } });
    expect(p.kind === 'change' && p.reboot).toMatchObject({ bootIdBefore: 'abc', timeoutSec: 300, testCommand: 'uptime', postDelaySec: 0 });
  });

  it('the boot id fact: trimmed output; nothing printed is an error', () => {
    expect(parseBootId('8a6f\n', 'cat x', 0)).toBe('8a6f');
    expect(() => parseBootId('', 'cat x', 1)).toThrow('cat x printed no boot id (exit 1)');
  });
});
