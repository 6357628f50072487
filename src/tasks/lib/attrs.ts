/**
 * File attributes: mode normalisation (octal and symbolic, as chmod reads
 * them), the playbook `mode` argument, owner/group comparison, and the steps
 * and diffs that change the attributes of an existing path. Used by file,
 * copy, lineinfile, sshd_config and by the atomic write in files.ts.
 */
import { z } from 'zod';
import { TaskError } from '../../contract/errors.js';
import type { Diff, Step } from '../../contract/task.js';
import { quote } from '../../contract/quote.js';
import type { PresentFile } from '../../facts/files.js';

// ---- modes ----------------------------------------------------------------------

const OCTAL = /^0?[0-7]{3,4}$/;

/** A mode written in octal (`'0644'`, `'644'`, `'0o644'`, a number) rather than symbolically. */
export function isOctalMode(mode: string | number): boolean {
  return typeof mode === 'number' || OCTAL.test(mode.trim()) || /^0o/i.test(mode.trim());
}
const SYMBOLIC_CLAUSE = /^([ugoa]*)([-+=])([rwxXst]*)$/;

/**
 * Normalise a mode to four octal digits (`'0644'`).
 * - `'644'`, `'0644'`, `'4755'`: octal text;
 * - a number is the mode's bit value (`0o644`);
 * - symbolic `'u=rw,g=r,o=r'`, `'u+x'`, `'go-w'`, `'a=rX'` is applied to
 *   `current` (default `0000`); `X` sets execute for directories or when some
 *   execute bit is already set.
 */
export function normaliseMode(mode: string | number, current?: string, isDirectory = false): string {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new TaskError(`invalid mode ${mode}: must be between 0 and 0o7777`);
    return mode.toString(8).padStart(4, '0');
  }
  const text = mode.trim();
  if (OCTAL.test(text)) return text.padStart(4, '0');
  if (/^0o[0-7]{1,4}$/i.test(text)) return text.slice(2).padStart(4, '0');
  let bits = current !== undefined ? Number.parseInt(normaliseMode(current), 8) : 0;
  const clauses = text.split(',');
  if (clauses.length === 0 || text === '') throw new TaskError(`invalid mode ${JSON.stringify(mode)}`);
  for (const clause of clauses) {
    const m = SYMBOLIC_CLAUSE.exec(clause.trim());
    if (!m) throw new TaskError(`invalid mode ${JSON.stringify(mode)}: expected octal like '0644' or symbolic like 'u=rw,g=r,o=r'`);
    const who = m[1] === '' || (m[1] as string).includes('a') ? 'ugo' : (m[1] as string);
    const op = m[2] as '+' | '-' | '=';
    const perms = m[3] as string;
    let mask = 0;
    for (const w of who) {
      const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
      let p = 0;
      for (const c of perms) {
        if (c === 'r') p |= 4;
        else if (c === 'w') p |= 2;
        else if (c === 'x') p |= 1;
        else if (c === 'X' && (isDirectory || (bits & 0o111) !== 0)) p |= 1;
        else if (c === 's' && w !== 'o') mask |= w === 'u' ? 0o4000 : 0o2000;
        else if (c === 't' && w === 'o') mask |= 0o1000;
      }
      mask |= p << shift;
    }
    if (op === '+') bits |= mask;
    else if (op === '-') bits &= ~mask;
    else {
      let clear = 0;
      for (const w of who) clear |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007;
      bits = (bits & ~clear) | mask;
    }
  }
  return (bits & 0o7777).toString(8).padStart(4, '0');
}

/**
 * The `mode` argument as written in a playbook. YAML 1.2 reads `mode: 0644`
 * as the decimal number 644, so a number is read as its digits (`644` ->
 * `'0644'`); a number with digits 8 or 9 is refused. Strings are kept and
 * checked (octal or symbolic).
 */
export const modeArg = z
  .union([z.string(), z.number().int()])
  .transform((v, ctx) => {
    const text = typeof v === 'number' ? String(v) : v;
    if (typeof v === 'number' && !/^[0-7]{1,4}$/.test(text)) {
      ctx.addIssue({ code: 'custom', message: `mode ${v} is not octal: write it as a quoted string, e.g. '0644'` });
      return z.NEVER;
    }
    try {
      normaliseMode(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
    return typeof v === 'number' ? text.padStart(4, '0') : text;
  })
  .describe("File mode: octal as a quoted string ('0644'), or symbolic ('u=rw,g=r,o=r')");

// ---- owners -----------------------------------------------------------------------

/** Does the file's owner match the requested one (a name or a numeric uid)? */
export function ownerMatches(info: PresentFile, owner: string | undefined): boolean {
  if (owner === undefined) return true;
  return /^\d+$/.test(owner) ? Number(owner) === info.uid : owner === info.owner;
}

export function groupMatches(info: PresentFile, group: string | undefined): boolean {
  if (group === undefined) return true;
  return /^\d+$/.test(group) ? Number(group) === info.gid : group === info.group;
}

export interface FileAttrs {
  /** Any form `normaliseMode` accepts. */
  readonly mode?: string | number;
  readonly owner?: string;
  readonly group?: string;
}

/** Shell commands that set mode/owner/group of `target` (a shell word: quoted path or `"$tmp"`). */
export function attrCommands(target: string, attrs: Omit<FileAttrs, 'mode'>, modeText?: string, link = false): string[] {
  const out: string[] = [];
  const h = link ? '-h ' : '';
  if (attrs.owner !== undefined && attrs.group !== undefined) out.push(`chown ${h}${quote(`${attrs.owner}:${attrs.group}`)} ${target}`);
  else if (attrs.owner !== undefined) out.push(`chown ${h}${quote(attrs.owner)} ${target}`);
  else if (attrs.group !== undefined) out.push(`chgrp ${h}${quote(attrs.group)} ${target}`);
  // chmod after chown: chown clears setuid/setgid bits.
  if (modeText !== undefined) out.push(`chmod ${quote(modeText)} ${target}`);
  return out;
}

/** What has to change for an existing path to have `attrs`; empty when nothing. */
export function attrChanges(info: PresentFile, attrs: FileAttrs): { mode?: string; owner?: string; group?: string } {
  const out: { mode?: string; owner?: string; group?: string } = {};
  if (attrs.mode !== undefined && info.type !== 'link') {
    const want = normaliseMode(attrs.mode, info.mode, info.type === 'directory');
    if (want !== info.mode) out.mode = want;
  }
  if (!ownerMatches(info, attrs.owner)) out.owner = attrs.owner as string;
  if (!groupMatches(info, attrs.group)) out.group = attrs.group as string;
  return out;
}

/**
 * Steps that change the attributes of an existing path (one step, or none).
 * For a symlink, owner/group of the link itself change (`chown -h`) and mode is ignored.
 */
export function attrSteps(path: string, info: PresentFile, attrs: FileAttrs): Step[] {
  const link = info.type === 'link';
  const c = attrChanges(info, link ? { owner: attrs.owner, group: attrs.group } : attrs);
  const cmds = attrCommands(quote(path), { owner: c.owner, group: c.group }, c.mode, link);
  return cmds.length === 0 ? [] : [{ command: cmds.join(' && ') }];
}

/** `owner root -> deploy, mode 0644 -> 0600` lines for a diff. */
export function attrDiff(path: string, info: PresentFile, attrs: FileAttrs): Diff | undefined {
  const c = attrChanges(info, attrs);
  const before: string[] = [];
  const after: string[] = [];
  if (c.owner !== undefined) {
    before.push(`owner: ${info.owner}`);
    after.push(`owner: ${c.owner}`);
  }
  if (c.group !== undefined) {
    before.push(`group: ${info.group}`);
    after.push(`group: ${c.group}`);
  }
  if (c.mode !== undefined) {
    before.push(`mode: ${info.mode}`);
    after.push(`mode: ${c.mode}`);
  }
  if (before.length === 0) return undefined;
  return { label: `${path} (attributes)`, before: before.join('\n') + '\n', after: after.join('\n') + '\n' };
}
