/**
 * reboot over real SSH, as far as a container allows. A container cannot
 * reboot a kernel: /proc/sys/kernel/random/boot_id is the docker host's and
 * never changes, and `systemctl reboot` in provision-test/debian12-systemd
 * makes the container exit (docker: exited, exit 0; with a restart policy
 * the boot id would still be the docker host's). So this test gives the task a
 * `reboot_command` that does what a reboot does to us (after a second it
 * kills every SSH session on the host and writes a new boot id to a file)
 * and a `boot_time_command` reading that file. Proven here: the connection
 * the reboot command cuts is tolerated; the runner reconnects until the boot
 * id changed and test_command passes; the next task runs over the new
 * connection; check mode changes nothing. Not proven here: that the default
 * `shutdown -r` reboots a real machine and that the kernel's boot id changes
 * (unit tests cover the command text and the wait loop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

async function sh(fleet: Fleet, command: string): Promise<string> {
  return (await fleet.hosts[0]!.container.exec(['sh', '-c', command])).stdout;
}

const PLAY = `
- hosts: all
  vars:
    cut_sessions: >-
      nohup sh -c 'sleep 1; cat /proc/sys/kernel/random/uuid > /run/fake-boot-id;
      for p in $(pgrep sshd); do [ "$p" = 1 ] || kill "$p"; done' >/dev/null 2>&1 &
  tasks:
    - name: reboot
      reboot:
        reboot_command: "{{ cut_sessions }}"
        boot_time_command: cat /run/fake-boot-id
        test_command: test -s /run/fake-boot-id
        post_reboot_delay: 2
        reboot_timeout: 60
      register: r
    - name: after
      copy: { dest: /tmp/after-reboot, content: "{{ r.rebooted }} {{ r.elapsed }}\\n" }
`;

describe.each(images)('reboot on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('reconnects after the sessions are cut, once the boot id changed; the next task runs over the new connection', async () => {
    await sh(fleet, 'echo before > /run/fake-boot-id');
    const check = await runPlaybook(fleet, PLAY, { check: true });
    expect(failures(check)).toEqual([]);
    expect(check.results.find((r) => r.task === 'reboot')).toMatchObject({ status: 'changed', message: 'reboot (boot id now before)' });
    expect(await sh(fleet, 'cat /run/fake-boot-id')).toBe('before\n');

    const apply = await runPlaybook(fleet, PLAY);
    expect(failures(apply)).toEqual([]);
    expect(keysOf(apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: after`, `${fleet.hosts[0]!.name}: reboot`]);
    const bootId = (await sh(fleet, 'cat /run/fake-boot-id')).trim();
    expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(apply.results.find((r) => r.task === 'reboot')?.message).toMatch(new RegExp(`^reboot \\(boot id now before\\); back after \\d+ s, boot id ${bootId}$`));
    expect(await sh(fleet, 'cat /tmp/after-reboot')).toMatch(/^True \d+\n$/);
  }, 180_000);
});
