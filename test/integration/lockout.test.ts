/**
 * Lockout protection on real hosts: the pre-flight refuses changes that would
 * cut our SSH access; with the override they are applied commit-confirmed and
 * the host rolls itself back; a port move with its firewall rule completes in
 * one run; nothing is left behind after a confirmed change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import type { RunSummary } from '../../src/core/results.js';
import { run } from '../../src/core/runner.js';
import { fleetImages, startFleet, type Fleet, type FleetHost } from './fleet.js';
import { failures, keysOf } from './harness.js';

const images = await fleetImages();
const image = images.find((i) => i.present && !i.name.endsWith('-systemd'))?.name;
const ROLLBACK = 20;

async function play(fleet: Fleet, yaml: string, inv = fleet.inventoryYaml()): Promise<RunSummary> {
  const dir = fleet.dir;
  const pb = join(dir, `lockout-${Math.random().toString(36).slice(2)}.yaml`);
  const invFile = `${pb}.inv.yaml`;
  writeFileSync(pb, yaml);
  writeFileSync(invFile, inv);
  return run({ inventory: loadInventories([invFile]), playbook: loadPlaybooks([pb]), registry });
}

async function leftovers(h: FleetHost): Promise<string> {
  const r = await h.container.exec(['sh', '-c', 'ls -A /var/lib/provision/rollback 2>/dev/null; pgrep -f "provision/rollbac[k]/" || true']);
  return r.stdout.trim();
}

describe.skipIf(!image)(`lockout protection (${image ?? 'no image'})`, () => {
  let fleet: Fleet;
  let victim: FleetHost;
  let bystander: FleetHost;
  beforeAll(async () => {
    fleet = await startFleet({ count: 2, image: image!, extraPorts: [2222] });
    [victim, bystander] = fleet.hosts as [FleetHost, FleetHost];
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  const firewallWithoutSsh = (allow: boolean) => `
- hosts: all
  rollback_timeout: ${ROLLBACK}
  allow_lockout: ${allow}
  tasks:
    - name: firewall without ssh
      iptables:
        chains:
          INPUT: { policy: DROP, rules: ["-i lo -j ACCEPT"] }
      when: inventory_hostname == '${'VICTIM'}'
    - name: marker
      copy: { dest: /root/marker, content: "${allow}" }
`;

  it('refuses a firewall that drops the SSH port, naming why; other hosts go on', async () => {
    const s = await play(fleet, firewallWithoutSsh(false).replace('VICTIM', victim.name));
    const refused = s.results.find((r) => r.host === victim.name && r.task === 'firewall without ssh');
    expect(refused).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    // the whole play's pre-flight finds it before any task ran
    expect(refused?.message).toMatch(/^refused before any change on this host: .*policy DROP .*tcp\/22/);
    expect(keysOf(s, 'changed')).toEqual([`${bystander.name}: marker`]);
    expect((await victim.container.exec(['iptables', '-S', 'INPUT'])).stdout).toContain('-P INPUT ACCEPT');
  });

  it('with the override, the host rolls itself back and SSH works again', async () => {
    const t0 = Date.now();
    const s = await play(fleet, firewallWithoutSsh(true).replace('VICTIM', victim.name));
    const cut = s.results.find((r) => r.host === victim.name && r.task === 'firewall without ssh');
    expect(cut).toMatchObject({ status: 'failed', code: 'E_ROLLED_BACK' });
    expect(cut?.message).toMatch(/^rolled back: access lost after firewall without ssh/);
    expect(s.hosts.find((h) => h.host === bystander.name)).toMatchObject({ failed: 0, unreachable: false });
    expect(s.exitCode).toBe(2);
    expect(Date.now() - t0).toBeLessThan((ROLLBACK + 45) * 1000);
    expect((await victim.container.exec(['iptables', '-S', 'INPUT'])).stdout).toContain('-P INPUT ACCEPT');
    const again = await play(fleet, '- hosts: all\n  tasks:\n    - name: reachable\n      command: "true"\n');
    expect(failures(again)).toEqual([]);
    expect(await leftovers(victim)).toBe('');
  });

  it('AllowUsers nobody passes sshd -t but locks everyone out: refused, and rolled back with the override', async () => {
    const yaml = (allow: boolean) => `
- hosts: ${victim.name}
  rollback_timeout: ${ROLLBACK}
  allow_lockout: ${allow}
  tasks:
    - name: only nobody may log in
      sshd_config: { settings: { AllowUsers: nobody } }
`;
    const refused = await play(fleet, yaml(false));
    expect(refused.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(refused.results[0]?.message).toMatch(/AllowUsers/);
    const s = await play(fleet, yaml(true));
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_ROLLED_BACK' });
    const sshdT = await victim.container.exec(['sshd', '-T']);
    expect(sshdT.stdout).not.toMatch(/^allowusers/m);
    expect(await leftovers(victim)).toBe('');
  });

  it('a confirmation refused for certain (login refused) rolls back at once over the open session, long before a 120 s timeout', async () => {
    const t0 = Date.now();
    const s = await play(
      fleet,
      `
- hosts: ${victim.name}
  rollback_timeout: 120
  allow_lockout: true
  tasks:
    - name: only nobody may log in
      sshd_config: { settings: { AllowUsers: nobody } }
`,
    );
    const took = Date.now() - t0;
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_ROLLED_BACK' });
    const m = /^rolled back at once \(in ([\d.]+) s\): .*authentication failed/.exec(s.results[0]?.message ?? '');
    expect(m, s.results[0]?.message).not.toBeNull();
    // from the certain failure to the host's own "rolled back", and the whole run far inside the 120 s timeout
    expect(Number(m?.[1])).toBeLessThan(15);
    expect(took).toBeLessThan(60_000);
    // the host says so itself: sshd's effective settings have no AllowUsers, and a new login works
    expect((await victim.container.exec(['sshd', '-T'])).stdout).not.toMatch(/^allowusers/m);
    expect(failures(await play(fleet, `- hosts: ${victim.name}\n  tasks:\n    - command: "true"\n`))).toEqual([]);
    expect(await leftovers(victim)).toBe('');
  });

  /** Undo a test's firewall by hand (plain iptables), so the next test starts open. */
  async function openFirewall(h: FleetHost): Promise<void> {
    await h.container.exec(['sh', '-c', 'iptables -P INPUT ACCEPT; iptables -F INPUT; iptables -t nat -F PREROUTING']);
  }

  it('refuses a port move the current firewall drops, before anything changes', async () => {
    const closed = `
- hosts: ${victim.name}
  tasks:
    - name: only 22 open
      iptables:
        chains:
          INPUT:
            policy: DROP
            rules: ["-i lo -j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-p tcp -m tcp --dport 22 -j ACCEPT"]
`;
    expect(failures(await play(fleet, closed))).toEqual([]);
    const s = await play(fleet, `- hosts: ${victim.name}\n  tasks:\n    - name: sshd on 2222\n      sshd_config: { settings: { Port: 2222 } }\n`);
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(s.results[0]?.message).toMatch(/sshd would move to port 2222, but the firewall's filter policy DROP of INPUT and no rule accepts a new SSH connection \(tcp\/2222/);
    expect((await victim.container.exec(['sshd', '-T'])).stdout).toMatch(/^port 22$/m);
    await openFirewall(victim);
  });

  it('refuses exclusive keys that leave out the key this session logs in with', async () => {
    const before = (await victim.container.exec(['cat', '/root/.ssh/authorized_keys'])).stdout;
    const s = await play(
      fleet,
      `- hosts: ${victim.name}\n  tasks:\n    - name: only another key\n      user: { name: root, authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnotherKeyAnotherKeyAnotherKeyAnotherKey0 other"], exclusive: true }\n`,
    );
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(s.results[0]?.message).toMatch(/would remove the key this session logs in with \(ssh-ed25519 SHA256:/);
    expect((await victim.container.exec(['cat', '/root/.ssh/authorized_keys'])).stdout).toBe(before);
  });

  it('refuses a nat rule that redirects the SSH port', async () => {
    const s = await play(
      fleet,
      `- hosts: ${victim.name}\n  tasks:\n    - name: redirect 22\n      iptables: { table: nat, chains: { PREROUTING: { rules: ["-p tcp -m tcp --dport 22 -j REDIRECT --to-ports 2200"] } } }\n`,
    );
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(s.results[0]?.message).toMatch(/would redirect a new SSH connection/);
    expect((await victim.container.exec(['iptables', '-t', 'nat', '-S', 'PREROUTING'])).stdout).not.toMatch(/REDIRECT/);
  });

  it('refuses the whole play before its first change when a later task would lock us out', async () => {
    await victim.container.exec(['rm', '-f', '/root/first-task']);
    const s = await play(
      fleet,
      `
- hosts: ${victim.name}
  tasks:
    - name: first, harmless
      copy: { dest: /root/first-task, content: "x" }
    - name: later, a firewall without ssh
      iptables: { chains: { INPUT: { policy: DROP, rules: ["-i lo -j ACCEPT"] } } }
`,
    );
    expect(s.results.map((r) => [r.task, r.status, r.code])).toEqual([['later, a firewall without ssh', 'failed', 'E_LOCKOUT']]);
    expect(s.results[0]?.message).toMatch(/^refused before any change on this host: /);
    expect((await victim.container.exec(['test', '-e', '/root/first-task'])).exitCode).not.toBe(0);
  });

  it('moves sshd to 2222 and opens it in the firewall in one run; the next run connects on 2222 and changes nothing', async () => {
    const yaml = `
- hosts: all
  tasks:
    - name: sshd on 2222
      sshd_config: { settings: { Port: 2222 } }
    - name: firewall for 2222
      iptables:
        chains:
          INPUT:
            policy: DROP
            rules:
              - -i lo -j ACCEPT
              - -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
              - -p tcp -m tcp --dport 2222 -m conntrack --ctstate NEW -j ACCEPT
    - name: after the move
      copy: { dest: /root/moved, content: "yes" }
`;
    const s = await play(fleet, yaml);
    expect(failures(s)).toEqual([]);
    expect(keysOf(s, 'changed')).toHaveLength(6);
    for (const h of fleet.hosts) {
      expect((await h.container.exec(['cat', '/root/moved'])).stdout).toBe('yes');
      expect(await leftovers(h)).toBe('');
      // the host key verified on 22 was recorded for the new address
      expect(readFileSync(fleet.knownHostsFile, 'utf8')).toContain(`[127.0.0.1]:${h.ports[2222]} `);
    }
    const next = await play(fleet, yaml, fleet.inventoryYaml({ sshPort: 2222 }));
    expect(failures(next)).toEqual([]);
    expect(keysOf(next, 'changed')).toEqual([]);
  });
});

const systemdImage = images.find((i) => i.present && i.name.endsWith('-systemd'))?.name;

describe.skipIf(!systemdImage)(`lockout rollback armed as a transient systemd unit (${systemdImage ?? 'no systemd image'})`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: systemdImage! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('a firewall that cuts SSH is rolled back by the host itself; the unit is gone afterwards', async () => {
    const h = fleet.hosts[0]!;
    const s = await play(
      fleet,
      `- hosts: all\n  rollback_timeout: ${ROLLBACK}\n  allow_lockout: true\n  tasks:\n    - name: firewall without ssh\n      iptables: { chains: { INPUT: { policy: DROP, rules: ["-i lo -j ACCEPT"] } } }\n`,
    );
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_ROLLED_BACK' });
    expect((await h.container.exec(['iptables', '-S', 'INPUT'])).stdout).toContain('-P INPUT ACCEPT');
    const units = await h.container.exec(['sh', '-c', 'systemctl list-units --all --no-legend "provision-rollback*" | wc -l']);
    expect(units.stdout.trim()).toBe('0');
    expect(await leftovers(h)).toBe('');
  });
});
