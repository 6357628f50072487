/**
 * Ubuntu and RHEL-family pitfalls whose mechanism Debian 12 has too, proven on
 * one debian12-systemd host (only Debian images can be built here):
 *   - ufw active (Ubuntu's firewall manager, from Debian's archive): the
 *     iptables task refuses it by name; with `firewall_manager: iptables` it
 *     disables and masks ufw and owns INPUT (read back with `ufw status`,
 *     `systemctl is-enabled`, `iptables -S`), and a takeover that cuts SSH
 *     rolls back with ufw running and enabled again;
 *   - sshd socket-activated by ssh.socket (Ubuntu 22.10+'s default, Debian's
 *     option): a Port move reaches the socket (`systemctl show -p Listen`,
 *     `ss -ltn`) and we log in on the new port.
 *   - firewalld active (RHEL's firewall manager, from Debian's archive; its
 *     nftables backend, as on RHEL 8/9): refused by name; taken over with
 *     `firewall_manager: iptables` (read back with `systemctl is-active`,
 *     `is-enabled`, `iptables -S`, and an nmap scan from another container).
 * One fleet, one container; the ufw and firewalld parts run first and leave
 * 2222 open for the port move.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_LABEL, fleetImages, imageRef, startFleet, type Fleet, type FleetHost } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = await fleetImages();
const present = images.some((i) => i.name === 'debian12-systemd' && i.present);

const docker = async (...args: string[]): Promise<string> => (await promisify(execFile)('docker', args)).stdout.trim();

const firewall = (manager: string, ports = '22,2222') => `
- hosts: all
  tasks:
    - name: iptables baseline
      iptables:
        ${manager}
        chains:
          INPUT:
            policy: DROP
            rules:
              - -i lo -j ACCEPT
              - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
              - -p tcp -m multiport --dports ${ports} -m conntrack --ctstate NEW -j ACCEPT
`;

/** A script run as root through docker exec (outside provision): its stdout, trimmed; a failure throws with its output. */
async function execOk(host: FleetHost, script: string): Promise<string> {
  const r = await host.container.exec(['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script}: exit ${r.exitCode}: ${r.output}`);
  return r.stdout.trim();
}

describe.skipIf(!present)('platform pitfalls on debian12-systemd', () => {
  let fleet: Fleet;
  let host: FleetHost;
  const sh = (script: string): Promise<string> => execOk(host, script);

  let scanner = '';

  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: 'debian12-systemd', extraPorts: [2222] });
    host = fleet.hosts[0]!;
    scanner = await docker('run', '-d', '--rm', '--label', `${FLEET_LABEL}=1`, '--entrypoint', 'sleep', imageRef('debian12-systemd'), 'infinity');
  }, 180_000);
  afterAll(async () => {
    if (scanner) await docker('rm', '-f', scanner).catch(() => '');
    await fleet?.stop();
  });

  /** nmap TCP connect scan of the host from another container (default bridge): port → open | closed | filtered. */
  async function scan(ports: number[]): Promise<Record<number, string>> {
    const address = await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', host.container.getId());
    const out = await docker('exec', scanner, 'nmap', '-Pn', '-n', '-sT', '--max-retries', '1', '-p', ports.join(','), '-oG', '-', address);
    const line = out.split('\n').find((l) => l.includes('Ports:')) ?? '';
    return Object.fromEntries([...line.matchAll(/(\d+)\/(\w+)\/tcp/g)].map((m) => [Number(m[1]), m[2]!]));
  }

  it('an active ufw is refused by name; firewall_manager: iptables disables and masks it and owns INPUT, and comes back with a rollback', async () => {
    await sh('DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ufw >/dev/null && ufw allow 22/tcp >/dev/null && ufw --force enable');
    const refused = await runPlaybook(fleet, firewall(''));
    expect(failures(refused)).toEqual([
      `${host.name}: iptables baseline: iptables: ufw is active on this host and owns the firewall: it would rewrite these rules (a reload, a reboot). Manage the firewall with ufw, or set firewall_manager: iptables to stop, disable and mask ufw as part of this task`,
    ]);
    expect(await sh('ufw status')).toMatch(/^Status: active/);

    // taken over by a ruleset that cuts SSH, with the override: the host rolls back, ufw included
    const cut = await runPlaybook(
      fleet,
      `- hosts: all\n  rollback_timeout: 20\n  allow_lockout: true\n  tasks:\n    - name: cut\n      iptables: { firewall_manager: iptables, chains: { INPUT: { policy: DROP, rules: ["-i lo -j ACCEPT"] } } }\n`,
    );
    expect(cut.results[0]).toMatchObject({ status: 'failed', code: 'E_ROLLED_BACK' });
    expect(await sh('ufw status')).toMatch(/^Status: active/);
    expect(await sh('systemctl is-enabled ufw.service')).toBe('enabled');
    expect(await sh('iptables -S INPUT')).toContain('-A INPUT -j ufw-before-input');

    const { apply } = await converge(fleet, firewall('firewall_manager: iptables'));
    expect(apply.results[0]?.message).toMatch(/^stop, disable and mask ufw; /);
    expect(await sh('ufw status')).toBe('Status: inactive');
    expect(await sh('systemctl is-enabled ufw.service || true')).toBe('masked');
    expect(await sh('grep ^ENABLED= /etc/ufw/ufw.conf')).toBe('ENABLED=no');
    const input = await sh('iptables -S INPUT');
    expect(input).not.toContain('ufw-');
    expect(input.split('\n')).toEqual([
      '-P INPUT DROP',
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -p tcp -m multiport --dports 22,2222 -m conntrack --ctstate NEW -j ACCEPT',
    ]);
  }, 300_000);

  it('an active firewalld is refused by name; firewall_manager: iptables stops, disables and masks it, and our rules filter', async () => {
    // firewalld starting deletes the rules iptables holds and keeps its policies (seen here: a DROP policy would cut
    // SSH), so the host starts like a RHEL one, with firewalld alone in charge
    await sh('iptables -P INPUT ACCEPT && iptables -F INPUT');
    await sh('DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends firewalld >/dev/null && systemctl is-active firewalld');
    expect(await sh('firewall-cmd --state')).toBe('running');
    // firewalld's public zone lets ssh in and rejects the rest: 8080 (nothing listens) is filtered
    expect(await scan([22, 8080])).toEqual({ 22: 'open', 8080: 'filtered' });
    const before = await sh('iptables -S INPUT');
    const yaml = (manager: string) => firewall(manager, '22,2222,8080');

    const refused = await runPlaybook(fleet, yaml(''));
    expect(failures(refused)).toEqual([
      `${host.name}: iptables baseline: iptables: firewalld is active on this host and owns the firewall: it would rewrite these rules (a reload, a reboot, and firewalld's own rules filter packets too). Manage the firewall with firewalld, or set firewall_manager: iptables to stop, disable and mask firewalld as part of this task`,
    ]);
    expect(await sh('systemctl is-active firewalld')).toBe('active');
    expect(await sh('iptables -S INPUT')).toBe(before);

    const { apply } = await converge(fleet, yaml('firewall_manager: iptables'));
    expect(apply.results[0]?.message).toMatch(/^stop, disable and mask firewalld; /);
    expect(await sh('systemctl is-active firewalld || true')).toBe('inactive');
    expect(await sh('systemctl is-enabled firewalld || true')).toBe('masked');
    expect((await sh('iptables -S INPUT')).split('\n')).toEqual([
      '-P INPUT DROP',
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -p tcp -m multiport --dports 22,2222,8080 -m conntrack --ctstate NEW -j ACCEPT',
    ]);
    // from outside: 8080 now answers (closed: a reset, nothing listens), a port we did not open is dropped
    expect(await scan([22, 8080, 3306])).toEqual({ 22: 'open', 8080: 'closed', 3306: 'filtered' });
  }, 400_000);

  it('sshd under ssh.socket: a Port move moves the socket, and we log in on the new port', async () => {
    await sh('systemctl disable --now ssh.service >/dev/null 2>&1; systemctl enable --now ssh.socket >/dev/null 2>&1; systemctl is-active ssh.socket');
    const move = `
- hosts: all
  tasks:
    - name: sshd on 2222
      sshd_config: { settings: { Port: 2222 } }
`;
    // converge by hand: after the move the runs connect on 2222
    const check = await runPlaybook(fleet, move, { check: true });
    const apply = await runPlaybook(fleet, move);
    expect(failures(apply)).toEqual([]);
    expect(keysOf(apply, 'changed')).toEqual(keysOf(check, 'changed'));
    expect(keysOf(apply, 'changed')).toEqual([`${host.name}: sshd on 2222`]);
    expect(apply.results[0]?.message).toContain('sshd is socket-activated: ssh.socket moves to port 2222');
    for (const opts of [{}, { check: true }]) {
      const next = await runPlaybook(fleet, move, { ...opts, sshPort: 2222 });
      expect(failures(next)).toEqual([]);
      expect(keysOf(next, 'changed')).toEqual([]);
    }
    expect(await sh('systemctl show -p Listen ssh.socket')).toBe('Listen=[::]:2222 (Stream)');
    expect(await sh('ss -Hltn | awk \'{print $4}\' | sort')).toBe('*:2222');
    expect(await sh('cat /etc/systemd/system/ssh.socket.d/provision-listen.conf')).toContain('ListenStream=\nListenStream=2222');
    // a fresh login on the new port, through the published 2222
    const login = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: who\n      command: "sh -c \'echo $SSH_CONNECTION\'"\n', { sshPort: 2222 });
    expect(failures(login)).toEqual([]);
    expect(login.results[0]?.stdout?.trim()).toMatch(/ 2222$/);
  }, 300_000);
});

const debian12 = images.some((i) => i.name === 'debian12' && i.present);

/**
 * A Match block that applies to the operator (RHEL and Ubuntu images ship
 * some; admins add `Match User`): the planner reads `sshd -T -C` for its own
 * session, names the managed option the Match overrides for it, and stays
 * idempotent; read back from outside with `sshd -T` and `sshd -T -C` run by
 * docker exec.
 */
describe.skipIf(!debian12)('Match blocks on debian12', () => {
  let fleet: Fleet;
  let host: FleetHost;
  const sh = (script: string): Promise<string> => execOk(host, script);
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: 'debian12' });
    host = fleet.hosts[0]!;
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('Match User root overriding MaxAuthTries is seen for our session, named, and left alone', async () => {
    await sh("printf '\\nMatch User root\\n\\tMaxAuthTries 2\\n' >> /etc/ssh/sshd_config && sshd -t && kill -HUP 1");
    const yaml = '- hosts: all\n  tasks:\n    - name: auth tries\n      sshd_config: { settings: { MaxAuthTries: 4 } }\n';
    const { check, apply, again } = await converge(fleet, yaml);
    expect(check.results[0]?.message).toMatch(/^set MaxAuthTries 4 \(effective 6\).*; a Match block sets MaxAuthTries 2 for this session \(root from [0-9a-f.:]+\): the global value does not apply to it \(Match blocks are left untouched\)/);
    expect(apply.results[0]?.message).toContain('; a Match block sets MaxAuthTries 2 for this session');
    expect(again.results[0]?.message).toMatch(/^effective sshd settings already as requested .*; a Match block sets MaxAuthTries 2 for this session/);
    // from outside: the global section has our value, a root session from the Docker gateway gets the Match's
    const gw = (await promisify(execFile)('docker', ['inspect', '-f', '{{.NetworkSettings.Gateway}}', host.container.getId()])).stdout.trim();
    expect(await sh('sshd -T | grep ^maxauthtries')).toBe('maxauthtries 4');
    expect(await sh(`sshd -T -C user=root,host=${gw},addr=${gw} | grep ^maxauthtries`)).toBe('maxauthtries 2');
    expect(await sh(`sshd -T -C user=admin,host=${gw},addr=${gw} | grep ^maxauthtries`)).toBe('maxauthtries 4');
    expect(await sh('tail -2 /etc/ssh/sshd_config')).toBe('Match User root\n\tMaxAuthTries 2');
  }, 300_000);
});
