/**
 * sshd_config, fail2ban and unattended_upgrades over real SSH on every fleet
 * image (sshd is PID 1, no init system): each converges (check predicts apply,
 * second apply changes nothing, no drift); sshd keeps answering after its
 * SIGHUP reload; cloud-init's drop-in `PasswordAuthentication yes` is
 * overridden by the managed block; a config that would lock us out is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/api.js';
import { fail2ban } from '../../src/tasks/fail2ban.js';
import { sshd_config } from '../../src/tasks/sshd_config.js';
import { unattended_upgrades } from '../../src/tasks/unattended_upgrades.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

// Until src/tasks/index.ts registers them: add them to the shared registry object for this test process.
for (const [name, mod] of Object.entries({ sshd_config, fail2ban, unattended_upgrades })) {
  if (!(name in registry)) Object.assign(registry, { [name]: mod });
}

const SSHD_PLAYBOOK = `
- hosts: all
  tasks:
    - name: cloud-init drop-in
      copy: { dest: /etc/ssh/sshd_config.d/50-cloud-init.conf, content: "PasswordAuthentication yes\\n" }
    - name: harden sshd
      sshd_config:
        settings:
          PermitRootLogin: prohibit-password
          PasswordAuthentication: false
          KbdInteractiveAuthentication: false
          X11Forwarding: false
          MaxAuthTries: 3
          LoginGraceTime: 30s
          Ciphers: [chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com, aes256-ctr, aes192-ctr, aes128-ctr]
          KexAlgorithms: [sntrup761x25519-sha512@openssh.com, curve25519-sha256, curve25519-sha256@libssh.org, diffie-hellman-group-exchange-sha256]
          MACs: [hmac-sha2-512-etm@openssh.com, hmac-sha2-256-etm@openssh.com, umac-128-etm@openssh.com]
`;

const FAIL2BAN_PLAYBOOK = `
- hosts: all
  tasks:
    - name: fail2ban
      fail2ban: { maxretry: 4, ignoreip: [10.0.0.0/8] }
    - name: automatic updates
      unattended_upgrades: {}
`;

const images = await fleetImages();

describe.each(images)('sshd_config and fail2ban on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('sshd_config converges, overrides the drop-in, sshd answers after the reload', async () => {
    const { apply, again } = await converge(fleet, SSHD_PLAYBOOK);
    expect(keysOf(apply, 'changed')).toContain(`${fleet.hosts[0]!.name}: harden sshd`);
    expect(again.results.find((r) => r.task === 'harden sshd')?.message).toMatch(/^effective sshd settings already as requested \(9 settings, managed block in place\)/);
    const c = fleet.hosts[0]!.container;
    const t = await c.exec(['sshd', '-T']);
    expect(t.stdout).toMatch(/^passwordauthentication no$/m);
    expect(t.stdout).toMatch(/^maxauthtries 3$/m);
    expect((await c.exec(['cat', '/etc/ssh/sshd_config.d/50-cloud-init.conf'])).stdout).toBe('PasswordAuthentication yes\n');
    expect((await c.exec(['stat', '-c', '%a', '/etc/ssh/sshd_config'])).stdout).toBe('600\n');
    // a brand-new SSH connection after the reload
    const s = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: ping\n      command: "true"\n      changed_when: false\n');
    expect(failures(s)).toEqual([]);
  });

  it.skipIf(!present)('a config refusing this session (root login off while we are root) is refused before anything is written', async () => {
    const s = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: no root\n      sshd_config: { settings: { PermitRootLogin: "no" } }\n');
    expect(keysOf(s, 'failed')).toHaveLength(1);
    expect(s.results.find((r) => r.task === 'no root')?.message).toContain('PermitRootLogin no refuses root, and this session logs in as root');
    const t = await fleet.hosts[0]!.container.exec(['sshd', '-T']);
    expect(t.stdout).toMatch(/^permitrootlogin without-password$/m);
  });

  it.skipIf(!present)('fail2ban converges (installed, jail.local validated; started under systemd, no daemon without init); unattended_upgrades', async () => {
    const { apply } = await converge(fleet, FAIL2BAN_PLAYBOOK);
    const c = fleet.hosts[0]!.container;
    const systemd = (await c.exec(['cat', '/proc/1/comm'])).stdout.trim() === 'systemd';
    const r = apply.results.find((x) => x.task === 'fail2ban');
    if (systemd) {
      expect(r?.message).toContain('restart fail2ban');
      expect((await c.exec(['fail2ban-client', 'status', 'sshd'])).stdout).toContain('Status for the jail: sshd');
      expect(keysOf(apply, 'changed')).toContain(`${fleet.hosts[0]!.name}: automatic updates`);
    } else {
      expect(r?.message).toContain('host has no init system: fail2ban is installed and configured but NOT started');
      expect(keysOf(apply, 'skipped')).toEqual([`${fleet.hosts[0]!.name}: automatic updates`]);
    }
    const test = await c.exec(['fail2ban-client', '-t']);
    expect(test.exitCode).toBe(0);
    expect((await c.exec(['cat', '/etc/fail2ban/jail.local'])).stdout).toContain('\n[sshd]\nenabled = true\nport = 22\n');
  });
});
