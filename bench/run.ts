/**
 * Side-by-side benchmark: provision vs ansible-playbook on the same kind of hosts
 * (a testcontainers fleet of sshd containers), for the hardening playbook.
 *
 *   npm run bench -- [--hosts 10,50] [--runs 3] [--image debian12] [--delay 25]
 *                    [--mem-hosts 100] [--no-ansible] [--no-wan]
 *
 * Per host count N, two fresh fleets of N hosts: provision works on one, Ansible on
 * the other (a first apply can only be first once per host; afterwards each tool
 * re-applies and audits what it hardened itself).
 *   (b) first apply on fresh hosts (once per tool: it needs fresh hosts),
 *   (c) no-change re-apply, (a) check-mode audit of the hardened hosts: median of --runs.
 * provision runs as its built CLI (node dist/cli/main.js; run `npm run build`
 * first), timed as a process like ansible-playbook; its peak RSS is read with
 * process.resourceUsage() at exit (bench/maxrss.cjs preloaded).
 * WAN: the check-mode audit again through one latency proxy per host (+delay ms
 * each way), with round trips per host per task from provision's own count and
 * from the proxy (the ground truth). Memory: --mem-hosts inventory entries
 * pointing at the largest fleet's containers (two SSH connections per container).
 * Ansible: ansible-core from the distribution (apt-get install -y ansible-core),
 * forks = N, pipelining, ControlPersist (its defaults), host keys checked against
 * the fleet's known_hosts; playbook bench/ansible/harden.yml (see its header for
 * what is not equivalent).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet, type Fleet } from '../test/integration/fleet.js';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const flag = (name: string): boolean => args.includes(name);
const HOSTS = opt('--hosts', '10,50').split(',').map(Number);
const RUNS = Number(opt('--runs', '3'));
const IMAGE = opt('--image', 'debian12');
const DELAY = Number(opt('--delay', '25'));
const MEM_HOSTS = Number(opt('--mem-hosts', '100'));
const PLAYBOOK = resolve(root, opt('--playbook', 'playbooks/harden.yaml'));
const ANSIBLE_PLAYBOOK = resolve(root, opt('--ansible-playbook', 'bench/ansible/harden.yml'));
const WITH_ANSIBLE = !flag('--no-ansible');
const WITH_WAN = !flag('--no-wan');
const CLI = join(root, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'provision-bench-'));

interface Timed {
  seconds: number;
  code: number | null;
  rssKiB?: number;
  log: string;
}

function runTimed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, label: string): Promise<Timed> {
  const log = join(work, `${label}.log`);
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      writeFileSync(log, Buffer.concat(out));
      res({ seconds, code, log });
    });
  });
}

let seq = 0;
async function provision(inv: string, extra: string, check: boolean, forks: number, label: string, report?: string): Promise<Timed & { eld?: { maxMs: number; p99Ms: number; meanMs: number } }> {
  const rss = join(work, `rss-${++seq}`);
  const eld = join(work, `eld-${seq}.json`);
  const argv = ['-r', join(root, 'bench/maxrss.cjs'), CLI, 'run', '-i', inv, '-e', `@${extra}`, '-f', String(forks), '-q', '--no-color'];
  if (check) argv.push('--check');
  if (report) argv.push('--report', `json=${report}`);
  argv.push(PLAYBOOK);
  const r: Timed & { eld?: { maxMs: number; p99Ms: number; meanMs: number } } = await runTimed(process.execPath, argv, { PROVISION_BENCH_RSS: rss, PROVISION_BENCH_ELD: eld }, `${label}-${seq}`);
  if (existsSync(rss)) r.rssKiB = Number(readFileSync(rss, 'utf8'));
  if (existsSync(eld)) r.eld = JSON.parse(readFileSync(eld, 'utf8')) as NonNullable<typeof r.eld>;
  // 0: no drift/ok; 3: drift in check mode (expected on an audit of fresh hosts only)
  if (r.code !== 0 && !(check && r.code === 3)) console.error(`  ! provision ${label} exited ${r.code}; see ${r.log}`);
  return r;
}

async function ansible(dir: string, extra: string, check: boolean, label: string): Promise<Timed> {
  const argv = ['-i', join(dir, 'inventory.ini'), '-e', `@${extra}`, ANSIBLE_PLAYBOOK];
  if (check) argv.push('--check');
  const r = await runTimed('ansible-playbook', argv, { ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' }, `ansible-${label}-${++seq}`);
  if (r.code !== 0) console.error(`  ! ansible-playbook ${label} exited ${r.code}; see ${r.log}`);
  return r;
}

function ansibleSetup(fleet: Fleet, n: number): string {
  const dir = mkdtempSync(join(work, 'ansible-'));
  const lines = ['[all]'];
  for (const h of fleet.hosts) {
    lines.push(`${h.name} ansible_host=${h.host} ansible_port=${h.port} ansible_user=admin ansible_ssh_private_key_file=${fleet.identityFile}`);
  }
  writeFileSync(join(dir, 'inventory.ini'), lines.join('\n') + '\n');
  writeFileSync(
    join(dir, 'ansible.cfg'),
    `[defaults]
forks = ${n}
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
timeout = 30

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${fleet.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
control_path_dir = ${dir}/cp
`,
  );
  return dir;
}

function ensureAnsible(): void {
  if (spawnSync('ansible-playbook', ['--version']).status === 0) return;
  console.log('ansible-playbook missing: apt-get install -y ansible-core');
  const opts = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  spawnSync('apt-get', ['update'], opts);
  if (spawnSync('apt-get', ['install', '-y', 'ansible-core'], opts).status !== 0) throw new Error('cannot install ansible-core');
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  hosts: number;
  scenario: string;
  provision: number;
  ansible?: number;
  rssMiB: number;
}
const rows: Row[] = [];
const notes: string[] = [];

async function timesOf(n: number, f: (i: number) => Promise<Timed>): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
}

async function benchSize(n: number, last: boolean): Promise<void> {
  console.log(`\n== ${n} hosts (${IMAGE}) ==`);
  const t0 = performance.now();
  const [fleetP, fleetA] = await Promise.all([startFleet({ count: n, image: IMAGE, namePrefix: 'p' }), WITH_ANSIBLE ? startFleet({ count: n, image: IMAGE, namePrefix: 'a' }) : undefined]);
  const stopAll = () => void Promise.all([fleetP.stop(), fleetA?.stop()]).finally(() => process.exit(130));
  process.once('SIGINT', stopAll).once('SIGTERM', stopAll);
  console.log(`  fleets up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    const inv = join(work, `inv-${n}.yaml`);
    await fleetP.writeInventory(inv, { user: 'admin' });
    const extra = join(work, `vars-${n}.json`);
    writeFileSync(extra, JSON.stringify({ admin_ssh_keys: [fleetP.publicKey], upgrade_packages: 'none' }));
    const extraA = join(work, `vars-a-${n}.json`);
    if (fleetA) writeFileSync(extraA, JSON.stringify({ admin_ssh_keys: [fleetA.publicKey] }));
    const adir = fleetA ? ansibleSetup(fleetA, n) : '';

    const fp = await provision(inv, extra, false, n, `first-${n}`);
    const fa = fleetA ? await ansible(adir, extraA, false, `first-${n}`) : undefined;
    console.log(`  first apply: provision ${fp.seconds.toFixed(2)} s${fa ? `, ansible ${fa.seconds.toFixed(2)} s` : ''}`);
    rows.push({ hosts: n, scenario: 'first apply (fresh hosts)', provision: fp.seconds, ...(fa ? { ansible: fa.seconds } : {}), rssMiB: (fp.rssKiB ?? 0) / 1024 });

    for (const [scenario, check] of [['no-change re-apply', false], ['check-mode audit (hardened)', true]] as const) {
      const ps = await timesOf(RUNS, () => provision(inv, extra, check, n, `${check ? 'check' : 'reapply'}-${n}`));
      const as = fleetA ? await timesOf(RUNS, () => ansible(adir, extraA, check, `${check ? 'check' : 'reapply'}-${n}`)) : undefined;
      const p = median(ps.map((r) => r.seconds));
      const a = as ? median(as.map((r) => r.seconds)) : undefined;
      console.log(`  ${scenario}: provision ${ps.map((r) => r.seconds.toFixed(2)).join(' ')}${as ? ` | ansible ${as.map((r) => r.seconds.toFixed(2)).join(' ')}` : ''}`);
      rows.push({ hosts: n, scenario, provision: p, ...(a !== undefined ? { ansible: a } : {}), rssMiB: Math.max(...ps.map((r) => r.rssKiB ?? 0)) / 1024 });
    }

    if (WITH_WAN && last) await wan(fleetP, extra, n);
    if (last && MEM_HOSTS > 0) await memory(fleetP, extra);
  } finally {
    process.off('SIGINT', stopAll).off('SIGTERM', stopAll);
    await Promise.all([fleetP.stop(), fleetA?.stop()]);
  }
}

interface Report {
  results: { host: string }[];
  stats: Record<string, { commands: number; roundTrips: number }>;
}

async function wan(fleet: Fleet, extra: string, n: number): Promise<void> {
  const proxies: LatencyProxy[] = await Promise.all(fleet.hosts.map((h) => startLatencyProxy({ target: { host: h.host, port: h.port }, delayMs: DELAY })));
  try {
    const kh = readFileSync(fleet.knownHostsFile, 'utf8');
    const khLines: string[] = [];
    const hosts = fleet.hosts.map((h, i) => {
      const line = kh.split('\n').find((l) => l.startsWith(`[127.0.0.1]:${h.port} `))!;
      khLines.push(line.replace(`[127.0.0.1]:${h.port} `, `[127.0.0.1]:${proxies[i]!.port} `));
      return { name: h.name, host: '127.0.0.1', port: proxies[i]!.port };
    });
    const khFile = join(work, `known_hosts_wan_${n}`);
    writeFileSync(khFile, khLines.join('\n') + '\n');
    const inv = join(work, `inv-wan-${n}.yaml`);
    const { renderInventory } = await import('../test/integration/fleet.js');
    writeFileSync(inv, renderInventory(hosts, { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: khFile }));
    const stats: { seconds: number; own: number; proxy: number; tasks: number; commands: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const p of proxies) p.reset();
      const report = join(work, `wan-${n}-${i}.json`);
      const r = await provision(inv, extra, true, n, `wan-${n}`, report);
      const doc = JSON.parse(readFileSync(report, 'utf8')) as Report;
      const own = Object.values(doc.stats).reduce((s, x) => s + x.roundTrips, 0);
      const commands = Object.values(doc.stats).reduce((s, x) => s + x.commands, 0);
      stats.push({ seconds: r.seconds, own, proxy: proxies.reduce((s, p) => s + p.turns(), 0), tasks: doc.results.length, commands });
    }
    const s = stats[stats.length - 1]!;
    const local = rows.find((r) => r.hosts === n && r.scenario.startsWith('check'))!.provision;
    const tasksPerHost = s.tasks / n;
    const rtt = (2 * DELAY) / 1000;
    rows.push({ hosts: n, scenario: `check-mode audit, +${DELAY} ms each way`, provision: median(stats.map((x) => x.seconds)), rssMiB: 0 });
    notes.push(
      `WAN (+${DELAY} ms each way, RTT ${2 * DELAY} ms), check-mode audit of ${n} hosts, ${tasksPerHost} task results per host, ${s.commands / n} commands per host:`,
      `  round trips per host: provision's count ${(s.own / n).toFixed(1)}, proxy (ground truth) ${(s.proxy / n).toFixed(1)}`,
      `  per host per task, all included (connect, auth, fact gathering): ${(s.own / n / tasksPerHost).toFixed(2)} (proxy ${(s.proxy / n / tasksPerHost).toFixed(2)})`,
      `  time cost: ${median(stats.map((x) => x.seconds)).toFixed(2)} s vs ${local.toFixed(2)} s without latency = ${((median(stats.map((x) => x.seconds)) - local) / rtt).toFixed(1)} RTTs on the critical path`,
    );
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}

async function memory(fleet: Fleet, extra: string): Promise<void> {
  const hosts = Array.from({ length: MEM_HOSTS }, (_, i) => {
    const h = fleet.hosts[i % fleet.hosts.length]!;
    return { name: `m-${i + 1}`, host: h.host, port: h.port };
  });
  const { renderInventory } = await import('../test/integration/fleet.js');
  const inv = join(work, `inv-mem.yaml`);
  writeFileSync(inv, renderInventory(hosts, { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  const inv1 = join(work, `inv-mem1.yaml`);
  writeFileSync(inv1, renderInventory(hosts.slice(0, 1), { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  const one = await provision(inv1, extra, true, 1, 'mem-1');
  const many = await provision(inv, extra, true, MEM_HOSTS, `mem-${MEM_HOSTS}`);
  const perHost = ((many.rssKiB ?? 0) - (one.rssKiB ?? 0)) / 1024 / (MEM_HOSTS - 1);
  rows.push({ hosts: MEM_HOSTS, scenario: `check-mode audit (${fleet.hosts.length} containers)`, provision: many.seconds, rssMiB: (many.rssKiB ?? 0) / 1024 });
  notes.push(
    `memory: peak RSS ${((one.rssKiB ?? 0) / 1024).toFixed(1)} MiB with 1 host, ${((many.rssKiB ?? 0) / 1024).toFixed(1)} MiB with ${MEM_HOSTS} hosts connected at once: ${perHost.toFixed(2)} MiB per additional host (${((many.rssKiB ?? 0) / 1024 / MEM_HOSTS).toFixed(2)} MiB per host all included)`,
    `event loop with ${MEM_HOSTS} hosts: max delay ${many.eld?.maxMs.toFixed(1) ?? '?'} ms, p99 ${many.eld?.p99Ms.toFixed(1) ?? '?'} ms, mean ${many.eld?.meanMs.toFixed(1) ?? '?'} ms`,
  );
}

function table(): string {
  const head = ['hosts', 'scenario', 'provision s', 'ansible s', 'ansible/provision', 'provision peak RSS MiB', 'RSS/host MiB'];
  const body = rows.map((r) => [
    String(r.hosts),
    r.scenario,
    r.provision.toFixed(2),
    r.ansible !== undefined ? r.ansible.toFixed(2) : '-',
    r.ansible !== undefined ? `${(r.ansible / r.provision).toFixed(1)}x` : '-',
    r.rssMiB ? r.rssMiB.toFixed(1) : '-',
    r.rssMiB ? (r.rssMiB / r.hosts).toFixed(2) : '-',
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js missing: run npm run build first');
  if (WITH_ANSIBLE) ensureAnsible();
  console.log(`bench: hosts ${HOSTS.join(',')}, ${RUNS} runs, image ${IMAGE}, logs in ${work}`);
  for (const [i, n] of HOSTS.entries()) await benchSize(n, i === HOSTS.length - 1);
  console.log(`\n${table()}\n`);
  for (const n of notes) console.log(n);
  console.log(`\nmedian of ${RUNS} runs (first apply: 1 run, it needs fresh hosts); provision ${PLAYBOOK.replace(root + '/', '')}, ansible ${ANSIBLE_PLAYBOOK.replace(root + '/', '')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
