/**
 * The flagship playbook on fresh hosts over real SSH: check predicts apply, the
 * second run changes nothing, a check on the hardened hosts finds no drift, the
 * admin user still gets in with its key while root and passwords are refused;
 * then one host drifts by hand and the audit names exactly that host and task.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as cli, type Io } from '../../src/cli/program.js';
import { connectSsh } from '../../src/connections/ssh.js';
import { ConnectionError } from '../../src/contract/errors.js';
import { fleetImages, startFleet, type Fleet, type FleetHost } from './fleet.js';
import { converge, keysOf } from './harness.js';

const HARDEN = readFileSync(new URL('../../playbooks/harden.yaml', import.meta.url), 'utf8');
const images = (await fleetImages()).filter((i) => !i.name.endsWith('-systemd'));

function login(fleet: Fleet, host: FleetHost, user: string, auth: { password: string } | { key: string }) {
  return connectSsh({
    name: host.name,
    host: host.host,
    port: host.port,
    user,
    ...('password' in auth ? { password: auth.password } : { identityFile: auth.key }),
    knownHostsFile: fleet.knownHostsFile,
    hostKeyPolicy: 'strict',
    connectTimeoutMs: 10_000,
    attempts: 1,
  });
}

function quietIo(): Io & { text: () => string } {
  const out: string[] = [];
  return { out: (s) => out.push(s), err: (s) => out.push(s), stdout: { isTTY: false }, env: process.env, onInterrupt: () => () => {}, text: () => out.join('') };
}

describe.each(images)('harden.yaml on $name', ({ name, present }) => {
  let fleet: Fleet;
  let extraVars: Record<string, unknown>;
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 2, image: name });
    extraVars = { admin_ssh_keys: [fleet.publicKey], upgrade_packages: 'none' };
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('converges, is idempotent, and check mode predicts apply', async () => {
    const { apply } = await converge(fleet, HARDEN, { user: 'admin', extraVars });
    const changed = keysOf(apply, 'changed').map((k) => k.split(': ')[1]);
    for (const task of ['sshd hardened (effective values, checked with sshd -T)', 'IPv4 firewall', 'IPv6 firewall', 'fail2ban guards sshd']) {
      expect(changed).toContain(task);
    }
  });

  it.skipIf(!present)('admin logs in with its key; root and passwords are refused', async () => {
    const host = fleet.hosts[0]!;
    const admin = await login(fleet, host, 'admin', { key: fleet.identityFile });
    expect((await admin.exec('sudo -n id -u')).stdout).toBe('0\n');
    const sshdT = (await admin.exec('sudo -n sshd -T')).stdout;
    expect(sshdT).toMatch(/^permitrootlogin no$/m);
    expect(sshdT).toMatch(/^passwordauthentication no$/m);
    expect(sshdT).toMatch(/^allowgroups sudo$/m);
    const rules = (await admin.exec('sudo -n iptables -S INPUT')).stdout;
    expect(rules).toContain('-P INPUT DROP');
    expect(rules).toContain('-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT');
    await admin.close();
    await expect(login(fleet, host, 'root', { key: fleet.identityFile })).rejects.toThrow(ConnectionError);
    await expect(login(fleet, host, 'secure', { password: 'secure-pass' })).rejects.toThrow(/authentication failed/);
  });

  it.skipIf(!present)('an audit after hand-made drift fails and names exactly that host and task', async () => {
    const drifted = fleet.hosts[1]!;
    // someone re-enables password login in a drop-in... and in the main file, before our block is read
    await drifted.container.exec(['sh', '-c', "sed -i '1i PasswordAuthentication yes' /etc/ssh/sshd_config"]);
    const inv = join(fleet.dir, 'audit-inventory.yaml');
    await fleet.writeInventory(inv, { user: 'admin' });
    const pb = join(fleet.dir, 'harden.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(pb, HARDEN);
    const report = join(fleet.dir, 'audit.json');
    const junit = join(fleet.dir, 'audit.xml');
    const io = quietIo();
    const code = await cli(['--check', '-i', inv, '-e', JSON.stringify(extraVars), '--report', `json=${report}`, '--report', `junit=${junit}`, pb], io);
    expect(code, io.text()).toBe(3);
    const doc = JSON.parse(readFileSync(report, 'utf8')) as { results: { host: string; task: string; status: string }[] };
    expect(doc.results.filter((r) => r.status === 'changed').map((r) => `${r.host}: ${r.task}`)).toEqual([
      `${drifted.name}: sshd hardened (effective values, checked with sshd -T)`,
    ]);
    expect(readFileSync(junit, 'utf8')).toMatch(/<failure[^>]*>/);
  });
});
