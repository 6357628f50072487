/**
 * Ansible's apt module arguments (upgrade, cache_valid_time, autoremove,
 * autoclean, pkg, name=VERSION, force, force_apt_get) and yum/dnf's (name '*',
 * exclude, enablerepo, disablerepo, name-VERSION). The dist-upgrade fixture is
 * `apt-get -s dist-upgrade` recorded on provision-test/debian12.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  aptCacheTimeFact,
  aptCleanFact,
  parseAptCacheTime,
  parseAptCleanFact,
  parsePackagesFact,
  parseUpgradableFact,
  upgradablePackagesFact,
  type PackagesInfo,
} from '../../../src/facts/packages.js';
import { aptTask } from '../../../src/tasks/apt.js';
import { dnfTask, yumTask } from '../../../src/tasks/package.js';
import type { Plan } from '../../../src/contract/task.js';
import { ctxOf, hostOf } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/${name}.txt`, import.meta.url), 'utf8');
const deb = ctxOf(hostOf('debian'));
const rhel = ctxOf(hostOf('rhel'));
const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
const dist = parseUpgradableFact(fixture('upgradable-apt-dist-debian12'), 'dist');
const noUpgrades = { manager: 'apt' as const, listsEmpty: false, packages: [] };
const refusal = (m: { schema: { safeParse(raw: unknown): { error?: { issues: { path: PropertyKey[]; message: string }[] } } } }, raw: unknown) =>
  m.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const apt = (raw: unknown, facts: Record<string, unknown>): Plan => aptTask.plan(aptTask.schema.parse(raw), facts as never, deb);
const commands = (p: Plan): string[] => (p.kind === 'change' ? p.steps.map((s) => s.command) : []);
const factIds = (raw: unknown): string[] => Object.values(aptTask.facts(aptTask.schema.parse(raw), deb)).map((r) => r.id);

describe('apt: upgrade', () => {
  it('yes/safe/true run apt-get upgrade --with-new-pkgs, full/dist apt-get dist-upgrade, no/false nothing; valid without name', () => {
    expect(factIds({ upgrade: 'dist' })).toEqual(['upgradable_packages:dist']);
    expect(factIds({ upgrade: 'full' })).toEqual(['upgradable_packages:dist']);
    for (const u of ['yes', 'safe', true]) expect(factIds({ upgrade: u })).toEqual(['upgradable_packages:safe']);
    expect(upgradablePackagesFact.command({ kind: 'dist' })).toContain('apt-get -s -q dist-upgrade');
    expect(upgradablePackagesFact.command({ kind: 'safe' })).toContain('apt-get -s -q upgrade --with-new-pkgs');
    const p = apt({ upgrade: 'dist' }, { upgradable: dist });
    expect(p.kind === 'change' && p.summary).toMatch(/^install 15 upgrades: perl-base, liblzma5, .*libssh2-1$/);
    expect(commands(p)).toEqual([`${APT} dist-upgrade`]);
    expect(commands(apt({ upgrade: 'yes' }, { upgradable: dist }))).toEqual([`${APT} upgrade --with-new-pkgs`]);
    expect(apt({ upgrade: 'dist' }, { upgradable: noUpgrades })).toEqual({ kind: 'ok', reason: 'no pending upgrades in the package lists' });
    expect(refusal(aptTask, { upgrade: 'no' })).toMatch(/^name: give name, upgrade/);
    expect(refusal(aptTask, { upgrade: 'sideways' })).toMatch(/upgrade/);
  });

  it('autoremove and force go on the upgrade command; name * with latest is upgrade: yes', () => {
    expect(commands(apt({ upgrade: 'dist', autoremove: true }, { upgradable: dist }))).toEqual([`${APT} --auto-remove dist-upgrade`]);
    expect(commands(apt({ upgrade: 'dist', force: true }, { upgradable: dist }))).toEqual([
      `${APT} --allow-downgrades --allow-remove-essential --allow-change-held-packages --allow-unauthenticated dist-upgrade`,
    ]);
    expect(factIds({ name: '*', state: 'latest' })).toEqual(['upgradable_packages:safe']);
    expect(refusal(aptTask, { name: '*' })).toMatch(/name '\*' is used alone with state: latest/);
  });

  it('a dist-upgrade that removes packages says so (Remv lines): never a false ok', () => {
    const up = parseUpgradableFact('mgr=apt\nRemv linux-image-6.1.0-17-amd64 [6.1.69-1]\n', 'dist');
    expect(up.packages).toEqual([{ name: 'linux-image-6.1.0-17-amd64', version: '6.1.69-1', remove: true }]);
    expect(apt({ upgrade: 'dist' }, { upgradable: up })).toMatchObject({ kind: 'change', summary: 'remove linux-image-6.1.0-17-amd64' });
  });

  it('update_cache with stale lists: a change that counts what is pending now (the refresh may bring more)', () => {
    const p = apt({ upgrade: 'dist', update_cache: true }, { upgradable: noUpgrades });
    expect(p.kind === 'change' && p.summary).toBe('update the package lists, then upgrade (pending in the lists now: none)');
    expect(commands(p)).toEqual([`apt-get update -q && ${APT} dist-upgrade`]);
    const fresh = { updated: 1000, now: 1500 };
    expect(apt({ upgrade: 'dist', update_cache: true, cache_valid_time: 3600 }, { upgradable: noUpgrades, cache: fresh }).kind).toBe('ok');
  });
});

describe('apt: update_cache and cache_valid_time', () => {
  it('reads the update-success-stamp, else the lists dir, as Ansible does', () => {
    expect(parseAptCacheTime('stamp=1700000000\nlists=1600000000\nnow=1700000100\n')).toEqual({ updated: 1700000000, now: 1700000100 });
    expect(parseAptCacheTime('stamp=\nlists=1600000000\nnow=1700000100\n')).toEqual({ updated: 1600000000, now: 1700000100 });
    expect(parseAptCacheTime('stamp=\nlists=\nnow=5\n')).toEqual({ updated: 0, now: 5 });
    expect(() => parseAptCacheTime('garbage')).toThrow(/apt_cache_time/);
    expect(aptCacheTimeFact.command(null)).toContain('/var/lib/apt/periodic/update-success-stamp');
  });

  it('cache_valid_time implies update_cache; refreshes only when the lists are older', () => {
    expect(factIds({ cache_valid_time: 3600 })).toEqual(['apt_cache_time:apt']);
    expect(apt({ cache_valid_time: 3600 }, { cache: { updated: 1000, now: 4000 } })).toEqual({
      kind: 'ok',
      reason: 'package lists refreshed 3000s ago, within cache_valid_time 3600',
    });
    const stale = apt({ update_cache: true, cache_valid_time: 3600 }, { cache: { updated: 1000, now: 4601 } });
    expect(stale.kind === 'change' && [stale.summary, commands(stale)]).toEqual(['update the package lists', ['apt-get update -q']]);
    expect(stale.kind === 'change' && stale.predictions?.[0]?.value).toEqual({ updated: 4601, now: 4601 });
    expect(apt({ update_cache: true }, {}).kind).toBe('change');
  });

  it('with names: refreshes before installing only when stale', () => {
    const installed: PackagesInfo = { jq: null };
    expect(commands(apt({ name: 'jq', cache_valid_time: 60 }, { installed, cache: { updated: 100, now: 120 } }))[0]).toMatch(/^\{ \[ -n/);
    expect(commands(apt({ name: 'jq', cache_valid_time: 60 }, { installed, cache: { updated: 100, now: 200 } }))[0]).toMatch(/^apt-get update -q && /);
  });
});

describe('apt: autoremove, autoclean', () => {
  it('planned from apt-get -s: Remv / Del lines', () => {
    expect(parseAptCleanFact('Remv libfoo1 [1.2-3]\nRemv libbar2 [2]\n', 'autoremove')).toEqual(['libfoo1', 'libbar2']);
    expect(parseAptCleanFact('Reading package lists...\nDel python3-q 2.4-1 [24 kB]\n', 'autoclean')).toEqual(['python3-q']);
    expect(aptCleanFact.command({ op: 'autoclean' })).toContain('apt-get -s -q autoclean');
    expect(factIds({ autoremove: true, autoclean: true })).toEqual(['apt_clean:autoclean', 'apt_clean:autoremove']);
    expect(apt({ autoremove: true }, { autoremove: [] })).toEqual({ kind: 'ok', reason: 'nothing to autoremove' });
    const p = apt({ autoremove: true, autoclean: true, update_cache: true }, { autoremove: ['libfoo1'], autoclean: ['python3-q'] });
    expect(p.kind === 'change' && p.summary).toBe(
      'update the package lists; delete obsolete package files: python3-q; remove unneeded packages: libfoo1',
    );
    expect(commands(p)).toEqual(['apt-get update -q', `${APT} --auto-remove autoclean`, `${APT} --auto-remove autoremove`]);
    expect(commands(apt({ autoremove: true, purge: true }, { autoremove: ['libfoo1'] }))).toEqual([`${APT} --auto-remove --purge autoremove`]);
  });
});

describe('apt: pkg, name=VERSION, force, force_apt_get', () => {
  it('pkg is an alias of name (not both); force_apt_get is accepted and changes nothing', () => {
    expect(aptTask.schema.parse({ pkg: ['a', 'b'] }).name).toEqual(['a', 'b']);
    expect(refusal(aptTask, { pkg: 'a', name: 'b' })).toMatch(/give only one of name, pkg/);
    const installed: PackagesInfo = { jq: null };
    expect(JSON.stringify(apt({ name: 'jq', force_apt_get: true }, { installed }))).toBe(JSON.stringify(apt({ name: 'jq' }, { installed })));
  });

  it('a pin is ok when that version is installed, installs name=VERSION otherwise (force: downgrades allowed)', () => {
    const installed: PackagesInfo = { jq: { version: '1.6-2.1' } };
    expect(factIds({ name: 'jq=1.6-2.1' })).toEqual(['packages:jq']);
    expect(apt({ name: 'jq=1.6-2.1' }, { installed })).toEqual({ kind: 'ok', reason: 'installed: jq 1.6-2.1' });
    expect(apt({ name: 'jq=1.6*' }, { installed }).kind).toBe('ok');
    const p = apt({ name: 'jq=1.5-1', force: true }, { installed });
    expect(p.kind === 'change' && p.summary).toBe('install jq=1.5-1');
    expect(commands(p)[0]).toMatch(/--allow-downgrades .* install --no-install-recommends jq=1.5-1$/);
    expect(p.kind === 'change' && p.predictions?.[0]?.value).toEqual({ jq: { version: '1.5-1' } });
    expect(refusal(aptTask, { name: 'jq=1.6', state: 'latest' })).toMatch(/version pin/);
    expect(refusal(aptTask, { name: 'jq=1.6;rm' })).toMatch(/not a package name/);
  });
});

describe('yum, dnf', () => {
  it("name '*' with state latest upgrades everything, with exclude/enablerepo/disablerepo on the fact and the command", () => {
    const a = yumTask.schema.parse({ name: '*', state: 'latest', exclude: 'kernel*', enablerepo: ['epel'] });
    const facts = yumTask.facts(a, rhel);
    expect(Object.values(facts).map((r) => r.id)).toEqual(["upgradable_packages:all --enablerepo=epel '--exclude=kernel*'"]);
    expect(Object.values(facts)[0]?.command).toContain("$m -q check-update --enablerepo=epel '--exclude=kernel*'");
    const up = parseUpgradableFact(fixture('upgradable-dnf-rocky9'), 'all');
    const p = yumTask.plan(a, { upgradable: up } as never, rhel);
    expect(commands(p)).toEqual(["dnf -y -q --enablerepo=epel '--exclude=kernel*' upgrade"]);
    expect(yumTask.plan(a, { upgradable: { manager: 'dnf', listsEmpty: false, packages: [] } } as never, rhel)).toEqual({ kind: 'ok', reason: 'no pending upgrades in the package lists' });
    expect(refusal(dnfTask, { name: '*' })).toMatch(/name '\*' is used with state: latest/);
    expect(refusal(dnfTask, { name: 'x', nosuch: 1 })).toMatch(/nosuch/);
  });

  it('name-VERSION pins are rpm names: installed when rpm -q knows that version', () => {
    const installed = parsePackagesFact('mgr=rpm\npkg\ttree\t1.8.0-10.el9\t1.8.0\t10.el9\n', ['tree-1.8.0', 'tree-1.7', 'tree-1.8.0-10.el9']);
    expect(installed).toEqual({ 'tree-1.8.0': { version: '1.8.0-10.el9' }, 'tree-1.7': null, 'tree-1.8.0-10.el9': { version: '1.8.0-10.el9' } });
    expect(dnfTask.plan(dnfTask.schema.parse({ name: 'tree-1.8.0' }), { installed } as never, rhel).kind).toBe('ok');
    expect(commands(dnfTask.plan(dnfTask.schema.parse({ name: 'tree-1.7', disablerepo: 'a,b' }), { installed } as never, rhel))).toEqual([
      'dnf -y -q --disablerepo=a --disablerepo=b install tree-1.7',
    ]);
  });
});
