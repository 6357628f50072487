/**
 * Load: 100 hosts at once from one process. Five containers, each reachable
 * under 20 inventory names, run a small playbook; every host finishes with the
 * same results, every command's stdout is its own host's, no unhandled
 * rejection. Prints wall time and peak RSS (no timing assertion).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import { run } from '../../src/core/runner.js';
import { imageAvailability, renderInventory, startFleet, type Fleet } from './fleet.js';

const avail = await imageAvailability();
const image = avail.present.includes('debian12') ? 'debian12' : avail.present[0];

describe.skipIf(!image)('load: 100 hosts from one process', () => {
  let fleet: Fleet;
  let rejections = 0;
  const onRejection = () => rejections++;
  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    fleet = await startFleet({ count: 5, image: image!, namePrefix: 'load' });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await fleet?.stop();
  });

  it('every host finishes with the same results and its own output', async () => {
    const hosts = Array.from({ length: 100 }, (_, i) => ({ ...fleet.hosts[i % 5]!, name: `h${String(i).padStart(3, '0')}` }));
    const inv = join(fleet.dir, 'load.yaml');
    writeFileSync(inv, renderInventory(hosts, { user: 'root', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
    const pb = join(fleet.dir, 'load-pb.yaml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: dir
      file: { path: "/tmp/load/{{ inventory_hostname }}", state: directory }
    - name: file
      copy: { dest: "/tmp/load/{{ inventory_hostname }}/f", content: "{{ inventory_hostname }}\\n" }
    - name: echo
      command: { argv: [printf, "%s-%s", "{{ inventory_hostname }}", "${'z'.repeat(2000)}"] }
      changed_when: false
`,
    );
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const t0 = Date.now();
    const s = await run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry });
    const wall = Date.now() - t0;
    clearInterval(timer);
    console.log(`load: 100 hosts in ${wall} ms, peak RSS ${(peak / 1048576).toFixed(0)} MiB`);
    expect(s.hosts.filter((h) => h.unreachable).map((h) => `${h.host}: ${h.error}`)).toEqual([]);
    expect(s.hosts).toHaveLength(100);
    for (const h of s.hosts) expect([h.host, h.ok, h.changed, h.failed]).toEqual([h.host, 1, 2, 0]);
    for (const r of s.results.filter((x) => x.task === 'echo')) expect(r.stdout).toBe(`${r.host}-${'z'.repeat(2000)}`);
    expect(s.results).toHaveLength(300);
    expect(s.exitCode).toBe(0);
    expect(rejections).toBe(0);
  });
});
