import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packageTask } from '../../../src/tasks/package.js';
import { parsePackagesFact, parseUpgradableFact, type PackagesInfo, type UpgradableInfo } from '../../../src/facts/packages.js';
import { installSteps, removeSteps, upgradeSteps } from '../../../src/tasks/lib/packages.js';
import { TaskError } from '../../../src/contract/errors.js';

import { ctxOf, hostOf } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/${name}.txt`, import.meta.url), 'utf8');
const deb = hostOf('debian');
const rhel = hostOf('rhel');
const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
const IF_EMPTY = '{ [ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ] || apt-get update -q; }';

function plan(raw: unknown, facts: { installed?: PackagesInfo; upgradable?: UpgradableInfo }, host = deb) {
  const args = packageTask.schema.parse(raw);
  return packageTask.plan(args, facts as never, ctxOf(host));
}
const debFacts = (names: string[]) => parsePackagesFact(fixture('packages-debian12'), names);

describe('package task', () => {
  it('ok when every name is installed, listing versions', () => {
    expect(plan({ name: ['openssh-server', 'sudo'] }, { installed: debFacts(['openssh-server', 'sudo']) })).toEqual({
      kind: 'ok',
      reason: 'installed: openssh-server 1:9.2p1-2+deb12u10, sudo 1.9.13p3-1+deb12u4',
    });
  });

  it('installs only the missing ones, in ONE command (apt)', () => {
    const p = plan({ name: ['sudo', 'nosuchpkg', 'logrotate'] }, { installed: debFacts(['sudo', 'nosuchpkg', 'logrotate']) });
    expect(p.kind).toBe('change');
    if (p.kind !== 'change') return;
    expect(p.summary).toBe('install nosuchpkg, logrotate');
    expect(p.steps).toEqual([{ command: `${IF_EMPTY} && ${APT} install --no-install-recommends nosuchpkg logrotate`, timeoutMs: 900000 }]);
    expect(p.predictions?.[0]?.value).toEqual({ sudo: { version: '1.9.13p3-1+deb12u4' }, nosuchpkg: { version: '(planned)' }, logrotate: { version: '(planned)' } });
  });

  it('update_cache forces apt-get update before the install', () => {
    const p = plan({ name: 'jq', update_cache: true }, { installed: { jq: null } });
    expect(p.kind === 'change' && p.steps[0]?.command).toBe(`apt-get update -q && ${APT} install --no-install-recommends jq`);
  });

  it('rhel: dnf install; latest upgrades outdated installed ones', () => {
    const installed = parsePackagesFact(fixture('packages-rocky9-epoch-multi'), ['openssl', 'jq']);
    const upgradable = parseUpgradableFact(fixture('upgradable-dnf-rocky9'), 'all');
    const p = plan({ name: ['openssl', 'jq'], state: 'latest' }, { installed, upgradable }, rhel);
    expect(p.kind === 'change' && p.summary).toBe('install jq, upgrade openssl');
    expect(p.kind === 'change' && p.steps[0]?.command).toBe('dnf -y -q install jq openssl && dnf -y -q upgrade jq openssl');
    expect(plan({ name: 'openssl', state: 'latest' }, { installed, upgradable: { manager: 'dnf', listsEmpty: false, packages: [] } }, rhel)).toEqual({
      kind: 'ok',
      reason: 'installed and newest in the package lists: openssl 1:3.0.7-27.el9',
    });
  });

  it('absent: ok when not installed (config files left count as absent), remove / purge otherwise', () => {
    expect(plan({ name: ['logrotate', 'nosuchpkg'], state: 'absent' }, { installed: debFacts(['logrotate', 'nosuchpkg']) })).toEqual({ kind: 'ok', reason: 'not installed: logrotate, nosuchpkg' });
    const p = plan({ name: ['curl', 'nosuchpkg'], state: 'absent', purge: true }, { installed: debFacts(['curl', 'nosuchpkg']) });
    expect(p.kind === 'change' && [p.summary, p.steps[0]?.command]).toEqual(['purge curl', `${APT} purge curl`]);
    const r = plan({ name: 'curl', state: 'absent' }, { installed: debFacts(['curl']) }, rhel);
    expect(r.kind === 'change' && r.steps[0]?.command).toBe('dnf -y -q remove curl');
  });

  it('upgrade: security on apt from recorded lists, empty lists, nothing pending', () => {
    const up = parseUpgradableFact(fixture('upgradable-apt-debian11'), 'security');
    const p = plan({ upgrade: 'security' }, { upgradable: up });
    expect(p.kind === 'change' && p.summary.startsWith('install 44 security upgrades: dpkg, login, perl-base')).toBe(true);
    expect(p.kind === 'change' && p.steps[0]?.command).toBe(
      `apt-get update -q && p=$(LC_ALL=C apt-get -s -q upgrade | grep -E '^Inst [^ ]+ .*\\([^)]*-security[ ,)]' | cut -d ' ' -f 2) && { [ -z "$p" ] || ${APT} install --only-upgrade $p; }`,
    );
    expect(plan({ upgrade: 'all' }, { upgradable: parseUpgradableFact(fixture('upgradable-apt-empty-lists'), 'all') })).toMatchObject({
      kind: 'change',
      summary: 'update the package lists and install pending upgrades',
      steps: [{ command: `apt-get update -q && ${APT} upgrade` }],
    });
    expect(plan({ upgrade: 'security' }, { upgradable: parseUpgradableFact(fixture('upgradable-dnf-none'), 'security') }, rhel)).toEqual({ kind: 'ok', reason: 'no pending security upgrades in the package lists' });
    expect(upgradeSteps(rhel, 'security')[0]?.command).toBe('dnf -y -q upgrade --security');
    expect(upgradeSteps(hostOf('rhel', { packageManager: 'yum' }), 'all')[0]?.command).toBe('yum -y -q update');
  });

  it('facts: only what the arguments need', () => {
    expect(Object.keys(packageTask.facts(packageTask.schema.parse({ name: 'a' }), ctxOf(deb)))).toEqual(['installed']);
    expect(Object.keys(packageTask.facts(packageTask.schema.parse({ name: 'a', state: 'latest' }), ctxOf(deb)))).toEqual(['installed', 'upgradable']);
    expect(Object.keys(packageTask.facts(packageTask.schema.parse({ upgrade: 'all' }), ctxOf(deb)))).toEqual(['upgradable']);
  });

  it('schema refuses options as names, upgrade with name, purge without absent, unknown keys', () => {
    expect(packageTask.schema.safeParse({ name: '-oAPT::x=y' }).success).toBe(false);
    expect(packageTask.schema.safeParse({ name: 'a b' }).success).toBe(false);
    expect(packageTask.schema.safeParse({ name: 'a', upgrade: 'all' }).success).toBe(false);
    expect(packageTask.schema.safeParse({ name: 'a', purge: true }).success).toBe(false);
    expect(packageTask.schema.safeParse({ name: 'a', foo: 1 }).success).toBe(false);
    expect(packageTask.schema.safeParse({}).success).toBe(false);
    expect(packageTask.schema.safeParse({ name: 'libc6:amd64' }).success).toBe(true);
  });

  it('lib: quotes names; no package manager is a clear TaskError', () => {
    expect(installSteps(deb, ["x'y"])[0]?.command.endsWith(`install --no-install-recommends 'x'\\''y'`)).toBe(true);
    expect(removeSteps(rhel, ['a', 'b'], { purge: true })[0]?.command).toBe('dnf -y -q remove a b');
    const none = hostOf('debian', { packageManager: 'none', hostname: 'box' });
    expect(() => installSteps(none, ['fail2ban'])).toThrow(TaskError);
    expect(() => installSteps(none, ['fail2ban'])).toThrow('cannot install fail2ban: no supported package manager on box (Debian GNU/Linux 12 (bookworm)); apt-get, dnf or yum is required');
    expect(() => installSteps(deb, [])).toThrow('no package names given');
  });
});
