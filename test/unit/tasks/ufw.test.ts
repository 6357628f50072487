import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessInfo, Plan } from '../../../src/contract/task.js';
import type { FirewallManagers } from '../../../src/facts/firewall-managers.js';
import { parseUfw, type UfwState } from '../../../src/facts/ufw.js';
import { ufw } from '../../../src/tasks/ufw.js';
import { ctx, noManagers } from './_helpers.js';

const fixture = (name: string) => parseUfw(readFileSync(new URL(`../../fixtures/facts/ufw/${name}.txt`, import.meta.url), 'utf8'));
const fresh = fixture('debian12-inactive-reset');
const rich = fixture('debian12-active-rules');
const args = (a: Record<string, unknown>) => ufw.schema.parse(a);
const plan = (a: Record<string, unknown>, state: UfwState = fresh, managers: FirewallManagers = noManagers): Plan => ufw.plan(args(a), { ufw: state, managers }, ctx);
const access: AccessInfo = { user: 'admin', clientIp: '10.0.0.1', serverPort: 22, auth: 'publickey', keys: [] };
const lockout = (a: Record<string, unknown>, state: UfwState = fresh, acc: AccessInfo = access) => ufw.lockout!(args(a), { ufw: state, managers: noManagers }, acc, ctx);
const commands = (p: Plan): string[] => (p.kind === 'change' ? p.steps.map((s) => s.command.split(' && ')[0] ?? '') : []);
/** Apply a plan's prediction: the state the next task sees. */
const after = (p: Plan): UfwState => {
  if (p.kind !== 'change') throw new Error(`expected change: ${JSON.stringify(p)}`);
  return p.predictions!.find((x) => x.request.id === 'ufw:state')!.value as UfwState;
};

describe('ufw: validation (Ansible parameters, aliases, nothing silently ignored)', () => {
  const issues = (a: Record<string, unknown>) => {
    const r = ufw.schema.safeParse(a);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('the corpus forms parse', () => {
    expect(issues({ rule: 'allow', name: 'OpenSSH' })).toEqual([]);
    expect(issues({ state: 'enabled', policy: 'deny', direction: 'incoming' })).toEqual([]);
    expect(issues({ rule: 'allow', port: '80', proto: 'tcp' })).toEqual([]);
    expect(issues({ rule: 'allow', src: '10.0.0.0/8', dest: 'any', to_port: 22, protocol: 'tcp', if: 'eth0', comment: 'x' })).toEqual([]);
  });
  it('refuses what it does not do, naming it', () => {
    expect(issues({ rule: 'allow', port: 22, insert: 1 })).toEqual(['insert: insert is not supported: rules are appended in ufw order; to order them, give them in the order wanted']);
    expect(issues({ rule: 'allow', port: 22, log: true })[0]).toMatch(/^log: log is not supported/);
    expect(issues({ rule: 'allow', port: 22, route: true })[0]).toMatch(/^route: route is not supported/);
    expect(issues({ rule: 'allow', port: 22, interface_in: 'eth0' })[0]).toMatch(/^interface_in: /);
    expect(issues({ rule: 'allow', direction: 'routed' })).toEqual(['direction: routed (forwarding) rules are not supported']);
    expect(issues({ rule: 'allow', nonsense: 1 })[0]).toMatch(/nonsense/);
  });
  it('refuses combinations that would be ignored or that ufw refuses', () => {
    expect(issues({})).toEqual(['rule: give at least one of state, default (policy), rule, logging']);
    expect(issues({ state: 'enabled', port: 22 })).toEqual(['to_port: to_port is a rule parameter: give rule: too']);
    expect(issues({ state: 'enabled', delete: true })).toEqual(['delete: delete removes a rule: give rule: too']);
    expect(issues({ rule: 'allow', name: 'OpenSSH', port: 22 })[0]).toMatch(/^name: an application profile brings its own ports/);
    expect(issues({ rule: 'allow', port: '1000:2000' })).toEqual(['proto: a port range or list needs proto tcp or udp (ufw refuses it otherwise)']);
    expect(issues({ state: 'enabled', direction: 'incoming' })).toEqual(['direction: direction applies to default (policy) or to rule']);
    expect(issues({ default: 'deny', policy: 'deny' })[0]).toMatch(/give only one of default, policy/);
    expect(issues({ rule: 'allow', port: 22, from_ip: "1.2.3.4'; reboot" })[0]).toMatch(/^from_ip: one word/);
  });
});

describe('ufw: plan', () => {
  it('a rule is added once: ufw words, undo recorded, second run ok', () => {
    const p = plan({ rule: 'allow', port: 22, proto: 'tcp' });
    expect(p).toMatchObject({ kind: 'change', summary: 'add ufw rule "allow in from any to any port 22 proto tcp"', risk: 'access' });
    expect(commands(p)).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; ufw allow in from any to any port 22 proto tcp >/dev/null']);
    expect(p.kind === 'change' && p.steps[0]!.command).toContain('ufw delete allow in from any to any port 22 proto tcp');
    const next = after(p);
    expect(next.rules.v4).toHaveLength(1);
    expect(next.rules.v6).toHaveLength(1);
    expect(plan({ rule: 'allow', port: 22, proto: 'tcp' }, next).kind).toBe('ok');
  });

  it('rules the host has (captured tuples) are ok, in ufw normal form; a different comment or family is a change', () => {
    expect(plan({ rule: 'allow', port: '22', proto: 'tcp' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', from_ip: '10.0.0.0/8', port: 80, proto: 'tcp' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', from_ip: '10.1.2.3/8', port: 80, proto: 'tcp', comment: 'web lan' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', from_ip: '10.0.0.0/8', port: 80, proto: 'tcp', comment: 'other' }, rich).kind).toBe('change');
    expect(plan({ rule: 'allow', name: 'OpenSSH' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'limit', port: 2222, proto: 'tcp' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'deny', port: 25, interface: 'eth0', direction: 'in' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'reject', port: 53, proto: 'udp', direction: 'out' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', to_ip: '10.0.0.1', port: 443, from_ip: '192.168.1.0/24', from_port: '1000:2000', proto: 'tcp' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', to_ip: '1.2.3.4', port: 123, proto: 'udp', direction: 'out', interface: 'eth0' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'allow', from_ip: '2001:db8::/32', port: 53, proto: 'udp' }, rich).kind).toBe('ok');
    expect(plan({ rule: 'deny', port: 25 }, rich).kind).toBe('change'); // no interface: another rule
  });

  it('delete: removed from every family, ok when absent', () => {
    const p = plan({ rule: 'allow', port: 22, proto: 'tcp', delete: true }, rich);
    expect(commands(p)).toEqual(['PATH="$PATH:/usr/sbin:/sbin"; ufw delete allow in from any to any port 22 proto tcp >/dev/null']);
    expect(after(p).rules.v4.filter((r) => r.dport === '22' && !r.dapp)).toEqual([]);
    expect(plan({ rule: 'allow', port: 22, proto: 'tcp', delete: true }, fresh).kind).toBe('ok');
  });

  it('state, default policy and logging; in one task the rule comes before enabling', () => {
    const p = plan({ state: 'enabled', policy: 'reject', logging: 'high' });
    expect(commands(p).map((c) => c.replace(/^PATH="\$PATH:\/usr\/sbin:\/sbin"; /, ''))).toEqual([
      'ufw default reject incoming >/dev/null',
      'ufw logging high >/dev/null',
      'ufw --force enable >/dev/null',
    ]);
    expect(p.kind === 'change' && p.steps[0]!.command).toContain("ufw default deny incoming'");
    expect(after(p)).toMatchObject({ active: true, logging: 'high', defaults: { incoming: 'reject' } });
    expect(plan({ state: 'enabled', policy: 'deny', direction: 'incoming' }, rich).kind).toBe('ok');
    expect(plan({ state: 'disabled' }, rich).kind).toBe('change');
    expect(plan({ state: 'disabled' }, fresh).kind).toBe('ok');
    expect(plan({ policy: 'allow', direction: 'outgoing' }, rich).kind).toBe('ok');
    expect(commands(plan({ policy: 'allow', direction: 'routed' }, rich))[0]).toMatch(/ufw default allow routed/);
    // logging on keeps a level, and means low when off
    expect(plan({ logging: 'on' }, rich).kind).toBe('ok');
    expect(plan({ logging: true }, { ...rich, logging: 'off' })).toMatchObject({ kind: 'change', summary: 'ufw logging low, was off' });
  });

  it('reset and reloaded change every time, as in Ansible; reloading an inactive ufw is ok', () => {
    expect(commands(plan({ state: 'reset' }, rich))[0]).toMatch(/ufw --force reset/);
    expect(after(plan({ state: 'reset' }, rich))).toMatchObject({ active: false, rules: { v4: [], v6: [] } });
    expect(commands(plan({ state: 'reloaded' }, rich))[0]).toMatch(/ufw reload/);
    expect(plan({ state: 'reloaded' }, fresh)).toMatchObject({ kind: 'ok', reason: 'ufw is not enabled: nothing to reload' });
  });

  it('predicts the firewall managers fact: an iptables task after it sees ufw active', () => {
    const p = plan({ state: 'enabled' });
    if (p.kind !== 'change') throw new Error('change expected');
    expect((p.predictions![1]!.value as FirewallManagers).ufw).toMatchObject({ installed: true, active: true });
  });

  it('refuses: not installed (apply), firewalld running when enabling', () => {
    const absent = parseUfw('__absent\n');
    expect(() => plan({ state: 'enabled' }, absent)).toThrow('ufw is not installed on web1: install the ufw package first');
    expect(ufw.plan(args({ state: 'enabled' }), { ufw: absent, managers: noManagers }, { ...ctx, check: true }).kind).toBe('change');
    const fwd: FirewallManagers = { ...noManagers, firewalld: { ...noManagers.firewalld, exists: true, active: true, backend: 'nftables' } };
    expect(() => plan({ state: 'enabled' }, fresh, fwd)).toThrow(/firewalld is running on this host and manages the firewall/);
  });
});

describe('ufw: lockout pre-flight', () => {
  it('enabling with default deny and no SSH rule is refused; with the rule (or its profile) it is not', () => {
    expect(lockout({ state: 'enabled', policy: 'deny' })).toBe('ufw default deny (incoming) and no ufw rule allows a new SSH connection (tcp/22 from 10.0.0.1)');
    const withSsh = after(plan({ rule: 'allow', port: 22, proto: 'tcp' }));
    expect(lockout({ state: 'enabled', policy: 'deny' }, withSsh)).toBeUndefined();
    const withApp = after(plan({ rule: 'allow', name: 'OpenSSH' }, { ...fresh, apps: rich.apps }));
    expect(lockout({ state: 'enabled' }, withApp)).toBeUndefined();
    // ufw not installed yet (an earlier task installs it): OpenSSH is openssh-server's profile, 22/tcp
    const absent = parseUfw('__absent\n');
    expect(lockout({ state: 'enabled' }, after(ufw.plan(args({ rule: 'allow', name: 'OpenSSH' }), { ufw: absent, managers: noManagers }, { ...ctx, check: true })))).toBeUndefined();
    // a profile whose ports are unknown proves nothing
    expect(lockout({ state: 'enabled' }, { ...withApp, apps: {} })).toMatch(/no ufw rule allows/);
  });

  it('sshd on another port, a rule for another source, an interface rule: not proven', () => {
    const with22 = after(plan({ rule: 'allow', port: 22, proto: 'tcp' }));
    expect(lockout({ state: 'enabled' }, with22, { ...access, serverPort: 2222 })).toMatch(/tcp\/2222/);
    expect(lockout({ state: 'enabled' }, after(plan({ rule: 'allow', port: 22, from_ip: '192.168.0.0/16' })))).toMatch(/no ufw rule allows/);
    expect(lockout({ state: 'enabled' }, after(plan({ rule: 'allow', port: 22, from_ip: '10.0.0.0/8' })))).toBeUndefined();
    expect(lockout({ state: 'enabled' }, after(plan({ rule: 'allow', port: 22, interface: 'eth0' })))).toMatch(/no ufw rule allows/);
    expect(lockout({ state: 'enabled' }, after(plan({ rule: 'allow', port: '20:30', proto: 'tcp' })))).toBeUndefined();
  });

  it('on an active ufw: deleting the SSH rule, a deny before it, a default deny: refused; a deny after the allow is not', () => {
    const active = after(plan({ rule: 'allow', port: 22, proto: 'tcp' }, { ...fresh, active: true }));
    expect(lockout({ rule: 'allow', port: 22, proto: 'tcp', delete: true }, active)).toMatch(/no ufw rule allows/);
    const open = { ...fresh, active: true, defaults: { ...fresh.defaults, incoming: 'allow' as const } };
    expect(lockout({ rule: 'deny', port: 22 }, open)).toBe('ufw rule "deny in from any to any port 22" blocks a new SSH connection (tcp/22 from 10.0.0.1)');
    expect(lockout({ rule: 'deny', port: 22, interface: 'eth0' }, open)).toMatch(/may block/);
    expect(lockout({ rule: 'deny', port: 22 }, active)).toBeUndefined();
    expect(lockout({ policy: 'deny' }, open)).toMatch(/ufw default deny/);
    expect(lockout({ rule: 'deny', port: 22, proto: 'udp' }, open)).toBeUndefined();
    // IPv6 client: the v6 rules count
    expect(lockout({ state: 'enabled' }, after(plan({ rule: 'allow', port: 22, from_ip: '10.0.0.0/8' })), { ...access, clientIp: '2001:db8::1' })).toMatch(/no ufw rule allows/);
  });

  it('disabling, or a verdict the host already has, is not refused', () => {
    expect(lockout({ state: 'disabled' }, rich)).toBeUndefined();
    const closed = { ...fresh, active: true };
    expect(lockout({ rule: 'allow', port: 80, proto: 'tcp' }, closed)).toBeUndefined();
  });
});
