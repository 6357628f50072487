/**
 * ssh_host_keys planner from recorded facts: the host key fact of a fresh
 * Debian 12 test host (RSA 3072, ECDSA, Ed25519; moduli with 2048-bit groups),
 * of the same host hardened by hand, and with loose permissions and a missing
 * public key (see test/fixtures/facts/SOURCES.md); the sshd fact is the
 * recorded debian12 one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/contract/errors.js';
import type { Plan } from '../../../src/contract/task.js';
import { parseHostKeysFact, type HostKeysFacts } from '../../../src/facts/hostkeys.js';
import { parseSshdFact, type SshdFacts } from '../../../src/facts/sshd.js';
import { sshHostKeys } from '../../../src/tasks/ssh_host_keys.js';
import { fixture } from '../../fixtures/facts/sshd/fact-output.js';
import { ctx } from './_helpers.js';

const keys = (name: string): HostKeysFacts => parseHostKeysFact(readFileSync(new URL(`../../fixtures/facts/hostkeys/${name}.txt`, import.meta.url), 'utf8'));
const sshd: SshdFacts = parseSshdFact(fixture('debian12/fact.out'), '/etc/ssh/sshd_config');
/** sshd_config names only some host keys (HostKey lines). */
const presenting = (...paths: string[]): SshdFacts => ({ ...sshd, effective: { ...sshd.effective, hostkey: paths } });
const plan = (args: Record<string, unknown>, k: HostKeysFacts, s: SshdFacts = sshd): Plan => sshHostKeys.plan(sshHostKeys.schema.parse(args), { keys: k, sshd: s }, ctx);
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected a change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};
const commands = (p: Plan): string => changed(p).steps.map((s) => s.command).join('\n');
const HARDEN = { types: ['ed25519', 'rsa'], rsa_bits: 4096, moduli_min_bits: 3072 };

describe('ssh_host_keys fact parser (recorded on Debian 12)', () => {
  it('reads each key file, its type and size, and the moduli count', () => {
    const f = keys('debian12-fresh');
    expect(f.keygen).toBe(true);
    expect(f.keys.rsa).toMatchObject({ bits: 3072, keyType: 'ssh-rsa', private: { mode: '0600', owner: 'root' }, public: { mode: '0644' } });
    expect(f.keys.ecdsa).toMatchObject({ bits: 256, keyType: 'ecdsa-sha2-nistp256' });
    expect(f.keys.dsa).toEqual({ kind: 'dsa', private: null, public: null, bits: null, keyType: null });
    expect(f.moduli).toEqual({ groups: 423, weak: 60 });
    // no public key: the type still follows from the kind, the size from the private key
    expect(keys('debian12-loose').keys.rsa).toMatchObject({ public: null, bits: 4096, keyType: 'ssh-rsa' });
  });

  it('refuses output that is not the fact\'s', () => {
    expect(() => parseHostKeysFact('sudo: a password is required\n', 1)).toThrow(/ssh_host_keys: unexpected output \(exit 1\)/);
  });
});

describe('ssh_host_keys planner', () => {
  it('a fresh Debian 12: drops ECDSA, makes RSA 4096, filters moduli; a key change confirmed with the keys sshd presents', () => {
    const p = changed(plan(HARDEN, keys('debian12-fresh')));
    expect(p.summary).toBe(
      'remove the ecdsa host key; generate the rsa host key (4096 bits) (3072 bits, under 4096); remove 60 of 423 Diffie-Hellman groups under 3072 bits from /etc/ssh/moduli',
    );
    expect(p.risk).toBe('access');
    expect(p.hostKeys).toEqual({ files: ['/etc/ssh/ssh_host_ed25519_key.pub', '/etc/ssh/ssh_host_rsa_key.pub'], removed: ['ecdsa-sha2-nistp256'] });
    const cmds = commands(p);
    expect(cmds).toContain("rm -f -- /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub");
    expect(cmds).toContain("ssh-keygen -q -t rsa -b 4096 -N '' -f /etc/ssh/.provision-keygen-rsa/key");
    expect(cmds).toContain('cat -- /etc/ssh/.provision-keygen-rsa/key > "$tmp"');
    expect(cmds).toContain('mv -f -- "$tmp" /etc/ssh/ssh_host_rsa_key || exit 1');
    expect(cmds).toContain("awk '!(!/^#/ && NF >= 7 && $5 + 1 < 3072)' /etc/ssh/moduli > \"$tmp\"");
    // sshd reloads once, last, after sshd -t
    expect(changed(p).steps.at(-1)?.command).toMatch(/^PATH="\$PATH:\/usr\/sbin:\/sbin" sshd -t && .*systemctl reload-or-try-restart/);
    expect(p.diffs?.[0]?.before).toContain('ecdsa: ecdsa-sha2-nistp256 256 bits, private 0600 root:root');
    expect(p.diffs?.[0]?.after).toContain('ecdsa: absent');
    expect(p.diffs?.[0]?.after).toContain('rsa: ssh-rsa 4096 bits');
  });

  it('what it predicts plans as ok, as the hardened host does', () => {
    const p = changed(plan(HARDEN, keys('debian12-fresh')));
    const predicted = p.predictions?.[0]?.value as HostKeysFacts;
    expect(plan(HARDEN, predicted)).toMatchObject({ kind: 'ok' });
    expect(plan(HARDEN, keys('debian12-hardened'))).toEqual({
      kind: 'ok',
      reason: 'host keys ed25519, rsa only, private keys 0600 and public keys 0644, /etc/ssh/moduli has no group under 3072 bits',
    });
  });

  it('loose permissions and a missing public key are fixed without a key change', () => {
    const p = changed(plan(HARDEN, keys('debian12-loose')));
    expect(p.summary).toBe(
      'set the public key /etc/ssh/ssh_host_ed25519_key.pub to root:root 0644; set the private key /etc/ssh/ssh_host_ed25519_key to root:root 0600; write the missing public key /etc/ssh/ssh_host_rsa_key.pub',
    );
    expect(p.risk).toBeUndefined();
    expect(p.hostKeys).toBeUndefined();
    const cmds = commands(p);
    expect(cmds).toContain("chgrp root /etc/ssh/ssh_host_ed25519_key && chmod 0600 /etc/ssh/ssh_host_ed25519_key");
    expect(cmds).toContain('ssh-keygen -y -f /etc/ssh/ssh_host_rsa_key > "$tmp"');
    expect(cmds).not.toMatch(/systemctl|ssh-keygen -q/);
  });

  it('only the keys sshd presents are confirmed; dropping a type removes its files and its known_hosts lines', () => {
    const p = changed(plan({ types: ['ed25519'] }, keys('debian12-fresh'), presenting('/etc/ssh/ssh_host_ed25519_key')));
    expect(p.summary).toBe('remove the ecdsa host key; remove the rsa host key');
    expect(p.hostKeys).toEqual({ files: ['/etc/ssh/ssh_host_ed25519_key.pub'], removed: ['ecdsa-sha2-nistp256', 'ssh-rsa'] });
    // RSA made again but not named by HostKey: sshd will not present it, so it cannot be confirmed
    const q = changed(plan(HARDEN, keys('debian12-fresh'), presenting('/etc/ssh/ssh_host_ed25519_key')));
    expect(q.hostKeys?.files).toEqual(['/etc/ssh/ssh_host_ed25519_key.pub']);
  });

  it('without moduli_min_bits the moduli are left alone; a host without ssh-keygen or sshd is refused or skipped', () => {
    expect(commands(plan({}, keys('debian12-fresh')))).not.toContain('moduli');
    const noKeygen = { ...keys('debian12-fresh'), keygen: false };
    expect(() => plan({}, noKeygen)).toThrow(new TaskError('the rsa host key has to be generated (3072 bits, under 4096), but ssh-keygen is not installed'));
    expect(plan({}, keys('debian12-fresh'), { ...sshd, installed: false })).toEqual({ kind: 'skip', reason: 'sshd is not installed' });
  });

  it('refuses to empty the moduli file', () => {
    const allWeak = { ...keys('debian12-hardened'), moduli: { groups: 40, weak: 40 } };
    expect(() => plan({ moduli_min_bits: 8192 }, allWeak)).toThrow(/\/etc\/ssh\/moduli has no group of 8192 bits or more: removing the 40 smaller ones would leave it empty/);
  });

  it('the schema refuses DSA, RSA under 3072 bits, an empty or repeated list and unknown keys', () => {
    const bad = (v: unknown) => sshHostKeys.schema.safeParse(v).success;
    expect(bad({ types: ['dsa'] })).toBe(false);
    expect(bad({ types: [] })).toBe(false);
    expect(bad({ types: ['rsa', 'rsa'] })).toBe(false);
    expect(bad({ rsa_bits: 2048 })).toBe(false);
    expect(bad({ moduli_min_bits: 1024 })).toBe(false);
    expect(bad({ remove: ['ecdsa'] })).toBe(false);
    expect(sshHostKeys.schema.parse({})).toEqual({ types: ['ed25519', 'rsa'], rsa_bits: 4096 });
  });
});
