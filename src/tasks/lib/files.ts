/**
 * Shared building blocks for tasks that write files: the atomic write step,
 * diffs, and the predicted file fact after a change. Used by copy,
 * lineinfile, file and by the tasks that render config files (sshd_config,
 * fail2ban, firewall). Attributes (modes, owners) are in attrs.ts.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { TaskError } from '../../contract/errors.js';
import type { Diff, Step } from '../../contract/task.js';
import { quote } from '../../contract/quote.js';
import type { FileInfo, PresentFile } from '../../facts/files.js';
import { MAX_CONTENT_BYTES } from '../../facts/files.js';
import { attrCommands, isOctalMode, normaliseMode } from './attrs.js';

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
  const octal = opts.mode !== undefined && isOctalMode(opts.mode);
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
