/**
 * Host CPU per command and per fact, on one fleet host:
 *
 *   npx tsx bench/hostcpu.ts [--image debian12] [--repeat 7]
 *
 * Phases as bench/roundtrips.ts (core on a fresh host: audit, first apply,
 * re-apply, audit; then a check audit of playbooks/harden.yaml), as admin with
 * sudo. For every command a phase sends (a batch of fact reads, a change) it
 * prints the container's CPU spent while it ran (its cgroup counter on this
 * machine, read before and after: sshd, the shell, sudo and everything they
 * started) and how many processes it started (the container's last PID before
 * and after, see cgroup-cpu.ts). Then, per fact the audits read, the same two
 * figures for the fact's command alone, run as root in the long-lived shell as
 * a batch runs it (`( command ) </dev/null`), median of `--repeat` runs, minus
 * the median of an empty command (`:`) sent the same way. A script that prints
 * numbers, not a test.
 */
import { join, resolve } from 'node:path';
import { loadInventories, loadPlaybooks, registry } from '../src/api.js';
import { run } from '../src/core/runner.js';
import { connectHost } from '../src/core/connect.js';
import { HostSession, type FactRead } from '../src/core/host.js';
import type { Connection, ExecOptions } from '../src/connections/types.js';
import type { RunSummary } from '../src/core/results.js';
import { startFleet } from '../test/integration/fleet.js';
import { containerCpuUs, containerPidCounter } from './cgroup-cpu.js';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args[at + 1]! : def;
};
const IMAGE = opt('--image', 'debian12');
const REPEAT = Number(opt('--repeat', '7'));

interface Sample {
  cpuUs: number;
  procs: number;
}

/** Measures one host's CPU and processes around each command of a connection. */
class Meter {
  readonly pids: () => number | undefined;
  constructor(readonly id: string) {
    this.pids = containerPidCounter(id);
  }

  async around(fn: () => Promise<unknown>): Promise<Sample> {
    const p0 = this.pids() ?? 0;
    const c0 = containerCpuUs(this.id) ?? 0;
    await fn();
    const c1 = containerCpuUs(this.id) ?? 0;
    const p1 = this.pids() ?? 0;
    // nsenter's own `cat` took one PID
    return { cpuUs: c1 - c0, procs: p1 - p0 - 1 };
  }
}

interface Sent {
  label: string;
  sample: Sample;
}

/** What the run sends, measured command by command. */
function metered(c: Connection, meter: Meter, log: Sent[]): Connection {
  return {
    name: c.name,
    kind: c.kind,
    stats: c.stats,
    close: () => c.close(),
    async exec(command: string, options?: ExecOptions) {
      let res: Awaited<ReturnType<Connection['exec']>> | undefined;
      const sample = await meter.around(async () => (res = await c.exec(command, options)));
      log.push({ label: describe(command), sample });
      return res!;
    },
  };
}

/** A command's kind: a batch of N fact reads (with the host facts), or the first words of a change. */
function describe(command: string): string {
  const reads = new Set(command.match(/__PF_[0-9a-f]+_(\d+|h)'/g) ?? []).size;
  if (reads > 0) return `batch of ${reads} reads${command.includes("_h'") ? ' (with host facts)' : ''}${command.includes('_after') ? ' after a change' : ''}`;
  return command.replace(/\s+/g, ' ').slice(0, 60);
}

/** Every fact read the run's batches asked for, by command text. */
const reads = new Map<string, FactRead>();
const proto = HostSession.prototype as unknown as { script(list: readonly FactRead[], gather: boolean): unknown };
const script = proto.script;
proto.script = function (this: HostSession, list: readonly FactRead[], gather: boolean) {
  for (const r of list) reads.set(r.request.command, r);
  return script.call(this, list, gather);
};

const ms = (us: number): string => (us / 1000).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const fleet = await startFleet({ count: 1, image: IMAGE });
try {
  const host = fleet.hosts[0]!;
  const meter = new Meter(host.container.getId());
  const core = join(root, 'bench/provision/core.yaml');
  const harden = join(root, 'playbooks/harden.yaml');
  const inventory = join(fleet.dir, 'inventory-admin.yaml');
  await fleet.writeInventory(inventory, { user: 'admin' });
  const phases: [string, string, boolean][] = [
    ['core audit (fresh host)', core, true],
    ['core first apply', core, false],
    ['core re-apply', core, false],
    ['core audit (converged)', core, true],
    ['harden audit', harden, true],
  ];
  console.log(`one ${IMAGE} host, as admin with sudo; host CPU ms and processes started, per command`);
  for (const [name, playbook, check] of phases) {
    const log: Sent[] = [];
    let s: RunSummary | undefined;
    const total = await meter.around(async () => {
      s = await run({ inventory: loadInventories([inventory]), playbook: loadPlaybooks([playbook]), registry, check, connect: async (spec, extra) => metered(await connectHost(spec, extra), meter, log) });
    });
    const failed = s!.results.filter((r) => r.status === 'failed' && !r.ignored).length;
    console.log(`\n${name}: ${s!.results.length} results, ${failed} failed; ${ms(total.cpuUs)} ms, ${total.procs} processes (whole run, connect and close included)`);
    for (const e of log) console.log(`  ${ms(e.sample.cpuUs).padStart(8)} ms ${String(e.sample.procs).padStart(5)} proc  ${e.label}`);
  }

  // each fact alone, as root, in the long-lived shell
  const rootInv = join(fleet.dir, 'inventory-root.yaml');
  await fleet.writeInventory(rootInv, { user: 'root' });
  const spec = [...loadInventories([rootInv]).hosts.values()][0]!;
  const conn = await connectHost(spec);
  try {
    const measure = async (command: string): Promise<Sample> => {
      const samples: Sample[] = [];
      for (let i = 0; i < REPEAT; i++) samples.push(await meter.around(() => conn.exec(`( ${command}\n) </dev/null`)));
      return { cpuUs: median(samples.map((x) => x.cpuUs)), procs: median(samples.map((x) => x.procs)) };
    };
    await conn.exec(':');
    const base = await measure(':');
    console.log(`\nper fact, alone, as root, median of ${REPEAT}, minus an empty command (${ms(base.cpuUs)} ms, ${base.procs} proc)`);
    const rows: [number, string][] = [];
    let sum = 0;
    for (const r of reads.values()) {
      const m = await measure(r.request.command);
      const cpu = m.cpuUs - base.cpuUs;
      sum += cpu;
      const key = r.request.id.length > 70 ? `${r.request.id.slice(0, 67)}...` : r.request.id;
      rows.push([cpu, `  ${ms(cpu).padStart(8)} ms ${String(m.procs - base.procs).padStart(4)} proc  ${key}`]);
    }
    for (const [, line] of rows.sort((a, b) => b[0] - a[0])) console.log(line);
    console.log(`  ${ms(sum).padStart(8)} ms in all, ${reads.size} facts`);
  } finally {
    await conn.close();
  }
} finally {
  await fleet.stop();
}
