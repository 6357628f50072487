/**
 * Jump hosts: reach a host that only a bastion can see, through ssh2
 * forwardOut, with host keys checked on every hop.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import { run } from '../../src/core/runner.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';

const images = await fleetImages();
const image = images.find((i) => i.present)?.name;

describe.skipIf(!image)(`jump hosts (${image ?? 'no image'})`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 2, image: image! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('runs a play on a host reached through a bastion', async () => {
    const [bastion, target] = fleet.hosts as [(typeof fleet.hosts)[0], (typeof fleet.hosts)[0]];
    const ip = (await target.container.exec(['hostname', '-I'])).stdout.trim().split(/\s+/)[0]!;
    // the target's key, recorded under the address the bastion dials
    const targetKey = readFileSync(fleet.knownHostsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`[127.0.0.1]:${target.port} `))!
      .split(' ')
      .slice(1)
      .join(' ');
    const knownHosts = join(fleet.dir, 'known_hosts_jump');
    writeFileSync(knownHosts, `${readFileSync(fleet.knownHostsFile, 'utf8')}${ip} ${targetKey}\n`);
    const inv = join(fleet.dir, 'jump.yaml');
    writeFileSync(
      inv,
      `all:
  vars:
    user: root
    identity_file: ${fleet.identityFile}
    known_hosts_file: ${knownHosts}
  hosts:
    inner:
      host: ${ip}
      jump: root@127.0.0.1:${bastion.port}
`,
    );
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
});
