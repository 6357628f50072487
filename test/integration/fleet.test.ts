/**
 * Smoke test of the test fleet itself: each selected image that is built locally
 * starts, takes an SSH login with the fleet key over the project's own ssh connection, verifies the host key against the
 * fleet's known_hosts, and runs iptables (NET_ADMIN). Images not built are skipped.
 */
import { connectSsh } from '../../src/connections/ssh.js';
import type { ExecResult } from '../../src/connections/types.js';
import { hostFacts, parseHostFacts } from '../../src/facts/host.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_OS_ID, fleetImages, startFleet, type Fleet, type FleetHost } from './fleet.js';

/** One command over the project's own ssh connection, host key checked against the fleet's known_hosts. */
async function sshExec(fleet: Fleet, host: FleetHost, command: string, user = 'root'): Promise<ExecResult> {
  const conn = await connectSsh({
    name: host.name,
    host: host.host,
    port: host.port,
    user,
    identityFile: fleet.identityFile,
    knownHostsFile: fleet.knownHostsFile,
    hostKeyPolicy: 'strict',
    connectTimeoutMs: 20_000,
  });
  try {
    return await conn.exec(command);
  } finally {
    await conn.close();
  }
}

const images = await fleetImages();

describe.each(images)('fleet image $name', ({ name, present }) => {
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('answers SSH as root with the fleet key and host key', async () => {
    const f = fleet!;
    const host = f.hosts[0]!;
    expect(f.inventoryYaml()).toContain(`${name}-1:\n      host: 127.0.0.1\n      port: ${host.port}\n`);
    const os = await sshExec(f, host, 'cat /etc/os-release');
    expect(os.code).toBe(0);
    const id = /^ID=(.*)$/m.exec(os.stdout)?.[1]?.replace(/"/g, '');
    expect(id).toBe(IMAGE_OS_ID[name]);
    const facts = parseHostFacts((await sshExec(f, host, hostFacts.command(null))).stdout);
    expect(facts.os.family).toBe(IMAGE_OS_ID[name] === 'debian' || IMAGE_OS_ID[name] === 'ubuntu' ? 'debian' : 'rhel');
    expect(facts).toMatchObject({ uid: 0, user: 'root', container: true });
    expect(facts.ssh?.serverPort).toBe(22);
    const ipt = await sshExec(f, host, 'iptables -S');
    expect(ipt.stderr).toBe('');
    expect(ipt.code).toBe(0);
    expect(ipt.stdout).toContain('-P INPUT ACCEPT');
  });

  it.skipIf(!present)('has admin (sudo without password) and secure (sudo needs secure-pass)', async () => {
    const f = fleet!;
    const host = f.hosts[0]!;
    const admin = await sshExec(f, host, 'sudo -n id -u', 'admin');
    expect(admin).toMatchObject({ code: 0, stdout: '0\n' });
    const noPass = await sshExec(f, host, 'sudo -n true', 'secure');
    expect(noPass.code).not.toBe(0);
    const withPass = await sshExec(f, host, "echo secure-pass | sudo -S -p '' id -u", 'secure');
    expect(withPass).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it.skipIf(!present || !name.endsWith('-systemd'))('boots systemd as PID 1 with the ssh service active', async () => {
    const f = fleet!;
    const host = f.hosts[0]!;
    // RHEL family: sshd.service; Debian family: ssh.service (on Ubuntu 24.04 started by ssh.socket on our connection)
    const unit = IMAGE_OS_ID[name] === 'rocky' ? 'sshd' : 'ssh';
    const r = await sshExec(f, host, `ps -p 1 -o comm=; systemctl is-active ${unit}; timeout 60 systemctl is-system-running --wait`);
    expect(r.stdout).toBe('systemd\nactive\nrunning\n');
  });

  it.skipIf(!present || name !== 'ubuntu2404-systemd')('Ubuntu 24.04: sshd is socket-activated, as on a real 24.04 server', async () => {
    const r = await sshExec(fleet!, fleet!.hosts[0]!, 'systemctl is-enabled ssh.socket; systemctl is-active ssh.socket; systemctl is-enabled ssh.service; true');
    expect(r.stdout).toBe('enabled\nactive\ndisabled\n');
  });

  it.skipIf(!present || name !== 'rocky9-systemd')('Rocky 9: firewalld installed, enabled and running, ssh allowed', async () => {
    const r = await sshExec(fleet!, fleet!.hosts[0]!, 'systemctl is-enabled firewalld; firewall-cmd --state; firewall-cmd --list-services; true');
    expect(r.stdout).toMatch(/^enabled\nrunning\n.*\bssh\b/);
  });
});

const first = images.find((i) => i.present && !i.name.endsWith('-systemd'));

describe('fleet of 10', () => {
  it.skipIf(!first)('starts 10 hosts in parallel and all answer SSH', async () => {
    const t0 = performance.now();
    const fleet = await startFleet({ count: 10, image: first!.name });
    const started = performance.now() - t0;
    try {
      console.log(`fleet: 10 x ${first!.name} started in ${(started / 1000).toFixed(1)} s`);
      expect(new Set(fleet.hosts.map((h) => h.port)).size).toBe(10);
      const t1 = performance.now();
      const names = await Promise.all(fleet.hosts.map((h) => sshExec(fleet, h, 'hostname')));
      console.log(`fleet: 10 parallel SSH logins + exec in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      for (const r of names) expect(r.code).toBe(0);
      expect(new Set(names.map((r) => r.stdout.trim())).size).toBe(10);
    } finally {
      await fleet.stop();
    }
  });
});
