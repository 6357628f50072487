import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HopPool } from '../../../src/connections/hop-pool.js';

class FakeClient extends EventEmitter {
  ended = 0;
  end(): void {
    this.ended++;
    this.emit('close');
  }
}

function opener() {
  const opened: FakeClient[] = [];
  return {
    opened,
    open: async () => {
      const c = new FakeClient();
      opened.push(c);
      return c;
    },
  };
}

describe('HopPool', () => {
  it('opens a hop once for all the connections that go through it at the same time', async () => {
    const pool = new HopPool<FakeClient>();
    const o = opener();
    const held = await Promise.all(Array.from({ length: 200 }, () => pool.acquire('bastion', o.open)));
    expect(o.opened).toHaveLength(1);
    expect(new Set(held.map((h) => h.client)).size).toBe(1);
  });

  it('closes the hop when the last user releases it, not before', async () => {
    const pool = new HopPool<FakeClient>();
    const o = opener();
    const a = await pool.acquire('bastion', o.open);
    const b = await pool.acquire('bastion', o.open);
    a.release();
    a.release(); // twice by the same user counts once
    expect(o.opened[0]!.ended).toBe(0);
    b.release();
    expect(o.opened[0]!.ended).toBe(1);
    expect(pool.size).toBe(0);
  });

  it('keeps different hops apart', async () => {
    const pool = new HopPool<FakeClient>();
    const o = opener();
    const a = await pool.acquire('a', o.open);
    const b = await pool.acquire('b', o.open);
    expect(a.client).not.toBe(b.client);
    expect(o.opened).toHaveLength(2);
  });

  it('forgets a hop that was lost, so the next connection opens a new one', async () => {
    const pool = new HopPool<FakeClient>();
    const o = opener();
    const first = await pool.acquire('bastion', o.open);
    first.client.emit('close');
    const second = await pool.acquire('bastion', o.open);
    expect(second.client).not.toBe(first.client);
    expect(o.opened).toHaveLength(2);
    // the lost hop's user letting go late does not close the new hop
    first.release();
    expect(second.client.ended).toBe(0);
    second.release();
    expect(second.client.ended).toBe(1);
  });

  it('does not keep a hop that failed to open: the waiting connections fail, the next try opens again', async () => {
    const pool = new HopPool<FakeClient>();
    let tries = 0;
    const failing = async (): Promise<FakeClient> => {
      tries++;
      throw new Error('jump host 10.0.0.1:22: authentication failed');
    };
    const results = await Promise.allSettled([pool.acquire('bastion', failing), pool.acquire('bastion', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(tries).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
    const o = opener();
    await pool.acquire('bastion', o.open);
    expect(o.opened).toHaveLength(1);
  });
});
