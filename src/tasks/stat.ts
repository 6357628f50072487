/**
 * `stat`: read-only, what is at a path, registered in Ansible's `stat` result
 * shape (`st.stat.exists`, `isdir`, `isreg`, `islnk`, `mode`, `uid`,
 * `pw_name`, `size`, `mtime`, `checksum`, `mimetype`, `attributes`, ...).
 * Always ok; nothing changes.
 *
 * Check mode: a file an earlier task would create, change or remove is
 * reported as that task would leave it (from the file fact's prediction):
 * type, mode, owner, size and the checksum when the content is known; times,
 * inode and the like are then left out.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineTask, ok } from '../contract/task.js';
import { fileAt, type FileInfo, type PresentFile } from '../facts/files.js';
import { CHECKSUM_ALGORITHMS, statOf, type StatArgs, type StatResult } from '../facts/stat.js';
import { aliased, aliasedOptional } from './lib/args.js';

const argsSchema = z
  .object({
    path: z.string().min(1).optional().describe('The path to read (aliases: dest, name)'),
    dest: z.string().min(1).optional().describe('Alias of path'),
    name: z.string().min(1).optional().describe('Alias of path'),
    follow: z.boolean().default(false).describe('Report the target of a symbolic link instead of the link'),
    get_checksum: z.boolean().default(true).describe('Checksum of a readable regular file'),
    checksum_algorithm: z.enum(CHECKSUM_ALGORITHMS).optional().describe('Algorithm of the checksum, default sha1 (aliases: checksum, checksum_algo)'),
    checksum: z.enum(CHECKSUM_ALGORITHMS).optional().describe('Alias of checksum_algorithm'),
    checksum_algo: z.enum(CHECKSUM_ALGORITHMS).optional().describe('Alias of checksum_algorithm'),
    get_mime: z.boolean().default(true).describe('mimetype and charset from the host\'s `file` tool ("unknown" without it)'),
    get_attributes: z.boolean().default(true).describe('version, attributes and attr_flags from lsattr (none without it)'),
    get_md5: z
      .boolean()
      .default(false)
      .describe('Also the md5 of a readable regular file, registered as stat.md5 (undocumented since Ansible 2.9, still accepted by 2.14)'),
  })
  .strict()
  .transform(({ dest, name, checksum, checksum_algo, ...rest }, ctx) => ({
    ...rest,
    path: aliased({ path: rest.path, dest, name }, ['path', 'dest', 'name'], ctx),
    checksum_algorithm: aliasedOptional({ checksum_algorithm: rest.checksum_algorithm, checksum, checksum_algo }, ['checksum_algorithm', 'checksum', 'checksum_algo'], ctx) ?? 'sha1',
  }));

export type StatTaskArgs = z.output<typeof argsSchema>;

const factArgs = (a: StatTaskArgs): StatArgs => ({
  path: a.path,
  follow: a.follow,
  checksum: a.get_checksum ? a.checksum_algorithm : null,
  mime: a.get_mime,
  attributes: a.get_attributes,
  ...(a.get_md5 ? { md5: true } : {}),
});

const TYPE_KEYS = { isdir: 'directory', isreg: 'file', islnk: 'link' } as const;

const digest = (algorithm: string, content: string): string => createHash(algorithm).update(content, 'utf8').digest('hex');

/** Does the (possibly predicted) file fact tell something else than the host's stat? Then check mode predicted it. */
function predicted(file: FileInfo, st: StatResult, a: StatTaskArgs): boolean {
  if (!file.exists || !st.exists) return file.exists !== st.exists;
  if (a.follow && file.type === 'link') return false;
  const typeOf = Object.entries(TYPE_KEYS).find(([k]) => st[k] === true)?.[1] ?? 'other';
  if (typeOf !== file.type || file.mode !== st.mode || file.uid !== st.uid || file.gid !== st.gid || file.size !== st.size) return true;
  return file.content !== undefined && typeof st.checksum === 'string' && digest(a.checksum_algorithm, file.content) !== st.checksum;
}

/** Ansible's stat shape for what the file fact knows (a prediction: no times, inode or access checks). */
function fromFile(file: PresentFile, a: StatTaskArgs): StatResult {
  const mode = Number.parseInt(file.mode, 8);
  const bit = (b: number): boolean => (mode & b) !== 0;
  return {
    exists: true,
    path: a.path,
    mode: file.mode,
    isdir: file.type === 'directory',
    isreg: file.type === 'file',
    islnk: file.type === 'link',
    uid: file.uid,
    gid: file.gid,
    size: file.size,
    pw_name: file.owner,
    gr_name: file.group,
    wusr: bit(0o200), rusr: bit(0o400), xusr: bit(0o100),
    wgrp: bit(0o020), rgrp: bit(0o040), xgrp: bit(0o010),
    woth: bit(0o002), roth: bit(0o004), xoth: bit(0o001),
    isuid: bit(0o4000), isgid: bit(0o2000),
    ...(file.type === 'link' && file.target !== undefined ? { lnk_target: file.target } : {}),
    ...(file.type === 'file' && a.get_checksum && file.content !== undefined ? { checksum: digest(a.checksum_algorithm, file.content) } : {}),
    ...(file.type === 'file' && a.get_md5 && file.content !== undefined ? { md5: digest('md5', file.content) } : {}),
  };
}

function describe(st: StatResult): string {
  if (!st.exists) return 'does not exist';
  const type = st.isdir ? 'directory' : st.isreg ? 'regular file' : st.islnk ? 'symbolic link' : 'special file';
  return `${type}, mode ${String(st.mode)}, owner ${String(st.pw_name ?? st.uid)}, ${String(st.size)} bytes`;
}

export const statTask = defineTask({
  name: 'stat',
  description: 'Read what is at a path (read-only) and register it in Ansible\'s stat result shape',
  example: "- name: Is there a swap file?\n  stat: { path: /swapfile }\n  register: swap\n- name: Create it\n  command: fallocate -l 1G /swapfile\n  when: not swap.stat.exists",
  schema: argsSchema,
  facts: (a) => ({ stat: statOf(factArgs(a)), file: fileAt(a.path) }),
  plan(a, facts, ctx) {
    if (ctx.check && predicted(facts.file, facts.stat, a)) {
      const st = facts.file.exists ? fromFile(facts.file, a) : ({ exists: false } as const);
      return ok(`${a.path}: ${describe(st)} (check mode: as an earlier task would leave it)`, { stat: st });
    }
    return ok(`${a.path}: ${describe(facts.stat)}`, { stat: facts.stat });
  },
});
