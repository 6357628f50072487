/**
 * OpenPGP public keys as apt and rpm read them, parsed here so that a key's
 * identity is known to the planner without gpg on the host: ASCII armor
 * (RFC 4880 §6) or binary packets, the primary keys with their v4
 * fingerprints (SHA-1 over the key packet, RFC 4880 §12.2), key ids and
 * subkeys, and one armored block per primary key (for `rpm --import`, which
 * reads a file's first key only on older rpm). Used by `apt_key` and `rpm_key`.
 */
import { createHash } from 'node:crypto';
import { TaskError } from '../../contract/errors.js';

export interface PgpKey {
  /** 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** Fingerprints of its subkeys, upper case. */
  readonly subkeys: readonly string[];
  /** The key's packets (primary key, user ids, signatures, subkeys), binary. */
  readonly packets: Buffer;
}

export interface PgpKeyring {
  readonly armored: boolean;
  readonly keys: readonly PgpKey[];
}

const BEGIN = /^-----BEGIN PGP PUBLIC KEY BLOCK-----\s*$/;
const END = /^-----END PGP PUBLIC KEY BLOCK-----\s*$/;

/** The binary packets of every armored public key block in `text`. */
function dearmor(text: string, what: string): Buffer {
  const lines = text.split(/\r?\n/);
  const blocks: Buffer[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!BEGIN.test(lines[i] as string)) continue;
    let j = i + 1;
    while (j < lines.length && (lines[j] as string).trim() !== '') j++; // armor headers end at an empty line
    const body: string[] = [];
    for (j++; j < lines.length && !END.test(lines[j] as string); j++) {
      const l = (lines[j] as string).trim();
      if (!l.startsWith('=')) body.push(l); // =XXXX is the CRC-24 checksum line
    }
    if (j >= lines.length) throw new TaskError(`${what}: an armored key block without its END line`);
    blocks.push(Buffer.from(body.join(''), 'base64'));
    i = j;
  }
  if (blocks.length === 0) throw new TaskError(`${what}: no "-----BEGIN PGP PUBLIC KEY BLOCK-----" in it`);
  return Buffer.concat(blocks);
}

interface Packet {
  readonly tag: number;
  readonly body: Buffer;
  /** The whole packet, header included. */
  readonly raw: Buffer;
}

function packets(bytes: Buffer, what: string): Packet[] {
  const out: Packet[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const bad = (why: string): never => {
      throw new TaskError(`${what}: not an OpenPGP public key (${why} in the packet at byte ${start})`);
    };
    const b = bytes[at++] as number;
    if ((b & 0x80) === 0) bad('no packet tag');
    let tag: number;
    let len: number;
    if (b & 0x40) {
      tag = b & 0x3f;
      const l1 = bytes[at++] ?? bad('truncated length');
      if (l1 < 192) len = l1;
      else if (l1 < 224) len = ((l1 - 192) << 8) + (bytes[at++] ?? bad('truncated length')) + 192;
      else if (l1 === 255) {
        if (at + 4 > bytes.length) bad('truncated length');
        len = bytes.readUInt32BE(at);
        at += 4;
      } else return bad('a partial body length');
    } else {
      tag = (b >> 2) & 0x0f;
      const type = b & 3;
      const n = type === 3 ? 0 : 1 << type;
      if (at + n > bytes.length) bad('truncated length');
      len = type === 3 ? bytes.length - at : bytes.readUIntBE(at, n);
      at += n;
    }
    if (at + len > bytes.length) bad('truncated packet');
    out.push({ tag, body: bytes.subarray(at, at + len), raw: bytes.subarray(start, at + len) });
    at += len;
  }
  return out;
}

/** The v4 fingerprint of a public (sub)key packet body. */
function fingerprintOf(body: Buffer, what: string): string {
  if (body[0] !== 4) throw new TaskError(`${what}: OpenPGP key version ${body[0] ?? '?'} is not supported (only version 4 keys)`);
  const head = Buffer.from([0x99, (body.length >> 8) & 0xff, body.length & 0xff]);
  return createHash('sha1').update(head).update(body).digest('hex').toUpperCase();
}

/**
 * The public keys in a file's bytes: armored (one or more blocks) or binary
 * (a `.gpg` keyring as gpg --export writes it). `what` names the source in
 * errors. A secret key is refused.
 */
export function parseKeyring(bytes: Buffer, what: string): PgpKeyring {
  const armored = bytes.includes('-----BEGIN PGP');
  if (bytes.includes('-----BEGIN PGP PRIVATE KEY')) throw new TaskError(`${what}: this is a secret key; give the public key`);
  const binary = armored ? dearmor(bytes.toString('utf8'), what) : bytes;
  const keys: { fingerprint: string; subkeys: string[]; packets: Buffer[] }[] = [];
  for (const p of packets(binary, what)) {
    if (p.tag === 5 || p.tag === 7) throw new TaskError(`${what}: this is a secret key; give the public key`);
    if (p.tag === 6) keys.push({ fingerprint: fingerprintOf(p.body, what), subkeys: [], packets: [p.raw] });
    else {
      const cur = keys[keys.length - 1];
      if (!cur) throw new TaskError(`${what}: not an OpenPGP public key (no public key packet first)`);
      if (p.tag === 14) cur.subkeys.push(fingerprintOf(p.body, what));
      cur.packets.push(p.raw);
    }
  }
  if (keys.length === 0) throw new TaskError(`${what}: no OpenPGP public key in it`);
  return { armored, keys: keys.map((k) => ({ fingerprint: k.fingerprint, subkeys: k.subkeys, packets: Buffer.concat(k.packets) })) };
}

/** A key id as users write it (`0x`, spaces, 8/16/40 hex digits) in upper case without them; undefined when it is not one. */
export function normalizeKeyId(id: string): string | undefined {
  const hex = id.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
  return /^([0-9A-F]{8}|[0-9A-F]{16}|[0-9A-F]{40})$/.test(hex) ? hex : undefined;
}

/** Does the key (or one of its subkeys) have this normalized id (short, long or fingerprint)? */
export const keyHasId = (key: PgpKey, id: string): boolean => [key.fingerprint, ...key.subkeys].some((f) => f.endsWith(id));

/** CRC-24 of RFC 4880 §6.1, for the armor checksum line. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** One key as an ASCII-armored public key block. */
export function armor(key: PgpKey): string {
  const b64 = key.packets.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  const crc = crc24(key.packets);
  const sum = Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return ['-----BEGIN PGP PUBLIC KEY BLOCK-----', '', ...lines, `=${sum}`, '-----END PGP PUBLIC KEY BLOCK-----', ''].join('\n');
}
