import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUserFact, passwordState, sha256, userFact } from '../../../src/facts/users.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/user-${name}.txt`, import.meta.url), 'utf8');
const HASH = '$6$saltsalt$Qx1cN3sCq7c0/3Yh8W7W2cHc4G3m2bT0Z2pQmQ0m1fL0n4rU8C2J0x5hM5p1O9c3bC4vZ6nJ3qW7t8s9r0e1a.';

describe('userFact parser (recorded on debian12)', () => {
  it('user with groups, locked hash, keys', () => {
    const u = parseUserFact(fixture('deploy-debian12'), { name: 'deploy' });
    expect(u).toEqual({
      exists: true,
      name: 'deploy',
      uid: 1002,
      gid: 1002,
      gecos: '',
      home: '/home/deploy',
      shell: '/bin/bash',
      primaryGroup: 'deploy',
      groups: ['adm', 'sudo'],
      password: { state: 'set', locked: true, hashDigest: sha256(HASH) },
      authorizedKeys:
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@laptop\n' +
        'from="10.0.0.0/8",no-agent-forwarding ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ci $(touch /tmp/x)\n',
      keysFile: { mode: '0600', owner: 'deploy', group: 'deploy' },
      sshDir: { mode: '0700', owner: 'deploy', group: 'deploy' },
    });
    // the hash itself is not kept anywhere in the value
    expect(JSON.stringify(u)).not.toContain('saltsalt');
  });
  it('without root: shadow unknown (null), not a failure', () => {
    const u = parseUserFact(fixture('deploy-noroot-debian12'), { name: 'deploy' });
    expect(u).toMatchObject({ exists: true, password: null, authorizedKeys: null, keysFile: null });
  });
  it('system user with nologin, no password; absent user; root; rocky !!', () => {
    expect(parseUserFact(fixture('svc-debian12'), { name: 'svc' })).toMatchObject({ shell: '/usr/sbin/nologin', groups: [], password: { state: 'none', locked: true, hashDigest: null }, sshDir: null });
    expect(parseUserFact(fixture('absent-debian12'), { name: 'ghost' })).toEqual({ exists: false });
    expect(parseUserFact(fixture('root-debian12'), { name: 'root' })).toMatchObject({ uid: 0, primaryGroup: 'root', password: { state: 'none', locked: false } });
    expect(parseUserFact(fixture('deploy-rocky9'), { name: 'deploy' })).toMatchObject({ gecos: 'Deploy user', groups: ['wheel'], password: { state: 'none', locked: true } });
  });
  it('password states', () => {
    expect(passwordState('')).toEqual({ state: 'empty', locked: false, hashDigest: null });
    expect(passwordState('$y$j9T$abc$def')).toEqual({ state: 'set', locked: false, hashDigest: sha256('$y$j9T$abc$def') });
    expect(passwordState('!*')).toEqual({ state: 'none', locked: true, hashDigest: null });
  });
  it('command quotes the name', () => {
    const cmd = userFact.command({ name: 'x$(id)' });
    expect(cmd).toContain(`n='x$(id)'`);
  });
});
