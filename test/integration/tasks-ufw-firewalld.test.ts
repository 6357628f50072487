/**
 * The ufw and firewalld tasks on a systemd server (ufw and firewalld from
 * Debian's archive, installed at test time), proven from outside: a port
 * scan from another container on the same network (a port let through
 * answers open or closed, i.e. a SYN-ACK or a RST; one the firewall drops or
 * rejects with ICMP is filtered), and the tools' own plain listings
 * (`ufw status verbose`, `firewall-cmd --list-all`). Besides: check predicts
 * apply, a second run changes nothing, and a change that would cut our SSH
 * access is refused by the pre-flight before anything changes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_LABEL, fleetImages, imageRef, startFleet, type Fleet, type FleetHost } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const servers = (await fleetImages()).filter((i) => i.name.endsWith('-systemd'));
const docker = async (...args: string[]): Promise<string> => (await promisify(execFile)('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

/** Ports the scans look at: sshd, the ones the playbooks open (nothing listens there: closed), and one they do not. */
const PORTS = [22, 80, 8080, 9090];

describe.each(servers)('ufw and firewalld on $name, proven from outside', ({ name, present }) => {
  const network = `provision-fw-${randomBytes(3).toString('hex')}`;
  let ufwFleet: Fleet;
  let fwdFleet: Fleet;
  let scanner = '';

  /** apt-get install in the container (Debian's archive). */
  const install = async (h: FleetHost, pkg: string): Promise<void> => {
    const r = await h.container.exec(['sh', '-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkg} >/dev/null`]);
    if (r.exitCode !== 0) throw new Error(`installing ${pkg}: ${r.output}`);
  };

  beforeAll(async () => {
    if (!present) return;
    await docker('network', 'create', '--label', `${FLEET_LABEL}=1`, network);
    [ufwFleet, fwdFleet] = await Promise.all([startFleet({ count: 1, image: name, network, namePrefix: 'ufw' }), startFleet({ count: 1, image: name, network, namePrefix: 'fwd' })]);
    scanner = await docker('run', '-d', '--rm', '--network', network, '--label', `${FLEET_LABEL}=1`, '--entrypoint', 'sleep', imageRef(name), 'infinity');
    await Promise.all([install(ufwFleet.hosts[0]!, 'ufw'), install(fwdFleet.hosts[0]!, 'firewalld')]);
  }, 600_000);
  afterAll(async () => {
    if (scanner) await docker('rm', '-f', scanner).catch(() => '');
    await Promise.all([ufwFleet?.stop(), fwdFleet?.stop()]);
    await docker('network', 'rm', network).catch(() => '');
  });

  /** nmap TCP connect scan from the scanner: port → open | closed | filtered. */
  async function scan(h: FleetHost): Promise<Record<number, string>> {
    const address = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, h.container.getId());
    const out = await docker('exec', scanner, 'nmap', '-Pn', '-n', '-sT', '--max-retries', '1', '-p', PORTS.join(','), '-oG', '-', address);
    const line = out.split('\n').find((l) => l.includes('Ports:')) ?? '';
    return Object.fromEntries([...line.matchAll(/(\d+)\/(\w+)\/tcp/g)].map((m) => [Number(m[1]), m[2]!]));
  }
  const sh = async (h: FleetHost, cmd: string): Promise<string> => {
    const r = await h.container.exec(['sh', '-c', cmd]);
    if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.output}`);
    return r.stdout;
  };
  const reachable = (state: string | undefined) => state === 'open' || state === 'closed';

  // 01-do-setup-ubuntu's tasks, plus a port of our own
  const UFW = `
- hosts: all
  tasks:
    - name: UFW - Allow SSH connections
      ufw: { rule: allow, name: OpenSSH }
    - name: allow http
      community.general.ufw: { rule: allow, port: "80", proto: tcp, comment: web }
    - name: UFW - Deny all other incoming traffic by default
      ufw: { state: enabled, policy: deny, direction: incoming }
`;

  it.skipIf(!present)('ufw: converges, and from outside 22 and 80 get through, 8080 and 9090 are dropped', async () => {
    const h = ufwFleet.hosts[0]!;
    expect((await scan(h))[8080], 'before: no firewall').toBe('closed');
    const { apply } = await converge(ufwFleet, UFW);
    expect(keysOf(apply, 'changed')).toEqual([`${h.name}: UFW - Allow SSH connections`, `${h.name}: UFW - Deny all other incoming traffic by default`, `${h.name}: allow http`]);
    const status = await sh(h, 'ufw status verbose');
    expect(status).toMatch(/^Status: active$/m);
    expect(status).toMatch(/^Default: deny \(incoming\)/m);
    expect(status).toMatch(/^22\/tcp \(OpenSSH\)\s+ALLOW IN\s+Anywhere/m);
    expect(status).toMatch(/^80\/tcp\s+ALLOW IN\s+Anywhere\s+# web$/m);
    const seen = await scan(h);
    expect(seen[22]).toBe('open');
    expect(reachable(seen[80]), `80: ${seen[80]}`).toBe(true);
    expect(seen[8080]).toBe('filtered');
    expect(seen[9090]).toBe('filtered');
    expect((await sh(h, 'iptables -S ufw-user-input')).trim().split('\n')).toContain('-A ufw-user-input -p tcp -m tcp --dport 80 -j ACCEPT');
  });

  it.skipIf(!present)('ufw: deleting the only SSH rule is refused by the pre-flight; the rule stays and SSH works', async () => {
    const h = ufwFleet.hosts[0]!;
    const s = await runPlaybook(ufwFleet, `- hosts: all\n  tasks:\n    - name: drop ssh\n      ufw: { rule: allow, name: OpenSSH, delete: true }\n`);
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(s.results[0]?.message).toMatch(/ufw default deny \(incoming\) and no ufw rule allows a new SSH connection \(tcp\/22 from /);
    expect(await sh(h, 'ufw status')).toMatch(/^OpenSSH\s+ALLOW\s+Anywhere/m);
    expect((await scan(h))[22]).toBe('open');
    expect(failures(await runPlaybook(ufwFleet, `- hosts: all\n  tasks:\n    - command: "true"\n`))).toEqual([]);
  });

  it.skipIf(!present)('ufw: a rule deleted and ufw disabled, seen from outside', async () => {
    const h = ufwFleet.hosts[0]!;
    await converge(ufwFleet, `- hosts: all\n  tasks:\n    - ufw: { rule: allow, port: "80", proto: tcp, delete: true }\n`);
    expect(await sh(h, 'ufw status')).not.toMatch(/^80\/tcp/m);
    expect((await scan(h))[80]).toBe('filtered');
    await converge(ufwFleet, `- hosts: all\n  tasks:\n    - ufw: { state: disabled }\n`);
    expect(await sh(h, 'ufw status')).toMatch(/^Status: inactive$/m);
    expect((await scan(h))[8080]).toBe('closed');
  });

  // 24-rh294-webservers-block and 03-a4d-security
  const FIREWALLD = `
- hosts: all
  tasks:
    - firewalld:
        service: "{{ item }}"
        immediate: true
        permanent: true
        state: enabled
      loop: [http, https]
    - name: Configure open ports with firewalld.
      ansible.posix.firewalld: { state: enabled, port: 8080/tcp, immediate: yes, permanent: yes }
`;

  it.skipIf(!present)('firewalld: converges runtime and permanent, and from outside 22, 80, 8080 get through, 9090 is rejected', async () => {
    const h = fwdFleet.hosts[0]!;
    expect((await sh(h, 'firewall-cmd --state')).trim()).toBe('running');
    expect((await scan(h))[80], 'before: http not open').toBe('filtered');
    await converge(fwdFleet, FIREWALLD);
    for (const list of [await sh(h, 'firewall-cmd --list-all'), await sh(h, 'firewall-cmd --permanent --list-all')]) {
      expect(list).toMatch(/^ {2}services: .*\bhttp https\b/m);
      expect(list).toMatch(/^ {2}ports: 8080\/tcp$/m);
    }
    const seen = await scan(h);
    expect(seen[22]).toBe('open');
    expect(reachable(seen[80]), `80: ${seen[80]}`).toBe(true);
    expect(reachable(seen[8080]), `8080: ${seen[8080]}`).toBe(true);
    expect(seen[9090]).toBe('filtered');
  });

  it.skipIf(!present)('firewalld: removing ssh from the zone is refused by the pre-flight; ssh stays', async () => {
    const h = fwdFleet.hosts[0]!;
    const s = await runPlaybook(fwdFleet, `- hosts: all\n  tasks:\n    - name: no ssh\n      firewalld: { service: ssh, state: disabled, permanent: true, immediate: true }\n`);
    expect(s.results[0]).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(s.results[0]?.message).toMatch(/firewalld zone public \(target default\) has no ssh service, port or rule that lets in a new SSH connection/);
    expect(await sh(h, 'firewall-cmd --list-services')).toMatch(/\bssh\b/);
    expect((await scan(h))[22]).toBe('open');
  });

  it.skipIf(!present)('firewalld stopped: an immediate change is refused; offline: true changes the permanent configuration, in effect once it starts', async () => {
    const h = fwdFleet.hosts[0]!;
    await sh(h, 'systemctl stop firewalld');
    const refused = await runPlaybook(fwdFleet, `- hosts: all\n  tasks:\n    - firewalld: { port: 9090/tcp, state: enabled }\n`);
    expect(failures(refused)[0]).toMatch(/firewalld is not running on .*: the running firewall \(immediate\) cannot be changed/);
    const { apply } = await converge(fwdFleet, `- hosts: all\n  tasks:\n    - firewalld: { port: 9090/tcp, state: enabled, permanent: true, offline: true }\n`);
    expect(apply.results[0]?.message).toMatch(/firewall-offline-cmd|permanent/);
    expect(await sh(h, 'firewall-offline-cmd --list-ports')).toMatch(/\b9090\/tcp\b/);
    await sh(h, 'systemctl start firewalld');
    expect((await sh(h, 'firewall-cmd --list-ports')).split(/\s+/)).toContain('9090/tcp');
    expect(reachable((await scan(h))[9090])).toBe(true);
  });
});
