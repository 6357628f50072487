/**
 * The end of a run closes every session, a slice at a time with the event loop let
 * run between slices: closing one costs about 0.4 ms of CPU (ssh2 encrypts and writes
 * a disconnect), and 500 at once blocked the loop for about 200 ms. The run reports
 * once every close is under way, and returns once they are done.
 */
import { describe, expect, it } from 'vitest';
import type { HostSession } from '../../../src/core/host.js';
import { closeInSlices } from '../../../src/core/runner.js';
import { loopTurns } from '../../support/loop-turns.js';

describe('closeInSlices', () => {
  it('starts closing every session, at most 32 per turn of the event loop, and its promise waits for all of them', async () => {
    const turns = loopTurns();
    const closedAt: number[] = [];
    let finished = 0;
    const sessions = Array.from({ length: 500 }, () => ({
      close: async () => {
        closedAt.push(turns.count);
        await new Promise((r) => setTimeout(r, 5));
        finished++;
      },
    })) as unknown as HostSession[];
    const { done } = await closeInSlices(sessions);
    expect(closedAt).toHaveLength(500);
    expect(finished).toBeLessThan(500);
    await done;
    turns.stop();
    expect(finished).toBe(500);
    const perTurn = new Map<number, number>();
    for (const t of closedAt) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(32);
    expect(perTurn.size).toBeGreaterThanOrEqual(16);
  });
});
