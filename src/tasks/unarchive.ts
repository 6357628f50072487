/**
 * `unarchive` (ansible.builtin.unarchive): unpack an archive into the
 * existing directory `dest`: .tar, .tar.gz/.tgz, .tar.xz/.txz, .tar.bz2/.tbz2
 * (GNU tar) and .zip (unzip; refused, naming the package, when the host lacks
 * it, as are xz and bzip2). The archive is on the control machine (`src`
 * looked for in files/ beside the playbook, then beside it, as for copy) and
 * sent to the host, or already on the host (`remote_src: true`, or Ansible's
 * older `copy: false`).
 *
 * Idempotent as Ansible is, by comparing the archive with dest: on the host,
 * for tar `tar --diff` (missing files, contents, sizes, modification times,
 * modes and owners), for zip every member's presence and content (`cmp`); an
 * archive from the control machine is unpacked there (with its tar or unzip)
 * and every member's type and sha256 compared with dest's. With
 * `creates`, an existing path skips the task without comparing (skipped, as
 * Ansible reports it). `owner`/`group`/`mode` (octal) are set on every
 * extracted member after the extraction, and a member with other ones is a
 * difference.
 *
 * Not supported, refused by name: src as a URL, extra_opts, exclude,
 * include, keep_newer, list_files, io_buffer_size, validate_certs, the
 * SELinux options.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, skip, type Plan, type Step } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { TAR_FLAG, TOOLS, archiveStateOf, listCommand, membersStateOf, type ArchiveArgs, type ArchiveFormat, type ArchiveState, type Member } from '../facts/archive.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { attrCommands } from './lib/attrs.js';
import { unpackLocally } from './lib/archives.js';
import { findLocalFile } from './lib/local.js';

const SUFFIXES: readonly [RegExp, ArchiveFormat][] = [
  [/\.(tar\.gz|tgz)$/i, 'gz'],
  [/\.(tar\.xz|txz)$/i, 'xz'],
  [/\.(tar\.bz2|tbz2?)$/i, 'bz2'],
  [/\.tar$/i, 'tar'],
  [/\.zip$/i, 'zip'],
];

const absolute = z.string().regex(/^\/[^\r\n]*$/, 'an absolute path');

const argsSchema = z
  .object({
    src: z.string().min(1).regex(/^(?![a-z]+:\/\/)/i, 'a path (a URL is not supported: download it with get_url first)').describe('The archive: on the control machine (relative: in files/ beside the playbook, then beside it), or with remote_src: true an absolute path on the host'),
    dest: absolute.describe('Existing directory on the host to unpack into'),
    remote_src: z.boolean().optional().describe('true: src is already on the host; default: src is on the control machine and is sent'),
    copy: z.boolean().optional().describe("Ansible's older spelling: copy: false is remote_src: true"),
    creates: z.string().min(1).optional().describe('A path on the host: when it exists, the task is skipped'),
    owner: z.string().min(1).optional().describe('Owner of every extracted member'),
    group: z.string().min(1).optional().describe('Group of every extracted member'),
    mode: z
      .union([z.string().regex(/^0?[0-7]{3,4}$/, 'an octal mode such as "0755"'), z.number().int()])
      .transform((m) => (typeof m === 'number' ? m.toString(8) : m).replace(/^0(?=\d{3})/, ''))
      .optional()
      .describe('Octal mode of every extracted member (files and directories alike, as in Ansible)'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.remote_src !== undefined && a.copy !== undefined) ctx.addIssue({ code: 'custom', message: 'give remote_src or copy (its older spelling), not both', path: ['copy'] });
    if (isRemote(a) && !a.src.startsWith('/') && !a.src.includes('{{')) ctx.addIssue({ code: 'custom', message: 'with remote_src: true, src is an absolute path on the host', path: ['src'] });
    if (formatOf(a.src) === undefined && !a.src.includes('{{')) ctx.addIssue({ code: 'custom', message: `cannot tell the archive format from the name: supported are .tar, .tar.gz/.tgz, .tar.xz/.txz, .tar.bz2/.tbz2, .zip`, path: ['src'] });
  })
  // the archive from the control machine, read by prepare()
  .transform((a) => ({ ...a, local: undefined as LocalArchive | undefined }));

export type UnarchiveArgs = z.output<typeof argsSchema>;

/** An archive on the control machine: its bytes (base64) and its members as unpacked there. */
export interface LocalArchive {
  readonly path: string;
  readonly base64: string;
  readonly members: readonly Member[];
}

const isRemote = (a: { remote_src?: boolean | undefined; copy?: boolean | undefined }): boolean => a.remote_src ?? (a.copy === undefined ? false : !a.copy);

export const formatOf = (src: string): ArchiveFormat | undefined => SUFFIXES.find(([re]) => re.test(src))?.[1];

const factArgs = (a: UnarchiveArgs): ArchiveArgs => {
  const format = formatOf(a.src);
  if (format === undefined) throw new TaskError(`cannot tell the archive format of ${a.src} from its name`);
  return { archive: a.src, dest: a.dest, format, attrs: a.owner !== undefined || a.group !== undefined || a.mode !== undefined };
};

/** Differences that count: those of attributes the task sets itself are judged by the members' attributes instead. */
export function differences(a: UnarchiveArgs, s: Extract<ArchiveState, { kind: 'compared' }>): string[] {
  const out = s.differences.filter(
    (l) => !(a.owner !== undefined && /Uid differs/.test(l)) && !(a.group !== undefined && /Gid differs/.test(l)) && !(a.mode !== undefined && /Mode differs/.test(l)),
  );
  for (const [p, attrs] of Object.entries(s.attrs)) {
    const [owner, group, mode] = attrs.split(':');
    const wrong = [a.owner !== undefined && owner !== a.owner && 'owner', a.group !== undefined && group !== a.group && 'group', a.mode !== undefined && mode !== a.mode && 'mode'].filter(Boolean);
    if (wrong.length) out.push(`${p}: ${wrong.join(', ')} differ`);
  }
  return out;
}

/** The extraction (and the attributes set on every member) of the archive `f` (a shell word) into dest. */
function extractCommand(a: UnarchiveArgs, format: ArchiveFormat, f: string): string {
  const d = quote(a.dest);
  const extract = format === 'zip' ? `unzip -o -q ${f} -d ${d}` : `tar -x${TAR_FLAG[format]} -C ${d} -f ${f}`;
  const attrs = attrCommands(`${d}/"$p"`, { owner: a.owner, group: a.group }, a.mode);
  if (attrs.length === 0) return extract;
  return `${extract} && ${listCommand(f, format)} | while IFS= read -r p; do ${attrs.map((c) => `${c} || exit 1`).join('; ')}; done`;
}

/** One step: the archive on the host as it is, or the one sent (base64 on stdin) into a temporary file removed afterwards. */
function extractStep(a: UnarchiveArgs, format: ArchiveFormat): Step {
  if (a.local === undefined) return { command: extractCommand(a, format, quote(a.src)) };
  const lines = [`t=$(mktemp) || exit 1`, `trap 'rm -f "$t"' EXIT`, `base64 -d > "$t" || exit 1`, extractCommand(a, format, '"$t"')];
  return { command: lines.join('\n'), stdin: a.local.base64 };
}

type UnarchiveFacts = { state?: FactRequest<ArchiveState>; creates?: FactRequest<FileInfo> };

/** What dest is compared with: the archive on the host, or the members of the one sent. */
function stateRequest(a: UnarchiveArgs): FactRequest<ArchiveState> | undefined {
  if (isRemote(a)) return archiveStateOf(factArgs(a));
  if (a.local === undefined) return undefined; // not prepared yet (a read ahead)
  return membersStateOf({ archive: a.local.path, dest: a.dest, members: a.local.members, attrs: factArgs(a).attrs });
}

export const unarchive = defineTask({
  name: 'unarchive',
  description: 'Unpack a tar or zip archive (sent from the control machine, or on the host with remote_src) into a directory, idempotent by comparing the archive with it, or by creates',
  example:
    '- name: Expand Solr\n  unarchive:\n    src: /opt/solr-9.4.0.tgz\n    dest: /opt\n    remote_src: true\n    creates: /opt/solr-9.4.0/README.txt',
  schema: argsSchema,
  async prepare(a, ctx) {
    if (isRemote(a)) return a;
    const { path } = await findLocalFile(a.src, ctx.searchDirs.files);
    const format = formatOf(path);
    if (format === undefined) throw new TaskError(`cannot tell the archive format of ${path} from its name`);
    return { ...a, local: { path, ...(await unpackLocally(path, format)) } };
  },
  facts(a): UnarchiveFacts {
    const state = stateRequest(a);
    return { ...(state ? { state } : {}), ...(a.creates !== undefined ? { creates: fileAt(a.creates) } : {}) };
  },
  plan(a, facts): Plan {
    if (a.creates !== undefined && facts.creates?.exists) return skip(`skipped, since ${a.creates} exists`);
    const format = factArgs(a).format;
    const s = facts.state;
    const request = stateRequest(a);
    if (s === undefined || request === undefined) throw new TaskError(`unarchive: ${a.src} was not read (prepare() not run)`);
    if (s.kind === 'no-src') throw new TaskError(`Source '${a.src}' does not exist`);
    if (s.kind === 'no-dest') throw new TaskError(`dest '${a.dest}' must be an existing dir`);
    if (s.kind === 'no-tool') throw new TaskError(`${TOOLS[format].program} is not installed on the host, needed for ${a.src}: install the ${TOOLS[format].pkg} package`);
    const diff = differences(a, s);
    const data = { src: a.src, dest: a.dest };
    if (diff.length === 0) return ok(`${a.dest} holds what ${a.src} holds`, data);
    return change(`unpack ${a.src} into ${a.dest}`, [extractStep(a, format)], {
      diffs: [{ label: a.dest, before: `${diff.slice(0, 20).join('\n')}\n`, after: `unpacked from ${a.src}\n` }],
      predictions: [{ request, value: { kind: 'compared', differences: [], attrs: {} } }],
      data,
    });
  },
});
