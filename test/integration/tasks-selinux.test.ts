/**
 * seport, seboolean and selinux over real SSH on debian12, with Debian's
 * SELinux userland and policy installed at test time (selinux-utils,
 * policycoreutils, policycoreutils-python-utils, selinux-policy-default,
 * semodule-utils: about 110 s, most of it building the policy store). The
 * container's kernel runs without SELinux, but semanage edits the policy
 * store all the same, so seport and seboolean are proven with
 * ignore_selinux_state: true, and their effect read from outside with
 * `semanage port -l -C` / `semanage boolean -l -C` through docker exec.
 *
 * setenforce needs the kernel's SELinux, which a container does not have: the
 * last test stands fakes for getenforce/setenforce in /usr/local/sbin (first
 * on root's PATH) that keep the mode in a file, to prove the selinux task runs
 * `setenforce 1` when the running mode can change without a reboot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, onHost, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));
const PACKAGES = 'selinux-utils policycoreutils policycoreutils-python-utils selinux-policy-default semodule-utils';

describe.each(images)('SELinux tasks on $name', ({ name, present }) => {
  let fleet: Fleet;
  let host: string;
  const sh = (command: string): Promise<string> => onHost(fleet, command);
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 1, image: name });
    host = fleet.hosts[0]!.name;
    const started = Date.now();
    await sh(`DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${PACKAGES} >/dev/null 2>&1`);
    console.log(`SELinux packages installed in ${Math.round((Date.now() - started) / 1000)} s`);
  }, 1_500_000); // about 110 s on an idle machine; building the policy store takes over 10 minutes under load
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('seport: the corpus task is refused on a host without SELinux, as Ansible fails; with ignore_selinux_state the labels reach the policy store, then are deleted', async () => {
    const corpus = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: label\n      seport: { ports: 2849, proto: tcp, setype: ssh_port_t, state: present }\n');
    expect(failures(corpus)).toEqual([
      `${host}: label: SELinux is disabled on this host (Ansible's seport fails the same way): enable it (selinux task, then reboot), or set ignore_selinux_state: true to edit the policy store anyway`,
    ]);
    expect(await sh('semanage port -l -C -n')).toBe('');

    const play = (state: string, ports: string) =>
      `- hosts: all\n  tasks:\n    - name: label\n      community.general.seport: { ports: "${ports}", proto: tcp, setype: ssh_port_t, state: ${state}, ignore_selinux_state: true }\n`;
    const added = await converge(fleet, play('present', '2849,8000-8010'));
    expect(keysOf(added.apply, 'changed')).toEqual([`${host}: label`]);
    expect(added.apply.results[0]?.message).toBe('label tcp/2849, 8000-8010 ssh_port_t');
    expect(await sh('semanage port -l -C -n')).toMatch(/^ssh_port_t\s+tcp\s+(8000-8010, 2849|2849, 8000-8010)\n$/);
    expect(await sh('semanage port -l -n | grep "^ssh_port_t"')).toMatch(/^ssh_port_t\s+tcp\s+.*\b2849\b.*\b22\n$/);

    const removed = await converge(fleet, play('absent', '8000-8010'));
    expect(keysOf(removed.apply, 'changed')).toEqual([`${host}: label`]);
    expect(await sh('semanage port -l -C -n')).toMatch(/^ssh_port_t\s+tcp\s+2849\n$/);

    // 22 is the policy's own: semanage cannot delete it, so the task refuses at planning
    const policy = await runPlaybook(fleet, play('absent', '22'));
    expect(failures(policy)[0]).toContain('tcp/22 is ssh_port_t in the SELinux policy itself, not a local customization');
  });

  it.skipIf(!present)('seboolean persistent: the corpus boolean set in the policy store (semanage boolean -m, as setsebool needs a running SELinux)', async () => {
    expect(await sh('semanage boolean -l -n | grep "^httpd_can_network_connect "')).toMatch(/\(off\s*,\s*off\)/);
    const play = '- hosts: all\n  tasks:\n    - name: bool\n      seboolean: { name: httpd_can_network_connect, state: yes, persistent: yes, ignore_selinux_state: true }\n';
    const r = await converge(fleet, play);
    expect(r.apply.results[0]?.message).toBe('set httpd_can_network_connect on in the policy store (was stored off)');
    expect(await sh('semanage boolean -l -C -n')).toMatch(/^httpd_can_network_connect\s+\(on\s*,\s*on\)/);
  });

  it.skipIf(!present)('selinux: enforcing + targeted written to /etc/selinux/config, reboot_required registered on a host running without SELinux; with the running mode permissive, setenforce 1 (fake, no kernel LSM)', async () => {
    await sh('mkdir -p /etc/selinux/targeted/policy'); // the policy Debian names "default", under RHEL's name
    const before = await sh('cat /etc/selinux/config');
    const play = `- hosts: all
  tasks:
    - name: mode
      selinux: { policy: targeted, state: enforcing }
      register: r
    - name: show
      debug: { msg: "reboot_required={{ r.reboot_required }}" }
`;
    const r = await converge(fleet, play);
    expect(keysOf(r.apply, 'changed')).toEqual([`${host}: mode`]);
    expect(r.apply.results.find((x) => x.task === 'show')?.message).toBe('reboot_required=True');
    expect(r.again.results.find((x) => x.task === 'show')?.message).toBe('reboot_required=True');
    const after = await sh('cat /etc/selinux/config');
    expect(after).toBe(before.replace('SELINUX=permissive', 'SELINUX=enforcing').replace('SELINUXTYPE=default', 'SELINUXTYPE=targeted'));

    // the running mode: fakes stand in for the kernel (a container has no SELinux LSM)
    await sh(
      [
        `printf '#!/bin/sh\\ncase "$(cat /var/tmp/enforce)" in 1) echo Enforcing;; *) echo Permissive;; esac\\n' > /usr/local/sbin/getenforce`,
        `printf '#!/bin/sh\\necho "$1" > /var/tmp/enforce\\n' > /usr/local/sbin/setenforce`,
        'chmod 755 /usr/local/sbin/getenforce /usr/local/sbin/setenforce && echo 0 > /var/tmp/enforce',
      ].join(' && '),
    );
    const running = await converge(fleet, play);
    expect(running.apply.results[0]?.message).toBe('setenforce 1 (running permissive, now enforcing)');
    expect(running.apply.results.find((x) => x.task === 'show')?.message).toBe('reboot_required=False');
    expect(await sh('cat /var/tmp/enforce')).toBe('1\n');
    expect(await sh('cat /etc/selinux/config')).toBe(after);
  });
});
