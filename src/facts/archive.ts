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

/** The members' paths, one a line, on stdout. */
export function listCommand(archive: string, format: ArchiveFormat): string {
  return format === 'zip' ? `unzip -Z1 ${quote(archive)}` : `tar -t${TAR_FLAG[format]} -f ${quote(archive)}`;
}

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
    ...(a.attrs ? [`echo __attrs`, `${listCommand(a.archive, a.format)} | while IFS= read -r p; do [ -e ${d}/"$p" ] && printf '%s\\t%s\\n' "$p" "$(stat -c %U:%G:%a ${d}/"$p")"; done`] : []),
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseArchiveState(stdout: string, a: ArchiveArgs): ArchiveState {
  const lines = stdout.split('\n').filter((l) => l !== '');
  const head = lines[0];
  if (head === 'no-src' || head === 'no-dest' || head === 'no-tool') return { kind: head };
  if (head !== 'compared') throw new FactError('archive', `cannot compare ${a.archive} with ${a.dest}: ${JSON.stringify(stdout.slice(0, 200))}`);
  const at = lines.indexOf('__attrs');
  const differences = lines.slice(1, at < 0 ? undefined : at);
  const attrs: Record<string, string> = {};
  if (at >= 0) {
    for (const l of lines.slice(at + 1)) {
      const tab = l.lastIndexOf('\t');
      if (tab > 0) attrs[l.slice(0, tab)] = l.slice(tab + 1);
    }
  }
  return { kind: 'compared', differences, attrs };
}

export const archiveFact: Fact<ArchiveArgs, ArchiveState> = {
  name: 'archive',
  command,
  parse: (stdout, args) => parseArchiveState(stdout, args),
};

export const archiveStateOf = (a: ArchiveArgs): FactRequest<ArchiveState> => req(archiveFact, a);
