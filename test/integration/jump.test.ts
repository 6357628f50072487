/**
 * Jump hosts: reach a host that only a bastion can see, through ssh2
 * forwardOut, with host keys checked on every hop.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import { run } from '../../src/core/runner.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';

const execFileP = promisify(execFile);

const images = await fleetImages();
const image = images.find((i) => i.present)?.name;

describe.skipIf(!image)(`jump hosts (${image ?? 'no image'})`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 3, image: image! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  /** The address the bastion dials for `host`, and the known_hosts line of its key under that address. */
  const innerOf = async (host: (typeof fleet.hosts)[0]) => {
    const ip = (await host.container.exec(['hostname', '-I'])).stdout.trim().split(/\s+/)[0]!;
    const key = readFileSync(fleet.knownHostsFile, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${host.port} `))!.split(' ').slice(1).join(' ');
    return { ip, knownLine: `${ip} ${key}\n` };
  };
  /** An inventory as root with the fleet key and `knownHosts`; `vars` and `hosts` are YAML lines under all. */
  const writeInventory = (name: string, knownHosts: string, vars: string, hosts: string) => {
    const inv = join(fleet.dir, name);
    writeFileSync(inv, `all:\n  vars:\n    user: root\n    identity_file: ${fleet.identityFile}\n    known_hosts_file: ${knownHosts}\n${vars}  hosts:\n${hosts}`);
    return inv;
  };

  it('runs a play on a host reached through a bastion', async () => {
    const [bastion, target] = fleet.hosts as [(typeof fleet.hosts)[0], (typeof fleet.hosts)[0]];
    const { ip, knownLine } = await innerOf(target);
    const knownHosts = join(fleet.dir, 'known_hosts_jump');
    writeFileSync(knownHosts, readFileSync(fleet.knownHostsFile, 'utf8') + knownLine);
    const inv = writeInventory('jump.yaml', knownHosts, '', `    inner:\n      host: ${ip}\n      jump: root@127.0.0.1:${bastion.port}\n`);
    const pb = join(fleet.dir, 'hostname.yaml');
    writeFileSync(pb, '- hosts: all\n  tasks:\n    - name: where am I\n      command: hostname -I\n      changed_when: false\n');
    const s = await run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry });
    expect(s.hosts[0]).toMatchObject({ host: 'inner', unreachable: false, failed: 0 });
    expect(s.results[0]?.stdout?.trim().split(/\s+/)[0]).toBe(ip);

    // the target's key is checked too: without its line the hop succeeds and the target is refused
    writeFileSync(knownHosts, readFileSync(fleet.knownHostsFile, 'utf8'));
    const refused = await run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry });
    expect(refused.hosts[0]?.unreachable).toBe(true);
    expect(refused.hosts[0]?.error).toMatch(new RegExp(`unknown host key for ${ip.replace(/\./g, '\\.')}`));
  });

  it('takes 40 hosts through one bastion with a single login there, each target reached through it', async () => {
    const [bastion, ...targets] = fleet.hosts;
    const inner = await Promise.all(targets.map(innerOf));
    const ips = inner.map((t) => t.ip);
    const knownHosts = join(fleet.dir, 'known_hosts_many');
    writeFileSync(knownHosts, readFileSync(fleet.knownHostsFile, 'utf8') + inner.map((t) => t.knownLine).join(''));
    const names = Array.from({ length: 40 }, (_, i) => `inner${i}`);
    const inv = writeInventory('jump-many.yaml', knownHosts, `    jump: root@127.0.0.1:${bastion!.port}\n`, names.map((n, i) => `    ${n}: { host: ${ips[i % ips.length]} }\n`).join(''));
    const count = async (h: (typeof fleet.hosts)[0]) => {
      // sshd runs with -e: its log is the container's output, read with docker logs
      const { stdout, stderr } = await execFileP('docker', ['logs', h.container.getId()]);
      return `${stdout}${stderr}`.split('\n').filter((l) => /Accepted publickey for root/.test(l)).length;
    };
    const before = await Promise.all(fleet.hosts.map(count));
    const pb = join(fleet.dir, 'hostname-many.yaml');
    writeFileSync(pb, '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: where am I\n      command: hostname -I\n      changed_when: false\n');
    const s = await run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry });
    expect(s.hosts.filter((h) => h.unreachable).map((h) => h.error)).toEqual([]);
    expect(s.hosts).toHaveLength(40);
    // each answered from its own address, so it really went to the target, not to the bastion
    for (const r of s.results) expect(r.stdout?.trim().split(/\s+/)[0]).toBe(ips[names.indexOf(r.host) % ips.length]);
    const after = await Promise.all(fleet.hosts.map(count));
    expect(after[0]! - before[0]!).toBe(1);
    expect(after.slice(1).reduce((n, a, i) => n + a - before[i + 1]!, 0)).toBe(40);
  });
});
