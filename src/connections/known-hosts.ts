/**
 * known_hosts handling for the ssh connection: OpenSSH's file format
 * (plain and hashed host names, `[host]:port` for non-default ports), the
 * "strict" and "accept-new" policies, and SHA256 fingerprints as ssh prints them.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyPolicy = 'strict' | 'accept-new';

export interface KnownKey {
  /** Key type as written in the file, e.g. `ssh-ed25519`. */
  type: string;
  /** base64 of the key blob. */
  key: string;
  revoked: boolean;
}

/** `host` for port 22, `[host]:port` otherwise: the name OpenSSH writes. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesPattern(entry: string, name: string): boolean {
  if (entry.startsWith('|1|')) {
    const [, , salt, hash] = entry.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  return entry.split(',').some((p) => {
    if (p.startsWith('!')) return false;
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return re.test(name);
  });
}

/** Keys recorded for `name` in the text of a known_hosts file. Pure. */
export function findKnownKeys(text: string, name: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue;
      revoked = marker === '@revoked';
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) continue;
    if (matchesPattern(hosts, name)) keys.push({ type, key, revoked });
  }
  return keys;
}

/** `SHA256:...` as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type stored at the start of an SSH public key blob. */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export type Verdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'changed'; expected: string[] }
  | { kind: 'revoked' };

/** Compare a presented key with what the files say. Pure. */
export function judgeHostKey(known: readonly KnownKey[], blob: Buffer): Verdict {
  const b64 = blob.toString('base64');
  if (known.some((k) => k.revoked && k.key === b64)) return { kind: 'revoked' };
  const type = keyType(blob);
  const sameType = known.filter((k) => !k.revoked && k.type === type);
  if (sameType.some((k) => k.key === b64)) return { kind: 'known' };
  if (sameType.length > 0) return { kind: 'changed', expected: sameType.map((k) => fingerprint(Buffer.from(k.key, 'base64'))) };
  return { kind: 'unknown' };
}

export function readKnownHosts(files: readonly string[]): string {
  return files
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

export function appendKnownHost(file: string, name: string, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${name} ${keyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/** Key types the files know for this host, to offer them first in key exchange. */
export function knownTypes(known: readonly KnownKey[]): string[] {
  return [...new Set(known.filter((k) => !k.revoked).map((k) => k.type))];
}
