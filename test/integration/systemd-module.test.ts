/**
 * Ansible's `systemd` module (and `ansible.builtin.systemd_service`) on a
 * systemd host (debianNN-systemd: systemd is PID 1): a unit started and
 * enabled, daemon_reload after the unit file changed (alone and with a name),
 * masked and unmasked. Proven from outside with docker exec: `systemctl
 * is-active`, `is-enabled`, `show -p NeedDaemonReload`, a TCP connect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAvailability, startFleet, type Fleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const selected = (process.env.PROVISION_TEST_IMAGES ?? '').split(',').map((s) => s.trim()).filter((s) => s.endsWith('-systemd'));
const availability = await imageAvailability({ PROVISION_TEST_IMAGES: (selected.length > 0 ? selected : ['debian12-systemd']).join(',') });
const images = availability.selected.map((name) => ({ name, present: availability.present.includes(name) }));

const unit = (port: number) => `[Unit]\nDescription=test daemon\n[Service]\nExecStart=/usr/bin/python3 -m http.server ${port} --bind 127.0.0.1 --directory /srv\n[Install]\nWantedBy=multi-user.target\n`;
const PROBE = (port: number) => `python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(s.connect_ex(("127.0.0.1", ${port})))'`;

describe.each(images)('systemd module on $name', ({ name, present }) => {
  let fleet: Fleet | undefined;
  let startError: unknown;
  beforeAll(async () => {
    if (!present) return;
    try {
      fleet = await startFleet({ count: 1, image: name });
    } catch (e) {
      startError = e;
    }
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('started + enabled, daemon_reload after a unit change (with a name, then alone), masked and unmasked', async (ctx) => {
    if (!fleet) {
      ctx.skip(`${name} did not start: ${String(startError)}`);
      return;
    }
    const f = fleet;
    // in /usr/lib: masking puts a link to /dev/null in /etc/systemd/system, where a unit file of that name would block it
    const sh = async (command: string) => (await f.hosts[0]!.container.exec(['sh', '-c', command])).stdout.trim();
    const host = f.hosts[0]!.name;
    await sh(`cat > /usr/lib/systemd/system/pingd.service <<'EOF'\n${unit(8077)}EOF`);

    const up = await converge(f, `- hosts: all\n  tasks:\n    - name: pingd\n      ansible.builtin.systemd_service: { name: pingd, daemon_reload: true, state: started, enabled: true }\n`);
    expect(up.apply.results[0]?.message).toBe('enable pingd, start pingd');
    expect(await sh('systemctl is-active pingd; systemctl is-enabled pingd')).toBe('active\nenabled');
    expect(await sh(`${PROBE(8077)}; echo $?`)).toBe('0');

    // the unit file changes on disk: systemd has not read it (NeedDaemonReload=yes) until a daemon-reload
    await sh(`cat > /usr/lib/systemd/system/pingd.service <<'EOF'\n${unit(8078)}EOF`);
    expect(await sh('systemctl show -p NeedDaemonReload pingd')).toBe('NeedDaemonReload=yes');
    const reload = await converge(f, `- hosts: all\n  tasks:\n    - name: reload\n      systemd: { name: pingd, daemon_reload: true, state: started }\n`);
    expect(reload.apply.results[0]?.message).toBe('reload the systemd configuration (daemon-reload)');
    expect(await sh('systemctl show -p NeedDaemonReload pingd')).toBe('NeedDaemonReload=no');

    // alone: always runs (which unit changed is not known without a name)
    await sh(`cat > /usr/lib/systemd/system/pingd.service <<'EOF'\n${unit(8079)}EOF`);
    for (let round = 0; round < 2; round++) {
      const alone = await runPlaybook(f, `- hosts: all\n  tasks:\n    - name: reload all\n      systemd: { daemon_reload: true }\n`);
      expect(failures(alone)).toEqual([]);
      expect(keysOf(alone, 'changed')).toEqual([`${host}: reload all`]);
    }
    expect(await sh('systemctl show -p NeedDaemonReload pingd')).toBe('NeedDaemonReload=no');

    const masked = await converge(f, `- hosts: all\n  tasks:\n    - name: mask\n      systemd: { name: pingd, state: stopped, masked: true }\n`);
    expect(masked.check.results[0]?.message).toBe('mask pingd, stop pingd');
    expect(await sh('systemctl is-enabled pingd; systemctl is-active pingd; true')).toBe('masked\ninactive');
    expect(await sh(`${PROBE(8077)}; echo $?`)).not.toBe('0');

    // unmask, enable and start again: the unit file (port 8079) is what runs
    const back = await converge(f, `- hosts: all\n  tasks:\n    - name: unmask\n      systemd: { name: pingd, masked: false, enabled: true, state: started }\n`);
    expect(back.apply.results[0]?.message).toBe('unmask pingd, enable pingd, start pingd');
    expect(await sh('systemctl is-active pingd; systemctl is-enabled pingd')).toBe('active\nenabled');
    expect(await sh(`${PROBE(8079)}; echo $?`)).toBe('0');
  }, 300_000);
});
