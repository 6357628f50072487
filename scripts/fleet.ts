/**
 * Manual test fleet: start sshd hosts in Docker and write an inventory for them.
 *
 *   npm run fleet -- up 3 [--image debian12] [--out .fleet/inventory.yaml] [--user root]
 *   npm run fleet -- status
 *   npm run fleet -- down [--all]
 *
 * Containers outlive this script (no Ryuk); they carry the label provision-fleet=1.
 * `up` replaces the containers of the previous `up`; `down` removes them. `down --all`
 * removes every container with the label: also the fleets of a test run or a
 * benchmark, running or left behind by one that was killed (plain `down` did that, and
 * removed a running benchmark's 150 hosts). Key, known_hosts and inventory live in .fleet/.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FLEET_LABEL, selectedImages, startFleet } from '../test/integration/fleet.js';

const execFileP = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(root, '.fleet');

function usage(code = 1): never {
  console.error(`usage:
  npm run fleet -- up N [--image debian12] [--out .fleet/inventory.yaml] [--user root]
  npm run fleet -- status
  npm run fleet -- down [--all]   (--all: also the fleets of tests and benchmarks, running or not)`);
  process.exit(code);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) usage();
  args.splice(i, 2);
  return v;
}

/** All fleet containers, or only those `up` started (tests' fleets carry provision-fleet.owner=test). */
async function fleetContainerIds(owner?: string): Promise<string[]> {
  const filters = ['--filter', `label=${FLEET_LABEL}=1`];
  if (owner) filters.push('--filter', `label=provision-fleet.owner=${owner}`);
  const { stdout } = await execFileP('docker', ['ps', '-aq', ...filters]);
  return stdout.split('\n').filter(Boolean);
}

async function down(args: string[]): Promise<void> {
  const all = args.includes('--all');
  if (args.some((a) => a !== '--all')) usage();
  const ids = await fleetContainerIds(all ? undefined : 'script');
  if (ids.length) await execFileP('docker', ['rm', '-f', '-v', ...ids]);
  console.log(`removed ${ids.length} fleet container(s)${all ? '' : ' started by `up` (`down --all`: every fleet container)'}`);
}

async function status(): Promise<void> {
  const { stdout } = await execFileP('docker', [
    'ps', '-a', '--filter', `label=${FLEET_LABEL}=1`,
    '--format', '{{.Label "provision-fleet.host"}}\t{{.Label "provision-fleet.owner"}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}',
  ]);
  console.log(stdout.trim() || 'no fleet containers');
}

function build(image: string): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn('bash', [join(root, 'docker/build.sh')], {
      stdio: 'inherit',
      env: { ...process.env, PROVISION_TEST_IMAGES: image },
    });
    p.on('error', rej);
    p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`docker/build.sh exited ${code}`))));
  });
}

async function up(args: string[]): Promise<void> {
  const image = option(args, '--image') ?? (process.env.PROVISION_TEST_IMAGES ? selectedImages()[0] : undefined) ?? 'debian12';
  const out = resolve(option(args, '--out') ?? join(stateDir, 'inventory.yaml'));
  const user = option(args, '--user') ?? 'root';
  const count = Number(args[0] ?? '1');
  if (!Number.isInteger(count) || count < 1 || args.length > 1) usage();

  await build(image);
  // One fleet at a time: its key and known_hosts replace the previous ones in .fleet/.
  const old = await fleetContainerIds('script');
  if (old.length) {
    console.log(`removing ${old.length} container(s) of the previous fleet`);
    await execFileP('docker', ['rm', '-f', '-v', ...old]);
  }
  const keyDir = join(stateDir, 'keys');
  await rm(keyDir, { recursive: true, force: true });
  await mkdir(keyDir, { recursive: true });
  await mkdir(dirname(out), { recursive: true });

  const t0 = performance.now();
  const fleet = await startFleet({ count, image, dir: keyDir, labels: { 'provision-fleet.owner': 'script' } });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const text = await fleet.writeInventory(out, { user });
  const rel = relative(process.cwd(), out) || out;
  const h = fleet.hosts[0]!;

  console.log(`\nstarted ${count} x ${image} in ${secs} s; inventory ${rel}:\n`);
  console.log(text);
  console.log(`run provision against it:
  npx tsx src/cli/main.ts run -i ${rel} <playbook.yaml>      (or, built: npx provision -i ${rel} <playbook.yaml>)

ssh by hand (users: root, admin = sudo without password, secure = sudo password secure-pass):
  ssh -i ${fleet.identityFile} -p ${h.port} -o UserKnownHostsFile=${fleet.knownHostsFile} -o StrictHostKeyChecking=yes root@127.0.0.1

stop them:
  npm run fleet -- down`);
}

async function main(): Promise<void> {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(args);
    case 'down':
      return down(args);
    case 'status':
      return status();
    case '-h':
    case '--help':
      return usage(0);
    default:
      return usage();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
