/** Unified diffs of a task's before/after, as `--diff` shows them and reports embed them. */
import { createRequire } from 'node:module';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type * as DiffPackage from 'diff';
import type { Diff } from '../contract/task.js';
import type { Style } from './style.js';

/** The `diff` package (19 modules), required at the first diff rendered, not when a reporter loads. */
let diffPackage: typeof DiffPackage | undefined;

/** Each diff's text, made once: the terminal and every report format ask for the same ones. */
const made = new WeakMap<Diff, string>();

export function unifiedDiff(d: Diff): string {
  let text = made.get(d);
  if (text === undefined) {
    text = makeUnifiedDiff(d);
    made.set(d, text);
  }
  return text;
}

/** Diffs made per turn of the event loop by prepareDiffs. */
const DIFF_SLICE = 64;

/**
 * Make the unified diff of every result ahead of the reports, a slice at a time
 * with the event loop let run between slices: an audit of 100 drifted hosts has
 * hundreds of diffs (24 ms in one block), and the reports then only read them.
 */
export async function prepareDiffs(results: readonly { diffs: readonly Diff[] }[]): Promise<void> {
  let n = 0;
  for (const r of results) {
    for (const d of r.diffs) {
      if (made.has(d)) continue;
      unifiedDiff(d);
      if (++n % DIFF_SLICE === 0) await nextTurn();
    }
  }
}

function makeUnifiedDiff(d: Diff): string {
  diffPackage ??= createRequire(import.meta.url)('diff') as typeof DiffPackage;
  return diffPackage.createTwoFilesPatch(`${d.label} (before)`, `${d.label} (after)`, d.before, d.after, '', '', { context: 3 })
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n')
    .trimEnd();
}

export function paintDiff(text: string, style: Style): string {
  return text
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? style.green(l) : l.startsWith('-') && !l.startsWith('---') ? style.red(l) : l.startsWith('@@') ? style.cyan(l) : l))
    .join('\n');
}
