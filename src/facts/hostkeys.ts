/**
 * sshd host key files and Diffie-Hellman moduli, in one command: for each
 * standard key (`/etc/ssh/ssh_host_{dsa,ecdsa,ed25519,rsa}_key` and `.pub`)
 * its owner, group and mode (never its content: a private key stays on the
 * host), the key's type and size (`ssh-keygen -l`), and how many groups
 * of /etc/ssh/moduli are smaller than a given size.
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { quote } from '../contract/quote.js';
import { STAT_FORMAT, statInfo, type PresentFile } from './files.js';

export const SSH_DIR = '/etc/ssh';
export const MODULI = `${SSH_DIR}/moduli`;
export const KEY_TYPES = ['dsa', 'ecdsa', 'ed25519', 'rsa'] as const;
export type KeyKind = (typeof KEY_TYPES)[number];

export const keyPath = (kind: KeyKind): string => `${SSH_DIR}/ssh_host_${kind}_key`;

export interface HostKeyFile {
  readonly kind: KeyKind;
  /** The private key file (null when missing). */
  readonly private: PresentFile | null;
  /** The `.pub` file (null when missing). */
  readonly public: PresentFile | null;
  /** Key size in bits from `ssh-keygen -l` (null when there is no readable public key). */
  readonly bits: number | null;
  /** Key type as the public key and known_hosts write it, e.g. `ssh-rsa`, `ecdsa-sha2-nistp256` (null when neither file exists). */
  readonly keyType: string | null;
}

/** The type name a key of this kind and size has in a public key line. */
export function keyTypeName(kind: KeyKind, bits: number | null): string {
  return kind === 'rsa' ? 'ssh-rsa' : kind === 'ed25519' ? 'ssh-ed25519' : kind === 'dsa' ? 'ssh-dss' : `ecdsa-sha2-nistp${bits ?? 256}`;
}

export interface HostKeysFacts {
  /** ssh-keygen is on the host. */
  readonly keygen: boolean;
  readonly keys: Readonly<Record<KeyKind, HostKeyFile>>;
  /** Groups in /etc/ssh/moduli and how many are smaller than the asked size; null when the file is missing or no size was asked. */
  readonly moduli: { readonly groups: number; readonly weak: number } | null;
}

export interface HostKeysArgs {
  /** Count moduli groups smaller than this many bits (null: do not read moduli). */
  readonly moduliMinBits: number | null;
}

/**
 * A moduli line's size field is one less than the group's size in bits
 * (OpenSSH adds one when it reads the file): a 3072-bit group says 3071.
 */
export const moduliSmallerThan = (bits: number): string => `!/^#/ && NF >= 7 && $5 + 1 < ${bits}`;

function script(a: HostKeysArgs): string {
  const lines = [
    'LC_ALL=C; export LC_ALL',
    'if command -v ssh-keygen >/dev/null 2>&1; then echo keygen=1; else echo keygen=0; fi',
    `for t in ${KEY_TYPES.join(' ')}; do`,
    `  k=${quote(SSH_DIR)}/ssh_host_\${t}_key`,
    `  if [ -f "$k" ]; then printf 'private %s %s\\n' "$t" "$(stat -c '${STAT_FORMAT}' -- "$k")"; fi`,
    '  if [ -f "$k.pub" ]; then',
    `    printf 'public %s %s\\n' "$t" "$(stat -c '${STAT_FORMAT}' -- "$k.pub")"`,
    '    read -r kt _ < "$k.pub" && printf \'type %s %s\\n\' "$t" "$kt"',
    '  fi',
    // the size from the private key when there is one (ssh-keygen -l reads its .pub, else derives it)
    '  f=$k; [ -f "$f" ] || f=$k.pub',
    // the first word of its line, cut by the shell
    '  [ -f "$f" ] && { b=$(ssh-keygen -l -f "$f" 2>/dev/null); printf \'bits %s %s\\n\' "$t" "${b%% *}"; }',
    'done',
  ];
  if (a.moduliMinBits !== null) {
    lines.push(
      `if [ -f ${quote(MODULI)} ]; then awk '${moduliSmallerThan(a.moduliMinBits)} { w++ } !/^#/ && NF >= 7 { n++ } END { print "moduli", n + 0, w + 0 }' ${quote(MODULI)}; fi`,
    );
  }
  return lines.join('\n');
}

/** Pure parser of the fact command's output. */
export function parseHostKeysFact(stdout: string, exitCode = 0): HostKeysFacts {
  const fail = (why: string): never => {
    throw new FactError('ssh_host_keys', `${why} (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  };
  const files = new Map<string, PresentFile>();
  const bits = new Map<string, number>();
  const types = new Map<string, string>();
  let keygen: boolean | undefined;
  let moduli: HostKeysFacts['moduli'] = null;
  for (const line of stdout.split('\n')) {
    const [tag, kind, rest] = line.trim().split(/\s+/);
    if (tag?.startsWith('keygen=')) keygen = tag === 'keygen=1';
    else if (tag === 'moduli') moduli = { groups: Number(kind), weak: Number(rest) };
    else if ((tag === 'private' || tag === 'public') && kind && rest) files.set(`${tag} ${kind}`, statInfo(rest, 'file') ?? fail(`cannot parse ${line}`));
    else if (tag === 'type' && kind && rest) types.set(kind, rest);
    else if (tag === 'bits' && kind && rest && /^\d+$/.test(rest)) bits.set(kind, Number(rest));
  }
  if (keygen === undefined) return fail('unexpected output');
  const key = (kind: KeyKind): HostKeyFile => {
    const priv = files.get(`private ${kind}`) ?? null;
    const pub = files.get(`public ${kind}`) ?? null;
    const size = bits.get(kind) ?? null;
    return { kind, private: priv, public: pub, bits: size, keyType: types.get(kind) ?? (priv || pub ? keyTypeName(kind, size) : null) };
  };
  return { keygen, keys: { dsa: key('dsa'), ecdsa: key('ecdsa'), ed25519: key('ed25519'), rsa: key('rsa') }, moduli };
}

export const hostKeysFact: Fact<HostKeysArgs, HostKeysFacts> = {
  name: 'ssh_host_keys',
  command: script,
  parse: (stdout, _args, exitCode) => parseHostKeysFact(stdout, exitCode),
  key: (a) => String(a.moduliMinBits ?? '-'),
};

export const hostKeysAt = (moduliMinBits: number | null): FactRequest<HostKeysFacts> => req(hostKeysFact, { moduliMinBits });
