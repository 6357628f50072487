/**
 * Shared building blocks for tasks that write files: the one atomic write
 * step every task uses (copy, lineinfile, sshd_config, fail2ban,
 * firewall_persist, unattended_upgrades, user's authorized_keys), the name of
 * its temporary files and the cleanup of stale ones, diffs, and the predicted
 * file fact after a change. Attributes (modes, owners) are in attrs.ts.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { TaskError } from '../../contract/errors.js';
import type { Diff, Step } from '../../contract/task.js';
import { quote, sh } from '../../contract/quote.js';
import type { FileInfo, PresentFile } from '../../facts/files.js';
import { MAX_CONTENT_BYTES } from '../../facts/files.js';
import { attrCommands, isOctalMode, normaliseMode } from './attrs.js';

// ---- diffs ------------------------------------------------------------------------

export function diffOf(label: string, before: string, after: string): Diff {
  return { label, before, after };
}

// ---- atomic write -------------------------------------------------------------------

/**
 * Temporary files of a write are named `.<basename>.provision-XXXXXX`, beside
 * the target (mktemp replaces the X's by six letters and digits): hidden, and
 * recognisable as ours. `TEMP_GLOB` matches them for any target.
 */
export const TEMP_MARK = '.provision-';
export const TEMP_GLOB = `.*${TEMP_MARK}??????`;

/** The mktemp template for a temporary file beside `base`, short enough for NAME_MAX (255 bytes). */
export function tempName(base: string): string {
  let name = base;
  while (Buffer.byteLength(name) > 200) name = Array.from(name).slice(0, -1).join('');
  return `.${name}${TEMP_MARK}XXXXXX`;
}

interface WriteCommon {
  /** Absolute destination path; with `home`, relative to that user's home directory. */
  readonly path: string;
  /**
   * The file is in this user's home directory, looked up in passwd when the
   * step runs (an earlier step may create the user). The file, and a `parent`
   * made there, then belong to the user and their login group (`owner` and
   * `group` are not given).
   */
  readonly home?: string;
  /** Without a mode the existing file's mode is kept; a new file gets 0666 minus the umask. */
  readonly mode?: string | number;
  /** Without owner/group the existing file's owner and group are kept. */
  readonly owner?: string;
  readonly group?: string;
  /** Copy the old file to `path.YYYYmmddTHHMMSS.bak` (host time) before replacing it. */
  readonly backup?: boolean;
  /** Command to check the new file before it replaces the old one, `%s` = the temporary file, e.g. `sshd -t -f %s`. */
  readonly validate?: string;
  /**
   * Create the parent directory when it is missing (`mkdir -p`). With a mode,
   * owner or group (or in a `home`) the directory is managed: a symbolic link
   * there is refused, its mode and owner are set on every write, and it is
   * relabelled with its content (SELinux).
   */
  readonly parent?: { readonly mode?: string | number; readonly owner?: string; readonly group?: string };
}

export type WriteFileOptions = WriteCommon &
  (
    | {
        /** Full new content: sent on stdin, its size and sha256 checked on the host before the rename. */
        readonly content: string;
        readonly generate?: undefined;
      }
    | {
        /**
         * Content only the host knows when the step runs: the standard output of
         * this command or pipeline (`iptables-save`, an awk edit of the current
         * file), written as `COMMAND > "$tmp"`, so not a list (`a; b`, `a && b`).
         * A failing command leaves the file unchanged; there is no size or
         * checksum to check.
         */
        readonly generate: string;
        readonly content?: undefined;
      }
  );

/** Where a write goes, as shell words, and the lines that set the variables those words use. */
interface Target {
  readonly prelude: readonly string[];
  readonly dir: string;
  readonly dest: string;
  readonly temp: string;
  /** chown argument for the file and a managed parent when the options name no owner: the home's user. */
  readonly homeOwner?: string;
}

function literalTarget(path: string): Target {
  if (path === '' || path.endsWith('/')) throw new TaskError(`invalid file path ${JSON.stringify(path)}`);
  const dir = posix.dirname(path);
  return { prelude: [], dir: quote(dir), dest: quote(path), temp: quote(posix.join(dir, tempName(posix.basename(path)))) };
}

function homeTarget(user: string, path: string, opts: WriteCommon): Target {
  const parts = path.split('/');
  if (path === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TaskError(`invalid path in the home of ${user}: ${JSON.stringify(path)} (relative, without . or ..)`);
  }
  if (opts.owner !== undefined || opts.group !== undefined || opts.parent?.owner !== undefined || opts.parent?.group !== undefined) {
    throw new TaskError(`a file in the home of ${user} belongs to ${user}: owner and group cannot be given`);
  }
  const base = parts.pop() as string;
  return {
    prelude: [
      sh`u=${user}`,
      `h=$(getent passwd "$u" | cut -d: -f6)`,
      `if [ -z "$h" ] || [ ! -d "$h" ]; then echo "home directory of $u does not exist ($h): cannot write "${quote(base)} >&2; exit 1; fi`,
      `g=$(id -gn "$u") || exit 1`,
      parts.length ? `d="$h"/${quote(parts.join('/'))}` : `d="$h"`,
    ],
    dir: '"$d"',
    dest: `"$d"/${quote(base)}`,
    temp: `"$d"/${quote(tempName(base))}`,
    homeOwner: '"$u:$g"',
  };
}

/** Lines that create the parent directory; for a managed one also refuse a symlink and set owner and mode. */
function parentLines(t: Target, parent: NonNullable<WriteCommon['parent']>): { lines: string[]; managed: boolean } {
  const mode = parent.mode !== undefined ? normaliseMode(parent.mode) : undefined;
  const attrs =
    t.homeOwner !== undefined
      ? [`chown ${t.homeOwner} ${t.dir}`, ...(mode !== undefined ? [`chmod ${mode} ${t.dir}`] : [])]
      : attrCommands(t.dir, { owner: parent.owner, group: parent.group }, mode);
  if (attrs.length === 0) return { lines: [`if [ ! -d ${t.dir} ]; then mkdir -p ${t.dir} || exit 1; fi`], managed: false };
  const lines = [
    `if [ -L ${t.dir} ]; then printf '%s is a symbolic link: refusing to write through it\\n' ${t.dir} >&2; exit 1; fi`,
    `if [ ! -d ${t.dir} ]; then mkdir -p ${mode !== undefined ? `-m ${mode} ` : ''}${t.dir} || exit 1; fi`,
    ...attrs.map((c) => `${c} || exit 1`),
  ];
  return { lines, managed: true };
}

/** Lines that fill "$tmp": stdin checked for size and sha256, or a command's output. */
function contentLines(opts: WriteFileOptions): string[] {
  if (opts.generate !== undefined) return [`${opts.generate} > "$tmp" || exit 1`];
  const content = opts.content;
  return [
    `cat > "$tmp" || exit 1`,
    // A connection lost mid-transfer ends stdin early: never rename a short file into place.
    `[ "$(wc -c < "$tmp")" -eq ${Buffer.byteLength(content)} ] || { echo 'incomplete content received; file left unchanged' >&2; exit 1; }`,
    `if command -v sha256sum >/dev/null 2>&1; then [ "$(sha256sum < "$tmp" | cut -d' ' -f1)" = ${sha256Hex(content)} ] || { echo 'content checksum mismatch; file left unchanged' >&2; exit 1; }; fi`,
  ];
}

/** Lines that give "$tmp" its owner, group and mode (what is not given is kept from the existing file). */
function attrLines(t: Target, opts: WriteFileOptions): string[] {
  const lines: string[] = [];
  const dest = t.dest;
  if (t.homeOwner !== undefined) lines.push(`chown ${t.homeOwner} "$tmp" || exit 1`);
  else {
    if (opts.owner === undefined || opts.group === undefined) {
      // Keep what is not given from the existing file.
      lines.push(
        `if [ -e ${dest} ]; then o=$(stat -c %u:%g -- ${dest}) && { [ "$(stat -c %u:%g -- "$tmp")" = "$o" ] || chown "$o" "$tmp"; } || exit 1; fi`,
      );
    }
    lines.push(...attrCommands('"$tmp"', { owner: opts.owner, group: opts.group }).map((c) => `${c} || exit 1`));
  }
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
  return lines;
}

/**
 * One step that replaces a file atomically: optionally its parent directory
 * made first, mktemp beside the file, the content (from stdin, checked for
 * size and sha256; or a command's output), mode/owner/group, optional
 * validation and dated backup, then `mv -f` (rename(2) within one directory)
 * and the SELinux label. Any failure or signal removes the temporary file
 * (trap) and leaves the old file untouched.
 */
export function writeFileSteps(opts: WriteFileOptions): Step[] {
  const t = opts.home !== undefined ? homeTarget(opts.home, opts.path, opts) : literalTarget(opts.path);
  const parent = opts.parent !== undefined ? parentLines(t, opts.parent) : undefined;
  const lines: string[] = [
    ...t.prelude,
    ...(parent?.lines ?? []),
    // what an earlier write of this file left behind when it was killed (kill -9 skips the trap)
    ...(opts.home === undefined ? [staleTempCleanup(opts.path, STALE_TEMP_MINUTES)] : []),
    `tmp=$(mktemp ${t.temp}) || exit 1`,
    `trap 'rm -f "$tmp"' EXIT`,
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    ...contentLines(opts),
    ...attrLines(t, opts),
  ];
  if (opts.validate !== undefined) {
    if (!opts.validate.includes('%s')) throw new TaskError(`validate must contain %s (the file to check): ${JSON.stringify(opts.validate)}`);
    const check = opts.validate.split('%s').join('"$tmp"');
    lines.push(`if ! ( ${check} ) </dev/null; then echo ${quote(`validation failed: ${opts.validate}`)} >&2; exit 1; fi`);
  }
  if (opts.backup) {
    lines.push(`if [ -f ${t.dest} ]; then cp -p -- ${t.dest} ${t.dest}."$(date +%Y%m%dT%H%M%S)".bak || exit 1; fi`);
  }
  lines.push(`mv -f -- "$tmp" ${t.dest} || exit 1`);
  lines.push(`trap - EXIT`);
  // SELinux: give the new inode (and a managed directory with its content) the label policy wants (best effort).
  const relabel = parent?.managed ? `restorecon -R -- ${t.dir}` : `restorecon -- ${t.dest}`;
  lines.push(`if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then ${relabel} 2>/dev/null || true; fi`);
  return [opts.content !== undefined ? { command: lines.join('\n'), stdin: opts.content } : { command: lines.join('\n') }];
}

/** A temporary file this old is no write's still running (writes are bounded by the task timeout). */
export const STALE_TEMP_MINUTES = 60;

/** fnmatch pattern matching `text` literally. */
const globLiteral = (text: string): string => text.replace(/[\\*?[]/g, (c) => `\\${c}`);

/**
 * Shell snippet that removes temporary files a write of `path` left behind
 * (a `kill -9` or a lost host skips the trap) when they are older than
 * `minutes`; younger ones may belong to a write still running. Only regular
 * files named like `writeFileSteps`' temporary files for this very target, in
 * its directory, are removed. Never fails (uses find -mmin: GNU or busybox).
 */
export function staleTempCleanup(path: string, minutes: number): string {
  if (!Number.isInteger(minutes) || minutes < 0) throw new TaskError(`stale temporary files: minutes must be a whole number >= 0, got ${minutes}`);
  const t = literalTarget(path);
  const name = tempName(posix.basename(path)).replace(/X{6}$/, '');
  const pattern = `${globLiteral(name)}${'[A-Za-z0-9]'.repeat(6)}`;
  return `if [ -d ${t.dir} ]; then find ${t.dir}/. ! -name . -prune -type f -name ${quote(pattern)} -mmin +${minutes} -exec rm -f -- {} + 2>/dev/null || true; fi`;
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
export function predictWrittenFile(before: FileInfo, opts: { readonly content: string } & Pick<WriteCommon, 'mode' | 'owner' | 'group'>): PresentFile {
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
