/**
 * Round trips of a check audit (issue 16), counted twice: by provision on its
 * transport (RunSummary.stats) and, outside provision, by a TCP proxy between it
 * and the host that counts every change of direction on the wire
 * (bench/latency-proxy.ts, no delay added). On one debian12 host, logged in as
 * admin with sudo.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import { run } from '../../src/core/runner.js';
import { startLatencyProxy, type LatencyProxy } from '../../bench/latency-proxy.js';
import { fleetImages, startFleet, writeProxiedInventory, type Fleet } from './fleet.js';
import { failures } from './harness.js';

const root = resolve(import.meta.dirname, '../..');
const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

describe.each(images)('round trips of a check audit on $name', ({ name, present }) => {
  let fleet: Fleet;
  let proxy: LatencyProxy;
  let inventory: string;
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 1, image: name });
    const h = fleet.hosts[0]!;
    proxy = await startLatencyProxy({ target: { host: h.host, port: h.port }, delayMs: 0 });
    inventory = join(fleet.dir, 'inventory-proxy.yaml');
    await writeProxiedInventory(fleet, [proxy.port], inventory, 'admin');
  });
  afterAll(async () => {
    await proxy?.close();
    await fleet?.stop();
  });

  const audit = async (playbook: string, check = true) => {
    proxy.reset();
    const s = await run({ inventory: loadInventories([inventory]), playbook: loadPlaybooks([resolve(root, playbook)]), registry, check });
    const st = Object.values(s.stats)[0]!;
    // keepalives (ssh2 pings after 15 s of silence: a slow batch under load) are turns nothing waits on
    return { s, st, after: st.roundTrips - (st.authRoundTrips ?? 0) - (st.keepaliveRoundTrips ?? 0), wire: proxy.turns() };
  };

  it.skipIf(!present)('the core workload: one command and three round trips after authentication (channel, command, close), a proxy on the wire seeing no more', async () => {
    const { s, st, after, wire } = await audit('bench/provision/core.yaml');
    expect(failures(s)).toEqual([]);
    // a fresh host: all but the file that must be absent drift
    expect(s.results.filter((r) => r.status === 'changed')).toHaveLength(7);
    expect(st.commands).toBe(1);
    // the proxy sees no more turns than provision counts (it may see two of our sends as one: it was 9 for our 10)
    expect(wire).toBeLessThanOrEqual(st.roundTrips);
    expect(wire).toBeGreaterThanOrEqual(st.roundTrips - 1);
    expect(st.keepaliveRoundTrips).toBe(0);
    // no answer to the host's key announcement, the batch inside the exec request
    expect(after).toBe(3);
  });

  it.skipIf(!present)('playbooks/harden.yaml: one command, every read in the first batch (sshd\'s view of our session, optional files, home directories)', async () => {
    const { s, st, after, wire } = await audit('playbooks/harden.yaml');
    expect(failures(s)).toEqual([]);
    const sshd = s.results.find((r) => r.task.startsWith('sshd hardened'));
    expect(sshd?.status).toBe('changed');
    // the home directories and the optional account and cron files are read with everything else: no probe
    expect(s.results.find((r) => r.task.startsWith('Home directories'))?.status).toMatch(/^(ok|changed)$/);
    expect(st.commands).toBe(1);
    // the proxy sees the keepalives too: the count of all turns still holds against it
    expect(wire).toBeLessThanOrEqual(st.roundTrips);
    expect(wire).toBeGreaterThanOrEqual(st.roundTrips - 1);
    expect(after).toBe(3);
  });
  it.skipIf(!present)("the host starts the login shell once per connection: the fact batch runs in a subshell of /bin/sh, a task's command in the login shell", async () => {
    // admin's login shell becomes a bash that writes each start and its -c text's first line to a log on the host
    const c = fleet.hosts[0]!.container;
    const sh = async (cmd: string) => {
      const r = await c.exec(['sh', '-c', cmd]);
      expect(r.exitCode, r.output).toBe(0);
      return r.output;
    };
    const logsh = `#!/bin/bash\nprintf 'start %s\\n' "\${2%%$'\\n'*}" >> /tmp/logsh.log\nexec /bin/bash "$@"\n`;
    await c.copyContentToContainer([{ content: logsh, target: '/usr/local/bin/logsh', mode: 0o755 }]);
    await sh(': > /tmp/logsh.log && chmod 666 /tmp/logsh.log && usermod -s /usr/local/bin/logsh admin');
    try {
      const file = join(fleet.dir, 'login-shell.yaml');
      writeFileSync(file, `- hosts: all\n  tasks:\n    - name: a file fact\n      file: { path: /etc/login-shell-probe, state: absent }\n    - name: a user's command\n      shell: echo task-ran\n      changed_when: false\n`);
      const { s } = await audit(file, false);
      expect(failures(s)).toEqual([]);
      expect(s.results.find((r) => r.task === "a user's command")?.stdout).toBe('task-ran');
      const starts = (await sh('cat /tmp/logsh.log')).trim().split('\n');
      // sshd's exec request (which starts /bin/sh with the batch), then the task's command; never the batch itself
      expect(starts).toHaveLength(2);
      expect(starts[0]).toMatch(/^start exec \/bin\/sh -c /);
      expect(starts[1]).toMatch(/^start .*echo task-ran/);
    } finally {
      await sh('usermod -s /bin/bash admin');
    }
  });
  it.skipIf(!present)('a command silent for 17 s draws keepalives, counted apart: the round trips waited on are those of an instant one', async () => {
    const play = (secs: number) => {
      const file = join(fleet.dir, `sleep-${secs}.yaml`);
      writeFileSync(file, `- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: sleep ${secs}\n`);
      return file;
    };
    const quick = await audit(play(0), false);
    const slow = await audit(play(17), false);
    expect(failures(slow.s)).toEqual([]);
    expect(quick.st.keepaliveRoundTrips).toBe(0);
    expect(slow.st.keepaliveRoundTrips).toBeGreaterThanOrEqual(1);
    // the proxy sees them on the wire all the same
    expect(slow.wire).toBeGreaterThanOrEqual(quick.wire + (slow.st.keepaliveRoundTrips ?? 0) - 1);
    expect(slow.after).toBe(quick.after);
  }, 120_000);
});
