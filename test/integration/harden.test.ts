/**
 * The flagship playbook on fresh hosts over real SSH: check predicts apply, the
 * second run changes nothing, a check on the hardened hosts finds no drift, the
 * admin user still gets in with its key while root and passwords are refused;
 * then one host drifts by hand and the audit names exactly that host and task.
 *
 * On a systemd image (a real server: netfilter-persistent at boot, PAM sessions),
 * every item is proven from outside the playbook's own view: a second container on
 * an IPv4+IPv6 Docker network scans the host with nmap and ping, before and after
 * an ssh_port move and a restart; ssh-keyscan names the host keys; sshd -T, /etc and /proc are read with
 * plain commands; PAM is exercised by logging in, passwd and su.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as cli, type Io } from '../../src/cli/program.js';
import { connectSsh } from '../../src/connections/ssh.js';
import { ConnectionError } from '../../src/contract/errors.js';
import { FLEET_LABEL, fleetImages, imageRef, startFleet, type Fleet, type FleetHost } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const HARDEN = readFileSync(new URL('../../playbooks/harden.yaml', import.meta.url), 'utf8');
const allImages = await fleetImages();
const images = allImages.filter((i) => !i.name.endsWith('-systemd'));
const servers = allImages.filter((i) => i.name.endsWith('-systemd'));
/** Four runs with package installs from the Debian mirror: 260 s on an idle 2-core machine, over 600 s under load. */
const CONVERGE_TIMEOUT_MS = 900_000;
const docker = async (...args: string[]): Promise<string> => (await promisify(execFile)('docker', args)).stdout.trim();

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
  }, CONVERGE_TIMEOUT_MS);

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

/** The ports harden.yaml opens by default (SSH, firewall_tcp_ports) and ports it must not. */
const DECLARED = [22, 80, 443];
const SAMPLED = [21, 23, 25, 53, 111, 2222, 3306, 5432, 8080, 9100];

describe.each(servers)('harden.yaml on $name, proven from outside', ({ name, present }) => {
  let fleet: Fleet;
  let host: FleetHost;
  let extraVars: Record<string, unknown>;
  const network = `provision-harden-${randomBytes(3).toString('hex')}`;
  let scanner = '';
  /** Where sshd listens: 22 until the ssh_port test moves it. */
  let sshPort = 22;
  beforeAll(async () => {
    if (!present) return;
    // a ULA /64 of its own, so parallel suites never collide
    const prefix = `fd${randomBytes(1).toString('hex')}:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::/64`;
    await docker('network', 'create', '--ipv6', '--subnet', prefix, '--label', `${FLEET_LABEL}=1`, network);
    fleet = await startFleet({ count: 1, image: name, network, extraPorts: [2222] });
    host = fleet.hosts[0]!;
    extraVars = { admin_ssh_keys: [fleet.publicKey], upgrade_packages: 'none' };
    scanner = await docker('run', '-d', '--rm', '--network', network, '--label', `${FLEET_LABEL}=1`, '--entrypoint', 'sleep', imageRef(name), 'infinity');
  });
  afterAll(async () => {
    if (scanner) await docker('rm', '-f', scanner).catch(() => '');
    await fleet?.stop();
    await docker('network', 'rm', network).catch(() => '');
  });

  /** The host's addresses on the scan network (read again after a restart). */
  async function addresses(): Promise<{ v4: string; v6: string }> {
    const f = (key: string) => `{{(index .NetworkSettings.Networks "${network}").${key}}}`;
    const [v4, v6] = (await docker('inspect', '-f', `${f('IPAddress')} ${f('GlobalIPv6Address')}`, host.container.getId())).split(' ');
    return { v4: v4!, v6: v6! };
  }

  /** nmap TCP connect scan from the scanner container: port → open | closed | filtered. */
  async function scan(address: string, ipv6: boolean): Promise<Record<number, string>> {
    const ports = [...DECLARED, ...SAMPLED].join(',');
    const out = await docker('exec', scanner, 'nmap', ...(ipv6 ? ['-6'] : []), '-Pn', '-n', '-sT', '--max-retries', '1', '-p', ports, '-oG', '-', address);
    const line = out.split('\n').find((l) => l.includes('Ports:')) ?? '';
    return Object.fromEntries([...line.matchAll(/(\d+)\/(\w+)\/tcp/g)].map((m) => [Number(m[1]), m[2]!]));
  }

  async function pings(address: string, ipv6: boolean): Promise<boolean> {
    return docker('exec', scanner, 'ping', ...(ipv6 ? ['-6'] : []), '-c', '1', '-W', '2', address).then(
      () => true,
      () => false,
    );
  }

  /** Every declared port reachable (open, or closed = a TCP RST when nothing listens); every other one filtered; ICMP echo as firewall_allow_ping says. */
  async function expectExactlyDeclaredPorts(ping: boolean): Promise<void> {
    const { v4, v6 } = await addresses();
    // after a move, sshd's old port is one that must be filtered
    const declared = DECLARED.map((p) => (p === 22 ? sshPort : p));
    const sampled = SAMPLED.map((p) => (p === sshPort ? 22 : p));
    for (const [address, ipv6] of [[v4, false], [v6, true]] as const) {
      const seen = await scan(address, ipv6);
      expect(seen[sshPort], `${address} ${sshPort}`).toBe('open');
      for (const p of declared) expect(['open', 'closed'], `${address} ${p}`).toContain(seen[p]);
      for (const p of sampled) expect(seen[p], `${address} ${p}`).toBe('filtered');
      expect(await pings(address, ipv6), `ping ${address}`).toBe(ping);
    }
  }

  const sh = async (cmd: string): Promise<string> => {
    const r = await host.container.exec(['sh', '-c', cmd]);
    if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.output}`);
    return r.stdout;
  };

  it.skipIf(!present)('converges: check predicts apply, the second run changes nothing, a check finds no drift', async () => {
    const t0 = Date.now();
    const { apply, again } = await converge(fleet, HARDEN, { user: 'admin', extraVars });
    console.log(`harden.yaml on ${name}: first apply ${(apply.durationMs / 1000).toFixed(1)} s, second ${(again.durationMs / 1000).toFixed(1)} s; check+apply+apply+check ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, CONVERGE_TIMEOUT_MS);

  it.skipIf(!present)('a scan from another container finds exactly the declared ports over IPv4 and IPv6, and ping answered', async () => {
    await expectExactlyDeclaredPorts(true);
  });

  it.skipIf(!present)('sshd presents only ed25519 and RSA ≥ 4096 bits, moduli ≥ 3072 bits, and its effective settings are the baseline', async () => {
    const { v4 } = await addresses();
    const keys = await docker('exec', scanner, 'sh', '-c', `ssh-keyscan -T 5 ${v4} 2>/dev/null | ssh-keygen -l -f -`);
    const types = keys.split('\n').map((l) => /\((\w+)\)$/.exec(l)?.[1]).sort();
    expect(types).toEqual(['ED25519', 'RSA']);
    expect(Number(/^(\d+) .*\(RSA\)$/m.exec(keys)?.[1])).toBeGreaterThanOrEqual(4096);
    // moduli's fifth field is the size minus one
    expect(await sh("awk '!/^#/ && $5 < 3071' /etc/ssh/moduli | wc -l")).toBe('0\n');
    expect(Number(await sh("awk '!/^#/' /etc/ssh/moduli | wc -l"))).toBeGreaterThan(0);
    const sshdT = await sh('sshd -T');
    for (const line of ['disableforwarding yes', 'permitrootlogin no', 'passwordauthentication no', 'kbdinteractiveauthentication no', 'x11forwarding no', 'allowtcpforwarding no', 'maxauthtries 3', 'banner /etc/issue.net']) {
      expect(sshdT).toMatch(new RegExp(`^${line}$`, 'm'));
    }
    expect(sshdT.split('\n').filter((l) => l.startsWith('hostkey ')).sort()).toEqual(['hostkey /etc/ssh/ssh_host_ed25519_key', 'hostkey /etc/ssh/ssh_host_rsa_key']);
  });

  it.skipIf(!present)('admin gets in by key and sudoes, with umask 027 and no core dumps; root and passwords are refused', async () => {
    const admin = await login(fleet, host, 'admin', { key: fleet.identityFile });
    expect((await admin.exec('sudo -n id -u')).stdout).toBe('0\n');
    expect((await admin.exec('umask; ulimit -Hc')).stdout).toBe('0027\n0\n');
    await admin.close();
    await expect(login(fleet, host, 'root', { key: fleet.identityFile })).rejects.toThrow(ConnectionError);
    await expect(login(fleet, host, 'secure', { password: 'secure-pass' })).rejects.toThrow(/authentication failed/);
  });

  it.skipIf(!present)('the OS settings read back with plain commands: login.defs, banners, permissions, modules, audit rules, PAM', async () => {
    const defs = await sh("grep -E '^(PASS_MAX_DAYS|PASS_MIN_DAYS|PASS_WARN_AGE|ENCRYPT_METHOD|SHA_CRYPT_MIN_ROUNDS|UMASK)[[:space:]]' /etc/login.defs");
    expect(defs.split('\n').filter(Boolean).map((l) => l.split(/\s+/).join(' ')).sort()).toEqual(
      ['ENCRYPT_METHOD SHA512', 'PASS_MAX_DAYS 365', 'PASS_MIN_DAYS 1', 'PASS_WARN_AGE 7', 'SHA_CRYPT_MIN_ROUNDS 640000', 'UMASK 027'],
    );
    for (const f of ['/etc/issue', '/etc/issue.net']) {
      const text = await sh(`cat ${f}`);
      expect(text).toContain('AUTHORIZED ACCESS ONLY');
      expect(text).toContain('Activity on this system is monitored and recorded');
      expect(text).not.toMatch(/\\[mrsv]/); // no OS details (getty escapes)
    }
    expect((await sh('stat -c "%n %a %U %G" /etc/shadow /etc/gshadow /etc/passwd /etc/crontab /etc/cron.d /etc/cron.daily /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ed25519_key /home/admin')).split('\n').filter(Boolean)).toEqual([
      '/etc/shadow 640 root shadow',
      '/etc/gshadow 640 root shadow',
      '/etc/passwd 644 root root',
      '/etc/crontab 600 root root',
      '/etc/cron.d 700 root root',
      '/etc/cron.daily 700 root root',
      '/etc/ssh/ssh_host_rsa_key 600 root root',
      '/etc/ssh/ssh_host_ed25519_key 600 root root',
      '/home/admin 750 admin admin',
    ]);
    for (const m of ['cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf', 'dccp', 'sctp', 'rds', 'tipc']) {
      expect(await sh(`modprobe -n -v ${m}`), m).toMatch(/^install \/bin\/false/);
    }
    const audit = await sh('cat /etc/audit/rules.d/*.rules');
    for (const rule of ['-w /etc/shadow -p wa -k identity', '-w /etc/sudoers -p wa -k scope', '-w /etc/ssh/sshd_config -p wa -k sshd', '-w /etc/iptables/rules.v4 -p wa -k firewall', '-w /etc/iptables/rules.v6 -p wa -k firewall']) {
      expect(audit).toContain(rule);
    }
    expect(await sh("dpkg-query -W -f '${Status}' auditd")).toBe('install ok installed');
    expect(await sh('cat /etc/security/limits.d/*.conf')).toMatch(/^\* hard core 0$/m);
    // pam_pwquality refuses a short password even for root (enforce_for_root)
    const weak = await host.container.exec(['sh', '-c', 'printf "abc12\\nabc12\\n" | passwd secure']);
    expect(weak.exitCode).not.toBe(0);
    expect(weak.output).toMatch(/BAD PASSWORD: The password is shorter than 14 characters/);
    // su: a user outside the admin group is refused before any password matters
    const su = await host.container.exec(['su', '-s', '/bin/sh', 'secure', '-c', 'su -c id root </dev/null']);
    expect(su.exitCode).not.toBe(0);
    expect(su.output).toMatch(/su: Permission denied/);
  });

  it.skipIf(!present)('firewall_allow_ping: false leaves ICMP echo unanswered over IPv4 and IPv6, the ports unchanged', async () => {
    const s = await runPlaybook(fleet, HARDEN, { user: 'admin', extraVars: { ...extraVars, firewall_allow_ping: false }, tags: ['firewall'] });
    expect(failures(s)).toEqual([]);
    expect(keysOf(s, 'changed')).toEqual(['Firewall rules survive a reboot', 'IPv4 firewall', 'IPv6 firewall'].map((t) => `${host.name}: ${t}`));
    await expectExactlyDeclaredPorts(false);
  });

  it.skipIf(!present)('ssh_port: 2222 moves sshd and its firewall rule in one run; a scan then finds 2222 open and 22 filtered', async () => {
    const s = await runPlaybook(fleet, HARDEN, { user: 'admin', extraVars: { ...extraVars, firewall_allow_ping: false, ssh_port: 2222 } });
    expect(failures(s)).toEqual([]);
    expect(await sh('sshd -T | grep "^port "')).toBe('port 2222\n');
    sshPort = 2222;
    await expectExactlyDeclaredPorts(false);
  }, CONVERGE_TIMEOUT_MS);

  it.skipIf(!present)('the final REJECT follows the rate-limited LOG; after a restart the saved rules are back and the scan is the same', async () => {
    for (const [cmd, reject] of [['iptables', 'icmp-admin-prohibited'], ['ip6tables', 'icmp6-adm-prohibited']] as const) {
      const input = (await sh(`${cmd} -S INPUT`)).trim().split('\n');
      expect(input[0]).toBe('-P INPUT DROP');
      expect(input.slice(-2)).toEqual([`-A INPUT -m limit --limit 5/min -j LOG --log-prefix "iptables denied: "`, `-A INPUT -j REJECT --reject-with ${reject}`]);
    }
    await host.container.restart();
    await expect.poll(() => sh('systemctl is-active netfilter-persistent ssh').catch((e: Error) => e.message), { timeout: 30_000, interval: 1_000 }).toBe('active\nactive\n');
    expect(await sh('iptables -S INPUT | tail -1')).toBe('-A INPUT -j REJECT --reject-with icmp-admin-prohibited\n');
    await expectExactlyDeclaredPorts(false);
  });
});
