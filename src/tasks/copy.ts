/**
 * `copy`: put a text file on the host, from inline `content` or a local `src`
 * file (read on the control machine: a relative path is looked for in
 * `files/` beside the playbook, then beside it). Compares by sha256, shows a
 * diff, writes atomically (temp file + validate + rename).
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan } from '../contract/task.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { attrChanges, attrDiff, attrSteps, modeArg } from './lib/attrs.js';
import { beforeText, diffOf, predictWrittenFile, sameContent, withAttrs, writeFileSteps } from './lib/files.js';
import { readLocalText } from './lib/local.js';

/** Fields of the tasks that write a whole file from the control machine (copy, template). */
export const writeFields = {
  mode: z
    .union([modeArg, z.literal('preserve')])
    .optional()
    .describe("File mode: octal as a quoted string ('0644'), symbolic ('u=rw,g=r,o=r'), or preserve (the local src file's mode)"),
  owner: z.string().min(1).optional().describe('Owner (user name or uid); default: keep the existing owner'),
  group: z.string().min(1).optional().describe('Group (name or gid); default: keep the existing group'),
  backup: z.boolean().default(false).describe('Keep a copy of the old file as PATH.YYYYmmddTHHMMSS.bak'),
  validate: z
    .string()
    .includes('%s', { message: 'validate must contain %s (the file to check)' })
    .optional()
    .describe("Command that checks the new file before it is put in place, %s = the file, e.g. 'visudo -cf %s'"),
};

const argsSchema = z
  .object({
    dest: z.string().min(1).describe('Absolute path of the file on the host'),
    content: z.string().optional().describe('The file content'),
    src: z
      .string()
      .min(1)
      .optional()
      .describe('A local text file on the control machine to copy; a relative path is looked for in files/ beside the playbook, then beside the playbook'),
    force: z.boolean().default(true).describe('false: only create the file when it does not exist'),
    ...writeFields,
  })
  .strict()
  .refine((a) => (a.content === undefined) !== (a.src === undefined), { message: 'give exactly one of content or src' })
  .refine((a) => a.mode !== 'preserve' || a.src !== undefined, { message: 'mode: preserve takes the mode of the local src file: give src', path: ['mode'] });

export type CopyArgs = z.output<typeof argsSchema>;

/** Destination path: `dest/` ending in a slash means "into this directory" (needs src). */
export function destPath(a: { readonly dest: string; readonly src?: string | undefined }): string {
  if (a.dest.endsWith('/')) {
    if (a.src === undefined) throw new TaskError(`dest ${a.dest} is a directory; give a file path`);
    return posix.join(a.dest, posix.basename(a.src));
  }
  return a.dest;
}

export const copy = defineTask({
  name: 'copy',
  description: 'Write a text file from inline content or a local file, atomically, with diff, backup and validation',
  example: "- name: sudo rule for deploy\n  copy:\n    dest: /etc/sudoers.d/deploy\n    src: deploy.sudoers          # files/deploy.sudoers beside the playbook, or deploy.sudoers there\n    mode: \"0440\"\n    validate: visudo -cf %s       # a broken rule never replaces a good one\n- name: motd\n  copy: { dest: /etc/motd, content: \"Managed by provision\\n\", mode: \"0644\" }",
  schema: argsSchema,
  async prepare(a, ctx) {
    if (a.src === undefined) return a;
    const local = await readLocalText(a.src, ctx.searchDirs.files);
    return { ...a, content: local.content, mode: localMode(a.mode, local.mode) };
  },
  facts: (a) => ({ dest: fileAt(destPath(a)) }),
  plan(a, facts) {
    if (a.content === undefined) throw new TaskError(`copy: src ${a.src ?? ''} was not read (prepare() not run)`);
    return planContent(destPath(a), a.content, a, facts.dest);
  },
});

/** The write options of a task with `writeFields`, once prepare() has replaced `mode: preserve` by the local file's mode. */
type WriteArgs = Pick<CopyArgs, 'mode' | 'owner' | 'group' | 'backup' | 'validate' | 'force'>;

/** `mode: preserve`: the local file's mode. */
export const localMode = (mode: string | undefined, localFileMode: string): string | undefined => (mode === 'preserve' ? localFileMode : mode);

/**
 * The plan of a whole-file write (copy, template): nothing when content and
 * attributes match, only chown/chmod when only they differ, else the atomic
 * write with a diff of the content.
 */
export function planContent(path: string, content: string, a: WriteArgs, cur: FileInfo): Plan {
  if (a.mode === 'preserve') throw new TaskError(`${path}: mode: preserve was not resolved (prepare() not run)`);
  const request = fileAt(path);
  if (cur.exists && cur.type !== 'file') throw new TaskError(`${path} is a ${cur.type}, not a regular file`);
  const attrs = { mode: a.mode, owner: a.owner, group: a.group };

  if (cur.exists && !a.force) return ok(`${path} exists (force: false)`);
  if (cur.exists && sameContent(cur, content)) {
    const steps = attrSteps(path, cur, attrs);
    if (steps.length === 0) return ok(`${path} has the requested content and attributes`);
    const c = attrChanges(cur, attrs);
    const diff = attrDiff(path, cur, attrs);
    return change(`set ${Object.keys(c).join(', ')} of ${path}`, steps, {
      diffs: diff ? [diff] : [],
      predictions: [{ request, value: withAttrs(cur, c) }],
    });
  }
  const steps = writeFileSteps({ path, content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup, validate: a.validate });
  const diffs = [diffOf(path, beforeText(cur), content)];
  const attrD = cur.exists ? attrDiff(path, cur, attrs) : undefined;
  if (attrD) diffs.push(attrD);
  return change(cur.exists ? `update ${path}` : `create ${path}`, steps, {
    diffs,
    predictions: [{ request, value: predictWrittenFile(cur, { content, mode: a.mode, owner: a.owner, group: a.group }) }],
  });
}
