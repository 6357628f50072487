/**
 * `provision exec` and `provision facts` on a fleet over SSH, through the CLI
 * entry point, checked against what each host says when asked directly
 * (docker exec, plain commands), never against provision itself.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/program.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';

const image = (await fleetImages()).find((i) => i.present && !i.name.endsWith('-systemd'))?.name;

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: { NO_COLOR: '1', ...env }, onInterrupt: () => () => {} };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

describe.skipIf(!image)(`ad-hoc commands on ${image ?? 'no image'}`, () => {
  let fleet: Fleet;
  let asRoot: string;
  let asAdmin: string;
  let asSecure: string;
  const sh = async (i: number, cmd: string) => (await fleet.hosts[i]!.container.exec(['sh', '-c', cmd])).stdout;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, image: image! });
    asRoot = await fleet.writeInventory(join(fleet.dir, 'root.yaml')).then(() => join(fleet.dir, 'root.yaml'));
    asAdmin = join(fleet.dir, 'admin.yaml');
    await fleet.writeInventory(asAdmin, { user: 'admin' });
    asSecure = join(fleet.dir, 'secure.yaml');
    writeFileSync(asSecure, fleet.inventoryYaml({ user: 'secure' }).replace('  vars:\n', '  vars:\n    become_password_env: SECURE_SUDO\n'));
    // the hosts differ in one file, as real hosts do
    for (const [i, role] of ['web', 'web', 'db'].entries()) await fleet.hosts[i]!.container.exec(['sh', '-c', `echo ${role} > /etc/role`]);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('exec: identical output grouped, the odd host apart, as the hosts say themselves', async () => {
    const [a, b, c] = fleet.hosts.map((h) => h.name);
    const t = io();
    expect(await run(['exec', '-i', asRoot, 'all', '--', 'cat /etc/role'], t.io)).toBe(0);
    expect((await sh(0, 'cat /etc/role')).trim()).toBe('web');
    expect((await sh(2, 'cat /etc/role')).trim()).toBe('db');
    expect(t.out()).toContain(`${a}, ${b} (2 hosts) · exit 0: web\n${c} · exit 0: db\n`);
    expect(t.out()).toMatch(/3 succeeded · 3 hosts in [\d.]+ s · exit 0\n$/);
  });

  it('exec -b: sudo where the inventory does not say; without it, the login user', async () => {
    const plain = io();
    expect(await run(['exec', '-i', asAdmin, 'all', '--', 'id -un'], plain.io)).toBe(0);
    expect(plain.out()).toContain('all 3 hosts · exit 0: admin\n');
    const become = io();
    expect(await run(['exec', '-i', asAdmin, 'all', '-b', '--', 'id -un; cat /etc/shadow | wc -l'], become.io)).toBe(0);
    const shadowLines = (await sh(0, 'wc -l < /etc/shadow')).trim();
    expect(become.out()).toContain(`all 3 hosts · exit 0\n  | root\n  | ${shadowLines}\n`);
  });

  it('exec -b with a sudo password from the environment; without it: fails and says why, exit 2', async () => {
    const withPw = io({ SECURE_SUDO: 'secure-pass' });
    expect(await run(['exec', '-i', asSecure, 'all', '-b', '--', 'id -u; cat'], withPw.io)).toBe(0);
    // the password went to sudo, not to the command's stdin
    expect(withPw.out()).toContain('all 3 hosts · exit 0: 0\n');
    const noPw = io();
    const noPwInv = join(fleet.dir, 'secure-nopw.yaml');
    await fleet.writeInventory(noPwInv, { user: 'secure' });
    expect(await run(['exec', '-i', noPwInv, 'all', '-b', '--', 'id -u'], noPw.io)).toBe(2);
    expect(noPw.out()).toContain('all 3 hosts · failed: become: sudo on <host> needs a password');
  });

  it('exec --report json, --limit, --timeout; exit 2 when a command fails', async () => {
    const [a, , c] = fleet.hosts.map((h) => h.name);
    const report = join(fleet.dir, 'exec.json');
    const t = io();
    expect(await run(['exec', '-i', asRoot, 'all', '--limit', `${a}:${c}`, '--timeout', '5', '--report', `json=${report}`, '--', 'grep -q web /etc/role && echo yes'], t.io)).toBe(2);
    expect(t.out()).toContain(`${a} · exit 0: yes\n${c} · exit 1 · no output\n`);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.exitCode).toBe(2);
    expect(json.results.map((r: { host: string; rc: number; stdout: string }) => [r.host, r.rc, r.stdout]).sort()).toEqual([
      [a, 0, 'yes'],
      [c, 1, ''],
    ]);
    const slow = io();
    expect(await run(['exec', '-i', asRoot, a!, '--timeout', '1', '--', 'sleep 20'], slow.io)).toBe(2);
    expect(slow.out()).toContain(`${a} · failed: timed out after 1 s`);
  });

  it('facts --json: OS, init, package manager, container, sshd -T, iptables backend, listeners, as the host says; one command per host', async () => {
    const t = io();
    expect(await run(['facts', '-i', asRoot, 'all', '--json'], t.io)).toBe(0);
    const r = JSON.parse(t.out());
    expect(r.hosts).toHaveLength(3);
    const h = r.hosts[0];
    const osRelease = await sh(0, 'cat /etc/os-release');
    expect(h.os).toMatchObject({ family: 'debian', distribution: 'debian', version: /^VERSION_ID="?([^"\n]*)/m.exec(osRelease)![1] });
    expect(h.packageManager).toBe('apt');
    expect(h.container).toBe(true);
    const sshdT = await sh(0, 'sshd -T');
    expect(h.sshd.port).toEqual([...sshdT.matchAll(/^port (\d+)$/gm)].map((m) => Number(m[1])));
    expect(h.sshd.permitRootLogin).toBe(/^permitrootlogin (\S+)$/m.exec(sshdT)![1]);
    expect(h.sshd.passwordAuthentication).toBe(/^passwordauthentication (\S+)$/m.exec(sshdT)![1]);
    const backend = (await sh(0, 'iptables -V')).includes('nf_tables') ? 'nft' : 'legacy';
    expect(h.firewall.backend).toBe(backend);
    expect(h.listeners).toContainEqual(expect.objectContaining({ proto: 'tcp', port: 22, process: 'sshd' }));
    for (const host of fleet.hosts) expect(r.stats[host.name].commands).toBe(1);
  });

  it('facts as a user without -b: sshd and the firewall say they need root, exit 2; with -b: read, exit 0', async () => {
    const t = io();
    expect(await run(['facts', '-i', asAdmin, 'all'], t.io)).toBe(2);
    expect(t.out()).toMatch(/^! \S+: firewall: .*needs root/m);
    const b = io();
    expect(await run(['facts', '-i', asAdmin, 'all', '-b'], b.io)).toBe(0);
    const version = /^VERSION_ID="?([^"\n]*)/m.exec(await sh(0, 'cat /etc/os-release'))![1];
    expect(b.out()).toMatch(new RegExp(String.raw`^\S+ +debian ${version} +\S+ +apt +yes +22 +\S+ +\S+ +(nft|legacy), INPUT \w+, \d+ rules? +.*tcp/22 sshd`, 'm'));
  });
});
