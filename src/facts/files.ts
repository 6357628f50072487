/**
 * File facts: what is at a path (type, mode, owner, size) and, for regular
 * files up to 1 MiB, the content (read via base64 so any byte survives the
 * transport) and its sha256 (the parser's, from the content read; larger
 * files: `sha256sum` on the host). One command: POSIX `test`, GNU `stat -c`,
 * `base64`, `sha256sum` (coreutils on every Debian and RHEL host). The reads of
 * a batch share one command (Fact.merge), a shell function called per path: no
 * process for a path that is absent, one (stat) for a directory, two for a
 * regular file (stat, base64), where each read used to fork its own subshell too.
 */
import { createHash } from 'node:crypto';
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export type FileType = 'file' | 'directory' | 'link' | 'other';

/** Largest file whose content is read into the fact (bytes). */
export const MAX_CONTENT_BYTES = 1024 * 1024;

export interface FileArgs {
  readonly path: string;
  /** More paths the same command reads (a batch's reads merged, Fact.merge); each read parses its own path's part. */
  readonly also?: readonly string[];
}

export interface PresentFile {
  readonly exists: true;
  readonly type: FileType;
  /** Four octal digits, e.g. `0644`, `4755`. For a link: the link's own mode (`0777`). */
  readonly mode: string;
  /** User name (`UNKNOWN` when the uid has no name). */
  readonly owner: string;
  readonly group: string;
  readonly uid: number;
  readonly gid: number;
  /** Bytes (for a link: length of the target). */
  readonly size: number;
  /** Regular files ≤ 1 MiB that are valid UTF-8; absent for binary or larger files. */
  readonly content?: string;
  /** Regular files: hex sha256 of the whole file. */
  readonly sha256?: string;
  /** Links: where the link points (not resolved). */
  readonly target?: string;
}

export type FileInfo = { readonly exists: false } | PresentFile;

const MISSING: FileInfo = { exists: false };

/** Normalise `stat %a` output (`644`, `4755`) to four digits. */
const mode4 = (a: string): string => a.padStart(4, '0');

/** GNU `stat -c` format of what a path's attributes are read as. */
export const STAT_FORMAT = '%a:%u:%g:%U:%G:%s';

/** A path of `type` from its `STAT_FORMAT` line (no content); undefined when the line does not parse. */
export function statInfo(line: string, type: FileType): PresentFile | undefined {
  const fields = line.split(':');
  if (fields.length !== 6) return undefined;
  const [a, uid, gid, owner, group, size] = fields as [string, string, string, string, string, string];
  if (!/^[0-7]{1,4}$/.test(a)) return undefined;
  return { exists: true, type, mode: mode4(a), owner, group, uid: Number(uid), gid: Number(gid), size: Number(size) };
}

/** Prints what is at "$1"; returns 3 when stat fails. */
const READ_PATH = [
  '__pv_file() {',
  '  p=$1',
  '  if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else echo exists=0; return 0; fi',
  '  echo "type=$t"',
  `  s=$(stat -c '${STAT_FORMAT}' -- "$p") || return 3`,
  '  echo "stat=$s"',
  `  if [ "$t" = link ]; then printf 'target='; readlink -- "$p" | base64 | tr -d '\\n'; echo; fi`,
  // the sha256 of content read whole is the parser's: no sha256sum for it
  `  if [ "$t" = file ]; then if [ "\${s##*:}" -le ${MAX_CONTENT_BYTES} ]; then echo content_begin; base64 < "$p" && echo content_end`,
  `  elif command -v sha256sum >/dev/null 2>&1; then h=$(sha256sum < "$p") && printf 'sha256=%s\\n' "\${h%% *}"; fi; fi`,
  '}',
].join('\n');

/** The line that starts a path's part of the output: the path in base64, which no other line of it can be. */
const pathLine = (path: string): string => `path=${Buffer.from(path).toString('base64')}`;

function script(paths: readonly string[]): string {
  return [READ_PATH, ...paths.map((p) => sh`echo ${pathLine(p)}; __pv_file ${p}`)].join('\n');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Pure parser of the fact command's output. */
export function parseFileFact(stdout: string, path: string, exitCode = 0): FileInfo {
  const fail = (why: string): never => {
    throw new FactError('file', `${path}: ${why} (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  };
  // this path's part: from its path line to the next one (content is base64: never a path line)
  const all = stdout.split('\n');
  const start = all.indexOf(pathLine(path));
  if (start < 0) return fail('no output for this path');
  const end = all.findIndex((l, i) => i > start && l.startsWith('path='));
  const lines = all.slice(start + 1, end < 0 ? undefined : end);
  if (lines.some((l) => l === 'exists=0')) return MISSING;
  let type: FileType | undefined;
  let statLine: string | undefined;
  let sha256: string | undefined;
  let target: string | undefined;
  let content: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('type=')) {
      const t = line.slice(5);
      if (t !== 'file' && t !== 'directory' && t !== 'link' && t !== 'other') fail(`unknown type ${t}`);
      type = t as FileType;
    } else if (line.startsWith('stat=')) {
      statLine = line.slice(5);
    } else if (line.startsWith('sha256=')) {
      const h = line.slice(7).trim();
      if (/^[0-9a-f]{64}$/.test(h)) sha256 = h;
    } else if (line.startsWith('target=')) {
      target = Buffer.from(line.slice(7), 'base64').toString('utf8').replace(/\n$/, '');
    } else if (line === 'content_begin') {
      const end = lines.indexOf('content_end', i + 1);
      if (end < 0) break; // unreadable: no content
      const bytes = Buffer.from(lines.slice(i + 1, end).join(''), 'base64');
      sha256 ??= createHash('sha256').update(bytes).digest('hex');
      try {
        content = utf8.decode(bytes);
      } catch {
        content = undefined; // binary: compare by sha256 only
      }
      i = end;
    }
  }
  if (!type) return fail('no type in output');
  const stat = statLine !== undefined ? statInfo(statLine, type) : undefined;
  if (!stat) return fail('cannot parse stat output');
  const info: PresentFile = {
    ...stat,
    ...(content !== undefined ? { content } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(target !== undefined ? { target } : {}),
  };
  return info;
}

export const fileFact: Fact<FileArgs, FileInfo> = {
  name: 'file',
  command: (args) => script([args.path, ...(args.also ?? [])]),
  parse: (stdout, args, exitCode) => parseFileFact(stdout, args.path, exitCode),
  key: (args) => args.path,
  // one shell function for every path of a batch: the parser of each picks its own path's part
  merge: (all) => {
    const paths = [...new Set(all.flatMap((a) => [a.path, ...(a.also ?? [])]))];
    return { path: paths[0]!, also: paths.slice(1) };
  },
};

/** The fact request for one path. */
export const fileAt = (path: string): FactRequest<FileInfo> => req(fileFact, { path });

export const isDirectory = (info: FileInfo): info is PresentFile => info.exists && info.type === 'directory';
