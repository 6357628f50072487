/**
 * known_hosts handling for the ssh connection: OpenSSH's file format
 * (plain and hashed host names, `[host]:port` for non-default ports), the
 * "strict" and "accept-new" policies, and SHA256 fingerprints as ssh prints them.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeDirs } from '../contract/local-dirs.js';

/** `~` and `~/…` as the user's home. */
export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** The known_hosts files checked for a host (~/.ssh/known_hosts, then the inventory's), and the one new keys go to. */
export function knownHostsFiles(knownHostsFile: string | undefined): { files: string[]; writeTo: string } {
  const home = join(homedir(), '.ssh', 'known_hosts');
  const own = knownHostsFile !== undefined ? expandHome(knownHostsFile) : undefined;
  return { files: own !== undefined ? [home, own] : [home], writeTo: own ?? home };
}

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

/** Compiled wildcard patterns (`*.example.com`), by pattern: each is compiled once, not once per host and line. */
const wildcards = new Map<string, RegExp>();

function matchesOne(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  let re = wildcards.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    wildcards.set(pattern, re);
  }
  return re.test(name);
}

function matchesPattern(entry: string, name: string): boolean {
  if (entry.startsWith('|1|')) {
    const [, , salt, hash] = entry.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  // as OpenSSH: a name matching a negated pattern is not matched by the line, whatever else matches
  const patterns = entry.split(',');
  if (patterns.some((p) => p.startsWith('!') && matchesOne(p.slice(1), name))) return false;
  return patterns.some((p) => !p.startsWith('!') && matchesOne(p, name));
}

/** One key line of a known_hosts file: its host patterns and key (certificate authorities left out). */
interface KnownLine extends KnownKey {
  hosts: string;
}

function parseLine(rawLine: string): KnownLine | undefined {
  const line = rawLine.trim();
  if (!line || line.startsWith('#')) return undefined;
  const fields = line.split(/\s+/);
  let revoked = false;
  if (fields[0]?.startsWith('@')) {
    const marker = fields.shift();
    if (marker === '@cert-authority') return undefined;
    revoked = marker === '@revoked';
  }
  const [hosts, type, key] = fields;
  if (!hosts || !type || !key) return undefined;
  return { hosts, type, key, revoked };
}

/** The key a known_hosts line records for `name` (not for a certificate authority), or undefined. */
function keyOnLine(rawLine: string, name: string): KnownKey | undefined {
  const parsed = parseLine(rawLine);
  return parsed && matchesPattern(parsed.hosts, name) ? { type: parsed.type, key: parsed.key, revoked: parsed.revoked } : undefined;
}

/** The parsed lines of the last few known_hosts texts: 500 hosts connecting read the same file 500 times. */
const parsedTexts = new Map<string, KnownLine[]>();
const PARSED_KEPT = 4;

function parsedLines(text: string): KnownLine[] {
  let lines = parsedTexts.get(text);
  if (!lines) {
    lines = text.split('\n').flatMap((l) => parseLine(l) ?? []);
    if (parsedTexts.size >= PARSED_KEPT) parsedTexts.delete(parsedTexts.keys().next().value!);
    parsedTexts.set(text, lines);
  }
  return lines;
}

/** Keys recorded for `name` in the text of a known_hosts file. Pure (the parse is remembered per text). */
export function findKnownKeys(text: string, name: string): KnownKey[] {
  return parsedLines(text)
    .filter((l) => matchesPattern(l.hosts, name))
    .map(({ type, key, revoked }) => ({ type, key, revoked }));
}

/**
 * The text of a known_hosts file without the lines that record a key of one of
 * `types` for `name` (as `ssh-keygen -R` does, a line naming several hosts goes
 * whole); `@revoked` lines stay. Pure.
 */
export function withoutKnownKeys(text: string, name: string, types: readonly string[]): string {
  return text
    .split('\n')
    .filter((line) => {
      const k = keyOnLine(line, name);
      return !k || k.revoked || !types.includes(k.type);
    })
    .join('\n');
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
  makeDirs(dirname(file), 0o700);
  appendFileSync(file, `${name} ${keyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/**
 * A host's keys changed: drop the lines of the replaced and removed key types
 * for `name` from every file, then add a line per new key to `writeTo`.
 * Returns what puts the files back as they were (the change was rolled back).
 */
export function replaceKnownHostKeys(files: readonly string[], writeTo: string, name: string, dropTypes: readonly string[], blobs: readonly Buffer[]): () => void {
  const before = new Map<string, string | undefined>();
  for (const file of new Set([...files, writeTo])) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    before.set(file, text);
    const kept = text === undefined ? undefined : withoutKnownKeys(text, name, dropTypes);
    if (kept !== undefined && kept !== text) writeFileSync(file, kept, { mode: 0o600 });
  }
  for (const blob of blobs) appendKnownHost(writeTo, name, blob);
  return () => {
    for (const [file, text] of before) {
      if (text === undefined) rmSync(file, { force: true });
      else writeFileSync(file, text, { mode: 0o600 });
    }
  };
}

/** Host key algorithms that ask a server for a key of this type (an RSA key signs with SHA-2 first). */
export function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** Key types the files know for this host, to offer them first in key exchange. */
export function knownTypes(known: readonly KnownKey[]): string[] {
  return [...new Set(known.filter((k) => !k.revoked).map((k) => k.type))];
}
