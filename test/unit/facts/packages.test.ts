import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packagesFact, parsePackagesFact, parseUpgradableFact } from '../../../src/facts/packages.js';
import { FactError } from '../../../src/contract/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/${name}.txt`, import.meta.url), 'utf8');
const NAMES = ['openssh-server', 'sudo', 'nosuchpkg', 'libc6:amd64', 'logrotate', 'curl'];

describe('packagesFact (recorded dpkg-query / hand-written rpm -q)', () => {
  it('debian 12: installed versions; unknown and config-files-only are null', () => {
    expect(parsePackagesFact(fixture('packages-debian12'), NAMES)).toEqual({
      'openssh-server': { version: '1:9.2p1-2+deb12u10' },
      sudo: { version: '1.9.13p3-1+deb12u4' },
      nosuchpkg: null,
      'libc6:amd64': { version: '2.36-9+deb12u14' },
      logrotate: null,
      curl: { version: '7.88.1-10+deb12u15' },
    });
  });
  it.each([
    ['debian11', '1:8.4p1-5+deb11u3'],
    ['debian13', '1:10.0p1-7+deb13u4'],
  ])('%s', (name, ssh) => {
    const v = parsePackagesFact(fixture(`packages-${name}`), NAMES);
    expect(v['openssh-server']).toEqual({ version: ssh });
    expect(v.curl).toBeNull();
  });
  it('rpm: not-installed lines ignored, epoch kept, last of several versions', () => {
    expect(parsePackagesFact(fixture('packages-rocky9'), NAMES)).toEqual({
      'openssh-server': { version: '8.7p1-38.el9_4.4' },
      sudo: { version: '1.9.5p2-10.el9_3' },
      nosuchpkg: null,
      'libc6:amd64': null,
      logrotate: null,
      curl: { version: '7.76.1-29.el9_4.1' },
    });
    expect(parsePackagesFact(fixture('packages-rocky9-epoch-multi'), ['kernel-core', 'openssl'])).toEqual({
      'kernel-core': { version: '5.14.0-427.22.1.el9_4' },
      openssl: { version: '1:3.0.7-27.el9' },
    });
  });
  it('no package manager: all null; garbage throws', () => {
    expect(parsePackagesFact('mgr=none\n', ['a'])).toEqual({ a: null });
    expect(() => parsePackagesFact('sh: 1: oops\n', ['a'])).toThrow(FactError);
  });
  it('command quotes names and tries dpkg-query then rpm', () => {
    const cmd = packagesFact.command({ names: ['vim', "x'; touch /tmp/p"] });
    expect(cmd).toContain(`dpkg-query -W -f='\${Package}\\t\${Status}\\t\${Version}\\n' -- vim 'x'\\''; touch /tmp/p' 2>/dev/null`);
    expect(cmd).toContain(`rpm -q --qf 'pkg\\t%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{VERSION}\\t%{RELEASE}\\n' -- vim 'x'\\''; touch /tmp/p'`);
    expect(packagesFact.key?.({ names: ['b', 'a'] })).toBe('a,b');
  });
});

describe('upgradablePackagesFact', () => {
  it('apt with empty lists', () => {
    expect(parseUpgradableFact(fixture('upgradable-apt-empty-lists'), 'security')).toEqual({ manager: 'apt', listsEmpty: true, packages: [] });
  });
  it('apt debian 11 (recorded): security origins, all 44', () => {
    const v = parseUpgradableFact(fixture('upgradable-apt-debian11'), 'security');
    expect(v.listsEmpty).toBe(false);
    expect(v.packages).toHaveLength(44);
    expect(v.packages[0]).toEqual({ name: 'dpkg', version: '1.20.14' });
    expect(v.packages).toContainEqual({ name: 'openssh-server', version: '1:8.4p1-5+deb11u7' });
  });
  it('apt: security filter drops non-security origins', () => {
    const out = 'mgr=apt\nInst base-files [12.4+deb12u5] (12.4+deb12u6 Debian:12.6/stable [amd64])\nInst libssl3 [3.0.11-1~deb12u2] (3.0.13-1~deb12u1 Debian:12.6/stable, Debian-Security:12/stable-security [amd64])\n';
    expect(parseUpgradableFact(out, 'security').packages).toEqual([{ name: 'libssl3', version: '3.0.13-1~deb12u1' }]);
    expect(parseUpgradableFact(out, 'all').packages.map((p) => p.name)).toEqual(['base-files', 'libssl3']);
  });
  it('dnf check-update: exit 100 lists, obsoletes section ignored; 0 none; yum error throws', () => {
    expect(parseUpgradableFact(fixture('upgradable-dnf-rocky9'), 'security')).toEqual({
      manager: 'dnf',
      listsEmpty: false,
      packages: [
        { name: 'openssl', version: '1:3.0.7-28.el9_4' },
        { name: 'openssl-libs', version: '1:3.0.7-28.el9_4' },
        { name: 'python3-libs', version: '3.9.18-3.el9_4.5' },
      ],
    });
    expect(parseUpgradableFact(fixture('upgradable-dnf-none'), 'all').packages).toEqual([]);
    expect(() => parseUpgradableFact(fixture('upgradable-yum-error'), 'all')).toThrow('yum check-update failed (exit 1)');
  });
});
