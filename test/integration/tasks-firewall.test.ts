/**
 * Firewall tasks over real SSH on every fleet image (containers with NET_ADMIN):
 * the hardening baseline for iptables and ip6tables (INPUT/FORWARD policy DROP,
 * SSH allowed), persisted with iptables-persistent, and the listeners check.
 * check predicts apply, a second apply changes nothing, SSH still works with
 * the DROP policy, and a ruleset that would cut SSH is refused before it is
 * applied.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, registry } from '../../src/api.js';
import { loadPlaybook, type TaskRegistry } from '../../src/core/playbook.js';
import type { RunSummary } from '../../src/core/results.js';
import { run, type RunOptions } from '../../src/core/runner.js';
import { firewallPersist } from '../../src/tasks/firewall_persist.js';
import { iptables } from '../../src/tasks/iptables.js';
import { listeners } from '../../src/tasks/listeners.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';
import { failures, keysOf } from './harness.js';

// the tasks of this suite, whether or not src/tasks/index.ts registers them yet
const tasks = { ...registry, iptables, firewall_persist: firewallPersist, listeners } as unknown as TaskRegistry;

async function play(fleet: Fleet, yaml: string, opts: Partial<RunOptions> = {}): Promise<RunSummary> {
  const id = randomBytes(4).toString('hex');
  const playbookFile = join(fleet.dir, `playbook-${id}.yaml`);
  writeFileSync(playbookFile, yaml);
  const inventoryFile = join(fleet.dir, `inventory-${id}.yaml`);
  await fleet.writeInventory(inventoryFile);
  return run({ ...opts, inventory: loadInventories([inventoryFile]), playbook: loadPlaybook(playbookFile, tasks), registry: tasks as RunOptions['registry'] });
}

const BASELINE = `
- name: firewall baseline
  hosts: all
  tasks:
    - name: iptables
      iptables:
        chains:
          INPUT:
            policy: DROP
            rules:
              - -i lo -j ACCEPT
              - "! -i lo -s 127.0.0.0/8 -j DROP"
              - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
              - -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
              - -p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT
              - -p icmp --icmp-type echo-request -j ACCEPT
              - '-m limit --limit 5/min -j LOG --log-prefix "iptables denied: "'
          FORWARD: { policy: DROP, rules: [] }
          OUTPUT: { policy: ACCEPT, rules: [] }
    - name: ip6tables
      iptables:
        ip_version: 6
        chains:
          INPUT:
            policy: DROP
            rules:
              - -i lo -j ACCEPT
              - "! -i lo -s ::1 -j DROP"
              - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
              - -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
              - -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT
              - -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT
              - -p ipv6-icmp --icmpv6-type router-advertisement -j ACCEPT
              - -p ipv6-icmp --icmpv6-type packet-too-big -j ACCEPT
              - -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
              - '-m limit --limit 5/min -j LOG --log-prefix "ip6tables denied: "'
          FORWARD: { policy: DROP, rules: [] }
    - name: persist
      firewall_persist: {}
    - name: only ssh listens
      listeners: { allow: [22/tcp] }
`;

const images = await fleetImages();

describe.each(images)('firewall on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('baseline converges: check predicts apply, second apply changes nothing, SSH still works', async () => {
    const check = await play(fleet, BASELINE, { check: true });
    expect(failures(check), 'check mode failed').toEqual([]);
    const apply = await play(fleet, BASELINE);
    expect(failures(apply), 'apply failed').toEqual([]);
    expect(keysOf(apply, 'changed'), 'check mode must predict exactly what apply changes').toEqual(keysOf(check, 'changed'));
    const h = fleet.hosts[0]!.name;
    expect(keysOf(apply, 'changed')).toEqual([`${h}: ip6tables`, `${h}: iptables`, `${h}: persist`]);
    const again = await play(fleet, BASELINE);
    expect(failures(again)).toEqual([]);
    expect(keysOf(again, 'changed'), 'second apply must change nothing').toEqual([]);
    const audit = await play(fleet, BASELINE, { check: true });
    expect(keysOf(audit, 'changed'), 'no drift').toEqual([]);

    const c = fleet.hosts[0]!.container;
    const saved = await c.exec(['sh', '-c', 'iptables-save -t filter; cat /etc/iptables/rules.v4']);
    expect(saved.stdout).toContain(':INPUT DROP');
    expect(saved.stdout).toContain('-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT');
    // a NEW connection through the DROP policy
    const after = await play(fleet, `- hosts: all\n  tasks:\n    - name: still reachable\n      command: { cmd: "true" }\n`);
    expect(failures(after)).toEqual([]);
  });

  it.skipIf(!present)('a ruleset that would cut SSH is refused before it is applied', async () => {
    const yaml = `
- hosts: all
  tasks:
    - name: lock me out
      iptables:
        chains:
          INPUT: { policy: DROP, rules: ["-i lo -j ACCEPT", "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"] }
`;
    const s = await play(fleet, yaml);
    const r = s.results.find((x) => x.task === 'lock me out')!;
    expect(r.status).toBe('failed');
    expect(r.message).toMatch(/refused before any change on this host: .*policy DROP of INPUT and no rule accepts a new SSH connection \(tcp\/22 from /);
    const rules = await fleet.hosts[0]!.container.exec(['iptables-save', '-t', 'filter']);
    expect(rules.stdout).toContain('--dport 22');
    const after = await play(fleet, `- hosts: all\n  tasks:\n    - name: still reachable\n      command: { cmd: "true" }\n`);
    expect(failures(after)).toEqual([]);
  });
});
