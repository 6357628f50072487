/**
 * Test fleet: real sshd hosts in Docker containers, started with testcontainers from
 * images built locally by `bash docker/build.sh` (never pulled).
 *
 *   const fleet = await startFleet({ count: 3, image: 'debian12' });
 *   fleet.writeInventory('/tmp/inv.yaml');
 *   ...
 *   await fleet.stop();
 *
 * Every container gets NET_ADMIN and NET_RAW (iptables works inside), port 22
 * published on 127.0.0.1 at a random port, the fleet's ed25519 test key in
 * root's, admin's and secure's authorized_keys, and a known_hosts line.
 *
 * Users in the images: root (key), admin (key, sudo without password),
 * secure (key or password `secure-pass`, sudo needs `secure-pass`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';

// testcontainers reads these lazily, when the first container starts (not at import):
// no Ryuk reaper container (its image would have to be pulled, and `npm run fleet`
// wants containers to outlive the process) and mapped ports reached on localhost.
// Without Ryuk, containers of a killed run stay: `npm run fleet -- down --all` removes them.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

import { GenericContainer, Wait, type ImagePullPolicy, type StartedTestContainer } from 'testcontainers';

const execFileP = promisify(execFile);

/** Names build.sh knows, in the order suites run them. */
export const KNOWN_IMAGES = [
  'debian11',
  'debian12',
  'debian13',
  'debian12-systemd',
  'ubuntu2204',
  'ubuntu2404',
  'ubuntu2204-systemd',
  'ubuntu2404-systemd',
  'rocky9',
  'rocky9-systemd',
  'centos7',
] as const;
// real servers run systemd: debian12-systemd proves sshd reloads, netfilter-persistent at boot, timers and the transient-unit rollback
export const DEFAULT_IMAGES = ['debian11', 'debian12', 'debian13', 'debian12-systemd'];
/** Docker repository prefix of the built images: provision-test/<name>:latest. */
export const IMAGE_REPO = 'provision-test';
/** Label on every fleet container; `npm run fleet -- down --all` removes all containers that have it. */
export const FLEET_LABEL = 'provision-fleet';

/** Expected `ID=` of /etc/os-release per image family. */
export const IMAGE_OS_ID: Record<string, string> = {
  debian11: 'debian',
  debian12: 'debian',
  debian13: 'debian',
  'debian11-systemd': 'debian',
  'debian12-systemd': 'debian',
  'debian13-systemd': 'debian',
  ubuntu2204: 'ubuntu',
  ubuntu2404: 'ubuntu',
  'ubuntu2204-systemd': 'ubuntu',
  'ubuntu2404-systemd': 'ubuntu',
  rocky9: 'rocky',
  'rocky9-systemd': 'rocky',
  centos7: 'centos',
};

export interface FleetHost {
  /** Inventory name, e.g. `debian12-1`. */
  name: string;
  /** Image short name, e.g. `debian12`. */
  image: string;
  host: '127.0.0.1';
  port: number;
  /** Container port → published port on 127.0.0.1, for 22 and every `extraPorts` entry. */
  ports: Record<number, number>;
  container: StartedTestContainer;
}

export interface Fleet {
  hosts: FleetHost[];
  /** Private key (OpenSSH format, ed25519, no passphrase) accepted by root, admin and secure. */
  identityFile: string;
  /** Public key text (`ssh-ed25519 AAAA... comment`). */
  publicKey: string;
  /** known_hosts with a `[127.0.0.1]:PORT ssh-ed25519 AAAA...` line per host. */
  knownHostsFile: string;
  /** Temp dir holding the key and known_hosts (removed by stop() unless `keepDir`). */
  dir: string;
  /** Inventory YAML in provision's native format (user root; SSH on the port published for container port `sshPort`, default 22). */
  inventoryYaml(opts?: InventoryOptions): string;
  writeInventory(path: string, opts?: InventoryOptions): Promise<string>;
  /** Removes the containers (and the temp dir unless it was given). */
  stop(): Promise<void>;
}

export interface StartFleetOptions {
  /** Number of hosts (default 1). */
  count?: number;
  /** Image short name (`debian12`) or a full docker reference (`repo:tag`). Default: first present selected image. */
  image?: string;
  /** Inventory host name prefix (default: image short name). Hosts are `<prefix>-1..N`. */
  namePrefix?: string;
  /** Directory for key, known_hosts (default: a new temp dir). Not removed by stop(). */
  dir?: string;
  /** Extra labels for the containers (FLEET_LABEL=1 is always set). */
  labels?: Record<string, string>;
  /**
   * Also give containers full privileges (not needed for iptables). Note: fails on
   * hosts whose own capability set is incomplete (e.g. this workplace's VMs).
   */
  privileged?: boolean;
  /**
   * The image boots systemd as PID 1 (default: image name ends in `-systemd`). Adds
   * CAP_SYS_ADMIN, tmpfs /run and /run/lock, the host's /sys/fs/cgroup (read-only on
   * cgroup v1, read-write with the host cgroup namespace on v2) and waits for port 22
   * instead of sshd's log line (sshd logs to the journal there).
   */
  systemd?: boolean;
  /** Startup timeout per container in ms (default 60 000). */
  startupTimeoutMs?: number;
  /** tmpfs mounts, e.g. `{ '/mnt/small': 'rw,size=64k' }` (a tiny file system to fill up). */
  tmpfs?: Record<string, string>;
  /** More container ports to publish on 127.0.0.1 (e.g. 2222 for an sshd port move); see FleetHost.ports. */
  extraPorts?: number[];
  /**
   * A Docker network (made beforehand) for the containers instead of the default bridge,
   * e.g. one with IPv6 that a scanning container shares. Connecting a network to a
   * running container does not do: Docker 20.10 then moves the default route and
   * republishes port 22 on another host port, so the fleet's port stops answering.
   */
  network?: string;
  /** Containers started at once (default 16): hundreds started together make dockerd time out. */
  startConcurrency?: number;
}

/** Never pull: images are built locally by docker/build.sh and no registry may be reachable. */
const neverPull: ImagePullPolicy = { shouldPull: () => false };

/** `debian12` -> `provision-test/debian12:latest`; full references pass through. */
export function imageRef(image: string): string {
  return image.includes('/') || image.includes(':') ? image : `${IMAGE_REPO}/${image}:latest`;
}

/** Short name for a reference: `provision-test/debian12:abc` -> `debian12`. */
export function imageShortName(image: string): string {
  const m = /^(?:.*\/)?([^/:]+)(?::[^/]*)?$/.exec(image);
  return m?.[1] ?? image;
}

/** Images selected by env PROVISION_TEST_IMAGES (comma list), default debian11,debian12,debian13. */
export function selectedImages(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.PROVISION_TEST_IMAGES?.trim();
  const list = raw ? raw.split(',') : DEFAULT_IMAGES;
  return [...new Set(list.map((s) => s.trim()).filter((s) => s.length > 0))];
}

async function dockerImageExists(ref: string): Promise<boolean> {
  try {
    await execFileP('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]);
    return true;
  } catch {
    return false;
  }
}

export interface ImageAvailability {
  selected: string[];
  present: string[];
  missing: string[];
  /** Human-readable one-liner, e.g. for a suite's console output. */
  summary: string;
}

/** Which selected images are present locally (built by docker/build.sh). Docker missing => none present. */
export async function imageAvailability(env: NodeJS.ProcessEnv = process.env): Promise<ImageAvailability> {
  const selected = selectedImages(env);
  const flags = await Promise.all(selected.map((name) => dockerImageExists(imageRef(name))));
  const present = selected.filter((_, i) => flags[i]);
  const missing = selected.filter((_, i) => !flags[i]);
  const summary =
    `test fleet images (PROVISION_TEST_IMAGES=${selected.join(',')}): ` +
    `running on [${present.join(', ') || 'none'}]` +
    (missing.length ? `; SKIPPED, not built locally: [${missing.join(', ')}] (run: bash docker/build.sh)` : '');
  return { selected, present, missing, summary };
}

/**
 * For `describe.each` at collection time: every selected image with whether it is
 * present, printing which run and which are skipped once per file.
 *
 *   const images = await fleetImages();
 *   describe.each(images)('$name', ({ name, present }) => { ... skipIf(!present) ... });
 */
export async function fleetImages(env: NodeJS.ProcessEnv = process.env): Promise<{ name: string; present: boolean }[]> {
  const a = await imageAvailability(env);
  console.log(a.summary);
  return a.selected.map((name) => ({ name, present: a.present.includes(name) }));
}

/** One ed25519 keypair in OpenSSH format, made with ssh-keygen. */
export async function generateKeyPair(dir: string, name = 'id_ed25519'): Promise<{ privateKeyFile: string; publicKey: string }> {
  const file = join(dir, name);
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'provision-test-fleet', '-f', file]);
  const publicKey = (await readFile(`${file}.pub`, 'utf8')).trim();
  return { privateKeyFile: file, publicKey };
}

/** GenericContainer whose published ports bind to 127.0.0.1 only (testcontainers binds 0.0.0.0). */
class LoopbackContainer extends GenericContainer {
  private cgroupnsHost = false;

  withHostCgroupNamespace(): this {
    this.cgroupnsHost = true;
    return this;
  }

  protected override async beforeContainerCreated(): Promise<void> {
    const bindings = this.hostConfig.PortBindings as Record<string, { HostIp?: string; HostPort?: string }[]> | undefined;
    for (const list of Object.values(bindings ?? {})) {
      for (const b of list) b.HostIp = '127.0.0.1';
    }
    if (this.cgroupnsHost) (this.hostConfig as { CgroupnsMode?: string }).CgroupnsMode = 'host';
  }
}

/** cgroup v2 (unified) on this machine, where the Docker daemon runs. */
function hostHasCgroupV2(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

async function readHostKey(container: StartedTestContainer): Promise<string> {
  const res = await container.exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub']);
  if (res.exitCode !== 0) throw new Error(`cannot read host key: ${res.output}`);
  const [type, key] = res.stdout.trim().split(/\s+/);
  if (!type || !key) throw new Error(`bad host key: ${res.stdout}`);
  return `${type} ${key}`;
}

function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_./@-]+$/.test(s) ? s : JSON.stringify(s);
}

export interface InventoryOptions {
  user?: string;
  /** The container port sshd listens on (after a test moved it): the inventory connects to where it is published. */
  sshPort?: number;
}

export function renderInventory(
  hosts: { name: string; host: string; port: number; ports?: Record<number, number> }[],
  vars: { user: string; identityFile: string; knownHostsFile: string },
): string {
  const lines = [
    'all:',
    '  vars:',
    `    user: ${yamlScalar(vars.user)}`,
    `    identity_file: ${yamlScalar(vars.identityFile)}`,
    `    known_hosts_file: ${yamlScalar(vars.knownHostsFile)}`,
    '  hosts:',
  ];
  for (const h of hosts) {
    lines.push(`    ${yamlScalar(h.name)}:`, `      host: ${h.host}`, `      port: ${h.port}`);
    // a host started with extra ports: where a port sshd moves to is published (a port move confirms there)
    const published = Object.entries(h.ports ?? {});
    if (published.length > 1) lines.push(`      port_map: { ${published.map(([c, p]) => `${c}: ${p}`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

/**
 * An inventory of the fleet's hosts reached at 127.0.0.1:`ports[i]` (a proxy in
 * front of each, bench/latency-proxy.ts), with their host keys known there too
 * (`path`.known_hosts beside it).
 */
export async function writeProxiedInventory(fleet: Fleet, ports: readonly number[], path: string, user: string): Promise<void> {
  const known = (await readFile(fleet.knownHostsFile, 'utf8')).split('\n');
  const lines = fleet.hosts.map((h, i) => {
    const at = `[${h.host}]:${h.port} `;
    const line = known.find((l) => l.startsWith(at));
    if (!line) throw new Error(`${h.name}: no known_hosts line for ${at.trim()}`);
    return `[127.0.0.1]:${ports[i]} ${line.slice(at.length)}`;
  });
  const knownHostsFile = `${path}.known_hosts`;
  await writeFile(knownHostsFile, lines.join('\n') + '\n');
  const hosts = fleet.hosts.map((h, i) => ({ name: h.name, host: '127.0.0.1', port: ports[i]! }));
  await writeFile(path, renderInventory(hosts, { user, identityFile: fleet.identityFile, knownHostsFile }));
}

/** Starts `count` hosts in parallel. On failure, the ones that started are removed. */
export async function startFleet(opts: StartFleetOptions = {}): Promise<Fleet> {
  const count = opts.count ?? 1;
  let image = opts.image;
  if (!image) {
    const a = await imageAvailability();
    image = a.present[0];
    if (!image) throw new Error(`no test fleet image built locally; ${a.summary}`);
  }
  const ref = imageRef(image);
  const short = imageShortName(image);
  if (!(await dockerImageExists(ref))) {
    throw new Error(`image ${ref} is not present locally: run \`PROVISION_TEST_IMAGES=${short} bash docker/build.sh\``);
  }
  const prefix = opts.namePrefix ?? short;
  const systemd = opts.systemd ?? short.endsWith('-systemd');
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'provision-fleet-')));
  const { privateKeyFile, publicKey } = await generateKeyPair(dir);
  const knownHostsFile = join(dir, 'known_hosts');

  const labels = { [FLEET_LABEL]: '1', 'provision-fleet.owner': 'test', 'provision-fleet.image': short, ...opts.labels };
  const startOne = async (i: number): Promise<FleetHost> => {
    let c = new LoopbackContainer(ref)
      .withPullPolicy(neverPull)
      .withExposedPorts(22, ...(opts.extraPorts ?? []))
      .withAddedCapabilities('NET_ADMIN', 'NET_RAW')
      .withEnvironment({ AUTHORIZED_KEYS: publicKey })
      .withLabels({ ...labels, 'provision-fleet.host': `${prefix}-${i}` })
      .withWaitStrategy(
        !systemd
          ? Wait.forLogMessage(/Server listening on \S+ port 22/)
          : opts.extraPorts?.length
            ? // an extra port listens only once a test moves something there: wait for sshd alone
              Wait.forSuccessfulCommand('for u in ssh.service sshd.service ssh.socket; do systemctl is-active --quiet "$u" && exit 0; done; exit 1')
            : Wait.forListeningPorts(),
      )
      .withStartupTimeout(opts.startupTimeoutMs ?? 60_000);
    if (opts.privileged) c = c.withPrivilegedMode();
    if (opts.tmpfs) c = c.withTmpFs(opts.tmpfs);
    if (opts.network) c = c.withNetworkMode(opts.network);
    if (systemd) {
      const v2 = hostHasCgroupV2();
      c = c
        .withAddedCapabilities('SYS_ADMIN')
        .withTmpFs({ '/run': 'rw,exec', '/run/lock': 'rw' })
        .withBindMounts([{ source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', mode: v2 ? 'rw' : 'ro' }]);
      if (v2) c = c.withHostCgroupNamespace();
    }
    const container = await c.start();
    const ports = Object.fromEntries([22, ...(opts.extraPorts ?? [])].map((p) => [p, container.getMappedPort(p)]));
    return { name: `${prefix}-${i}`, image: short, host: '127.0.0.1', port: container.getMappedPort(22), ports, container };
  };

  const starting = pLimit(opts.startConcurrency ?? 16);
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => starting(() => startOne(i + 1))));
  const hosts = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.allSettled(hosts.map((h) => h.container.stop({ remove: true, removeVolumes: true })));
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw failure.reason;
  }

  const hostKeys = await Promise.all(hosts.map((h) => starting(() => readHostKey(h.container))));
  await writeFile(knownHostsFile, hosts.map((h, i) => `[${h.host}]:${h.port} ${hostKeys[i]}\n`).join(''), { mode: 0o600 });

  const inventoryYaml = (o?: InventoryOptions) =>
    renderInventory(
      hosts.map((h) => (o?.sshPort === undefined ? h : { ...h, port: h.ports[o.sshPort]! })),
      { user: o?.user ?? 'root', identityFile: privateKeyFile, knownHostsFile },
    );

  return {
    hosts,
    identityFile: privateKeyFile,
    publicKey,
    knownHostsFile,
    dir,
    inventoryYaml,
    async writeInventory(path, o) {
      const text = inventoryYaml(o);
      await writeFile(path, text);
      return text;
    },
    async stop() {
      await Promise.allSettled(hosts.map((h) => h.container.stop({ remove: true, removeVolumes: true })));
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
