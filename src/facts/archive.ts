/**
 * Whether an archive on the host is unpacked in a directory (for
 * `unarchive`), compared as Ansible compares: a tar archive with GNU `tar
 * --diff` (missing files, contents, sizes, modes, owners, modification
 * times), a zip archive member by member with `cmp` (missing files and
 * contents). With wanted owner/group/mode, every member's are read too.
 */
import { FactError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export type ArchiveFormat = 'tar' | 'gz' | 'xz' | 'bz2' | 'zip';

export interface ArchiveArgs {
  readonly archive: string;
  readonly dest: string;
  readonly format: ArchiveFormat;
  /** Read every member's owner:group:mode (octal) too. */
  readonly attrs: boolean;
}

export type ArchiveState =
  | { readonly kind: 'no-src' }
  | { readonly kind: 'no-dest' }
  | { readonly kind: 'no-tool' }
  | {
      readonly kind: 'compared';
      /** What differs, one line each (tar --diff's words, or `missing P` / `differs P`). */
      readonly differences: readonly string[];
      /** Member path → `owner:group:mode` in dest, when asked for. */
      readonly attrs: Readonly<Record<string, string>>;
    };

/** The program each format needs on the host, and the package that has it. */
export const TOOLS: Readonly<Record<ArchiveFormat, { readonly program: string; readonly pkg: string }>> = {
  tar: { program: 'tar', pkg: 'tar' },
  gz: { program: 'gzip', pkg: 'gzip' },
  xz: { program: 'xz', pkg: 'xz-utils (Debian) or xz (RHEL)' },
  bz2: { program: 'bzip2', pkg: 'bzip2' },
  zip: { program: 'unzip', pkg: 'unzip' },
};

export const TAR_FLAG: Readonly<Record<Exclude<ArchiveFormat, 'zip'>, string>> = { tar: '', gz: ' -z', xz: ' -J', bz2: ' -j' };

/** The members' paths, one a line, on stdout; `archive` is a shell word (quoted, or "$t"). */
export function listCommand(archive: string, format: ArchiveFormat): string {
  return format === 'zip' ? `unzip -Z1 ${archive}` : `tar -t${TAR_FLAG[format]} -f ${archive}`;
}

/** A shell loop printing `PATH<TAB>owner:group:mode` of each member path read on stdin that exists in dest. */
const attrsLoop = (d: string): string => `while IFS= read -r p; do [ -e ${d}/"$p" ] && printf '%s\\t%s\\n' "$p" "$(stat -c %U:%G:%a ${d}/"$p")"; done`;

function command(a: ArchiveArgs): string {
  const f = quote(a.archive);
  const d = quote(a.dest);
  const compare =
    a.format === 'zip'
      ? [
          `unzip -Z1 ${f} | while IFS= read -r p; do`,
          `  case "$p" in */) [ -d ${d}/"$p" ] || echo "missing $p";; *) if [ ! -e ${d}/"$p" ]; then echo "missing $p"; elif ! unzip -p ${f} "$p" | cmp -s - ${d}/"$p"; then echo "differs $p"; fi;; esac`,
          `done`,
        ]
      : [`tar -d${TAR_FLAG[a.format]} -C ${d} -f ${f} 2>&1 | sed 's/^tar: //'`];
  return [
    `[ -e ${f} ] || { echo no-src; exit 0; }`,
    `[ -d ${d} ] || { echo no-dest; exit 0; }`,
    `command -v ${TOOLS[a.format].program} >/dev/null 2>&1 || { echo no-tool; exit 0; }`,
    `echo compared`,
    ...compare,
    ...(a.attrs ? [`echo __attrs`, `${listCommand(f, a.format)} | ${attrsLoop(d)}`] : []),
  ].join('\n');
}

/** The lines after `__attrs`: member path → owner:group:mode. */
function attrsOf(lines: readonly string[]): Record<string, string> {
  const at = lines.indexOf('__attrs');
  const attrs: Record<string, string> = {};
  if (at < 0) return attrs;
  for (const l of lines.slice(at + 1)) {
    const tab = l.lastIndexOf('\t');
    if (tab > 0) attrs[l.slice(0, tab)] = l.slice(tab + 1);
  }
  return attrs;
}

/** Pure parser of the fact command's output. */
export function parseArchiveState(stdout: string, a: { readonly archive: string; readonly dest: string }): ArchiveState {
  const lines = stdout.split('\n').filter((l) => l !== '');
  const head = lines[0];
  if (head === 'no-src' || head === 'no-dest' || head === 'no-tool') return { kind: head };
  if (head !== 'compared') throw new FactError('archive', `cannot compare ${a.archive} with ${a.dest}: ${JSON.stringify(stdout.slice(0, 200))}`);
  const at = lines.indexOf('__attrs');
  return { kind: 'compared', differences: lines.slice(1, at < 0 ? undefined : at), attrs: attrsOf(lines) };
}

export const archiveFact: Fact<ArchiveArgs, ArchiveState> = {
  name: 'archive',
  command,
  parse: (stdout, args) => parseArchiveState(stdout, args),
};

export const archiveStateOf = (a: ArchiveArgs): FactRequest<ArchiveState> => req(archiveFact, a);

/** A member of an archive on the control machine, as unpacked there: what dest must hold. */
export interface Member {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'link';
  /** Files: hex sha256 of the content. */
  readonly sha256?: string;
}

export interface MembersArgs {
  /** The archive on the control machine (for messages). */
  readonly archive: string;
  readonly dest: string;
  readonly members: readonly Member[];
  readonly attrs: boolean;
}

function membersCommand(a: MembersArgs): string {
  const d = quote(a.dest);
  return [
    `[ -d ${d} ] || { echo no-dest; exit 0; }`,
    `m() { if [ -L ${d}/"$1" ]; then echo "L $1"; elif [ -d ${d}/"$1" ]; then echo "D $1"; elif [ -f ${d}/"$1" ]; then echo "F $(sha256sum < ${d}/"$1" | cut -c1-64) $1"; else echo "- $1"; fi; }`,
    `echo compared`,
    ...a.members.map((m) => `m ${quote(m.path)}`),
    ...(a.attrs ? [`echo __attrs`, `printf '%s\\n' ${a.members.map((m) => quote(m.path)).join(' ')} | ${attrsLoop(d)}`] : []),
  ].join('\n');
}

/** Pure: what differs between the members and what dest holds (each member's line: `F SHA PATH`, `D PATH`, `L PATH`, `- PATH`). */
export function parseMembersState(stdout: string, a: MembersArgs): ArchiveState {
  const lines = stdout.split('\n').filter((l) => l !== '');
  if (lines[0] === 'no-dest') return { kind: 'no-dest' };
  if (lines[0] !== 'compared') throw new FactError('archive', `cannot compare ${a.archive} with ${a.dest}: ${JSON.stringify(stdout.slice(0, 200))}`);
  const body = lines.slice(1, lines.includes('__attrs') ? lines.indexOf('__attrs') : undefined);
  const differences = a.members.flatMap((m, i) => {
    const want = m.type === 'file' ? `F ${m.sha256 ?? ''} ${m.path}` : `${m.type === 'dir' ? 'D' : 'L'} ${m.path}`;
    const got = body[i];
    if (got === want) return [];
    return [got === `- ${m.path}` ? `missing ${m.path}` : `differs ${m.path}`];
  });
  return { kind: 'compared', differences, attrs: attrsOf(lines) };
}

export const membersFact: Fact<MembersArgs, ArchiveState> = {
  name: 'archive_members',
  command: membersCommand,
  parse: (stdout, args) => parseMembersState(stdout, args),
};

export const membersStateOf = (a: MembersArgs): FactRequest<ArchiveState> => req(membersFact, a);
