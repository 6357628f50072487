/**
 * How a task's result is shown in every output: a `no_log` task's output
 * hidden, a loop item shown by its `loop_control.label`.
 */
import { errorMessage } from '../contract/errors.js';
import type { TaskDef } from './playbook.js';
import type { TaskResult } from './results.js';
import { renderValue } from './template.js';

/** What a `no_log: true` task shows instead of its output, arguments, diffs and messages. */
export const NO_LOG = '(output hidden: no_log)';

/**
 * A `no_log` task's result as every output sees it: status, task name, timing
 * and error code stay; message, diffs, command output and the loop item go.
 * (Registered values stay intact for later `when:` expressions, as in Ansible.)
 */
export function hideOutput(r: TaskResult): TaskResult {
  return {
    ...r,
    message: NO_LOG,
    diffs: r.diffs.map(() => ({ label: NO_LOG, before: NO_LOG, after: NO_LOG })),
    ...(r.stdout !== undefined ? { stdout: NO_LOG } : {}),
    ...(r.stderr !== undefined ? { stderr: NO_LOG } : {}),
  };
}

/**
 * How a loop item is shown: `loop_control.label` rendered with the item when
 * the task has one (so a loop over records with passwords can show just the
 * name), the hidden marker for a `no_log` task without one, the item otherwise.
 */
export function itemLabel(task: TaskDef, item: unknown, vars: Record<string, unknown>): { text: string; item: unknown } {
  if (task.loopLabel !== undefined) {
    let label: unknown;
    try {
      label = renderValue(task.loopLabel, vars);
    } catch (err) {
      label = task.noLog ? NO_LOG : `(label: ${errorMessage(err)})`;
    }
    const text = typeof label === 'string' ? label : JSON.stringify(label);
    return { text, item: label };
  }
  if (task.noLog) return { text: NO_LOG, item: NO_LOG };
  return { text: `${task.loopVar}=${typeof item === 'object' ? JSON.stringify(item) : String(item)}`, item };
}
