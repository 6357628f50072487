/**
 * Ansible's apt arguments over real SSH on a Debian host that reaches
 * deb.debian.org: update_cache/cache_valid_time, upgrade: dist, a version pin
 * with and without force, autoremove, autoclean; apt_repository. Each effect is read from
 * outside provision through `docker exec` (stat, apt-get -s, dpkg-query, ls),
 * never through our planner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

async function sh(fleet: Fleet, command: string): Promise<string> {
  const r = await fleet.hosts[0]!.container.exec(['sh', '-c', command]);
  return r.stdout;
}

const play = (task: string) => `
- hosts: all
  tasks:
    - name: t
      ${task}
`;

const messageOf = (s: Awaited<ReturnType<typeof runPlaybook>>): string => s.results.find((r) => r.task === 't')?.message ?? '';

describe.each(images)('apt arguments on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('cache_valid_time: refreshes the lists once, then they are fresh enough', async () => {
    const before = Number(await sh(fleet, 'date +%s'));
    const c = await converge(fleet, play('apt: { update_cache: true, cache_valid_time: 3600 }'));
    expect(keysOf(c.apply, 'changed')).toHaveLength(1);
    expect(Number(await sh(fleet, 'stat -c %Y /var/lib/apt/lists'))).toBeGreaterThanOrEqual(before);
    expect(await sh(fleet, 'ls /var/lib/apt/lists | grep -c _Packages')).not.toBe('0\n');
    expect(messageOf(c.again)).toMatch(/^package lists refreshed \d+s ago, within cache_valid_time 3600$/);
  }, 600_000);

  it.skipIf(!present)('upgrade: dist installs what apt-get -s dist-upgrade listed; check mode said how many', async () => {
    const pending = (await sh(fleet, 'apt-get -s dist-upgrade | grep "^Inst " | cut -d" " -f2')).split('\n').filter(Boolean);
    expect(pending.length, 'the image has pending upgrades to test with').toBeGreaterThan(0);
    const c = await converge(fleet, play('ansible.builtin.apt: { upgrade: dist }'));
    expect(messageOf(c.check)).toBe(`install ${pending.length} upgrades: ${pending.join(', ')}`);
    expect(await sh(fleet, 'apt-get -s dist-upgrade | grep -c "^Inst " || true')).toBe('0\n');
    expect(messageOf(c.again)).toBe('no pending upgrades in the package lists');
  }, 900_000);

  it.skipIf(!present)('name=VERSION: a downgrade fails without force (nothing changed), installs that version with force', async () => {
    const old = (await sh(fleet, "apt-cache madison tzdata | awk '{print $3}' | tail -1")).trim();
    const now = await sh(fleet, "dpkg-query -W -f='${Version}' tzdata");
    expect(old).not.toBe(now);
    const refused = await runPlaybook(fleet, play(`apt: { name: "tzdata=${old}" }`));
    expect(failures(refused)).toHaveLength(1);
    expect(await sh(fleet, "dpkg-query -W -f='${Version}' tzdata")).toBe(now);
    await converge(fleet, play(`apt: { name: "tzdata=${old}", force: true }`));
    expect(await sh(fleet, "dpkg-query -W -f='${Version}' tzdata")).toBe(old);
  }, 600_000);

  it.skipIf(!present)('autoremove removes the dependencies nothing needs; autoclean deletes archives that can no longer be downloaded', async () => {
    await sh(fleet, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq && apt-get remove -y -q jq');
    expect(await sh(fleet, "dpkg-query -W -f='${db:Status-Status}' libjq1")).toBe('installed');
    const c = await converge(fleet, play('apt: { autoremove: true }'));
    expect(messageOf(c.check)).toMatch(/^remove unneeded packages: .*libjq1/);
    expect(await sh(fleet, "dpkg-query -W -f='${db:Status-Status}' libjq1 libonig5 2>/dev/null || true")).not.toContain('installed');

    await sh(fleet, 'touch /var/cache/apt/archives/nosuchpkg_1.0_all.deb');
    const d = await converge(fleet, play('apt: { autoclean: true }'));
    expect(messageOf(d.check)).toBe('delete obsolete package files: nosuchpkg');
    expect(await sh(fleet, 'ls /var/cache/apt/archives')).not.toContain('nosuchpkg');
  }, 600_000);

  it.skipIf(!present)('apt_repository writes the line to sources.list.d/FILENAME.list and apt-get update reads it; absent deletes the file', async () => {
    const repo = 'deb http://deb.debian.org/debian bookworm-backports main';
    await converge(fleet, play(`ansible.builtin.apt_repository: { repo: "${repo}", filename: backports }`));
    expect(await sh(fleet, 'cat /etc/apt/sources.list.d/backports.list')).toBe(`${repo}\n`);
    expect(await sh(fleet, "stat -c %a /etc/apt/sources.list.d/backports.list")).toBe('644\n');
    expect(await sh(fleet, 'ls /var/lib/apt/lists | grep -c bookworm-backports_main || true')).not.toBe('0\n');
    await converge(fleet, play(`apt_repository: { repo: "${repo}", state: absent, update_cache: false }`));
    expect(await sh(fleet, 'ls /etc/apt/sources.list.d')).not.toContain('backports.list');
  }, 600_000);
});
