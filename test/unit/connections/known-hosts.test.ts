import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findKnownKeys, fingerprint, judgeHostKey, keyType, knownHostName } from '../../../src/connections/known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}

const ed = blob('ssh-ed25519', 'key-one');
const ed2 = blob('ssh-ed25519', 'key-two');
const rsa = blob('ssh-rsa', 'rsa-key');

describe('known_hosts', () => {
  it('names non-default ports like OpenSSH', () => {
    expect(knownHostName('h', 22)).toBe('h');
    expect(knownHostName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('finds plain, comma-listed, wildcard and hashed entries', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2222').digest('base64');
    const text = [
      '# comment',
      `web1,web1.example.com ssh-ed25519 ${ed.toString('base64')}`,
      `*.lab ssh-rsa ${rsa.toString('base64')}`,
      `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${ed2.toString('base64')}`,
      `@cert-authority *.example.com ssh-rsa ${rsa.toString('base64')}`,
    ].join('\n');
    expect(findKnownKeys(text, 'web1.example.com')).toEqual([{ type: 'ssh-ed25519', key: ed.toString('base64'), revoked: false }]);
    expect(findKnownKeys(text, 'db.lab')).toHaveLength(1);
    expect(findKnownKeys(text, '[10.0.0.5]:2222')[0]?.key).toBe(ed2.toString('base64'));
    expect(findKnownKeys(text, 'other')).toEqual([]);
    expect(findKnownKeys(`[127.0.0.1]:2222 ssh-ed25519 ${ed.toString('base64')}`, '[127.0.0.1]:2222')).toHaveLength(1);
    expect(findKnownKeys(`[127.0.0.1]:2222 ssh-ed25519 ${ed.toString('base64')}`, '1')).toEqual([]);
  });

  it('judges known, unknown, changed and revoked keys', () => {
    const known = [{ type: 'ssh-ed25519', key: ed.toString('base64'), revoked: false }];
    expect(judgeHostKey(known, ed)).toEqual({ kind: 'known' });
    expect(judgeHostKey([], ed)).toEqual({ kind: 'unknown' });
    expect(judgeHostKey(known, rsa)).toEqual({ kind: 'unknown' });
    expect(judgeHostKey(known, ed2)).toEqual({ kind: 'changed', expected: [fingerprint(ed)] });
    expect(judgeHostKey([{ type: 'ssh-ed25519', key: ed2.toString('base64'), revoked: true }], ed2)).toEqual({ kind: 'revoked' });
  });

  it('reads the key type from the blob and prints SHA256 fingerprints without padding', () => {
    expect(keyType(rsa)).toBe('ssh-rsa');
    expect(fingerprint(ed)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
