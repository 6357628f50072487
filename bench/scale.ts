/**
 * Scale: one process against many hosts, with the default settings (no -f, no
 * handshake tuning), so "connections are never the reason a host is unreachable"
 * is measured, not assumed.
 *
 *   npm run build && npx tsx bench/scale.ts [--hosts 50,100,200,500] [--image debian12] [--runs 1]
 *                                           [--playbook bench/provision/core.yaml]   (npm run bench:scale)
 *
 * Starts the largest fleet once (16 containers at a time), then for each host count N
 * runs the built CLI's check-mode audit of the playbook against the first N hosts as
 * `admin` with sudo, and prints per N: wall time, provision's CPU, peak RSS, the
 * event loop's longest stalls (and when they began), the hosts reached and unreachable (from the JSON
 * report), and the machine's load average. Growth per host is the slope between the
 * smallest and each larger N. A script that prints numbers, not a test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderInventory, startFleet } from '../test/integration/fleet.js';
import { runProvision, type Stall, type TimedProvision } from './timed.js';
import { opt } from './args.js';

const root = resolve(import.meta.dirname, '..');
const COUNTS = opt('--hosts', '50,100,200,500').split(',').map(Number).sort((a, b) => a - b);
const RUNS = Number(opt('--runs', '1'));
const IMAGE = opt('--image', 'debian12');
const PLAYBOOK = resolve(root, opt('--playbook', 'bench/provision/core.yaml'));
const work = mkdtempSync(join(tmpdir(), 'provision-scale-'));

interface Measured extends TimedProvision {
  hosts: number;
  reached: number;
  unreachable: number;
  errors: string[];
  loads: string;
}

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

async function audit(inv: string, n: number, run: number): Promise<Measured> {
  const report = join(work, `report-${n}-${run}.json`);
  const before = load();
  const r = await runProvision(work, ['run', '-i', inv, '--check', '-q', '--no-color', '--report', `json=${report}`, PLAYBOOK], `audit-${n}-${run}`);
  const doc = JSON.parse(readFileSync(report, 'utf8')) as { totals: { hosts: number; unreachable: number }; hosts: { host: string; unreachable: boolean; error?: string }[] };
  const errors = [...new Set(doc.hosts.filter((h) => h.unreachable).map((h) => h.error ?? '?'))];
  return { ...r, hosts: n, reached: doc.totals.hosts - doc.totals.unreachable, unreachable: doc.totals.unreachable, errors, loads: `${before} -> ${load()}` };
}

const median = (xs: Measured[]): Measured => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)]!;
const mib = (kib: number | undefined): number => (kib ?? 0) / 1024;

async function main(): Promise<void> {
  const max = COUNTS[COUNTS.length - 1]!;
  console.log(`scale: ${COUNTS.join(', ')} hosts, ${RUNS} run(s) each, image ${IMAGE}, ${PLAYBOOK}, logs in ${work}`);
  let t0 = performance.now();
  const fleet = await startFleet({ count: max, image: IMAGE, namePrefix: 'h' });
  console.log(`started ${max} containers in ${((performance.now() - t0) / 1000).toFixed(0)} s (load ${load()})`);
  const rows: Measured[] = [];
  try {
    for (const n of COUNTS) {
      const inv = join(work, `inventory-${n}.yaml`);
      writeFileSync(inv, renderInventory(fleet.hosts.slice(0, n), { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
      const runs: Measured[] = [];
      for (let i = 0; i < RUNS; i++) {
        t0 = performance.now();
        const m = await audit(inv, n, i);
        runs.push(m);
        console.log(`  ${n} hosts, run ${i + 1}: ${m.seconds.toFixed(1)} s, exit ${m.code}, ${m.reached} reached, ${m.unreachable} unreachable${m.errors.length ? ` (${m.errors.join('; ')})` : ''}, load ${m.loads}`);
      }
      rows.push(median(runs));
    }
  } finally {
    await fleet.stop();
  }
  const base = rows[0]!;
  console.log('\n| hosts | wall s | provision CPU s | peak RSS MiB | MiB per host over the smallest | longest event-loop stalls, ms (CPU ms) at s after start | reached | unreachable | load (1 min, before -> after) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const slope = r === base ? '-' : ((mib(r.rssKiB) - mib(base.rssKiB)) / (r.hosts - base.hosts)).toFixed(3);
    const stall = (x: Stall) => `${x.ms}${x.cpuMs !== undefined ? ` (CPU ${x.cpuMs})` : ''} at ${(x.atMs / 1000).toFixed(1)} s${x.sockets !== undefined ? `, ${x.socketsBefore ?? '?'}→${x.sockets} sockets` : ''}`;
    const stalls = [
      ...(r.eld?.stalls ?? []).map(stall),
      ...(r.eld?.cpuStalls ? ['most CPU:', ...r.eld.cpuStalls.map(stall)] : []),
      ...(r.eld?.connectedCpuStalls ? ['most CPU with hosts connected:', ...r.eld.connectedCpuStalls.map(stall)] : []),
    ].join(', ');
    console.log(`| ${r.hosts} | ${r.seconds.toFixed(1)} | ${((r.cpuMs ?? 0) / 1000).toFixed(1)} | ${mib(r.rssKiB).toFixed(0)} | ${slope} | ${stalls || '-'} | ${r.reached} | ${r.unreachable} | ${r.loads} |`);
  }
}

await main();
