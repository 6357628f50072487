/** Unified diffs of a task's before/after, as `--diff` shows them and reports embed them. */
import { createTwoFilesPatch } from 'diff';
import type { Diff } from '../contract/task.js';
import type { Style } from './style.js';

export function unifiedDiff(d: Diff): string {
  return createTwoFilesPatch(`${d.label} (before)`, `${d.label} (after)`, d.before, d.after, '', '', { context: 3 })
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
