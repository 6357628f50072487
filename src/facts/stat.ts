/**
 * Stat fact: what Ansible's stat module reports about a path, read in one
 * command (GNU `stat -c`, `test -r/-w/-x`, `readlink`, the coreutils
 * `*sum` tools, `file` and `lsattr` when the host has them). The parser turns
 * it into Ansible's `stat` result shape (exists, mode, isdir, isreg, islnk,
 * uid, pw_name, size, mtime, checksum, ...).
 */
import { FactError } from '../contract/errors.js';
import { quote, sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface StatArgs {
  readonly path: string;
  /** stat the target of a symbolic link (os.stat), not the link (os.lstat). */
  readonly follow: boolean;
  /** Checksum of a readable regular file with this algorithm; null: none. */
  readonly checksum: ChecksumAlgorithm | null;
  /** `md5` of a readable regular file too (Ansible's undocumented `get_md5`, kept since 2.9). */
  readonly md5?: boolean;
  /** `mimetype`/`charset` from `file` ("unknown" without it). */
  readonly mime: boolean;
  /** `version`/`attributes`/`attr_flags` from `lsattr`. */
  readonly attributes: boolean;
}

/** Ansible's stat result: `{ exists: false }` or every key Ansible's module returns on Linux. */
export type StatResult = { readonly exists: false } | (Readonly<Record<string, unknown>> & { readonly exists: true });

/** Ansible's names of the lsattr flags (module_utils/basic.py FILE_ATTRIBUTES). */
const FILE_ATTRIBUTES: Record<string, string> = {
  A: 'noatime', a: 'append', c: 'compressed', C: 'nocow', d: 'nodump', D: 'dirsync', e: 'extents', E: 'encrypted', h: 'blocksize', i: 'immutable',
  I: 'indexed', j: 'journalled', N: 'inline', s: 'zero', S: 'synchronous', t: 'notail', T: 'blockroot', u: 'undelete', X: 'compressedraw', Z: 'compresseddirty',
};

const STAT_FORMAT = '%f|%u|%g|%s|%i|%d|%h|%.9X|%.9Y|%.9Z|%b|%o|%t|%T';

function script(a: StatArgs): string {
  const exists = a.follow ? '[ -e "$p" ]' : '{ [ -e "$p" ] || [ -L "$p" ]; }';
  return [
    sh`p=${a.path}`,
    `if ! ${exists}; then echo exists=0; exit 0; fi`,
    `s=$(stat ${a.follow ? '-L ' : ''}-c ${quote(STAT_FORMAT)} -- "$p") || exit 3`,
    'echo "stat=$s"',
    // fields 2 and 3, and the first field of getent's line, with the shell's own expansions
    "r=${s#*|}; u=${r%%|*}; r=${r#*|}; g=${r%%|*}",
    `e=$(getent passwd "$u"); printf 'pw_name=%s\\n' "\${e%%:*}"`,
    `e=$(getent group "$g"); printf 'gr_name=%s\\n' "\${e%%:*}"`,
    'if [ -r "$p" ]; then echo readable=1; fi',
    'if [ -w "$p" ]; then echo writeable=1; fi',
    'if [ -x "$p" ]; then echo executable=1; fi',
    ...(a.follow
      ? []
      : [`if [ -L "$p" ]; then printf 'lnk_target=%s\\n' "$(readlink -- "$p" | base64 | tr -d '\\n')"; printf 'lnk_source=%s\\n' "$(readlink -m -- "$p" | base64 | tr -d '\\n')"; fi`]),
    ...(a.checksum !== null
      ? [
          `if [ -f "$p" ] && [ -r "$p" ]${a.follow ? '' : ' && [ ! -L "$p" ]'}; then`,
          `  if command -v ${a.checksum}sum >/dev/null 2>&1; then c=$(${a.checksum}sum < "$p"); printf 'checksum=%s\\n' "\${c%% *}"; else echo checksum_tool=0; fi`,
          'fi',
        ]
      : []),
    ...(a.md5 === true
      ? [`if [ -f "$p" ] && [ -r "$p" ]${a.follow ? '' : ' && [ ! -L "$p" ]'}; then c=$(md5sum < "$p"); printf 'md5=%s\\n' "\${c%% *}"; fi`]
      : []),
    ...(a.mime ? [`if command -v file >/dev/null 2>&1; then printf 'mime=%s\\n' "$(file -b --mime-type --mime-encoding -- "$p" 2>/dev/null)"; fi`] : []),
    ...(a.attributes ? [`if command -v lsattr >/dev/null 2>&1; then printf 'lsattr=%s\\n' "$(lsattr -vd -- "$p" 2>/dev/null | head -n 1)"; fi`] : []),
  ].join('\n');
}

/** glibc's makedev(major, minor): st_rdev from the hex major and minor `stat` prints. */
function makedev(majorHex: string, minorHex: string): number {
  const major = Number.parseInt(majorHex, 16);
  const minor = Number.parseInt(minorHex, 16);
  return (major & 0xfff) * 256 + (minor & 0xff) + (minor & 0xffffff00) * 4096 + (major & 0xfffff000) * 2 ** 32;
}

/** A `readlink` line that traveled base64-encoded: its text without the newline readlink ends it with. */
const b64 = (v: string): string => Buffer.from(v, 'base64').toString('utf8').replace(/\n$/, '');

/** Pure parser of the fact command's output. */
export function parseStatFact(stdout: string, a: StatArgs, exitCode = 0): StatResult {
  const lines = stdout.split('\n');
  if (lines.includes('exists=0')) return { exists: false };
  const get = (k: string): string | undefined => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  const fields = get('stat')?.split('|');
  if (!fields || fields.length !== 14 || !/^[0-9a-f]+$/.test(fields[0] as string)) {
    throw new FactError('stat', `${a.path}: cannot parse stat output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (a.checksum !== null && get('checksum_tool') === '0') throw new FactError('stat', `${a.path}: no ${a.checksum}sum on the host for checksum_algorithm ${a.checksum}`);
  const [rawMode, uid, gid, size, inode, dev, nlink, atime, mtime, ctime, blocks, blockSize, major, minor] = fields as string[] as [string, ...string[]];
  const mode = Number.parseInt(rawMode, 16);
  const type = mode & 0o170000;
  const bit = (b: number): boolean => (mode & b) !== 0;
  const out: Record<string, unknown> = {
    exists: true,
    path: a.path,
    mode: (mode & 0o7777).toString(8).padStart(4, '0'),
    isdir: type === 0o040000,
    ischr: type === 0o020000,
    isblk: type === 0o060000,
    isreg: type === 0o100000,
    isfifo: type === 0o010000,
    islnk: type === 0o120000,
    issock: type === 0o140000,
    uid: Number(uid),
    gid: Number(gid),
    size: Number(size),
    inode: Number(inode),
    dev: Number(dev),
    nlink: Number(nlink),
    atime: Number(atime),
    mtime: Number(mtime),
    ctime: Number(ctime),
    wusr: bit(0o200),
    rusr: bit(0o400),
    xusr: bit(0o100),
    wgrp: bit(0o020),
    rgrp: bit(0o040),
    xgrp: bit(0o010),
    woth: bit(0o002),
    roth: bit(0o004),
    xoth: bit(0o001),
    isuid: bit(0o4000),
    isgid: bit(0o2000),
    blocks: Number(blocks),
    block_size: Number(blockSize),
    device_type: makedev(major as string, minor as string),
    readable: get('readable') === '1',
    writeable: get('writeable') === '1',
    executable: get('executable') === '1',
  };
  const lnkTarget = get('lnk_target');
  if (out.islnk === true && lnkTarget !== undefined) {
    out.lnk_source = b64(get('lnk_source') ?? '');
    out.lnk_target = b64(lnkTarget);
  }
  const pw = get('pw_name');
  if (pw) out.pw_name = pw;
  const gr = get('gr_name');
  if (gr) out.gr_name = gr;
  const checksum = get('checksum');
  if (checksum !== undefined) out.checksum = checksum;
  const md5 = get('md5');
  if (a.md5 === true && md5 !== undefined) out.md5 = md5;
  if (a.mime) {
    // `file -b --mime-type --mime-encoding`: "text/plain; charset=us-ascii"; no `file`: unknown, as Ansible
    const m = /^([^;]+);\s*charset=(\S+)$/.exec(get('mime') ?? '');
    out.mimetype = m ? (m[1] as string).trim() : 'unknown';
    out.charset = m ? (m[2] as string) : 'unknown';
  }
  if (a.attributes) {
    // `lsattr -vd`: "VERSION FLAGS PATH"; no lsattr or a failure: Ansible's empty answer
    const parts = (get('lsattr') ?? '').trim().split(/\s+/);
    const flags = parts.length >= 3 ? (parts[1] as string).replace(/-/g, '') : '';
    out.version = parts.length >= 3 ? parts[0] : null;
    out.attributes = [...flags].flatMap((f) => FILE_ATTRIBUTES[f] ?? []);
    out.attr_flags = flags;
  }
  return out as StatResult;
}

export const statFact: Fact<StatArgs, StatResult> = {
  name: 'stat',
  command: script,
  parse: (stdout, args, exitCode) => parseStatFact(stdout, args, exitCode),
};

export const statOf = (args: StatArgs): FactRequest<StatResult> => req(statFact, args);
