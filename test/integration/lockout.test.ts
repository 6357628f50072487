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

function inventory(fleet: Fleet, sshPort: (h: FleetHost) => number = (h) => h.ports[22]!): string {
  const hosts = fleet.hosts
    .map((h) => `    ${h.name}:\n      host: 127.0.0.1\n      port: ${sshPort(h)}\n      port_map: { 22: ${h.ports[22]}, 2222: ${h.ports[2222]} }\n`)
    .join('');
  return `all:\n  vars:\n    user: root\n    identity_file: ${fleet.identityFile}\n    known_hosts_file: ${fleet.knownHostsFile}\n  hosts:\n${hosts}`;
}

async function play(fleet: Fleet, yaml: string, inv = inventory(fleet)): Promise<RunSummary> {
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
    expect(refused?.message).toMatch(/^refused: .*policy DROP .*tcp\/22/);
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
    expect(Date.now() - t0).toBeLessThan((ROLLBACK + 30) * 1000);
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
    expect(s.results[0]?.message).toMatch(/^rolled back at once: .*authentication failed/);
    expect(took).toBeLessThan(15_000);
    // the host says so itself: sshd's effective settings have no AllowUsers, and a new login works
    expect((await victim.container.exec(['sshd', '-T'])).stdout).not.toMatch(/^allowusers/m);
    expect(failures(await play(fleet, `- hosts: ${victim.name}\n  tasks:\n    - command: "true"\n`))).toEqual([]);
    expect(await leftovers(victim)).toBe('');
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
    const next = await play(fleet, yaml, inventory(fleet, (h) => h.ports[2222]!));
    expect(failures(next)).toEqual([]);
    expect(keysOf(next, 'changed')).toEqual([]);
  });
});
