/**
 * Round trips per task, counted on the wire (SshConnection.stats: the TCP
 * socket under ssh2, see bench/README.md) on one fleet host, per phase:
 *
 *   npx tsx bench/roundtrips.ts [--image debian12]     (npm run bench:roundtrips)
 *
 * Workloads: `core` (bench/provision/core.yaml, eight tasks, become), `harden`
 * (playbooks/harden.yaml as admin with sudo, check only: its apply moves sshd),
 * and `commands` (three shell tasks under `gather_facts: false`: no host facts
 * are read at all). For each phase it prints the round trips after
 * authentication, the tasks that ran, and their ratio; the target is at most
 * 3 round trips per host for a check audit, plus at most one per changed task
 * when applying. `host CPU` is what the host spent on the phase (sshd, sudo, the
 * shells and every command they ran), read from outside: the container's cgroup
 * CPU counter before and after, read on this machine (cgroup v1 `cpuacct.usage`
 * or v2 `cpu.stat` of the container). A script that prints numbers, not a test.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { loadInventories, loadPlaybooks, registry } from '../src/api.js';
import { run } from '../src/core/runner.js';
import type { RunSummary } from '../src/core/results.js';
import { startFleet, type Fleet } from '../test/integration/fleet.js';
import { containerCpuUs } from './cgroup-cpu.js';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const at = args.indexOf('--image');
const IMAGE = at >= 0 && args[at + 1] ? args[at + 1]! : 'debian12';

const COMMANDS = `- hosts: all
  gather_facts: false
  tasks:
    - { name: one, shell: "true", changed_when: false }
    - { name: two, shell: "true", changed_when: false }
    - { name: three, shell: "true", changed_when: false }
`;

interface Phase {
  workload: string;
  phase: string;
  playbook: string;
  check: boolean;
  user: string;
}

async function once(fleet: Fleet, p: Phase): Promise<RunSummary> {
  const inventory = join(fleet.dir, `inventory-${p.user}.yaml`);
  await fleet.writeInventory(inventory, { user: p.user });
  return run({ inventory: loadInventories([inventory]), playbook: loadPlaybooks([p.playbook]), registry, check: p.check });
}

/** CPU the container has used so far (µs), or undefined where no cgroup file is found. */
const hostCpuUs = (fleet: Fleet): number | undefined => containerCpuUs(fleet.hosts[0]!.container.getId());

function row(p: Phase, s: RunSummary, hostMs: number | undefined): string {
  const st = Object.values(s.stats)[0];
  if (!st) return `${p.workload} ${p.phase}: host not reached: ${s.hosts[0]?.error ?? '?'}`;
  const auth = st.authRoundTrips ?? 0;
  const keepalives = st.keepaliveRoundTrips ?? 0;
  const after = st.roundTrips - auth - keepalives;
  const tasks = s.results.length;
  const changed = s.results.filter((r) => r.status === 'changed').length;
  const failed = s.results.filter((r) => r.status === 'failed' && !r.ignored).length;
  const cols = [
    `${p.workload} ${p.phase}`.padEnd(24),
    String(tasks).padStart(5),
    String(changed).padStart(7),
    String(failed).padStart(6),
    String(auth).padStart(5),
    String(after).padStart(6),
    String(keepalives).padStart(3),
    (after / Math.max(tasks, 1)).toFixed(2).padStart(9),
    String(st.commands).padStart(8),
    (hostMs === undefined ? '?' : String(hostMs)).padStart(11),
    `  (${loadavg()[0]!.toFixed(1)})`,
  ];
  return cols.join(' ');
}

const fleet = await startFleet({ count: 1, image: IMAGE });
try {
  const commands = join(fleet.dir, 'commands.yaml');
  writeFileSync(commands, COMMANDS);
  const core = join(root, 'bench/provision/core.yaml');
  const harden = join(root, 'playbooks/harden.yaml');
  const phases: Phase[] = [
    { workload: 'core', phase: 'audit (fresh host)', playbook: core, check: true, user: 'admin' },
    { workload: 'core', phase: 'first apply', playbook: core, check: false, user: 'admin' },
    { workload: 'core', phase: 're-apply', playbook: core, check: false, user: 'admin' },
    { workload: 'core', phase: 'audit (converged)', playbook: core, check: true, user: 'admin' },
    { workload: 'harden', phase: 'audit', playbook: harden, check: true, user: 'admin' },
    { workload: 'commands', phase: 'apply', playbook: commands, check: false, user: 'admin' },
  ];
  console.log(`one ${IMAGE} host; round trips counted on the wire; "after" excludes TCP connect, SSH handshake and authentication, and the turns keepalives opened ("ka": ssh2 sends one every 15 s of a session; nothing waits on them)`);
  console.log(`${'phase'.padEnd(24)} tasks changed failed  auth  after  ka  per task commands host CPU ms  (load average)`);
  for (const p of phases) {
    const before = hostCpuUs(fleet);
    const s = await once(fleet, p);
    const after = hostCpuUs(fleet);
    console.log(row(p, s, before !== undefined && after !== undefined ? Math.round((after - before) / 1000) : undefined));
  }
} finally {
  await fleet.stop();
}
