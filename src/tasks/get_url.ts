/**
 * `get_url`: download a file on the host (curl or wget, whichever it has) to
 * `dest`, atomically, with mode/owner/group, as Ansible's get_url:
 *
 * - `dest` exists, no `checksum`, `force: false` (the default): nothing is
 *   downloaded (Ansible's documented meaning; provision sends no
 *   If-Modified-Since request).
 * - `checksum: ALGORITHM:HEX`: an existing dest with that checksum is kept
 *   (only its attributes are set); otherwise the file is downloaded and must
 *   have that checksum, or nothing is replaced and the task fails.
 * - `force: true`: what the URL serves now is downloaded to a temporary file
 *   when planning and compared by sha256, so an unchanged file stays ok (the
 *   file is downloaded twice when it changed).
 * - `dest` ending in `/`: into that directory, named after the URL's last
 *   path segment (the server's Content-Disposition name is not used).
 *
 * Not supported, refused by name: a checksum given by URL, authentication
 * (url_username/url_password, client certificates), tmp_dest, proxies
 * options, ciphers. Header values travel in the download command's argv.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { fileAt, type FileInfo, type PresentFile } from '../facts/files.js';
import { CHECKSUM_ALGORITHMS, statOf, type StatResult } from '../facts/stat.js';
import { DOWNLOAD_URL, downloadCommand, urlDigest, type Download, type UrlDigest } from '../facts/url.js';
import { attrChanges, attrDiff, attrSteps, modeArg } from './lib/attrs.js';
import { withAttrs, writeFileSteps } from './lib/files.js';

const CHECKSUM = new RegExp(`^(${CHECKSUM_ALGORITHMS.join('|')}):([0-9a-fA-F]+)$`);

const argsSchema = z
  .object({
    url: z
      .string()
      .regex(DOWNLOAD_URL, 'an http://, https:// or ftp:// URL without spaces')
      .describe('http, https or ftp URL to download'),
    dest: z
      .string()
      .regex(/^\/[^\r\n]*$/, 'an absolute path')
      .describe('Absolute path of the file on the host; ending in /: into that directory, named after the URL'),
    mode: modeArg.optional(),
    owner: z.string().min(1).optional().describe('Owner (user name or uid); default: keep the existing owner'),
    group: z.string().min(1).optional().describe('Group (name or gid); default: keep the existing group'),
    checksum: z
      .string()
      .regex(CHECKSUM, `ALGORITHM:HEX with ALGORITHM one of ${CHECKSUM_ALGORITHMS.join(', ')} (a checksum URL is not supported)`)
      .optional()
      .describe('Expected checksum, e.g. sha256:9f86d08...: an existing dest with it is not downloaded again; a download without it fails'),
    force: z.boolean().default(false).describe('Download even when dest exists (replaced only when the content differs)'),
    backup: z.boolean().default(false).describe('Keep a copy of the replaced file as DEST.YYYYmmddTHHMMSS.bak'),
    validate_certs: z.boolean().default(true).describe('false: do not check the server\'s TLS certificate'),
    headers: z
      .record(z.string(), z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[^\r\n]*$/, 'a single line')))
      .superRefine((h, ctx) => {
        for (const k of Object.keys(h)) if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) ctx.addIssue({ code: 'custom', message: 'not an HTTP header name', path: [k] });
      })
      .default({})
      .describe('HTTP request headers, e.g. { Authorization: "Bearer {{ token }}" }'),
    timeout: z.number().int().min(1).default(10).describe('Seconds to connect, and seconds without data before giving up'),
    http_agent: z.string().min(1).regex(/^[^\r\n]*$/, 'a single line').default('ansible-httpget').describe('User-Agent header'),
  })
  .strict();

export type GetUrlArgs = z.output<typeof argsSchema>;

/** The file the download goes to: `dest/` means into that directory, named after the URL's last path segment. */
export function destOf(a: Pick<GetUrlArgs, 'url' | 'dest'>): string {
  if (!a.dest.endsWith('/')) return a.dest;
  const name = posix.basename(new URL(a.url).pathname);
  if (name === '' || name === '/') throw new TaskError(`${a.url} has no file name to put into ${a.dest}: give dest a file name`);
  return posix.join(a.dest, decodeURIComponent(name));
}

const downloadOf = (a: GetUrlArgs): Download => ({ url: a.url, headers: a.headers, timeout: a.timeout, validateCerts: a.validate_certs, agent: a.http_agent });

const checksumOf = (a: GetUrlArgs): { algorithm: string; hex: string } | undefined => {
  const m = a.checksum === undefined ? null : CHECKSUM.exec(a.checksum);
  return m ? { algorithm: m[1] as string, hex: (m[2] as string).toLowerCase() } : undefined;
};

type GetUrlFacts = { dest: FactRequest<FileInfo>; digest: FactRequest<StatResult>; remote: FactRequest<UrlDigest> };

/** Set only the attributes, or nothing: the file is the wanted one. */
function keep(path: string, cur: PresentFile, a: GetUrlArgs, why: string, data: Record<string, unknown>): Plan {
  const attrs = { mode: a.mode, owner: a.owner, group: a.group };
  const steps = attrSteps(path, cur, attrs);
  if (steps.length === 0) return ok(`${path} ${why}`, data);
  const diff = attrDiff(path, cur, attrs);
  return change(`set ${Object.keys(attrChanges(cur, attrs)).join(', ')} of ${path}`, steps, {
    diffs: diff ? [diff] : [],
    predictions: [{ request: fileAt(path), value: withAttrs(cur, attrChanges(cur, attrs)) }],
    data,
  });
}

export const getUrl = defineTask({
  name: 'get_url',
  description: 'Download a file on the host from an http(s) or ftp URL (curl or wget), idempotent by checksum or by an existing dest',
  example:
    '- name: node_exporter release\n  get_url:\n    url: https://github.com/prometheus/node_exporter/releases/download/v1.8.2/node_exporter-1.8.2.linux-amd64.tar.gz\n    dest: /opt/node_exporter.tar.gz\n    checksum: sha256:6809dd0b3ec45fd6e992c19071d6b5253aed3ead7bf0686885a51d85c6643c66\n    mode: "0644"',
  schema: argsSchema,
  facts(a): GetUrlFacts {
    const path = destOf(a);
    const sum = checksumOf(a);
    const f: Partial<GetUrlFacts> = { dest: fileAt(path) };
    // a checksum other than sha256 (the file fact's) is read with the stat fact
    if (sum !== undefined && sum.algorithm !== 'sha256') f.digest = statOf({ path, follow: true, checksum: sum.algorithm as (typeof CHECKSUM_ALGORITHMS)[number], mime: false, attributes: false });
    if (a.force) f.remote = urlDigest(downloadOf(a));
    return f as GetUrlFacts;
  },
  plan(a, allFacts): Plan {
    const facts: Partial<typeof allFacts> = allFacts;
    const path = destOf(a);
    const cur = allFacts.dest;
    const sum = checksumOf(a);
    const data = { url: a.url, dest: path };
    if (cur.exists && cur.type !== 'file') throw new TaskError(`${path} is a ${cur.type}: end dest with / to download into a directory`);
    const destSum = sum === undefined || !cur.exists ? undefined : sum.algorithm === 'sha256' ? cur.sha256 : facts.digest?.exists ? facts.digest.checksum : undefined;
    if (cur.exists) {
      if (a.force) {
        const remote = facts.remote;
        if (!remote) throw new TaskError('internal: the URL digest fact is missing');
        if (remote.sha256 === cur.sha256) return keep(path, cur, a, `holds what ${a.url} serves (sha256 ${remote.sha256})`, data);
      } else if (sum === undefined) {
        return keep(path, cur, a, 'exists (force: false, no checksum)', data);
      } else if (destSum === sum.hex) {
        return keep(path, cur, a, `exists with ${sum.algorithm} ${sum.hex}`, data);
      }
    }
    const verify =
      sum === undefined
        ? undefined
        : `c=$(${sum.algorithm}sum < %s | cut -d' ' -f1); [ "$c" = ${sum.hex} ] || { echo "The checksum did not match ${sum.hex}; it was $c." >&2; exit 1; }`;
    const steps = writeFileSteps({ path, generate: downloadCommand(downloadOf(a)), mode: a.mode, owner: a.owner, group: a.group, backup: a.backup, ...(verify ? { validate: verify } : {}) });
    const why = !cur.exists ? 'missing' : a.force ? 'changed at the URL' : `${sum?.algorithm} differs`;
    const before = cur.exists ? `sha256: ${cur.sha256 ?? 'unknown'}\n` : 'state: absent\n';
    const after = facts.remote ? `sha256: ${facts.remote.sha256}\n` : sum ? `${sum.algorithm}: ${sum.hex}\n` : `downloaded from ${a.url}\n`;
    return change(`download ${a.url} to ${path} (${why})`, steps, {
      diffs: [{ label: path, before, after }],
      predictions: [
        {
          request: fileAt(path),
          value: {
            exists: true,
            type: 'file',
            mode: a.mode ?? (cur.exists ? cur.mode : '0644'),
            owner: a.owner ?? (cur.exists ? cur.owner : 'root'),
            group: a.group ?? (cur.exists ? cur.group : 'root'),
            uid: cur.exists ? cur.uid : 0,
            gid: cur.exists ? cur.gid : 0,
            size: facts.remote?.size ?? 0,
            ...(facts.remote ? { sha256: facts.remote.sha256 } : sum?.algorithm === 'sha256' ? { sha256: sum.hex } : {}),
          } satisfies PresentFile,
        },
      ],
      data,
    });
  },
});
