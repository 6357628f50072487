/**
 * Shared building blocks for tasks that manage files: the atomic write step,
 * attribute (mode/owner/group) steps, mode normalisation, diffs and the
 * predicted file fact after a change. Used by copy, lineinfile, file and by
 * later tasks that render config files (sshd_config, fail2ban, firewall).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../../contract/errors.js';
import type { Diff, Step } from '../../contract/task.js';
import { quote } from '../../contract/quote.js';
import type { FileInfo, PresentFile } from '../../facts/files.js';
import { MAX_CONTENT_BYTES } from '../../facts/files.js';

// ---- modes ----------------------------------------------------------------------

const OCTAL = /^0?[0-7]{3,4}$/;
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
function attrCommands(target: string, attrs: Omit<FileAttrs, 'mode'>, modeText?: string, link = false): string[] {
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
  return diffOf(`${path} (attributes)`, before.join('\n') + '\n', after.join('\n') + '\n');
}

// ---- diffs ------------------------------------------------------------------------

export function diffOf(label: string, before: string, after: string): Diff {
  return { label, before, after };
}

// ---- atomic write -------------------------------------------------------------------

export interface WriteFileOptions {
  /** Absolute destination path. */
  readonly path: string;
  /** Full new content (written exactly, via stdin). */
  readonly content: string;
  /** Without a mode the existing file's mode is kept; a new file gets 0666 minus the umask. */
  readonly mode?: string | number;
  /** Without owner/group the existing file's owner and group are kept. */
  readonly owner?: string;
  readonly group?: string;
  /** Copy the old file to `path.YYYYmmddTHHMMSS.bak` (host time) before replacing it. */
  readonly backup?: boolean;
  /** Command to check the new file before it replaces the old one, `%s` = the temporary file, e.g. `sshd -t -f %s`. */
  readonly validate?: string;
}

/** Temporary file name beside `base`, short enough for NAME_MAX (255 bytes). */
function tempTemplate(dir: string, base: string): string {
  let name = base;
  while (Buffer.byteLength(name) > 200) name = Array.from(name).slice(0, -1).join('');
  return posix.join(dir, `.${name}.provision-XXXXXX`);
}

/**
 * One step that replaces `path` atomically: mktemp beside it, content from
 * stdin, mode/owner/group, optional validation and dated backup, then
 * `mv -f` (rename(2) within one directory). Any failure removes the
 * temporary file (trap) and leaves the old file untouched.
 */
export function writeFileSteps(opts: WriteFileOptions): Step[] {
  const { path, content } = opts;
  if (path === '' || path.endsWith('/')) throw new TaskError(`invalid file path ${JSON.stringify(path)}`);
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const dest = quote(path);
  const lines: string[] = [
    `tmp=$(mktemp ${quote(tempTemplate(dir, base))}) || exit 1`,
    `trap 'rm -f "$tmp"' EXIT`,
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    `cat > "$tmp" || exit 1`,
    // A connection lost mid-transfer ends stdin early: never rename a short file into place.
    `[ "$(wc -c < "$tmp")" -eq ${Buffer.byteLength(content)} ] || { echo 'incomplete content received; file left unchanged' >&2; exit 1; }`,
    `if command -v sha256sum >/dev/null 2>&1; then [ "$(sha256sum < "$tmp" | cut -d' ' -f1)" = ${sha256Hex(content)} ] || { echo 'content checksum mismatch; file left unchanged' >&2; exit 1; }; fi`,
  ];
  if (opts.owner === undefined || opts.group === undefined) {
    // Keep what is not given from the existing file.
    lines.push(
      `if [ -e ${dest} ]; then o=$(stat -c %u:%g -- ${dest}) && { [ "$(stat -c %u:%g -- "$tmp")" = "$o" ] || chown "$o" "$tmp"; } || exit 1; fi`,
    );
  }
  lines.push(...attrCommands('"$tmp"', { owner: opts.owner, group: opts.group }).map((c) => `${c} || exit 1`));
  const octal = opts.mode !== undefined && (typeof opts.mode === 'number' || OCTAL.test(opts.mode.trim()) || /^0o/i.test(opts.mode.trim()));
  if (!octal) {
    // Base mode: the existing file's, else 0666 minus the umask; a symbolic mode applies on top.
    lines.push(
      `if [ -e ${dest} ]; then chmod "$(stat -c %a -- ${dest})" "$tmp"; else chmod "$(printf '%04o' $((0666 & ~$(umask))))" "$tmp"; fi || exit 1`,
    );
  }
  if (opts.mode !== undefined) {
    if (octal) lines.push(`chmod ${normaliseMode(opts.mode)} "$tmp" || exit 1`);
    else {
      normaliseMode(opts.mode); // validate the syntax here, chmod applies it
      lines.push(`chmod ${quote(String(opts.mode).trim())} "$tmp" || exit 1`);
    }
  }
  if (opts.validate !== undefined) {
    if (!opts.validate.includes('%s')) throw new TaskError(`validate must contain %s (the file to check): ${JSON.stringify(opts.validate)}`);
    const check = opts.validate.split('%s').join('"$tmp"');
    lines.push(`if ! ( ${check} ) </dev/null; then echo ${quote(`validation failed: ${opts.validate}`)} >&2; exit 1; fi`);
  }
  if (opts.backup) {
    lines.push(`if [ -f ${dest} ]; then cp -p -- ${dest} ${dest}."$(date +%Y%m%dT%H%M%S)".bak || exit 1; fi`);
  }
  lines.push(`mv -f -- "$tmp" ${dest} || exit 1`);
  lines.push(`trap - EXIT`);
  // SELinux: give the new inode the label policy wants for the path (best effort).
  lines.push(`if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon -- ${dest} 2>/dev/null || true; fi`);
  return [{ command: lines.join('\n'), stdin: content }];
}

// ---- predictions ------------------------------------------------------------------

/**
 * The numeric id a user/group will have: numeric names are ids, `root` is 0,
 * an unchanged name keeps its id; otherwise unknown to the planner (-1).
 */
export function predictId(name: string | undefined, prevName: string | undefined, prevId: number | undefined): number {
  if (name === undefined) return prevId ?? 0;
  if (/^\d+$/.test(name)) return Number(name);
  if (name === prevName && prevId !== undefined) return prevId;
  return name === 'root' ? 0 : -1;
}

/** An existing path after `attrChanges` were applied. */
export function withAttrs(info: PresentFile, c: { mode?: string; owner?: string; group?: string }): PresentFile {
  return {
    ...info,
    ...(c.mode !== undefined ? { mode: c.mode } : {}),
    ...(c.owner !== undefined ? { owner: c.owner, uid: predictId(c.owner, info.owner, info.uid) } : {}),
    ...(c.group !== undefined ? { group: c.group, gid: predictId(c.group, info.group, info.gid) } : {}),
  };
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * The file fact a write will produce. Owner/group names that are numeric or
 * unknown keep the previous values (best knowledge in check mode).
 */
export function predictWrittenFile(before: FileInfo, opts: Pick<WriteFileOptions, 'content' | 'mode' | 'owner' | 'group'>): PresentFile {
  const prev = before.exists ? before : undefined;
  const size = Buffer.byteLength(opts.content, 'utf8');
  const mode = opts.mode !== undefined ? normaliseMode(opts.mode, prev?.mode ?? '0644') : (prev?.mode ?? '0644');
  const owner = opts.owner ?? prev?.owner ?? 'root';
  const group = opts.group ?? prev?.group ?? 'root';
  const uid = predictId(opts.owner, prev?.owner, prev?.uid);
  const gid = predictId(opts.group, prev?.group, prev?.gid);
  return {
    exists: true,
    type: 'file',
    mode,
    owner,
    group,
    uid,
    gid,
    size,
    ...(size <= MAX_CONTENT_BYTES ? { content: opts.content } : {}),
    sha256: sha256Hex(opts.content),
  };
}

/** Does the existing file already hold exactly `content`? */
export function sameContent(info: FileInfo, content: string): boolean {
  if (!info.exists || info.type !== 'file') return false;
  if (info.sha256 !== undefined) return info.sha256 === sha256Hex(content);
  return info.content === content;
}

/** Text for the "before" side of a diff. */
export function beforeText(info: FileInfo): string {
  if (!info.exists) return '';
  if (info.content !== undefined) return info.content;
  return info.type === 'file' ? `(${info.size} bytes, binary or too large to show)\n` : `(${info.type})\n`;
}
