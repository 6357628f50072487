import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findKnownKeys, fingerprint, hostKeyAlgorithms, judgeHostKey, keyType, knownHostName, replaceKnownHostKeys, withoutKnownKeys } from '../../../src/connections/known-hosts.js';

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

  it('matches ? and * wildcards, and a negated pattern keeps its name out of the line, as OpenSSH does', () => {
    const text = `web?.lab,*.prod,!db.prod ssh-ed25519 ${ed.toString('base64')}`;
    expect(findKnownKeys(text, 'web1.lab')).toHaveLength(1);
    expect(findKnownKeys(text, 'web10.lab')).toEqual([]);
    expect(findKnownKeys(text, 'api.prod')).toHaveLength(1);
    expect(findKnownKeys(text, 'db.prod')).toEqual([]);
    // the same text again (500 hosts read one file): the same answers
    expect(findKnownKeys(text, 'db.prod')).toEqual([]);
    expect(findKnownKeys(text, 'api.prod')).toHaveLength(1);
  });

  it('judges known, unknown, changed and revoked keys', () => {
    const known = [{ type: 'ssh-ed25519', key: ed.toString('base64'), revoked: false }];
    expect(judgeHostKey(known, ed)).toEqual({ kind: 'known' });
    expect(judgeHostKey([], ed)).toEqual({ kind: 'unknown' });
    expect(judgeHostKey(known, rsa)).toEqual({ kind: 'unknown' });
    expect(judgeHostKey(known, ed2)).toEqual({ kind: 'changed', expected: [fingerprint(ed)] });
    expect(judgeHostKey([{ type: 'ssh-ed25519', key: ed2.toString('base64'), revoked: true }], ed2)).toEqual({ kind: 'revoked' });
  });

  it('drops the lines of given key types for a host, hashed or listed with others, and keeps @revoked ones', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2222').digest('base64');
    const text = [
      '# keep me',
      `[10.0.0.5]:2222 ssh-ed25519 ${ed.toString('base64')}`,
      `|1|${salt.toString('base64')}|${hash} ssh-rsa ${rsa.toString('base64')}`,
      `web1,[10.0.0.5]:2222 ssh-rsa ${rsa.toString('base64')}`,
      `@revoked [10.0.0.5]:2222 ssh-rsa ${rsa.toString('base64')}`,
      `[10.0.0.6]:2222 ssh-rsa ${rsa.toString('base64')}`,
      '',
    ].join('\n');
    expect(withoutKnownKeys(text, '[10.0.0.5]:2222', ['ssh-rsa', 'ecdsa-sha2-nistp256']).split('\n')).toEqual([
      '# keep me',
      `[10.0.0.5]:2222 ssh-ed25519 ${ed.toString('base64')}`,
      `@revoked [10.0.0.5]:2222 ssh-rsa ${rsa.toString('base64')}`,
      `[10.0.0.6]:2222 ssh-rsa ${rsa.toString('base64')}`,
      '',
    ]);
    expect(withoutKnownKeys(text, '[10.0.0.5]:2222', [])).toBe(text);
  });

  it('replaces a host\'s keys across files, and undoes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-kh-'));
    try {
      const home = join(dir, 'home');
      const own = join(dir, 'own');
      writeFileSync(home, `h ssh-rsa ${rsa.toString('base64')}\nother ssh-rsa ${rsa.toString('base64')}\n`);
      writeFileSync(own, `h ssh-ed25519 ${ed.toString('base64')}\n`);
      const fresh = join(dir, 'fresh');
      const rsa2 = Buffer.concat([rsa, Buffer.from('2')]);
      const undo = replaceKnownHostKeys([home, own], own, 'h', ['ssh-rsa'], [rsa2]);
      expect(readFileSync(home, 'utf8')).toBe(`other ssh-rsa ${rsa.toString('base64')}\n`);
      expect(readFileSync(own, 'utf8')).toBe(`h ssh-ed25519 ${ed.toString('base64')}\nh ssh-rsa ${rsa2.toString('base64')}\n`);
      undo();
      expect(readFileSync(home, 'utf8')).toBe(`h ssh-rsa ${rsa.toString('base64')}\nother ssh-rsa ${rsa.toString('base64')}\n`);
      expect(readFileSync(own, 'utf8')).toBe(`h ssh-ed25519 ${ed.toString('base64')}\n`);
      replaceKnownHostKeys([home], fresh, 'h', [], [ed])();
      expect(existsSync(fresh)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks for RSA keys with SHA-2 signatures first', () => {
    expect(hostKeyAlgorithms('ssh-rsa')).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms('ssh-ed25519')).toEqual(['ssh-ed25519']);
  });

  it('reads the key type from the blob and prints SHA256 fingerprints without padding', () => {
    expect(keyType(rsa)).toBe('ssh-rsa');
    expect(fingerprint(ed)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
