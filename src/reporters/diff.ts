/** Unified diffs of a task's before/after, as `--diff` shows them and reports embed them. */
import { createRequire } from 'node:module';
import type * as DiffPackage from 'diff';
import type { Diff } from '../contract/task.js';
import type { Style } from './style.js';

/** The `diff` package (19 modules), required at the first diff rendered, not when a reporter loads. */
let diffPackage: typeof DiffPackage | undefined;

export function unifiedDiff(d: Diff): string {
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
