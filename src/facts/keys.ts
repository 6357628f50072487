/**
 * Facts about OpenPGP keys on the host, for `apt_key` and `rpm_key`:
 *
 * - `keyFiles`: the bytes (base64) of given files, and optionally of every
 *   keyring apt trusts for all sources (/etc/apt/trusted.gpg and
 *   /etc/apt/trusted.gpg.d/*.gpg, *.asc). Keyrings are small; binary ones
 *   survive the transport because they travel as base64.
 * - `rpmKeys`: the versions of the `gpg-pubkey` packages in the rpm database
 *   (the last 8 hex digits of each imported key's id; the whole fingerprint
 *   on rpm 6), or that the host has no rpm.
 */
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { outputSections } from './sections.js';

export interface KeyFilesArgs {
  readonly paths: readonly string[];
  /** Also every keyring apt trusts for all sources. */
  readonly aptTrusted: boolean;
}

/** Path → content (base64) of each of the files that exists as a regular file. */
export type KeyFiles = Readonly<Record<string, string>>;

export const APT_TRUSTED = '/etc/apt/trusted.gpg';
export const APT_TRUSTED_D = '/etc/apt/trusted.gpg.d';

function keyFilesScript(a: KeyFilesArgs): string {
  const globs = a.aptTrusted ? ` ${APT_TRUSTED} ${APT_TRUSTED_D}/*.gpg ${APT_TRUSTED_D}/*.asc` : '';
  return [
    `for f in ${sh`${[...a.paths]}`}${globs}; do`,
    // a directory, a missing file or an unmatched glob is skipped
    '  if [ -f "$f" ]; then echo __file; printf %s "$f" | base64 | tr -d \'\\n\'; echo; base64 < "$f" | tr -d \'\\n\'; echo; fi',
    'done',
  ].join('\n');
}

/** Pure parser of the key files fact's output. */
export function parseKeyFiles(stdout: string): KeyFiles {
  const out: Record<string, string> = {};
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '__file') continue;
    const name = lines[i + 1];
    const body = lines[i + 2];
    if (name === undefined || body === undefined) throw new FactError('key_files', `cut output: ${JSON.stringify(stdout.slice(-200))}`);
    out[Buffer.from(name, 'base64').toString('utf8')] = body;
    i += 2;
  }
  return out;
}

export const keyFilesFact: Fact<KeyFilesArgs, KeyFiles> = {
  name: 'key_files',
  command: keyFilesScript,
  parse: (stdout) => parseKeyFiles(stdout),
};

export const keyFiles = (a: KeyFilesArgs): FactRequest<KeyFiles> => req(keyFilesFact, a);

/** The versions of the gpg-pubkey packages (lower case), or null when the host has no rpm. */
export type RpmKeys = readonly string[] | null;

/** Pure parser of the rpm keys fact's output. */
export function parseRpmKeys(stdout: string, exitCode = 0): RpmKeys {
  const s = outputSections(stdout);
  if (s.has('no_rpm')) return null;
  const keys = s.get('keys');
  if (keys === undefined || !s.has('end')) throw new FactError('rpm_keys', `rpm -q failed (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const lines = keys.filter((l) => l.trim() !== '' && !/^package gpg-pubkey is not installed$/.test(l.trim()));
  const odd = lines.find((l) => !/^[0-9a-fA-F]{8,}$/.test(l));
  if (odd !== undefined) throw new FactError('rpm_keys', `rpm -q gpg-pubkey: ${odd}`);
  return lines.map((l) => l.toLowerCase());
}

export const rpmKeysFact: Fact<null, RpmKeys> = {
  name: 'rpm_keys',
  // rpm -q exits 1 when no gpg-pubkey is installed ("package gpg-pubkey is not installed" on stdout)
  command: () => "if ! command -v rpm >/dev/null 2>&1; then echo __no_rpm; exit 0; fi\necho __keys\nrpm -q gpg-pubkey --qf '%{VERSION}\\n' 2>&1; echo __end",
  parse: (stdout, _args, exitCode) => parseRpmKeys(stdout, exitCode),
};

export const rpmKeys = (): FactRequest<RpmKeys> => req(rpmKeysFact, null);
