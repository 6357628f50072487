/**
 * crypt(3) password hashes for the `password_hash` filter: SHA-512 (`$6$`) and
 * SHA-256 (`$5$`) crypt as specified by Ulrich Drepper ("Unix crypt using
 * SHA-256 and SHA-512"), and the MD5 crypt (`$1$`) of FreeBSD/glibc. Checked
 * against ansible-core (which calls glibc's crypt) by the template oracle.
 */
import { createHash, randomBytes } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** `len` bytes of `block` repeated. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

const SHA512_ORDER: [number, number, number][] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10],
  [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];
const SHA256_ORDER: [number, number, number][] = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];

/** The crypt(3) schemes ansible-core hashes with (password_hash, vars_prompt's encrypt), with glibc's defaults. */
export const CRYPT_ALGOS = {
  sha512_crypt: { id: 'sha512', saltSize: 16, implicitRounds: 656000 },
  sha256_crypt: { id: 'sha256', saltSize: 16, implicitRounds: 535000 },
  md5_crypt: { id: 'md5', saltSize: 8, implicitRounds: null },
} as const satisfies Record<string, { id: 'sha512' | 'sha256' | 'md5'; saltSize: number; implicitRounds: number | null }>;
export type CryptAlgo = keyof typeof CRYPT_ALGOS;

/** `password` hashed with `algo` and `salt` (a random one of the scheme's size when not given), as ansible-core's crypt path does. */
export function cryptHash(password: string, algo: CryptAlgo, salt: string = randomSalt(CRYPT_ALGOS[algo].saltSize)): string {
  const a = CRYPT_ALGOS[algo];
  return a.id === 'md5' ? md5Crypt(password, salt) : shaCrypt(a.id, password, salt);
}

/** SHA-crypt. `rounds` undefined: the default 5000, not written into the hash. */
export function shaCrypt(algo: 'sha256' | 'sha512', password: string, salt: string, rounds?: number): string {
  const h = () => createHash(algo);
  const size = algo === 'sha512' ? 64 : 32;
  const p = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 16), 'utf8');
  const r = rounds === undefined ? 5000 : Math.min(999_999_999, Math.max(1000, rounds));

  const b = h().update(p).update(s).update(p).digest();
  const a = h().update(p).update(s);
  let n = p.length;
  for (; n > size; n -= size) a.update(b);
  a.update(b.subarray(0, n));
  for (let i = p.length; i > 0; i >>= 1) a.update(i & 1 ? b : p);
  let c = a.digest();

  const dpCtx = h();
  for (let i = 0; i < p.length; i++) dpCtx.update(p);
  const pBytes = repeatTo(dpCtx.digest(), p.length);
  const dsCtx = h();
  for (let i = 0; i < 16 + (c[0] as number); i++) dsCtx.update(s);
  const sBytes = repeatTo(dsCtx.digest(), s.length);

  for (let i = 0; i < r; i++) {
    const ctx = h();
    ctx.update(i & 1 ? pBytes : c);
    if (i % 3 !== 0) ctx.update(sBytes);
    if (i % 7 !== 0) ctx.update(pBytes);
    ctx.update(i & 1 ? c : pBytes);
    c = ctx.digest();
  }

  let out = '';
  for (const [x, y, z] of algo === 'sha512' ? SHA512_ORDER : SHA256_ORDER) out += b64From24(c[x] as number, c[y] as number, c[z] as number, 4);
  out += algo === 'sha512' ? b64From24(0, 0, c[63] as number, 2) : b64From24(0, c[31] as number, c[30] as number, 3);
  const id = algo === 'sha512' ? '6' : '5';
  return `$${id}$${rounds === undefined ? '' : `rounds=${r}$`}${s.toString('utf8')}$${out}`;
}

/** MD5-crypt (`$1$`). */
export function md5Crypt(password: string, salt: string): string {
  const h = () => createHash('md5');
  const p = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 8), 'utf8');
  const ctx = h().update(p).update('$1$').update(s);
  const alt = h().update(p).update(s).update(p).digest();
  for (let n = p.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(16, n)));
  for (let i = p.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : p.subarray(0, 1));
  let f = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = h();
    c.update(i & 1 ? p : f);
    if (i % 3 !== 0) c.update(s);
    if (i % 7 !== 0) c.update(p);
    c.update(i & 1 ? f : p);
    f = c.digest();
  }
  let out = '';
  for (const [x, y, z] of [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]] as const) out += b64From24(f[x] as number, f[y] as number, f[z] as number, 4);
  out += b64From24(0, 0, f[11] as number, 2);
  return `$1$${s.toString('utf8')}$${out}`;
}

/** A random salt of crypt's alphabet. */
export function randomSalt(size: number): string {
  return [...randomBytes(size)].map((x) => ITOA64[x % 64]).join('');
}
