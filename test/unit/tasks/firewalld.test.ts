import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessInfo, Plan } from '../../../src/contract/task.js';
import type { FirewallManagers } from '../../../src/facts/firewall-managers.js';
import { parseFirewalld, type FirewalldState } from '../../../src/facts/firewalld.js';
import { firewalld } from '../../../src/tasks/firewalld.js';
import { sameRich, sshZones } from '../../../src/tasks/lib/firewalld.js';
import { ctx, noManagers } from './_helpers.js';

const fixture = (name: string) => parseFirewalld(readFileSync(new URL(`../../fixtures/facts/firewalld/${name}.txt`, import.meta.url), 'utf8'));
const running = fixture('debian12-running-changed');
const stopped = fixture('debian12-stopped');
const args = (a: Record<string, unknown>) => firewalld.schema.parse(a);
const plan = (a: Record<string, unknown>, fw: FirewalldState = running, managers: FirewallManagers = noManagers): Plan => firewalld.plan(args(a), { fw, managers }, ctx);
// the helpers' host connected to 10.0.0.2 from 10.0.0.1
const access: AccessInfo = { user: 'admin', clientIp: '10.0.0.1', serverPort: 22, auth: 'publickey', keys: [] };
const lockout = (a: Record<string, unknown>, fw: FirewalldState = running, acc: AccessInfo = access) => firewalld.lockout!(args(a), { fw, managers: noManagers }, acc, ctx);
const commands = (p: Plan): string[] => (p.kind === 'change' ? p.steps.map((s) => s.command.split(' && ')[0] ?? '') : []);
const after = (p: Plan): FirewalldState => {
  if (p.kind !== 'change') throw new Error(`expected change: ${JSON.stringify(p)}`);
  return p.predictions![0]!.value as FirewalldState;
};

describe('firewalld: validation', () => {
  const issues = (a: Record<string, unknown>) => {
    const r = firewalld.schema.safeParse(a);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('the corpus forms parse', () => {
    expect(issues({ service: 'http', permanent: true, state: 'enabled', immediate: true })).toEqual([]);
    expect(issues({ state: 'enabled', port: '22/tcp', zone: 'external', immediate: true, permanent: true })).toEqual([]);
  });
  it('refuses what it does not do, naming it', () => {
    expect(issues({ masquerade: true, state: 'enabled', service: 'http' })).toEqual(['masquerade: masquerade is not supported: masquerading is not supported']);
    expect(issues({ service: 'http', timeout: 30, state: 'enabled' })[0]).toMatch(/^timeout: timeout is not supported/);
    expect(issues({ service: 'http', port: '80/tcp', state: 'enabled' })).toEqual(['port: give exactly one of service, port, rich_rule, source, interface (got service, port)']);
    expect(issues({ state: 'enabled' })[0]).toMatch(/give exactly one of/);
    expect(issues({ service: 'http', state: 'present' })[0]).toMatch(/^state: state present creates or removes zones/);
    expect(issues({ port: '80', state: 'enabled' })[0]).toMatch(/^port: PORT\/PROTOCOL/);
    expect(issues({ service: 'http', state: 'enabled', immediate: false })).toEqual(['immediate: permanent: false and immediate: false change nothing']);
    expect(issues({ service: 'http; reboot', state: 'enabled' })[0]).toMatch(/^service: letters/);
    expect(issues({ service: 'http' })[0]).toMatch(/^state/);
  });
});

describe('firewalld: plan', () => {
  it('the corpus task: runtime and permanent, undo recorded, then ok', () => {
    const p = plan({ service: 'http', permanent: true, immediate: true, state: 'enabled' });
    expect(p).toMatchObject({ kind: 'change', summary: 'enable service http in zone public (runtime and permanent)', risk: 'access' });
    expect(commands(p)).toEqual([
      'PATH="$PATH:/usr/sbin:/sbin"; firewall-cmd --zone=public --add-service=http >/dev/null',
      'PATH="$PATH:/usr/sbin:/sbin"; firewall-cmd --permanent --zone=public --add-service=http >/dev/null',
    ]);
    expect(p.kind === 'change' && p.steps[0]!.command).toContain('firewall-cmd --zone=public --remove-service=http');
    expect(plan({ service: 'http', permanent: true, immediate: true, state: 'enabled' }, after(p)).kind).toBe('ok');
  });

  it("permanent false (Ansible's default) is the running firewall only; permanent alone the configuration only", () => {
    expect(commands(plan({ port: '8080/tcp', state: 'enabled' }))).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; firewall-cmd --zone=public --add-port=8080/tcp >/dev/null']);
    // 8443/tcp is in both (captured)
    expect(plan({ port: '8443/tcp', permanent: true, state: 'enabled' }).kind).toBe('ok');
    expect(commands(plan({ port: '8443/tcp', permanent: true, state: 'disabled' }))).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; firewall-cmd --permanent --zone=public --remove-port=8443/tcp >/dev/null']);
  });

  it('rich rules compare whatever the quoting and order; sources normalised; interfaces and sources move zones', () => {
    expect(plan({ rich_rule: 'rule family=ipv4 source address=10.1.0.0/16 port port=22 protocol=tcp reject', state: 'enabled' }).kind).toBe('ok');
    expect(sameRich('rule family="ipv4" service name="http" accept', "rule service name=http family='ipv4' accept")).toBe(true);
    expect(sameRich('rule family="ipv4" service name="http" accept', 'rule family="ipv4" service name="https" accept')).toBe(false);
    const p = plan({ source: '10.9.1.1/16', zone: 'internal', state: 'enabled' });
    expect(commands(p)).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; firewall-cmd --zone=internal --change-source=10.9.0.0/16 >/dev/null']);
    const moved = after(plan({ interface: 'eth0', zone: 'trusted', state: 'enabled' }, after(plan({ interface: 'eth0', zone: 'work', state: 'enabled' }))));
    expect(moved.runtime?.zones.trusted?.interfaces).toEqual(['eth0']);
    expect(moved.runtime?.zones.work?.interfaces).toEqual([]);
  });

  it('firewalld stopped: immediate refused clearly; offline changes the permanent configuration, saying immediate is ignored', () => {
    expect(() => plan({ service: 'http', state: 'enabled' }, stopped)).toThrow(
      'firewalld is not running on web1: the running firewall (immediate) cannot be changed; start it first (service: name=firewalld state=started), or set permanent: true and offline: true to change the permanent configuration with firewall-offline-cmd',
    );
    expect(() => plan({ service: 'http', permanent: true, immediate: false, state: 'enabled' }, stopped)).toThrow(/firewalld is not running on web1: set permanent: true and offline: true/);
    const p = plan({ service: 'http', permanent: true, immediate: true, offline: true, state: 'enabled' }, stopped);
    expect(p).toMatchObject({ summary: 'enable service http in zone public (permanent) (firewalld is not running: immediate ignored, as offline: true says)' });
    expect(commands(p)).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; firewall-offline-cmd --zone=public --add-service=http >/dev/null']);
  });

  it('refuses: an unknown zone, not installed (apply), ufw active', () => {
    expect(() => plan({ service: 'http', zone: 'nope', state: 'enabled' })).toThrow(/zone nope does not exist \(runtime; zones: block, dmz/);
    const absent = parseFirewalld('__addr\n__absent\n');
    expect(() => plan({ service: 'http', state: 'enabled' }, absent)).toThrow('firewalld is not installed on web1: install the firewalld package first');
    expect(firewalld.plan(args({ service: 'http', state: 'enabled' }), { fw: absent, managers: noManagers }, { ...ctx, check: true }).kind).toBe('change');
    const ufwOn: FirewallManagers = { ...noManagers, ufw: { installed: true, enabled: true, active: true, masked: false } };
    expect(() => plan({ service: 'http', state: 'enabled' }, running, ufwOn)).toThrow(/ufw is active on this host/);
  });
});

describe('firewalld: lockout pre-flight', () => {
  it('removing ssh from the zone we land in is refused, runtime and permanent', () => {
    expect(lockout({ service: 'ssh', state: 'disabled' })).toBe(
      'firewalld zone public (target default) has no ssh service, port or rule that lets in a new SSH connection (tcp/22 from 10.0.0.1)',
    );
    expect(lockout({ service: 'ssh', state: 'disabled', permanent: true, immediate: false })).toMatch(/\(permanent configuration: after the next reload or reboot\)$/);
    // a port that lets it in anyway
    const with22 = after(plan({ port: '22/tcp', state: 'enabled' }));
    expect(lockout({ service: 'ssh', state: 'disabled' }, with22)).toBeUndefined();
    expect(lockout({ service: 'ssh', state: 'disabled' }, with22, { ...access, serverPort: 2222 })).toBeUndefined(); // blocked before too: not this task's doing
  });

  it('a rich rule that rejects our address is refused; one for another network is not', () => {
    expect(lockout({ rich_rule: 'rule family="ipv4" source address="10.0.0.0/8" reject', state: 'enabled' })).toMatch(/^firewalld zone public: rich rule .* blocks a new SSH connection/);
    expect(lockout({ rich_rule: 'rule family="ipv4" source address="192.168.0.0/16" reject', state: 'enabled' })).toBeUndefined();
    expect(lockout({ rich_rule: 'rule family="ipv4" source address="10.0.0.0/8" service name="http" reject', state: 'enabled' })).toBeUndefined();
    expect(lockout({ rich_rule: 'rule family="ipv6" source address="::/0" drop', state: 'enabled' })).toBeUndefined();
  });

  it('binding our address (or our interface) to a zone without ssh is refused; to one with ssh is not', () => {
    expect(lockout({ source: '10.0.0.0/8', zone: 'drop', state: 'enabled' })).toMatch(/^firewalld zone drop \(target DROP\)/);
    expect(lockout({ source: '10.0.0.0/8', zone: 'internal', state: 'enabled' })).toBeUndefined();
    expect(lockout({ source: '10.0.0.0/8', zone: 'trusted', state: 'enabled' })).toBeUndefined();
    // our connection arrived at 172.17.0.2, on eth0 (the captured addresses)
    const host = { ...ctx.host, ssh: { clientIp: '10.0.0.1', clientPort: 5000, serverIp: '172.17.0.2', serverPort: 22 } };
    const lo = (a: Record<string, unknown>) => firewalld.lockout!(args(a), { fw: running, managers: noManagers }, access, { ...ctx, host });
    expect(lo({ interface: 'eth0', zone: 'block', state: 'enabled' })).toMatch(/^firewalld zone block/);
    expect(lo({ interface: 'lo', zone: 'block', state: 'enabled' })).toBeUndefined();
    expect(sshZones(running.runtime!, { clientIp: '10.0.0.1', serverIp: '172.17.0.2', serverPort: 22 }, running.addresses)).toEqual(['public']);
  });
});
