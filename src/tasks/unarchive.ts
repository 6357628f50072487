/**
 * `unarchive` (ansible.builtin.unarchive): unpack an archive that is on the
 * host (`remote_src: true`, or Ansible's older `copy: false`) into the
 * existing directory `dest`: .tar, .tar.gz/.tgz, .tar.xz/.txz, .tar.bz2/.tbz2
 * (GNU tar) and .zip (unzip; refused, naming the package, when the host lacks
 * it, as are xz and bzip2).
 *
 * Idempotent as Ansible is, by comparing the archive with dest: for tar,
 * `tar --diff` (missing files, contents, sizes, modification times, modes
 * and owners); for zip, every member's presence and content (`cmp`). With
 * `creates`, an existing path skips the task without comparing (skipped, as
 * Ansible reports it). `owner`/`group`/`mode` (octal) are set on every
 * extracted member after the extraction, and a member with other ones is a
 * difference.
 *
 * Not supported, refused by name: src on the control machine (put it on the
 * host with get_url or copy first), src as a URL, extra_opts, exclude,
 * include, keep_newer, list_files, io_buffer_size, validate_certs, the
 * SELinux options.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, skip, type Plan } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { TAR_FLAG, TOOLS, archiveStateOf, listCommand, type ArchiveArgs, type ArchiveFormat, type ArchiveState } from '../facts/archive.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { attrCommands } from './lib/attrs.js';

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
    src: absolute.describe('The archive on the host (with remote_src: true)'),
    dest: absolute.describe('Existing directory on the host to unpack into'),
    remote_src: z.boolean().optional().describe('true: src is on the host (required: a src on the control machine is not supported)'),
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
    const remote = a.remote_src ?? (a.copy === undefined ? false : !a.copy);
    if (!remote) {
      ctx.addIssue({
        code: 'custom',
        message: 'a src on the control machine is not supported: put the archive on the host first (get_url, copy) and set remote_src: true',
        path: ['remote_src'],
      });
    }
    if (formatOf(a.src) === undefined && !a.src.includes('{{')) ctx.addIssue({ code: 'custom', message: `cannot tell the archive format from the name: supported are .tar, .tar.gz/.tgz, .tar.xz/.txz, .tar.bz2/.tbz2, .zip`, path: ['src'] });
  });

export type UnarchiveArgs = z.output<typeof argsSchema>;

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

function extractSteps(a: UnarchiveArgs, format: ArchiveFormat): string {
  const f = quote(a.src);
  const d = quote(a.dest);
  const extract = format === 'zip' ? `unzip -o -q ${f} -d ${d}` : `tar -x${TAR_FLAG[format]} -C ${d} -f ${f}`;
  const attrs = attrCommands(`${d}/"$p"`, { owner: a.owner, group: a.group }, a.mode);
  if (attrs.length === 0) return extract;
  return `${extract} && ${listCommand(a.src, format)} | while IFS= read -r p; do ${attrs.map((c) => `${c} || exit 1`).join('; ')}; done`;
}

type UnarchiveFacts = { state: FactRequest<ArchiveState>; creates?: FactRequest<FileInfo> };

export const unarchive = defineTask({
  name: 'unarchive',
  description: 'Unpack a tar or zip archive that is on the host into a directory, idempotent by comparing the archive with it (tar --diff) or by creates',
  example:
    '- name: Expand Solr\n  unarchive:\n    src: /opt/solr-9.4.0.tgz\n    dest: /opt\n    remote_src: true\n    creates: /opt/solr-9.4.0/README.txt',
  schema: argsSchema,
  facts(a): UnarchiveFacts {
    return { state: archiveStateOf(factArgs(a)), ...(a.creates !== undefined ? { creates: fileAt(a.creates) } : {}) };
  },
  plan(a, facts): Plan {
    if (a.creates !== undefined && facts.creates?.exists) return skip(`skipped, since ${a.creates} exists`);
    const format = factArgs(a).format;
    const s = facts.state;
    if (s.kind === 'no-src') throw new TaskError(`Source '${a.src}' does not exist`);
    if (s.kind === 'no-dest') throw new TaskError(`dest '${a.dest}' must be an existing dir`);
    if (s.kind === 'no-tool') throw new TaskError(`${TOOLS[format].program} is not installed on the host, needed for ${a.src}: install the ${TOOLS[format].pkg} package`);
    const diff = differences(a, s);
    const data = { src: a.src, dest: a.dest };
    if (diff.length === 0) return ok(`${a.dest} holds what ${a.src} holds`, data);
    return change(`unpack ${a.src} into ${a.dest}`, [{ command: extractSteps(a, format) }], {
      diffs: [{ label: a.dest, before: `${diff.slice(0, 20).join('\n')}\n`, after: `unpacked from ${a.src}\n` }],
      predictions: [{ request: archiveStateOf(factArgs(a)), value: { kind: 'compared', differences: [], attrs: {} } }],
      data,
    });
  },
});
