import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/connections/types.js';
import { HandshakeLimiter, limitHandshakes } from '../../../src/core/handshakes.js';
import type { HostSpec } from '../../../src/core/inventory.js';

/** A handshake the test finishes by hand, on a clock the test moves. */
class Handshakes {
  clock = 0;
  readonly pending: { finish: (ok: boolean) => void }[] = [];
  running = 0;
  maxRunning = 0;

  start = (): Promise<string> => {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return new Promise((resolve, reject) => {
      this.pending.push({
        finish: (ok) => {
          this.running--;
          if (ok) resolve('connected');
          else reject(new Error('Timed out while waiting for handshake'));
        },
      });
    });
  };

  /** Finish the oldest running handshake after `ms`, then let the limiter start the next ones. */
  async finish(ms: number, ok = true): Promise<void> {
    this.clock += ms;
    this.pending.shift()!.finish(ok);
    await flush();
  }
}

/** `hosts` handshakes started at once through a limiter with these limits (slow: over 1 s); failures give their message. */
function begin(limits: { start: number; min: number; max: number }, hosts: number) {
  const h = new Handshakes();
  const limiter = new HandshakeLimiter({ ...limits, slowMs: 1000 }, () => h.clock);
  const all = Array.from({ length: hosts }, () => limiter.run(h.start).catch((e: Error) => e.message));
  return { h, limiter, all };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('HandshakeLimiter', () => {
  it('never runs more handshakes at once than its limit, and every host gets its turn', async () => {
    const { h, limiter, all } = begin({ start: 3, min: 1, max: 3 }, 20);
    await flush();
    expect(h.running).toBe(3);
    while (h.pending.length > 0) await h.finish(10);
    expect(await Promise.all(all)).toEqual(Array(20).fill('connected'));
    expect(h.maxRunning).toBe(3);
    expect(limiter.peak).toBe(3);
  });

  it('ramps up while handshakes are fast, up to the maximum', async () => {
    const { h, limiter, all } = begin({ start: 2, min: 1, max: 6 }, 40);
    await flush();
    expect(h.running).toBe(2);
    await h.finish(10);
    expect(limiter.limit).toBe(3);
    expect(h.running).toBe(3);
    while (h.pending.length > 0) await h.finish(10);
    await Promise.all(all);
    expect(limiter.limit).toBe(6);
    expect(h.maxRunning).toBe(6);
  });

  it('halves the limit when a handshake is slow or fails, and the failure reaches its caller', async () => {
    const { h, limiter, all } = begin({ start: 8, min: 2, max: 8 }, 16);
    await flush();
    expect(h.running).toBe(8);
    await h.finish(10);
    await h.finish(5000);
    expect(limiter.limit).toBe(4);
    expect(h.running).toBe(7); // none started: 7 still run against a limit of 4
    await h.finish(10, false);
    expect(limiter.limit).toBe(2);
    await h.finish(10, false);
    expect(limiter.limit).toBe(2); // the floor
    while (h.pending.length > 0) await h.finish(10);
    const results = await Promise.all(all);
    expect(results.filter((r) => r !== 'connected')).toEqual(['Timed out while waiting for handshake', 'Timed out while waiting for handshake']);
    expect(limiter.limit).toBeGreaterThan(2);
  });

  it('a control machine slow for every handshake alike does not count as slow: only one much slower than the fastest does', async () => {
    const { h, limiter, all } = begin({ start: 4, min: 1, max: 8 }, 12);
    await flush();
    await h.finish(3000);
    await h.finish(0);
    expect(limiter.limit).toBe(6);
    h.clock += 8000;
    await h.finish(1000);
    expect(limiter.limit).toBe(3);
    while (h.pending.length > 0) await h.finish(10);
    await Promise.all(all);
  });

  it('local connections do not wait for a handshake slot', async () => {
    const h = new Handshakes();
    const limiter = new HandshakeLimiter({ start: 1, min: 1, max: 1, slowMs: 1000 }, () => h.clock);
    const conn = { kind: 'local' } as unknown as Connection;
    const connect = limitHandshakes((spec) => (spec.connection.connection === 'local' ? Promise.resolve(conn) : h.start().then(() => conn)), limiter);
    const spec = (connection: 'ssh' | 'local'): HostSpec => ({ name: connection, connection: { connection } }) as unknown as HostSpec;
    const ssh = connect(spec('ssh'));
    await flush();
    await expect(connect(spec('local'))).resolves.toBe(conn);
    expect(h.running).toBe(1);
    await h.finish(10);
    await expect(ssh).resolves.toBe(conn);
  });

  it('gives a host the patience the run\'s pace sets: 3 times the slowest recent handshake, never less than its own timeout, at most 6 times it', async () => {
    // one at a time, so each handshake takes exactly what finish() is given
    const { h, limiter, all } = begin({ start: 1, min: 1, max: 1 }, 30);
    await flush();
    expect(limiter.patience(10_000)).toBe(10_000); // nothing measured yet
    await h.finish(500);
    expect(limiter.patience(10_000)).toBe(10_000); // fast handshakes never shorten it
    await h.finish(8000);
    expect(limiter.patience(10_000)).toBe(24_000);
    await h.finish(30_000);
    expect(limiter.patience(10_000)).toBe(60_000); // the cap
    // the slow ones leave the window of the last 16
    for (let i = 0; i < 16; i++) await h.finish(100);
    expect(limiter.patience(10_000)).toBe(10_000);
    while (h.pending.length > 0) await h.finish(10);
    await Promise.all(all);
  });

  it('connects each host with that patience as how long it may stay silent', async () => {
    const limiter = new HandshakeLimiter({ start: 1, min: 1, max: 1, slowMs: 1000 });
    (limiter as unknown as { recent: number[] }).recent.push(9000);
    const seen: number[] = [];
    const connect = limitHandshakes(async (spec, extra) => {
      // the patience is how long it may stay silent; its own connect timeout (the bound of the whole handshake) stays
      expect((spec.connection as { connectTimeoutMs: number }).connectTimeoutMs).toBe(10_000);
      seen.push(extra?.silenceMs ?? 0);
      return {} as Connection;
    }, limiter);
    await connect({ name: 'a', connection: { connection: 'ssh', connectTimeoutMs: 10_000 } } as unknown as HostSpec);
    expect(seen).toEqual([27_000]);
  });
});
