/**
 * `file`: make a path a file, directory, symlink, or absent, with mode/owner/group.
 * `touch` creates a file or updates its times (always a change, as in Ansible).
 * `skip_missing` leaves a path that does not exist alone instead of failing, so
 * a list of optional paths needs no read-only probe registered before it (which
 * would cost an audit a round trip of its own).
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Diff, type Step } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { fileAt, type FileInfo, type PresentFile } from '../facts/files.js';
import { aliased } from './lib/args.js';
import { attrChanges, attrDiff, attrSteps, modeArg, normaliseMode } from './lib/attrs.js';
import { diffOf, predictId, withAttrs } from './lib/files.js';

const argsSchema = z
  .object({
    path: z.string().min(1).optional().describe('Path to manage (aliases: dest, name)'),
    dest: z.string().min(1).optional().describe('Alias of path'),
    name: z.string().min(1).optional().describe('Alias of path'),
    state: z
      .enum(['file', 'directory', 'absent', 'touch', 'link'])
      .optional()
      .describe('Default: the current type (directory stays directory), else file. file: must exist, set attributes; directory: create (with parents); absent: remove (recursively); touch: create or update times; link: symlink to src'),
    mode: modeArg.optional(),
    owner: z.string().min(1).optional().describe('Owner (user name or uid)'),
    group: z.string().min(1).optional().describe('Group (name or gid)'),
    src: z.string().min(1).optional().describe('Link target (state: link)'),
    force: z.boolean().default(false).describe('state link: replace an existing regular file at path with the link'),
    skip_missing: z
      .boolean()
      .optional()
      .describe("provision's own (Ansible's file has no such argument): when path does not exist, nothing to do (reported ok) instead of failing. Only without state or with state: file"),
  })
  .strict()
  .refine((a) => !a.skip_missing || a.state === undefined || a.state === 'file', { message: 'skip_missing is only used without state or with state: file', path: ['skip_missing'] })
  .refine((a) => a.state !== 'link' || a.src !== undefined, { message: 'state: link needs src', path: ['src'] })
  .refine((a) => a.state === 'link' || a.src === undefined, { message: 'src is only used with state: link', path: ['src'] })
  .transform(({ dest, name, ...rest }, ctx) => ({ ...rest, path: aliased({ path: rest.path, dest, name }, ['path', 'dest', 'name'], ctx) }));

export type FileArgs = z.output<typeof argsSchema>;

/** Paths that `state: absent` refuses to remove. */
const PROTECTED = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/proc', '/root', '/sbin', '/sys', '/usr', '/var']);

function normPath(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function describe(info: FileInfo): string {
  if (!info.exists) return 'state: absent\n';
  const lines = [`state: ${info.type}`];
  if (info.type === 'link') lines.push(`src: ${info.target ?? '?'}`);
  else lines.push(`mode: ${info.mode}`);
  lines.push(`owner: ${info.owner}`, `group: ${info.group}`);
  return lines.join('\n') + '\n';
}

function describeNew(type: 'file' | 'directory' | 'link', a: FileArgs): string {
  const lines = [`state: ${type}`];
  if (type === 'link') lines.push(`src: ${a.src}`);
  if (a.mode !== undefined && type !== 'link') lines.push(`mode: ${normaliseMode(a.mode, '0644', type === 'directory')}`);
  if (a.owner !== undefined) lines.push(`owner: ${a.owner}`);
  if (a.group !== undefined) lines.push(`group: ${a.group}`);
  return lines.join('\n') + '\n';
}

/** `chown`/`chmod` after creating `path` (nothing known about it yet). */
function newAttrCommands(path: string, a: FileArgs, link = false): string[] {
  const out: string[] = [];
  const own = a.owner !== undefined && a.group !== undefined ? `${a.owner}:${a.group}` : (a.owner ?? (a.group !== undefined ? `:${a.group}` : undefined));
  if (own !== undefined) out.push(`chown ${link ? '-h ' : ''}${quote(own)} ${quote(path)}`);
  if (a.mode !== undefined && !link) {
    const octal = /^0?[0-7]{3,4}$/.test(a.mode);
    out.push(`chmod ${quote(octal ? normaliseMode(a.mode) : a.mode)} ${quote(path)}`);
  }
  return out;
}

/** The fact after the change, as well as the planner can know it. */
function predictNew(type: 'file' | 'directory' | 'link', a: FileArgs, before: FileInfo): PresentFile {
  const prev = before.exists ? before : undefined;
  const base = type === 'directory' ? '0755' : type === 'link' ? '0777' : '0644';
  return {
    exists: true,
    type,
    mode: type === 'link' ? '0777' : a.mode !== undefined ? normaliseMode(a.mode, prev?.mode ?? base, type === 'directory') : (prev?.mode ?? base),
    owner: a.owner ?? prev?.owner ?? 'root',
    group: a.group ?? prev?.group ?? 'root',
    uid: predictId(a.owner, prev?.owner, prev?.uid),
    gid: predictId(a.group, prev?.group, prev?.gid),
    size: type === 'link' ? Buffer.byteLength(a.src ?? '') : type === 'file' ? (prev?.size ?? 0) : (prev?.size ?? 4096),
    ...(type === 'link' ? { target: a.src as string } : {}),
    ...(type === 'file' && prev?.content !== undefined ? { content: prev.content } : type === 'file' && !prev ? { content: '' } : {}),
    ...(type === 'file' && prev?.sha256 !== undefined ? { sha256: prev.sha256 } : {}),
  };
}

export const file = defineTask({
  name: 'file',
  description: 'Manage a path: regular file attributes, directory, symlink, touch, or absent',
  example: "- name: Config directory\n  file: { path: /etc/myapp, state: directory, owner: root, group: myapp, mode: \"0750\" }\n- name: Current release\n  file: { path: /opt/myapp/current, state: link, src: /opt/myapp/releases/42 }",
  schema: argsSchema,
  facts: (a) => ({ path: fileAt(normPath(a.path)) }),
  plan(a, facts) {
    const path = normPath(a.path);
    const cur = facts.path;
    const request = fileAt(path);
    const attrs = { mode: a.mode, owner: a.owner, group: a.group };

    /** Existing path of the right type: only attributes may change. */
    const attrsOnly = (info: PresentFile, what: string): ReturnType<typeof ok> => {
      const steps = attrSteps(path, info, attrs);
      if (steps.length === 0) return ok(`${path} is a ${what} with the requested attributes`);
      const c = attrChanges(info, attrs);
      const d = attrDiff(path, info, attrs) as Diff;
      return change(`set ${Object.keys(c).join(', ')} of ${path}`, steps, {
        diffs: [d],
        predictions: [{ request, value: withAttrs(info, c) }],
      });
    };

    if (a.skip_missing && !cur.exists) return ok(`${path} does not exist (skip_missing)`);
    // Ansible: without state, an existing directory is managed as a directory.
    const state = a.state ?? (cur.exists && cur.type === 'directory' ? 'directory' : 'file');
    switch (state) {
      case 'file': {
        if (!cur.exists) throw new TaskError(`${path} does not exist (use copy to create a file, or state: touch)`);
        if (cur.type !== 'file') throw new TaskError(`${path} is a ${cur.type}, not a regular file`);
        return attrsOnly(cur, 'file');
      }
      case 'directory': {
        if (cur.exists && cur.type === 'directory') return attrsOnly(cur, 'directory');
        if (cur.exists) throw new TaskError(`${path} exists and is a ${cur.type}, not a directory`);
        const steps: Step[] = [{ command: [`mkdir -p -- ${quote(path)}`, ...newAttrCommands(path, a)].join(' && ') }];
        return change(`create directory ${path}`, steps, {
          diffs: [diffOf(path, describe(cur), describeNew('directory', a))],
          predictions: [{ request, value: predictNew('directory', a, cur) }],
        });
      }
      case 'absent': {
        if (!cur.exists) return ok(`${path} is absent`);
        if (PROTECTED.has(path) || path === '' || path === '.') throw new TaskError(`refusing to remove ${path}`);
        return change(`remove ${cur.type} ${path}`, [{ command: `rm -rf -- ${quote(path)}` }], {
          diffs: [diffOf(path, describe(cur), 'state: absent\n')],
          predictions: [{ request, value: { exists: false } }],
        });
      }
      case 'touch': {
        if (cur.exists && cur.type !== 'file') {
          if (cur.type === 'directory') {
            const steps = [{ command: [`touch -c -- ${quote(path)}`, ...attrSteps(path, cur, attrs).map((s) => s.command)].join(' && ') }];
            return change(`touch ${path}`, steps, { predictions: [{ request, value: predictNew('directory', a, cur) }] });
          }
          throw new TaskError(`${path} is a ${cur.type}; touch needs a file or directory`);
        }
        const attrCmds = cur.exists ? attrSteps(path, cur, attrs).map((s) => s.command) : newAttrCommands(path, a);
        const steps = [{ command: [`touch -- ${quote(path)}`, ...attrCmds].join(' && ') }];
        return change(cur.exists ? `touch ${path} (update times)` : `create empty file ${path}`, steps, {
          diffs: cur.exists ? (attrCmds.length ? [attrDiff(path, cur, attrs) as Diff] : []) : [diffOf(path, describe(cur), describeNew('file', a))],
          predictions: [{ request, value: predictNew('file', a, cur) }],
        });
      }
      case 'link': {
        const src = a.src as string;
        if (cur.exists && cur.type === 'link' && cur.target === src) return attrsOnly(cur, `link to ${src}`);
        if (cur.exists && cur.type === 'directory') throw new TaskError(`${path} is a directory; refusing to replace it with a link`);
        if (cur.exists && cur.type !== 'link' && !a.force) throw new TaskError(`${path} exists and is a ${cur.type}; set force: true to replace it with a link`);
        // ln -sfn replaces an existing link or file without following a link to a directory.
        const steps: Step[] = [{ command: [`ln -sfn -- ${quote(src)} ${quote(path)}`, ...newAttrCommands(path, a, true)].join(' && ') }];
        return change(cur.exists ? `point link ${path} to ${src}` : `create link ${path} -> ${src}`, steps, {
          diffs: [diffOf(path, describe(cur), describeNew('link', a))],
          predictions: [{ request, value: predictNew('link', a, cur) }],
        });
      }
    }
  },
});
