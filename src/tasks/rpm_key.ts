/**
 * `rpm_key` (Ansible's rpm_key module): import an OpenPGP key into the rpm
 * database, or remove it. `key` is a URL (downloaded on the host with curl or
 * wget when facts are read, as get_url does), a path on the host, or — to
 * remove a key, or to say one is there — a key id.
 *
 * The key's packets are read by provision, not gpg, so its id is known before
 * anything changes: it is present when a `gpg-pubkey` package of that version
 * (the id's last 8 hex digits, lower case; or the whole fingerprint, as rpm 6
 * names them) is in `rpm -q gpg-pubkey`. Each missing primary key of the file
 * is imported with `rpm --import` from exactly the bytes that were judged
 * (one armored block per key, since older rpm imports only a file's first).
 * state absent runs `rpm -e --allmatches gpg-pubkey-ID` for each key present.
 * `fingerprint` (one or a list) must each be the fingerprint of a key or
 * subkey in the file, or the task fails before importing.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote, sh } from '../contract/quote.js';
import { change, defineTask, ok, type Plan, type Prediction } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { keyFiles, rpmKeys, type KeyFiles, type RpmKeys } from '../facts/keys.js';
import { DOWNLOAD_URL, keyBody, type UrlBody } from '../facts/url.js';
import { armor, normalizeKeyId, parseKeyring, type PgpKey } from './lib/pgp.js';

const fpr = z
  .string()
  .transform((v) => v.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase())
  .pipe(z.string().regex(/^[0-9A-F]{40}$/, 'a 40 hex digit fingerprint (spaces allowed)'));

const argsSchema = z
  .object({
    key: z
      .string()
      .refine((k) => DOWNLOAD_URL.test(k) || /^\/[^\r\n]*$/.test(k) || normalizeKeyId(k) !== undefined, 'a URL, an absolute path on the host, or a key id (8, 16 or 40 hex digits)')
      .describe('URL of the key (downloaded on the host), its path on the host, or a key id already imported'),
    state: z.enum(['present', 'absent']).default('present').describe('present: imported; absent: removed'),
    fingerprint: z
      .union([fpr, z.array(fpr).min(1)])
      .optional()
      .transform((f) => (f === undefined ? [] : Array.isArray(f) ? f : [f]))
      .describe('Fingerprint(s) the key (or a subkey) must have, else nothing is imported'),
    validate_certs: z.boolean().default(true).describe("false: do not check the server's TLS certificate (URL)"),
  })
  .strict();

export type RpmKeyArgs = z.output<typeof argsSchema>;

type Source = { kind: 'url' } | { kind: 'path' } | { kind: 'id'; id: string };

function sourceOf(key: string): Source {
  if (DOWNLOAD_URL.test(key)) return { kind: 'url' };
  if (key.startsWith('/')) return { kind: 'path' };
  return { kind: 'id', id: normalizeKeyId(key) as string };
}

type RpmKeyFacts = { installed: FactRequest<RpmKeys>; source?: FactRequest<UrlBody> | FactRequest<KeyFiles> };

/** Is a key with this (normalized) id or fingerprint imported? Its gpg-pubkey version, else undefined. */
function installedAs(installed: readonly string[], id: string): string | undefined {
  const f = id.toLowerCase();
  return installed.find((v) => (f.length >= v.length ? f.endsWith(v) : v.endsWith(f)));
}

function keysOf(a: RpmKeyArgs, source: UrlBody | KeyFiles | undefined): PgpKey[] {
  const s = sourceOf(a.key);
  const base64 = s.kind === 'url' ? (source as UrlBody).base64 : (source as KeyFiles)[a.key];
  if (base64 === undefined) throw new TaskError(`${a.key} is not a file on the host`);
  const keys = parseKeyring(Buffer.from(base64, 'base64'), a.key).keys;
  for (const f of a.fingerprint) {
    if (!keys.some((k) => k.fingerprint === f || k.subkeys.includes(f))) {
      throw new TaskError(`the key from ${a.key} does not have fingerprint ${f} (it has ${keys.flatMap((k) => [k.fingerprint, ...k.subkeys]).join(', ')})`);
    }
  }
  return [...keys];
}

export const rpmKey = defineTask({
  name: 'rpm_key',
  description: "Import an OpenPGP key into the rpm database, or remove it (Ansible's rpm_key), judged by the key's id",
  example: '- name: EPEL signing key\n  rpm_key:\n    key: https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-9\n    fingerprint: FF8A D134 4597 106E CE81  3B91 8A38 72BF 3228 467C',
  schema: argsSchema,
  facts(a): RpmKeyFacts {
    const s = sourceOf(a.key);
    const f: RpmKeyFacts = { installed: rpmKeys() };
    if (s.kind === 'url') f.source = keyBody(a.key, a.validate_certs);
    if (s.kind === 'path') f.source = keyFiles({ paths: [a.key], aptTrusted: false });
    return f;
  },
  plan(a, allFacts): Plan {
    const facts: { installed: RpmKeys; source?: UrlBody | KeyFiles } = allFacts;
    const installed = facts.installed;
    if (installed === null) throw new TaskError('rpm_key: this host has no rpm command');
    const s = sourceOf(a.key);
    const keys = s.kind === 'id' ? undefined : keysOf(a, facts.source);
    const ids = keys?.map((k) => k.fingerprint) ?? [(s as { id: string }).id];
    if (s.kind === 'id' && a.fingerprint.length > 0) throw new TaskError('fingerprint needs key to be a URL or a file: a key id alone has no key to check');
    const versions = ids.map((id) => installedAs(installed, id));
    const request = rpmKeys();
    if (a.state === 'absent') {
      const present = [...new Set(versions.filter((v): v is string => v !== undefined))];
      if (present.length === 0) return ok(`key ${ids.join(', ')} is not imported`);
      return change(`remove gpg-pubkey ${present.join(', ')}`, present.map((v) => ({ command: sh`rpm -e --allmatches ${`gpg-pubkey-${v}`}` })), {
        diffs: present.map((v) => ({ label: `gpg-pubkey-${v}`, before: 'state: present\n', after: 'state: absent\n' })),
        predictions: [{ request, value: installed.filter((v) => !present.includes(v)) } as Prediction],
      });
    }
    if (keys === undefined) {
      if (versions[0] !== undefined) return ok(`key ${ids[0]} is imported (gpg-pubkey-${versions[0]})`);
      throw new TaskError(`key ${ids[0]} is not imported, and a key id alone cannot import it: give its URL or file`);
    }
    const missing = keys.filter((_, i) => versions[i] === undefined);
    if (missing.length === 0) return ok(`key ${ids.join(', ')} is imported (${versions.map((v) => `gpg-pubkey-${v}`).join(', ')})`);
    const steps = missing.map((k) => ({
      command: [
        't=$(mktemp) || exit 1',
        `trap 'rm -f "$t"' EXIT`,
        `printf %s ${quote(Buffer.from(armor(k), 'utf8').toString('base64'))} | base64 -d > "$t" || exit 1`,
        'rpm --import "$t"',
      ].join('\n'),
    }));
    return change(`import ${missing.map((k) => k.fingerprint).join(', ')} from ${a.key}`, steps, {
      diffs: missing.map((k) => ({ label: `gpg-pubkey-${k.fingerprint.slice(-8).toLowerCase()}`, before: 'state: absent\n', after: `key ${k.fingerprint}\n` })),
      predictions: [{ request, value: [...installed, ...missing.map((k) => k.fingerprint.slice(-8).toLowerCase())] } as Prediction],
      data: { fingerprints: keys.map((k) => k.fingerprint) },
    });
  },
});
