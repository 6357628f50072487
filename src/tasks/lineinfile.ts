/**
 * `lineinfile`: make sure one line is in a file (replacing the last line that
 * matches `regexp`, or contains `search_string`) or that no line matches
 * (state: absent). Ansible semantics;
 * the new content is computed by the pure planner and written atomically.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok } from '../contract/task.js';
import { fileAt } from '../facts/files.js';
import { aliased } from './lib/args.js';
import { attrChanges, attrDiff, attrSteps } from './lib/attrs.js';
import { beforeText, diffOf, predictWrittenFile, withAttrs, writeFileSteps } from './lib/files.js';
import { writeFields } from './copy.js';

const argsSchema = z
  .object({
    path: z.string().min(1).optional().describe('File to edit (aliases: dest, destfile, name)'),
    dest: z.string().min(1).optional().describe('Alias of path'),
    destfile: z.string().min(1).optional().describe('Alias of path'),
    name: z.string().min(1).optional().describe('Alias of path'),
    line: z.string().optional().describe('The line that must be present (state: present), or be removed (state: absent, no regexp)'),
    regexp: z.string().optional().describe('JavaScript regular expression: present replaces the last matching line, absent removes every matching line'),
    search_string: z
      .string()
      .min(1)
      .optional()
      .describe('A literal string instead of regexp: present replaces the last line containing it, absent removes every line containing it'),
    state: z.enum(['present', 'absent']).default('present').describe('present or absent'),
    insertafter: z.string().optional().describe("Where a new line goes: 'EOF' (default), or after the last line matching this regular expression"),
    insertbefore: z.string().optional().describe("Where a new line goes: 'BOF', or before the last line matching this regular expression"),
    firstmatch: z.boolean().default(false).describe('insertafter/insertbefore use the first matching line instead of the last'),
    create: z.boolean().default(false).describe('Create the file when it does not exist (state: present)'),
    ...writeFields,
  })
  .strict()
  .refine((a) => !(a.insertafter !== undefined && a.insertbefore !== undefined), { message: 'give only one of insertafter and insertbefore' })
  .refine((a) => a.state !== 'present' || a.line !== undefined, { message: 'state: present needs line', path: ['line'] })
  .refine((a) => !(a.regexp !== undefined && a.search_string !== undefined), { message: 'give only one of regexp and search_string', path: ['search_string'] })
  .refine((a) => a.state !== 'absent' || a.line !== undefined || a.regexp !== undefined || a.search_string !== undefined, {
    message: 'state: absent needs regexp, search_string or line',
  })
  .refine((a) => !(a.line ?? '').includes('\n'), { message: 'line must be a single line', path: ['line'] })
  .transform(({ dest, destfile, name, ...rest }, ctx) => ({
    ...rest,
    path: aliased({ path: rest.path, dest, destfile, name }, ['path', 'dest', 'destfile', 'name'], ctx),
  }));

export type LineInFileArgs = z.output<typeof argsSchema>;

function compile(source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new TaskError(`invalid ${what} ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

export interface EditResult {
  readonly content: string;
  /** What was done, for the summary; undefined when nothing changed. */
  readonly action?: string;
}

/** Pure: apply lineinfile semantics to `text`. */
export function editLines(text: string, a: LineInFileArgs): EditResult {
  const lines = text === '' ? [] : text.split('\n');
  let trailingNewline = text === '' || text.endsWith('\n');
  if (text.endsWith('\n')) lines.pop();
  const re = a.regexp !== undefined ? compile(a.regexp, 'regexp') : undefined;
  const search = a.search_string;
  /** The line regexp or search_string selects (Ansible: re.search, or `search_string in line`). */
  const selects: ((l: string) => boolean) | undefined = re ? (l) => re.test(l) : search !== undefined ? (l) => l.includes(search) : undefined;
  const render = (ls: string[]): string => (ls.length === 0 ? '' : ls.join('\n') + (trailingNewline ? '\n' : ''));

  if (a.state === 'absent') {
    const keep = lines.filter((l) => (selects ? !selects(l) : l !== a.line));
    const removed = lines.length - keep.length;
    if (removed === 0) return { content: text };
    return { content: render(keep), action: `remove ${removed} line${removed === 1 ? '' : 's'}` };
  }

  const line = a.line as string;
  let matchIdx = -1;
  let exactIdx = -1;
  lines.forEach((l, i) => {
    if (selects?.(l)) matchIdx = i;
    if (l === line) exactIdx = i;
  });
  if (matchIdx >= 0) {
    if (lines[matchIdx] === line) return { content: text };
    lines[matchIdx] = line;
    return { content: render(lines), action: `replace line ${matchIdx + 1}` };
  }
  if (exactIdx >= 0) return { content: text };

  let at = lines.length; // EOF
  const pick = (pattern: string, what: string): number => {
    const r = compile(pattern, what);
    let found = -1;
    for (let i = 0; i < lines.length; i++) {
      if (r.test(lines[i] as string)) {
        found = i;
        if (a.firstmatch) break;
      }
    }
    return found;
  };
  if (a.insertbefore !== undefined) {
    if (a.insertbefore === 'BOF') at = 0;
    else {
      const i = pick(a.insertbefore, 'insertbefore');
      if (i >= 0) at = i;
    }
  } else if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
    const i = pick(a.insertafter, 'insertafter');
    if (i >= 0) at = i + 1;
  }
  if (at === lines.length) trailingNewline = true;
  lines.splice(at, 0, line);
  return { content: render(lines), action: at === lines.length - 1 ? 'append line' : `insert line ${at + 1}` };
}

export const lineinfile = defineTask({
  name: 'lineinfile',
  description: 'Ensure a line is present in a file (replacing the last regexp match) or absent; atomic write with diff',
  example: "- name: No core dumps for setuid programs\n  lineinfile:\n    path: /etc/sysctl.d/90-local.conf\n    regexp: '^fs\\.suid_dumpable'\n    line: fs.suid_dumpable = 0\n    create: true",
  schema: argsSchema,
  facts: (a) => ({ file: fileAt(a.path) }),
  plan(a, facts) {
    const cur = facts.file;
    const request = fileAt(a.path);
    const attrs = { mode: a.mode, owner: a.owner, group: a.group };
    if (!cur.exists) {
      if (a.state === 'absent') return ok(`${a.path} does not exist`);
      if (!a.create) throw new TaskError(`${a.path} does not exist (set create: true to create it)`);
    } else if (cur.type !== 'file') {
      throw new TaskError(`${a.path} is a ${cur.type}, not a regular file`);
    } else if (cur.content === undefined) {
      throw new TaskError(`cannot edit ${a.path}: it is binary, unreadable, or larger than 1 MiB`);
    }
    const before = cur.exists ? (cur.content as string) : '';
    const edit = editLines(before, a);
    if (edit.action === undefined && cur.exists) {
      const steps = attrSteps(a.path, cur, attrs);
      const why = a.state === 'absent' ? 'no line matches' : 'the line is present';
      if (steps.length === 0) return ok(`${a.path}: ${why}`);
      const c = attrChanges(cur, attrs);
      const diff = attrDiff(a.path, cur, attrs);
      return change(`set ${Object.keys(c).join(', ')} of ${a.path}`, steps, {
        diffs: diff ? [diff] : [],
        predictions: [{ request, value: withAttrs(cur, c) }],
      });
    }
    const steps = writeFileSteps({ path: a.path, content: edit.content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup, validate: a.validate });
    const diffs = [diffOf(a.path, beforeText(cur), edit.content)];
    const attrD = cur.exists ? attrDiff(a.path, cur, attrs) : undefined;
    if (attrD) diffs.push(attrD);
    return change(cur.exists ? `${a.path}: ${edit.action ?? 'set attributes'}` : `create ${a.path} with 1 line`, steps, {
      diffs,
      predictions: [{ request, value: predictWrittenFile(cur, { content: edit.content, mode: a.mode, owner: a.owner, group: a.group }) }],
    });
  },
});
