/**
 * Side-by-side benchmark: provision vs ansible-playbook vs pyinfra on the same kind of
 * hosts (a testcontainers fleet of sshd containers), for a workload: `harden` (the
 * hardening playbook) and/or `core` (eight everyday tasks: bench/provision/core.yaml).
 *
 *   npm run bench -- [--hosts 10,50] [--runs 3] [--workload harden,core] [--image debian12]
 *                    [--delay 25] [--mem-hosts 100] [--no-ansible] [--no-pyinfra] [--no-wan]
 *                    [--empty-apt-lists] [--phases reapply,check,drifted]
 *
 * Per host count N and workload, one fresh fleet of N hosts per tool: provision works
 * on one, Ansible and pyinfra on the others (a first apply can only be first once per
 * host; afterwards each tool re-applies and audits what it converged itself).
 *   (b) first apply on fresh hosts (once per tool: it needs fresh hosts),
 *   (c) no-change re-apply, (a) check-mode audit of the converged hosts, (d) the same
 *   audit after bench/drift.sh changed the hosts behind the tools' backs: median of --runs.
 *   --phases names which of (c), (a), (d) run after (b); all three by default.
 * After the first apply, bench/state-hash.sh (run in every container) shows whether the
 * tools left the same end state; after the drifted audits, that the audits changed nothing.
 * provision runs as its built CLI (node dist/cli/launcher.cjs; run `npm run build`
 * first), timed as a process like ansible-playbook; its peak RSS is its VmHWM at
 * exit (bench/maxrss.cjs preloaded).
 * WAN: the check-mode audit again through one latency proxy per host (+delay ms
 * each way), with round trips per host per task from provision's own count and
 * from the proxy (the ground truth). Memory: --mem-hosts inventory entries
 * pointing at the largest fleet's containers (two SSH connections per container).
 * Ansible: ansible-core from the distribution (apt-get install -y ansible-core),
 * forks = N, pipelining, ControlPersist (its defaults), host keys checked against
 * the fleet's known_hosts; playbook bench/ansible/harden.yml (see its header for
 * what is not equivalent) or bench/ansible/core.yml.
 * pyinfra: used when `pyinfra` (3.x) is on PATH or PYINFRA_BIN names it, else the column
 * is skipped with the reason; --parallel N, sudo, host keys checked; deploy
 * bench/pyinfra/deploy.py (see harden.py's header for what is not equivalent); the
 * audit is `--dry`.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet, type Fleet } from '../test/integration/fleet.js';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';
import { renderPyinfraInventory } from './pyinfra/inventory.js';
import { CLI, runProvision, runTimed, type Timed, type TimedProvision } from './timed.js';
import { args, flag, median, opt } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOSTS = opt('--hosts', '10,50').split(',').map(Number);
const RUNS = Number(opt('--runs', '3'));
const IMAGE = opt('--image', 'debian12');
const DELAY = Number(opt('--delay', '25'));
const MEM_HOSTS = Number(opt('--mem-hosts', '100'));
type WorkloadName = 'harden' | 'core';
interface Workload {
  name: WorkloadName;
  /** provision playbook, Ansible playbook (absolute paths). */
  playbook: string;
  ansiblePlaybook: string;
}
const WORKLOADS: Record<WorkloadName, Workload> = {
  harden: {
    name: 'harden',
    playbook: resolve(root, opt('--playbook', 'playbooks/harden.yaml')),
    ansiblePlaybook: resolve(root, opt('--ansible-playbook', 'bench/ansible/harden.yml')),
  },
  core: { name: 'core', playbook: resolve(root, 'bench/provision/core.yaml'), ansiblePlaybook: resolve(root, 'bench/ansible/core.yml') },
};
const WORKLOAD_LIST: Workload[] = opt('--workload', 'harden')
  .split(',')
  .map((w) => {
    if (!(w in WORKLOADS)) throw new Error(`--workload ${w}: one of ${Object.keys(WORKLOADS).join(', ')}`);
    return WORKLOADS[w as WorkloadName];
  });
/** The phases after the first apply (which every later phase needs): all three unless --phases names fewer. */
const PHASES = new Set(opt('--phases', 'reapply,check,drifted').split(','));
for (const p of PHASES) if (!['reapply', 'check', 'drifted'].includes(p)) throw new Error(`--phases ${p}: reapply, check or drifted`);
const WITH_ANSIBLE = !flag('--no-ansible');
const WITH_WAN = !flag('--no-wan');
const SEED_APT = !flag('--empty-apt-lists');
const PYINFRA_DIR = join(root, 'bench/pyinfra');
const STATE_HASH = readFileSync(join(root, 'bench/state-hash.sh'), 'utf8');
const DRIFT = readFileSync(join(root, 'bench/drift.sh'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'provision-bench-'));

let seq = 0;
async function provision(playbook: string, inv: string, extra: string, check: boolean, forks: number, label: string, report?: string): Promise<TimedProvision> {
  const argv = ['run', '-i', inv, '-e', `@${extra}`, '-f', String(forks), '-q', '--no-color'];
  if (check) argv.push('--check');
  if (report) argv.push('--report', `json=${report}`);
  argv.push(playbook);
  const r = await runProvision(work, argv, `${label}-${++seq}`);
  // 0: no drift/ok; 3: drift in check mode (expected on an audit of fresh or drifted hosts only)
  if (r.code !== 0 && !(check && r.code === 3)) console.error(`  ! provision ${label} exited ${r.code}; see ${r.log}`);
  return r;
}

async function ansible(playbook: string, dir: string, extra: string, check: boolean, label: string): Promise<Timed> {
  const argv = ['-i', join(dir, 'inventory.ini'), '-e', `@${extra}`, playbook];
  if (check) argv.push('--check');
  const r = await runTimed(work, 'ansible-playbook', argv, { ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' }, `ansible-${label}-${++seq}`);
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

/** pyinfra to run, or why the pyinfra column is skipped. */
function findPyinfra(): { bin: string; version: string } | { skipped: string } {
  if (flag('--no-pyinfra')) return { skipped: '--no-pyinfra' };
  const given = process.env.PYINFRA_BIN;
  // a path is resolved here: pyinfra runs with bench/pyinfra as its working directory
  const bin = given ? (given.includes('/') ? resolve(given) : given) : 'pyinfra';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error) {
    const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message;
    return { skipped: given ? `PYINFRA_BIN=${given}: ${why}` : 'no pyinfra on PATH (install pyinfra 3, or set PYINFRA_BIN to its executable)' };
  }
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  if (r.status !== 0) return { skipped: `${bin} --version exited ${r.status}: ${out}` };
  // `pyinfra: v3.0b0`, `pyinfra: v3.4.1`
  const m = /v?(\d+)\.\S*/.exec(out);
  if (!m || m[1] !== '3') return { skipped: `${bin} is ${out || 'of an unknown version'}; bench/pyinfra/deploy.py is written for pyinfra 3` };
  return { bin, version: m[0] };
}
const PYINFRA = findPyinfra();

async function pyinfra(dir: string, workload: WorkloadName, publicKey: string, dry: boolean, n: number, label: string): Promise<Timed> {
  if (!('bin' in PYINFRA)) throw new Error('pyinfra is not available');
  const argv = [dry ? '--dry' : '-y', '--parallel', String(n), join(dir, 'inventory.py'), 'deploy.py'];
  argv.push('--data', `workload=${workload}`, '--data', `admin_ssh_keys=${JSON.stringify([publicKey])}`);
  // cwd: the deploy's directory, so operations are named `core.py | ...`
  const r = await runTimed(work, PYINFRA.bin, argv, { PYTHONUNBUFFERED: '1' }, `pyinfra-${label}-${++seq}`, PYINFRA_DIR);
  if (r.code !== 0) console.error(`  ! pyinfra ${label} exited ${r.code}; see ${r.log}`);
  return r;
}

function pyinfraSetup(fleet: Fleet): string {
  const dir = mkdtempSync(join(work, 'pyinfra-'));
  writeFileSync(join(dir, 'inventory.py'), renderPyinfraInventory(fleet.hosts, { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  return dir;
}

/** Task results that an audit reported as drift (task x host), read from each tool's output. */
function driftFound(tool: Tool, log: string): number {
  const text = readFileSync(log, 'utf8');
  // -q prints only the recap: "host ok drift failed skipped unreachable", a row per host,
  // or one row for hosts with the same counts ("all 50 hosts 0 8 0 0 no": 8 each)
  if (tool === 'provision') return [...(text.split(/^RECAP.*$/m)[1] ?? '').matchAll(/^ +(?:(?:all )?(\d+) hosts|\S+) +\d+ +(\d+) +\d+ +\d+ +(?:no|yes)\s*$/gm)].reduce((s, m) => s + Number(m[1] ?? 1) * Number(m[2]), 0);
  if (tool === 'ansible') return [...text.matchAll(/\schanged=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  // pyinfra --dry: "Detected changes" table, one row per operation: "k/N (hosts)", or
  // "a-b/N" for operations that only run if an earlier one changed (counted as a)
  const table = text.split('--> Detected changes:')[1]?.split('\n\n')[0] ?? '';
  return [...table.matchAll(/\s(\d+)(?:-\d+)?\/\d+ \(/g)].reduce((s, m) => s + Number(m[1]), 0);
}

type Tool = 'provision' | 'ansible' | 'pyinfra';

/**
 * Every host gets the package lists and apt's binary cache (pkgcache.bin) of ONE `apt-get update`, as a
 * server has whose apt-daily timer refreshes them (the images are built with none). Without
 * this, each tool's first apply measures N apt-get updates from Debian's archive, 84 MB of
 * lists decompressed and indexed per host on 2 cores: the same for every tool, and most of
 * the phase (`--empty-apt-lists` keeps that).
 */
async function seedAptLists(fleets: Fleet[]): Promise<void> {
  const t0 = performance.now();
  const [first, ...rest] = fleets.flatMap((f) => f.hosts.map((h) => h.container.getId()));
  const docker = (argv: string[], input?: Buffer) => {
    const r = spawnSync('docker', argv, { input, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`docker ${argv.slice(0, 2).join(' ')}: ${r.stderr.toString().trim() || `exit ${r.status}`}`);
    return r.stdout;
  };
  // the other hosts get no srcpkgcache.bin: the first one must not keep its own
  docker(['exec', first!, 'sh', '-c', 'apt-get update -qq && rm -f /var/cache/apt/srcpkgcache.bin']);
  const tar = docker(['exec', first!, 'tar', '-C', '/', '-cf', '-', '--exclude=lock', '--exclude=partial', 'var/lib/apt/lists', 'var/cache/apt/pkgcache.bin']);
  for (const id of rest) docker(['cp', '-a', '-', `${id}:/`], tar);
  console.log(`  apt lists of one apt-get update (${(tar.length / 2 ** 20).toFixed(0)} MiB) on ${rest.length + 1} hosts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** bench/state-hash.sh in every container of a fleet: the component lines of each host. */
async function stateOf(fleet: Fleet, workload: WorkloadName): Promise<string[]> {
  return Promise.all(
    fleet.hosts.map(async (h) => {
      const r = await h.container.exec(['sh', '-c', STATE_HASH, 'state-hash', workload, fleet.publicKey]);
      if (r.exitCode !== 0) throw new Error(`state-hash.sh on ${h.name} exited ${r.exitCode}: ${r.output}`);
      return r.stdout.trim();
    }),
  );
}

/** Each tool's end state (the same on all its hosts?), then the components that differ, pair by pair. */
function compareStates(what: string, states: Partial<Record<Tool, string[]>>): string[] {
  const total = (s: string) => /^total (\S+)$/m.exec(s)?.[1] ?? '?';
  const components = (s: string) => new Map(s.split('\n').map((l) => l.split(' ') as [string, string]).filter(([k]) => k !== 'total' && k !== 'dpkg-count'));
  const tools = Object.entries(states) as [Tool, string[]][];
  const lines: string[] = [];
  for (const [tool, hosts] of tools) {
    const totals = [...new Set(hosts.map(total))];
    const count = /^dpkg-count (\d+)$/m.exec(hosts[0] ?? '')?.[1] ?? '?';
    lines.push(`${tool} ${totals.length === 1 ? totals[0] : `DIFFERS between its hosts (${totals.join(', ')})`} (${count} packages installed)`);
  }
  let same = true;
  for (const [i, [a, ha]] of tools.entries()) {
    for (const [b, hb] of tools.slice(i + 1)) {
      const ca = components(ha[0] ?? '');
      const differ = [...components(hb[0] ?? '')].filter(([k, v]) => ca.get(k) !== v).map(([k]) => k);
      if (differ.length) {
        same = false;
        lines.push(`${a} vs ${b}: ${differ.join(', ')} differ`);
      }
    }
  }
  return [`  end state ${what}${tools.length < 2 ? '' : same ? ': the same' : ':'}`, ...lines.map((l) => `    ${l}`)];
}

async function drift(fleets: Fleet[], workload: WorkloadName): Promise<void> {
  await Promise.all(
    fleets.flatMap((f) =>
      f.hosts.map(async (h) => {
        const r = await h.container.exec(['sh', '-c', DRIFT, 'drift', workload]);
        if (r.exitCode !== 0) throw new Error(`drift.sh on ${h.name} exited ${r.exitCode}: ${r.output}`);
      }),
    ),
  );
}

/** Lowest and highest load average seen at the start and end of the timed runs. */
const loadOf = (xs: (Timed | undefined)[]): string => {
  const all = xs.flatMap((x) => x?.load ?? []);
  return all.length ? `${Math.min(...all).toFixed(1)}–${Math.max(...all).toFixed(1)}` : '-';
};

interface Row {
  hosts: number;
  workload: string;
  scenario: string;
  provision: number;
  ansible?: number;
  pyinfra?: number;
  rssMiB: number;
  /** The machine's 1-minute load average over the runs of the row, all tools: lowest and highest. */
  load: string;
}
const rows: Row[] = [];
const notes: string[] = [];

async function timesOf(n: number, f: (i: number) => Promise<Timed>): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
}

async function benchSize(n: number, w: Workload, last: boolean): Promise<void> {
  console.log(`\n== ${n} hosts (${IMAGE}), ${w.name} workload ==`);
  const t0 = performance.now();
  const withPyinfra = 'bin' in PYINFRA;
  const [fleetP, fleetA, fleetY] = await Promise.all([
    startFleet({ count: n, image: IMAGE, namePrefix: 'p' }),
    WITH_ANSIBLE ? startFleet({ count: n, image: IMAGE, namePrefix: 'a' }) : undefined,
    withPyinfra ? startFleet({ count: n, image: IMAGE, namePrefix: 'y' }) : undefined,
  ]);
  const stopAll = () => void Promise.all([fleetP.stop(), fleetA?.stop(), fleetY?.stop()]).finally(() => process.exit(130));
  process.once('SIGINT', stopAll).once('SIGTERM', stopAll);
  console.log(`  fleets up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (SEED_APT) await seedAptLists([fleetP, fleetA, fleetY].filter((f): f is Fleet => f !== undefined));
  try {
    const inv = join(work, `inv-${n}-${w.name}.yaml`);
    await fleetP.writeInventory(inv, { user: 'admin' });
    const extra = join(work, `vars-${n}-${w.name}.json`);
    writeFileSync(extra, JSON.stringify({ admin_ssh_keys: [fleetP.publicKey], upgrade_packages: 'none' }));
    const extraA = join(work, `vars-a-${n}-${w.name}.json`);
    if (fleetA) writeFileSync(extraA, JSON.stringify({ admin_ssh_keys: [fleetA.publicKey] }));
    const adir = fleetA ? ansibleSetup(fleetA, n) : '';
    const ydir = fleetY ? pyinfraSetup(fleetY) : '';

    type Mode = 'apply' | 'check';
    const runP = (mode: Mode, label: string) => provision(w.playbook, inv, extra, mode === 'check', n, `${label}-${n}-${w.name}`);
    const runA = fleetA ? (mode: Mode, label: string) => ansible(w.ansiblePlaybook, adir, extraA, mode === 'check', `${label}-${n}-${w.name}`) : undefined;
    const runY = fleetY ? (mode: Mode, label: string) => pyinfra(ydir, w.name, fleetY.publicKey, mode === 'check', n, `${label}-${n}-${w.name}`) : undefined;
    const times = (tool: Tool, xs: Timed[] | undefined) => (xs ? ` | ${tool} ${xs.map((r) => r.seconds.toFixed(2)).join(' ')}` : '');
    const states = async (): Promise<Partial<Record<Tool, string[]>>> => {
      const [p, a, y] = await Promise.all([stateOf(fleetP, w.name), fleetA && stateOf(fleetA, w.name), fleetY && stateOf(fleetY, w.name)]);
      return { provision: p, ...(a ? { ansible: a } : {}), ...(y ? { pyinfra: y } : {}) };
    };

    const fp = await runP('apply', 'first');
    const fa = runA ? await runA('apply', 'first') : undefined;
    const fy = runY ? await runY('apply', 'first') : undefined;
    const firstLoad = loadOf([fp, fa, fy]);
    console.log(`  first apply: provision ${fp.seconds.toFixed(2)} s${fa ? `, ansible ${fa.seconds.toFixed(2)} s` : ''}${fy ? `, pyinfra ${fy.seconds.toFixed(2)} s` : ''} (load ${firstLoad})`);
    rows.push({ hosts: n, workload: w.name, scenario: 'first apply (fresh hosts)', provision: fp.seconds, ...(fa ? { ansible: fa.seconds } : {}), ...(fy ? { pyinfra: fy.seconds } : {}), rssMiB: (fp.rssKiB ?? 0) / 1024, load: firstLoad });
    for (const l of compareStates('after the first apply', await states())) console.log(l);

    const phase = async (scenario: string, mode: Mode, label: string): Promise<[Timed[], Timed[], Timed[]]> => {
      const ps = await timesOf(RUNS, () => runP(mode, label));
      const as = runA ? await timesOf(RUNS, () => runA(mode, label)) : undefined;
      const ys = runY ? await timesOf(RUNS, () => runY(mode, label)) : undefined;
      const load = loadOf([...ps, ...(as ?? []), ...(ys ?? [])]);
      console.log(`  ${scenario}: provision ${ps.map((r) => r.seconds.toFixed(2)).join(' ')}${times('ansible', as)}${times('pyinfra', ys)} (load ${load})`);
      rows.push({
        hosts: n,
        workload: w.name,
        scenario,
        provision: median(ps.map((r) => r.seconds)),
        ...(as ? { ansible: median(as.map((r) => r.seconds)) } : {}),
        ...(ys ? { pyinfra: median(ys.map((r) => r.seconds)) } : {}),
        rssMiB: Math.max(...ps.map((r) => r.rssKiB ?? 0)) / 1024,
        load,
      });
      return [ps, as ?? [], ys ?? []];
    };
    if (PHASES.has('reapply')) await phase('no-change re-apply', 'apply', 'reapply');
    if (PHASES.has('check')) await phase('check-mode audit (converged)', 'check', 'check');
    if (!PHASES.has('drifted')) return;

    await drift([fleetP, fleetA, fleetY].filter((f): f is Fleet => f !== undefined), w.name);
    const drifted = await states();
    for (const l of compareStates('after drift.sh', drifted)) console.log(l);
    const [ps, as, ys] = await phase('check-mode audit (drifted)', 'check', 'drifted');
    const found = [`provision ${driftFound('provision', ps[0]!.log)}`];
    if (as.length) found.push(`ansible ${driftFound('ansible', as[0]!.log)}`);
    if (ys.length) found.push(`pyinfra ${driftFound('pyinfra', ys[0]!.log)}`);
    console.log(`  drift reported (task results, ${n} hosts): ${found.join(', ')}`);
    const after = await states();
    const unchanged = (Object.keys(drifted) as Tool[]).filter((t) => JSON.stringify(drifted[t]) === JSON.stringify(after[t]));
    const changed = (Object.keys(drifted) as Tool[]).filter((t) => !unchanged.includes(t));
    console.log(`  the drifted audits changed nothing: ${unchanged.join(', ') || '-'}${changed.length ? `; CHANGED the hosts: ${changed.join(', ')}` : ''}`);

    if (WITH_WAN && last) await wan(fleetP, w.playbook, extra, n, w.name);
    if (last && MEM_HOSTS > 0) await memory(fleetP, w.playbook, extra);
  } finally {
    process.off('SIGINT', stopAll).off('SIGTERM', stopAll);
    await Promise.all([fleetP.stop(), fleetA?.stop(), fleetY?.stop()]);
  }
}

interface Report {
  results: { host: string }[];
  stats: Record<string, { commands: number; roundTrips: number }>;
}

async function wan(fleet: Fleet, playbook: string, extra: string, n: number, workload: string): Promise<void> {
  const proxies: LatencyProxy[] = await Promise.all(fleet.hosts.map((h) => startLatencyProxy({ target: { host: h.host, port: h.port }, delayMs: DELAY })));
  try {
    const inv = join(work, `inv-wan-${n}.yaml`);
    const { writeProxiedInventory } = await import('../test/integration/fleet.js');
    await writeProxiedInventory(fleet, proxies.map((p) => p.port), inv, 'admin');
    const stats: { seconds: number; own: number; proxy: number; tasks: number; commands: number }[] = [];
    const timed: Timed[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const p of proxies) p.reset();
      const report = join(work, `wan-${n}-${i}.json`);
      const r = await provision(playbook, inv, extra, true, n, `wan-${n}`, report);
      timed.push(r);
      const doc = JSON.parse(readFileSync(report, 'utf8')) as Report;
      const own = Object.values(doc.stats).reduce((s, x) => s + x.roundTrips, 0);
      const commands = Object.values(doc.stats).reduce((s, x) => s + x.commands, 0);
      stats.push({ seconds: r.seconds, own, proxy: proxies.reduce((s, p) => s + p.turns(), 0), tasks: doc.results.length, commands });
    }
    const s = stats[stats.length - 1]!;
    const local = rows.find((r) => r.hosts === n && r.workload === workload && r.scenario.startsWith('check'))!.provision;
    const tasksPerHost = s.tasks / n;
    const rtt = (2 * DELAY) / 1000;
    rows.push({ hosts: n, workload, scenario: `check-mode audit (converged), +${DELAY} ms each way`, provision: median(stats.map((x) => x.seconds)), rssMiB: 0, load: loadOf(timed) });
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

async function memory(fleet: Fleet, playbook: string, extra: string): Promise<void> {
  const hosts = Array.from({ length: MEM_HOSTS }, (_, i) => {
    const h = fleet.hosts[i % fleet.hosts.length]!;
    return { name: `m-${i + 1}`, host: h.host, port: h.port };
  });
  const { renderInventory } = await import('../test/integration/fleet.js');
  const inv = join(work, `inv-mem.yaml`);
  writeFileSync(inv, renderInventory(hosts, { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  const inv1 = join(work, `inv-mem1.yaml`);
  writeFileSync(inv1, renderInventory(hosts.slice(0, 1), { user: 'admin', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  const one = await provision(playbook, inv1, extra, true, 1, 'mem-1');
  const many = await provision(playbook, inv, extra, true, MEM_HOSTS, `mem-${MEM_HOSTS}`);
  const perHost = ((many.rssKiB ?? 0) - (one.rssKiB ?? 0)) / 1024 / (MEM_HOSTS - 1);
  const workload = WORKLOAD_LIST.find((w) => w.playbook === playbook)?.name ?? '?';
  rows.push({ hosts: MEM_HOSTS, workload, scenario: `check-mode audit (${fleet.hosts.length} containers)`, provision: many.seconds, rssMiB: (many.rssKiB ?? 0) / 1024, load: loadOf([one, many]) });
  notes.push(
    `memory: peak RSS ${((one.rssKiB ?? 0) / 1024).toFixed(1)} MiB with 1 host, ${((many.rssKiB ?? 0) / 1024).toFixed(1)} MiB with ${MEM_HOSTS} hosts connected at once: ${perHost.toFixed(2)} MiB per additional host (${((many.rssKiB ?? 0) / 1024 / MEM_HOSTS).toFixed(2)} MiB per host all included)`,
    `event loop with ${MEM_HOSTS} hosts: max delay ${many.eld?.maxMs.toFixed(1) ?? '?'} ms, p99 ${many.eld?.p99Ms.toFixed(1) ?? '?'} ms, mean ${many.eld?.meanMs.toFixed(1) ?? '?'} ms`,
  );
}

function table(): string {
  const head = ['hosts', 'workload', 'scenario', 'provision s', 'ansible s', 'pyinfra s', 'ansible/provision', 'pyinfra/provision', 'provision peak RSS MiB', 'RSS/host MiB', 'load (1 min)'];
  const ratio = (x: number | undefined, r: Row) => (x !== undefined ? `${(x / r.provision).toFixed(1)}x` : '-');
  const body = rows.map((r) => [
    String(r.hosts),
    r.workload,
    r.scenario,
    r.provision.toFixed(2),
    r.ansible !== undefined ? r.ansible.toFixed(2) : '-',
    r.pyinfra !== undefined ? r.pyinfra.toFixed(2) : '-',
    ratio(r.ansible, r),
    ratio(r.pyinfra, r),
    r.rssMiB ? r.rssMiB.toFixed(1) : '-',
    r.rssMiB ? (r.rssMiB / r.hosts).toFixed(2) : '-',
    r.load,
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (!existsSync(CLI)) throw new Error('dist/cli/launcher.cjs missing: run npm run build first');
  if (WITH_ANSIBLE) ensureAnsible();
  const pyinfraNote = 'bin' in PYINFRA ? `pyinfra ${PYINFRA.version} (${PYINFRA.bin})` : `pyinfra column skipped: ${PYINFRA.skipped}`;
  console.log(`bench: hosts ${HOSTS.join(',')}, workloads ${WORKLOAD_LIST.map((w) => w.name).join(',')}, ${RUNS} runs, image ${IMAGE}, logs in ${work}`);
  console.log(pyinfraNote);
  for (const [i, n] of HOSTS.entries()) {
    for (const [j, w] of WORKLOAD_LIST.entries()) await benchSize(n, w, i === HOSTS.length - 1 && j === WORKLOAD_LIST.length - 1);
  }
  const rel = (p: string) => p.replace(root + '/', '');
  const out = [
    table(),
    '',
    ...notes,
    '',
    `median of ${RUNS} runs (first apply: 1 run, it needs fresh hosts); load: the machine's 1-minute load average at the start and end of the row's runs, lowest–highest`,
    ...WORKLOAD_LIST.map((w) => `${w.name}: provision ${rel(w.playbook)}, ansible ${rel(w.ansiblePlaybook)}, pyinfra bench/pyinfra/deploy.py --data workload=${w.name}`),
    pyinfraNote,
  ];
  console.log(`\n${out.join('\n')}`);
  const started = new Date(t0);
  const file = join(root, 'bench/results', `${started.toISOString().slice(0, 10)}.md`);
  const head = `## Side by side: \`npm run bench -- ${args.join(' ')}\` (${started.toISOString().slice(11, 16)}–${new Date().toISOString().slice(11, 16)} UTC, ${cpus().length} cores, commit ${commit()})`;
  appendFileSync(file, `${existsSync(file) ? '\n' : ''}${head}\n\n${out.join('\n')}\n`);
  console.log(`appended to ${rel(file)}`);
}

/** The commit the bench ran on, with `+` when the work tree had changes. */
function commit(): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  return `${rev}${dirty ? '+' : ''}`;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
