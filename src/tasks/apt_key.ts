/**
 * `apt_key` (Ansible's apt_key module) without apt-key, which Debian 13 and
 * Ubuntu 24.04 no longer have: the key is written as a keyring file that apt
 * trusts for every source, as `apt-key add` did —
 * /etc/apt/trusted.gpg.d/NAME.asc for an ASCII-armored key, NAME.gpg for a
 * binary one (apt reads these files by their extension) — or to `keyring`
 * when given (e.g. /etc/apt/keyrings/NAME.asc for a `signed-by=` source).
 * NAME is the `id` when given, else the URL's host and path (`url`), the
 * file's name (`file`), or the key's long id (`data`). The file is written as
 * the key came, mode 0644, and compared by content: a key served unchanged is
 * not written again; a key served anew replaces the file.
 *
 * The key comes from `url` (downloaded on the host with curl or wget, as
 * get_url does, when facts are read), `file` (a path on the host) or `data`
 * (the key text). Its OpenPGP packets are read by provision, not gpg: with
 * `id`, a key whose id (short, long or fingerprint, subkeys included) is
 * already in a keyring apt trusts (or in `keyring`) counts as present and
 * nothing is written, and a source whose key does not have that id fails the
 * task before anything changes.
 *
 * state absent removes the file this task manages (NAME.asc and NAME.gpg, or
 * `keyring`); it does not edit other keyrings, so a key with that `id` left
 * in one of them (say /etc/apt/trusted.gpg, written by apt-key) fails the
 * task naming it, and a `keyring` that holds other keys too is not removed.
 * `keyserver` is refused: give the keyserver's HKP URL as `url`.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote, sh } from '../contract/quote.js';
import { change, defineTask, ok, type Plan, type Prediction } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { APT_TRUSTED_D, keyFiles, type KeyFiles } from '../facts/keys.js';
import { DOWNLOAD_URL, keyBody, type UrlBody } from '../facts/url.js';
import { writeFileSteps } from './lib/files.js';
import { keyHasId, normalizeKeyId, parseKeyring, type PgpKeyring } from './lib/pgp.js';

const argsSchema = z
  .object({
    url: z
      .string()
      .regex(DOWNLOAD_URL, 'an http://, https:// or ftp:// URL without spaces')
      .optional()
      .describe('URL of the key, downloaded on the host (curl or wget)'),
    data: z.string().min(1).optional().describe('The key itself (ASCII-armored text)'),
    file: z
      .string()
      .regex(/^\/[^\r\n]*$/, 'an absolute path')
      .optional()
      .describe('Absolute path of the key file on the host'),
    id: z
      .string()
      .refine((v) => normalizeKeyId(v) !== undefined, 'a key id: 8, 16 or 40 hex digits (0x and spaces allowed)')
      .optional()
      .describe('Key id (short, long or fingerprint): present when a trusted keyring has it; names the file; checked against the key'),
    keyring: z
      .string()
      .regex(/^\/[^\r\n]*[^/]$/, 'an absolute file path')
      .optional()
      .describe('The keyring file to write (.asc for an armored key, .gpg for a binary one); default /etc/apt/trusted.gpg.d/NAME.asc or .gpg'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the key is trusted; absent: the file this task manages is removed'),
    validate_certs: z.boolean().default(true).describe("false: do not check the server's TLS certificate (url)"),
    keyserver: z.unknown().optional().describe("Not supported (refused): give the keyserver's HKP URL as url"),
  })
  .strict()
  .superRefine((a, c) => {
    if (a.keyserver !== undefined) {
      c.addIssue({ code: 'custom', path: ['keyserver'], message: 'keyserver is not supported: give the key by url, e.g. url: https://keyserver.ubuntu.com/pks/lookup?op=get&search=0xKEYID' });
    }
    const given = (['url', 'data', 'file'] as const).filter((k) => a[k] !== undefined);
    if (given.length > 1) c.addIssue({ code: 'custom', path: [given[1] as string], message: `give only one of url, data, file (got ${given.join(', ')})` });
    if (given.length === 0 && a.id === undefined) c.addIssue({ code: 'custom', path: ['url'], message: 'give url, data or file (or id)' });
  });

export type AptKeyArgs = z.output<typeof argsSchema>;

/** File name characters kept from a URL or path; others become `_`. */
const safeName = (s: string): string => s.replace(/\.(asc|gpg|key|pub|txt)$/i, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');

/** What the task writes: `keyring`, or the two names in trusted.gpg.d it may have (.asc / .gpg). */
export function managedPaths(a: AptKeyArgs): readonly string[] {
  if (a.keyring !== undefined) return [a.keyring];
  const id = a.id === undefined ? undefined : normalizeKeyId(a.id);
  let name: string;
  if (id !== undefined) name = id;
  else if (a.url !== undefined) {
    const u = new URL(a.url);
    name = safeName(`${u.host}${u.pathname}`);
  } else if (a.file !== undefined) name = safeName(posix.basename(a.file));
  else name = (parseKeyring(Buffer.from(a.data as string, 'utf8'), 'data').keys[0]?.fingerprint ?? '').slice(-16);
  if (name === '') throw new TaskError('cannot tell a keyring file name from the arguments: give keyring');
  return [`${APT_TRUSTED_D}/${name}.asc`, `${APT_TRUSTED_D}/${name}.gpg`];
}

type AptKeyFacts = { files: FactRequest<KeyFiles>; source: FactRequest<UrlBody> | FactRequest<KeyFiles> };

const filesRequest = (a: AptKeyArgs): FactRequest<KeyFiles> => keyFiles({ paths: managedPaths(a), aptTrusted: a.id !== undefined && a.keyring === undefined });

/** The key the task adds (base64 and what it is), or undefined when only an id is given. */
function wantedKey(a: AptKeyArgs, facts: { source?: UrlBody | KeyFiles }): { base64: string; ring: PgpKeyring; from: string } | undefined {
  let base64: string;
  let from: string;
  if (a.data !== undefined) [base64, from] = [Buffer.from(a.data, 'utf8').toString('base64'), 'data'];
  else if (a.url !== undefined) [base64, from] = [(facts.source as UrlBody).base64, a.url];
  else if (a.file !== undefined) {
    const got = (facts.source as KeyFiles)[a.file];
    if (got === undefined) throw new TaskError(`${a.file} is not a file on the host`);
    [base64, from] = [got, a.file];
  } else return undefined;
  return { base64, ring: parseKeyring(Buffer.from(base64, 'base64'), from), from };
}

/** The files among `files` that hold a key with this id (unreadable files hold none). */
function holding(files: KeyFiles, id: string): string[] {
  return Object.keys(files)
    .filter((path) => {
      try {
        return parseKeyring(Buffer.from(files[path] as string, 'base64'), path).keys.some((k) => keyHasId(k, id));
      } catch {
        return false;
      }
    })
    .sort();
}

const describeKeys = (ring: PgpKeyring): string => ring.keys.map((k) => `key ${k.fingerprint}\n`).join('');

function described(base64: string | undefined, path: string): string {
  if (base64 === undefined) return 'state: absent\n';
  try {
    return describeKeys(parseKeyring(Buffer.from(base64, 'base64'), path));
  } catch {
    return `(${Buffer.from(base64, 'base64').length} bytes, not an OpenPGP public key)\n`;
  }
}

function planAbsent(a: AptKeyArgs, files: KeyFiles, id: string | undefined): Plan {
  const paths = managedPaths(a);
  const present = paths.filter((p) => files[p] !== undefined);
  if (id !== undefined && a.keyring !== undefined && present.length > 0) {
    const ring = parseKeyring(Buffer.from(files[a.keyring] as string, 'base64'), a.keyring);
    const others = ring.keys.filter((k) => !keyHasId(k, id));
    if (others.length > 0) throw new TaskError(`${a.keyring} holds other keys besides ${id} (${others.map((k) => k.fingerprint).join(', ')}): not removed; remove the file without id, or write the keys to separate keyrings`);
  }
  const after: Record<string, string> = { ...files };
  for (const p of present) delete after[p];
  const left = id !== undefined ? holding(after, id) : [];
  if (left.length > 0) throw new TaskError(`key ${id} is also in ${left.join(', ')}, which apt_key does not edit: remove it there (gpg --no-default-keyring --keyring FILE --delete-keys ${id})`);
  if (present.length === 0) return ok(`no ${paths.join(' or ')}`);
  return change(`remove ${present.join(', ')}`, [{ command: sh`rm -f -- ${present}` }], {
    diffs: present.map((p) => ({ label: p, before: described(files[p], p), after: 'state: absent\n' })),
    predictions: [{ request: filesRequest(a), value: after } as Prediction],
  });
}

export const aptKey = defineTask({
  name: 'apt_key',
  description: "Make apt trust an OpenPGP key (Ansible's apt_key, without apt-key): written to /etc/apt/trusted.gpg.d/NAME.asc or .gpg, or to keyring",
  example: '- name: Kubernetes signing key\n  apt_key:\n    url: https://pkgs.k8s.io/core:/stable:/v1.30/deb/Release.key\n    keyring: /etc/apt/keyrings/kubernetes.asc',
  schema: argsSchema,
  facts(a): AptKeyFacts {
    const f: Partial<AptKeyFacts> = { files: filesRequest(a) };
    if (a.state === 'present' && a.url !== undefined) f.source = keyBody(a.url, a.validate_certs);
    if (a.state === 'present' && a.file !== undefined) f.source = keyFiles({ paths: [a.file], aptTrusted: false });
    return f as AptKeyFacts;
  },
  plan(a, allFacts, ctx): Plan {
    if (ctx.host.packageManager !== 'apt') throw new TaskError(`apt_key: this host's package manager is ${ctx.host.packageManager}, not apt`);
    const facts: { files: KeyFiles; source?: UrlBody | KeyFiles } = allFacts;
    const files = facts.files;
    const id = a.id === undefined ? undefined : normalizeKeyId(a.id);
    if (a.state === 'absent') return planAbsent(a, files, id);
    const key = wantedKey(a, facts);
    if (id !== undefined && key !== undefined && !key.ring.keys.some((k) => keyHasId(k, id))) {
      throw new TaskError(`the key from ${key.from} does not have id ${id} (it has ${key.ring.keys.map((k) => k.fingerprint).join(', ')})`);
    }
    if (id !== undefined) {
      const found = holding(files, id);
      if (found.length > 0) return ok(`key ${id} is in ${found.join(', ')}`);
      if (key === undefined) throw new TaskError(`key ${id} is in no keyring apt trusts, and there is no url, data or file to add it from`);
    }
    const want = key as NonNullable<typeof key>;
    const paths = managedPaths(a);
    const path = a.keyring ?? (paths[want.ring.armored ? 0 : 1] as string);
    if (a.keyring !== undefined && /\.(asc|gpg)$/.test(a.keyring) && a.keyring.endsWith('.asc') !== want.ring.armored) {
      throw new TaskError(`apt reads ${a.keyring} by its extension, but the key from ${want.from} is ${want.ring.armored ? 'ASCII-armored: name it .asc' : 'binary: name it .gpg'}`);
    }
    const stale = paths.filter((p) => p !== path && files[p] !== undefined);
    if (files[path] === want.base64 && stale.length === 0) return ok(`${path} holds the key from ${want.from} (${want.ring.keys.map((k) => k.fingerprint).join(', ')})`);
    const after: Record<string, string> = { ...files, [path]: want.base64 };
    for (const p of stale) delete after[p];
    const steps = [
      ...(files[path] === want.base64 ? [] : writeFileSteps({ path, generate: `printf %s ${quote(want.base64)} | base64 -d`, mode: '0644', parent: {} })),
      ...(stale.length > 0 ? [{ command: sh`rm -f -- ${stale}` }] : []),
    ];
    return change(`add the key from ${want.from} to ${path}`, steps, {
      diffs: [{ label: path, before: described(files[path], path), after: describeKeys(want.ring) }, ...stale.map((p) => ({ label: p, before: described(files[p], p), after: 'state: absent\n' }))],
      predictions: [{ request: filesRequest(a), value: after } as Prediction],
      data: { path, fingerprints: want.ring.keys.map((k) => k.fingerprint) },
    });
  },
});
