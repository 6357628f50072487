/**
 * Ad-hoc command benchmark (not a test): `provision exec` vs `ansible -m shell`
 * on the same N fleet hosts, the same command, each tool as a user types it.
 *
 *   npm run build && npm run bench:exec -- [--hosts 10] [--runs 5] [--image debian12] [--command uptime]
 *
 * One fleet of N sshd containers (test/integration/fleet.ts; images from
 * `bash docker/build.sh`), both tools logging in as `admin` with the fleet's
 * key, host keys checked against the fleet's known_hosts, forks = N. Every run
 * is a cold start, as a person running a command gets: a new process, new SSH
 * connections (Ansible: a fresh ControlPath directory per run, so no master
 * connection of an earlier run is reused; pipelining on). Median of --runs,
 * after one warm-up run of each (disk caches, sshd's first fork). Both tools'
 * outputs are checked: every host must report exit 0.
 * Ansible: ansible-core from Debian (apt-get install -y ansible-core).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet, type Fleet } from '../test/integration/fleet.js';
import { median, opt } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOSTS = Number(opt('--hosts', '10'));
const RUNS = Number(opt('--runs', '5'));
const IMAGE = opt('--image', 'debian12');
const COMMAND = opt('--command', 'uptime');
const CLI = join(root, 'dist/cli/launcher.cjs');
const work = mkdtempSync(join(tmpdir(), 'provision-bench-exec-'));

interface Timed {
  seconds: number;
  code: number | null;
  out: string;
}

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', rej);
    child.on('close', (code) => res({ seconds: (performance.now() - t0) / 1000, code, out: Buffer.concat(out).toString() }));
  });
}

let seq = 0;

async function provisionExec(inv: string): Promise<Timed> {
  const report = join(work, `provision-${++seq}.json`);
  const r = await timed(process.execPath, [CLI, 'exec', '-i', inv, 'all', '-f', String(HOSTS), '--no-color', '--report', `json=${report}`, '--', COMMAND]);
  const results = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { results: { rc: number }[] }).results : [];
  const ok = results.filter((x) => x.rc === 0).length;
  if (r.code !== 0 || ok !== HOSTS) throw new Error(`provision exec: exit ${r.code}, ${ok}/${HOSTS} hosts exit 0:\n${r.out}`);
  return r;
}

function ansibleSetup(fleet: Fleet): string {
  const dir = mkdtempSync(join(work, 'ansible-'));
  const lines = ['[all]', ...fleet.hosts.map((h) => `${h.name} ansible_host=${h.host} ansible_port=${h.port} ansible_user=admin ansible_ssh_private_key_file=${fleet.identityFile}`)];
  writeFileSync(join(dir, 'inventory.ini'), `${lines.join('\n')}\n`);
  return dir;
}

async function ansibleShell(dir: string): Promise<Timed> {
  // a fresh ControlPath directory: no master connection from an earlier run
  const cp = join(dir, `cp-${++seq}`);
  mkdirSync(cp);
  const cfg = join(dir, `ansible-${seq}.cfg`);
  writeFileSync(
    cfg,
    `[defaults]
forks = ${HOSTS}
host_key_checking = True
interpreter_python = /usr/bin/python3
timeout = 30

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${fleetKnownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
control_path_dir = ${cp}
`,
  );
  const r = await timed('ansible', ['all', '-i', join(dir, 'inventory.ini'), '-m', 'shell', '-a', COMMAND], { ANSIBLE_CONFIG: cfg, ANSIBLE_NOCOLOR: '1' });
  const ok = (r.out.match(/\| CHANGED \| rc=0 >>/g) ?? []).length;
  if (r.code !== 0 || ok !== HOSTS) throw new Error(`ansible: exit ${r.code}, ${ok}/${HOSTS} hosts rc=0:\n${r.out}`);
  // close the master connections this run left, so they do not serve the next one
  spawnSync('sh', ['-c', `for s in ${cp}/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; true`]);
  return r;
}

let fleetKnownHosts = '';

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  if (spawnSync('ansible', ['--version']).status !== 0) throw new Error('ansible is missing: apt-get install -y ansible-core');
  console.log(`starting ${HOSTS} ${IMAGE} hosts…`);
  const fleet = await startFleet({ count: HOSTS, image: IMAGE });
  try {
    fleetKnownHosts = fleet.knownHostsFile;
    const inv = join(work, 'inventory.yaml');
    await fleet.writeInventory(inv, { user: 'admin' });
    const adir = ansibleSetup(fleet);
    // warm-up: one of each, not timed
    await provisionExec(inv);
    await ansibleShell(adir);
    const p: number[] = [];
    const a: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // alternate, so a busy moment of the machine hits both
      p.push((await provisionExec(inv)).seconds);
      a.push((await ansibleShell(adir)).seconds);
      console.log(`  run ${i + 1}: provision exec ${p[i]!.toFixed(2)} s, ansible -m shell ${a[i]!.toFixed(2)} s`);
    }
    const mp = median(p);
    const ma = median(a);
    console.log(`\n${HOSTS} hosts, command ${JSON.stringify(COMMAND)}, median of ${RUNS} cold runs:`);
    console.log(`  provision exec     ${mp.toFixed(2)} s`);
    console.log(`  ansible -m shell   ${ma.toFixed(2)} s`);
    console.log(`  ratio (ansible / provision): ${(ma / mp).toFixed(1)}x`);
  } finally {
    await fleet.stop();
  }
}

await main();
