/**
 * Reports of a large audit: every result's unified diff is made ahead of the
 * report formats, a slice at a time with the event loop let run between slices,
 * and each diff's text is made once for the terminal and every format.
 */
import { describe, expect, it } from 'vitest';
import type { Diff } from '../../../src/contract/task.js';
import { prepareDiffs, unifiedDiff } from '../../../src/reporters/diff.js';
import { loopTurns } from '../../support/loop-turns.js';

const diff = (i: number): Diff => ({ label: `/etc/app-${i}.conf`, before: `a=1\nb=${i}\n`, after: `a=1\nb=${i + 1}\n` });

describe('prepareDiffs', () => {
  it('makes 1000 diffs over at least 15 turns of the event loop, and the reports then read the same text', async () => {
    const turns = loopTurns();
    const results = Array.from({ length: 250 }, (_, r) => ({ diffs: [0, 1, 2, 3].map((k) => diff(r * 4 + k)) }));
    await prepareDiffs(results);
    turns.stop();
    expect(turns.count).toBeGreaterThanOrEqual(15);
    const first = results[7]!.diffs[2]!;
    expect(unifiedDiff(first)).toBe(unifiedDiff(first));
    expect(unifiedDiff(first)).toBe(unifiedDiff({ ...first }));
    expect(unifiedDiff(first)).toContain('-b=30\n+b=31');
  });

  it('a second call has nothing left to make and takes no turn', async () => {
    const results = [{ diffs: Array.from({ length: 200 }, (_, i) => diff(10_000 + i)) }];
    await prepareDiffs(results);
    let turned = false;
    setImmediate(() => (turned = true));
    await prepareDiffs(results);
    expect(turned).toBe(false);
  });
});
