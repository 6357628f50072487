/**
 * Who tasks run as, proven on the host (the owner of the file a task creates,
 * read with plain `stat`): the inventory's `become`/`ansible_become` takes
 * effect, a play's `become: false` beats it, and `-b` (defaults.become) only
 * fills in where nothing says. Task > play > inventory > -b.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import type { HostDefaults } from '../../src/core/access.js';
import { run } from '../../src/core/runner.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';
import { failures } from './harness.js';

const image = (await fleetImages()).find((i) => i.present && i.name === 'debian12')?.name ?? (await fleetImages()).find((i) => i.present && !i.name.endsWith('-systemd'))?.name;

describe.skipIf(!image)(`become precedence on ${image ?? 'no image'}`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  /** Create /tmp/<name> with the given play/task become settings; return its owner as the host says. */
  async function ownerAfter(name: string, o: { inventory?: string; play?: string; task?: string; defaults?: HostDefaults }): Promise<string> {
    const inv = join(fleet.dir, `inv-${name}.yaml`);
    writeFileSync(inv, fleet.inventoryYaml({ user: 'admin' }).replace('  vars:\n', `  vars:\n${o.inventory ? `    ${o.inventory}\n` : ''}`));
    const pb = join(fleet.dir, `pb-${name}.yaml`);
    writeFileSync(pb, `- hosts: all\n${o.play ? `  ${o.play}\n` : ''}  tasks:\n    - command: touch /tmp/${name}\n${o.task ? `      ${o.task}\n` : ''}`);
    const s = await run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry, ...(o.defaults ? { defaults: o.defaults } : {}) });
    expect(failures(s)).toEqual([]);
    const stat = await fleet.hosts[0]!.container.exec(['stat', '-c', '%U', `/tmp/${name}`]);
    return stat.stdout.trim();
  }

  it('the inventory says become (native or Ansible name): tasks run as root', async () => {
    expect(await ownerAfter('inv-ansible', { inventory: 'ansible_become: true' })).toBe('root');
    expect(await ownerAfter('inv-native', { inventory: 'become: true' })).toBe('root');
    expect(await ownerAfter('inv-user', { inventory: 'ansible_become: true\n    ansible_become_user: nobody' })).toBe('nobody');
  });

  it('the play and the task say more than the inventory', async () => {
    expect(await ownerAfter('play-off', { inventory: 'ansible_become: true', play: 'become: false' })).toBe('admin');
    expect(await ownerAfter('task-on', { inventory: 'become: false', play: 'become: false', task: 'become: true' })).toBe('root');
  });

  it('-b only fills in where nothing says', async () => {
    expect(await ownerAfter('b-default', { defaults: { become: true } })).toBe('root');
    expect(await ownerAfter('b-play-off', { play: 'become: false', defaults: { become: true } })).toBe('admin');
    expect(await ownerAfter('b-inv-off', { inventory: 'become: false', defaults: { become: true } })).toBe('admin');
    expect(await ownerAfter('nothing', {})).toBe('admin');
  });
});
