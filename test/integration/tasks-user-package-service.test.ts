/**
 * `user`, `package` and `service` over real SSH on every fleet image: each
 * converges (check predicts apply, second apply changes nothing, no drift), and
 * the result is checked from outside (log in as the new user, dpkg status, a
 * fresh SSH connection after reloading sshd).
 *
 * The no-init images (sshd as PID 1) cover what a container without a service
 * manager allows; a systemd variant (debianNN-systemd, systemd as PID 1), when
 * built, covers start/stop/enable/disable of a real unit.
 *
 * apt installs reach the Debian archive: the package test is the slow one.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, generateKeyPair, imageAvailability, startFleet, type Fleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => !i.name.endsWith('-systemd'));

/** systemd variants: those selected by PROVISION_TEST_IMAGES, else whichever debianNN-systemd is built. */
const selectedSystemd = (process.env.PROVISION_TEST_IMAGES ?? '').split(',').map((s) => s.trim()).filter((s) => s.endsWith('-systemd'));
const systemdAvailability = await imageAvailability({
  PROVISION_TEST_IMAGES: (selectedSystemd.length > 0 ? selectedSystemd : ['debian11-systemd', 'debian12-systemd', 'debian13-systemd']).join(','),
});
console.log(`systemd variants: ${systemdAvailability.summary}`);
const systemdImages = systemdAvailability.selected.map((name) => ({ name, present: systemdAvailability.present.includes(name) }));

const USER = 'opsuser';
/** A sha512-crypt hash made at test time (the password itself is never used). */
const PASSWORD_HASH = execFileSync('openssl', ['passwd', '-6', '-salt', 'provisiontest', 'not-a-real-password'], { encoding: 'utf8' }).trim();

/** Run one shell command as root on the host through docker exec (outside provision). */
async function sh(fleet: Fleet, i: number, command: string): Promise<{ exitCode: number; stdout: string }> {
  const r = await fleet.hosts[i]!.container.exec(['sh', '-c', command]);
  return { exitCode: r.exitCode, stdout: r.stdout };
}

const perHost = (fleet: Fleet, task: string): string[] => fleet.hosts.map((h) => `${h.name}: ${task}`).sort();

describe.each(images)('user, package, service on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 2, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('user: admin with shell, groups, password hash and exclusive keys; then groups replaced, a key removed; then absent', async () => {
    const extra = await generateKeyPair(fleet.dir, 'id_extra');
    const userPlay = (body: string) => `
- hosts: all
  tasks:
    - name: operator account
      user:
${body}
`;
    const first = userPlay(`        name: ${USER}
        admin: true
        shell: /bin/bash
        groups: [adm, users]
        password: ${JSON.stringify(PASSWORD_HASH)}
        authorized_keys: [${JSON.stringify(fleet.publicKey)}, ${JSON.stringify(extra.publicKey)}]
        exclusive: true`);
    const c1 = await converge(fleet, first);
    expect(keysOf(c1.apply, 'changed')).toEqual(perHost(fleet, 'operator account'));

    for (let i = 0; i < fleet.hosts.length; i++) {
      expect((await sh(fleet, i, `getent passwd ${USER} | cut -d: -f7`)).stdout).toBe('/bin/bash\n');
      expect((await sh(fleet, i, `getent shadow ${USER} | cut -d: -f2`)).stdout).toBe(`${PASSWORD_HASH}\n`);
      expect((await sh(fleet, i, `stat -c '%a %U' /home/${USER}/.ssh /home/${USER}/.ssh/authorized_keys`)).stdout).toBe(`700 ${USER}\n600 ${USER}\n`);
      expect((await sh(fleet, i, `cat /home/${USER}/.ssh/authorized_keys`)).stdout).toBe(`${fleet.publicKey}\n${extra.publicKey}\n`);
    }
    // log in as the new user with the fleet key: admin: true means the sudo group on Debian
    const login = async () => {
      const s = await runPlaybook(fleet, `- hosts: all\n  tasks:\n    - name: groups\n      command: id -Gn\n`, { user: USER });
      expect(failures(s)).toEqual([]);
      return s.results.map((r) => (r.stdout ?? '').split(/\s+/).filter(Boolean).sort());
    };
    for (const groups of await login()) expect(groups).toEqual(['adm', 'sudo', 'users', USER].sort());

    // groups exactly [users] + the admin group, and the extra key dropped
    const second = userPlay(`        name: ${USER}
        admin: true
        groups: [users]
        append: false
        password: ${JSON.stringify(PASSWORD_HASH)}
        authorized_keys: [${JSON.stringify(fleet.publicKey)}]
        exclusive: true`);
    const c2 = await converge(fleet, second);
    expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'operator account'));
    for (const groups of await login()) expect(groups).toEqual(['sudo', 'users', USER].sort());
    for (let i = 0; i < fleet.hosts.length; i++) {
      expect((await sh(fleet, i, `cat /home/${USER}/.ssh/authorized_keys`)).stdout).toBe(`${fleet.publicKey}\n`);
    }

    const c3 = await converge(fleet, userPlay(`        name: ${USER}\n        state: absent\n        remove_home: true`));
    expect(keysOf(c3.apply, 'changed')).toEqual(perHost(fleet, 'operator account'));
    for (let i = 0; i < fleet.hosts.length; i++) {
      expect((await sh(fleet, i, `getent passwd ${USER}; test -e /home/${USER}`)).exitCode).not.toBe(0);
    }
  });

  it.skipIf(!present)('service without init: ssh started is ok, reloaded always changes and sshd still answers, enabled is ok (its init script is linked)', async () => {
    const started = await converge(fleet, `- hosts: all\n  tasks:\n    - name: ssh running\n      service: { name: ssh, state: started }\n`);
    expect(keysOf(started.apply, 'ok')).toEqual(perHost(fleet, 'ssh running'));

    const reload = `- hosts: all\n  tasks:\n    - name: reload ssh\n      service: { name: ssh, state: reloaded }\n`;
    const check = await runPlaybook(fleet, reload, { check: true });
    expect(failures(check)).toEqual([]);
    expect(keysOf(check, 'changed')).toEqual(perHost(fleet, 'reload ssh'));
    for (let round = 0; round < 2; round++) {
      const apply = await runPlaybook(fleet, reload);
      expect(failures(apply)).toEqual([]);
      expect(keysOf(apply, 'changed'), 'reloaded changes on every run').toEqual(perHost(fleet, 'reload ssh'));
      // the HUPed sshd (PID 1, re-executed) accepts a new connection
      const probe = await runPlaybook(fleet, `- hosts: all\n  tasks:\n    - name: probe\n      command: cat /proc/1/comm\n      changed_when: false\n`);
      expect(failures(probe)).toEqual([]);
      expect(probe.results.map((r) => r.stdout)).toEqual(fleet.hosts.map(() => 'sshd'));
    }

    // the image ships /etc/init.d/ssh with its rc?.d links: enabled already, as Ansible would find it
    for (const check of [true, false]) {
      const enable = await runPlaybook(fleet, `- hosts: all\n  tasks:\n    - name: enable ssh\n      service: { name: ssh, enabled: true }\n`, { check });
      expect(failures(enable)).toEqual([]);
      expect(keysOf(enable, 'ok')).toEqual(perHost(fleet, 'enable ssh'));
      for (const r of enable.results) expect(r.message).toBe('ssh: enabled');
    }
    for (let i = 0; i < fleet.hosts.length; i++) expect((await sh(fleet, i, 'ls /etc/rc2.d')).stdout).toMatch(/^S\d\dssh$/m);
  });

  // apt-get reaches the Debian archive: the slow one
  it.skipIf(!present)('package: tree and jq present, then absent; upgrade: security runs', async () => {
    const pkgPlay = (state: string) => `- hosts: all\n  tasks:\n    - name: tools\n      package: { name: [tree, jq], state: ${state} }\n`;
    const installed = async (i: number) =>
      (await sh(fleet, i, `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' tree jq 2>/dev/null | sort; true`)).stdout;

    const c1 = await converge(fleet, pkgPlay('present'));
    expect(keysOf(c1.apply, 'changed')).toEqual(perHost(fleet, 'tools'));
    for (let i = 0; i < fleet.hosts.length; i++) expect(await installed(i)).toBe('jq ii \ntree ii \n');
    expect((await sh(fleet, 0, 'jq -n 1+1')).stdout).toBe('2\n');

    const c2 = await converge(fleet, pkgPlay('absent'));
    expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'tools'));
    for (let i = 0; i < fleet.hosts.length; i++) expect(await installed(i)).not.toMatch(/ii/);

    // the archive moves: only "runs without failing", in check mode and for real
    const upgrade = `- hosts: all\n  tasks:\n    - name: security fixes\n      package: { upgrade: security }\n`;
    const check = await runPlaybook(fleet, upgrade, { check: true });
    expect(failures(check)).toEqual([]);
    const apply = await runPlaybook(fleet, upgrade);
    expect(failures(apply)).toEqual([]);
    // and the host is still reachable afterwards (an openssh upgrade must not cut us off)
    const probe = await runPlaybook(fleet, `- hosts: all\n  tasks:\n    - name: probe\n      command: "true"\n      changed_when: false\n`);
    expect(failures(probe)).toEqual([]);
  });
});

describe.each(systemdImages)('service with systemd on $name', ({ name, present }) => {
  let fleet: Fleet | undefined;
  let startError: unknown;
  beforeAll(async () => {
    if (!present) return;
    try {
      fleet = await startFleet({ count: 1, image: name });
    } catch (e) {
      startError = e;
      console.log(`${name}: systemd container does not start here, service tests skipped: ${String(e)}`);
    }
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('cron: installed, stopped and disabled, then started and enabled', async (ctx) => {
    if (!fleet) {
      ctx.skip(`${name} did not start: ${String(startError)}`);
      return;
    }
    const f = fleet;
    await converge(f, `- hosts: all\n  tasks:\n    - name: cron package\n      package: { name: cron }\n`);
    const svc = (state: string, enabled: boolean) =>
      `- hosts: all\n  tasks:\n    - name: cron service\n      service: { name: cron, state: ${state}, enabled: ${enabled} }\n`;
    const state = async () => (await sh(f, 0, 'systemctl is-active cron; systemctl is-enabled cron; true')).stdout;

    // Debian's postinst enables and starts cron: stop and disable it first, then back
    const off = await converge(f, svc('stopped', false));
    expect(keysOf(off.apply, 'changed')).toEqual(perHost(f, 'cron service'));
    expect(await state()).toBe('inactive\ndisabled\n');

    const on = await converge(f, svc('started', true));
    expect(keysOf(on.apply, 'changed')).toEqual(perHost(f, 'cron service'));
    expect(await state()).toBe('active\nenabled\n');
  });
});
