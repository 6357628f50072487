/**
 * The runner's half of `reboot` (Ansible's reboot action): issue the reboot
 * command, then connect anew until the host reports another boot id, then
 * until the test command succeeds, and continue the session over that
 * connection. Every wait is bounded by the task's reboot_timeout.
 */
import type { Connection } from '../connections/types.js';
import { ConnectionError, TaskError, TimeoutError, errorMessage } from '../contract/errors.js';
import type { RebootRequest } from '../contract/task.js';
import type { HostSession, RunAs } from './host.js';

export interface RebootClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RebootClock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Between two attempts to reach the rebooting host. */
export const REBOOT_POLL_MS = 2000;

/** Seconds the reboot command may take before its connection is given up (shutdown returns at once; a lost connection is expected). */
const ISSUE_TIMEOUT_MS = 30_000;

export interface Rebooted {
  readonly elapsedSec: number;
  readonly bootId: string;
}

/**
 * Run `req` on `session`'s host; `connect` opens a new connection to it.
 * Returns once the host is back; the session then runs over the new
 * connection (the old one is closed). Throws TaskError on a failed reboot
 * command or when reboot_timeout passes.
 */
export async function rebootAndWait(session: HostSession, connect: () => Promise<Connection>, req: RebootRequest, as: RunAs, clock: RebootClock = realClock): Promise<Rebooted> {
  const start = clock.now();
  try {
    const res = await session.exec(req.command, { ...as, timeoutMs: ISSUE_TIMEOUT_MS });
    if (res.code !== 0) throw new TaskError(`reboot command failed (exit ${res.code ?? 'by signal'}): ${res.stderr.trim() || res.stdout.trim()}`);
  } catch (err) {
    // the host going down under the command (the connection lost, or silent) is what a reboot does
    if (!(err instanceof ConnectionError) && !(err instanceof TimeoutError)) throw err;
  }
  await clock.sleep(req.postDelaySec * 1000);
  const deadline = start + req.timeoutSec * 1000;
  let lastError = 'no answer yet';
  const attempt = async <T>(what: string, step: (s: HostSession) => Promise<T | undefined>, on?: HostSession): Promise<{ s: HostSession; value: T }> => {
    for (;;) {
      let fresh: HostSession | undefined;
      try {
        fresh = on ?? session.sibling(await connect());
        const value = await step(fresh);
        if (value !== undefined) return { s: fresh, value };
      } catch (err) {
        lastError = errorMessage(err);
      }
      if (!on) await fresh?.connection.close().catch(() => undefined);
      if (clock.now() >= deadline) throw new TaskError(`timed out waiting for ${what} (reboot_timeout ${req.timeoutSec} s; last: ${lastError})`);
      await clock.sleep(REBOOT_POLL_MS);
    }
  };
  const back = await attempt('a new boot id', async (s) => {
    const r = await s.exec(req.bootTimeCommand, as);
    const id = r.stdout.trim();
    if (r.code !== 0 || id === '') lastError = `${req.bootTimeCommand}: exit ${r.code ?? 'by signal'}`;
    else if (id === req.bootIdBefore) lastError = `boot id still ${id}`;
    else return id;
    return undefined;
  });
  await attempt(
    'the test command',
    async (s) => {
      const r = await s.exec(req.testCommand, as);
      if (r.code === 0) return true;
      lastError = `${req.testCommand}: exit ${r.code ?? 'by signal'} ${r.stderr.trim()}`;
      return undefined;
    },
    back.s,
  );
  const old = session.swap(back.s.connection);
  await old.close().catch(() => undefined);
  return { elapsedSec: Math.round((clock.now() - start) / 1000), bootId: back.value };
}
