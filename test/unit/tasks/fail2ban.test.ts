import { describe, expect, it } from 'vitest';
import type { Plan, TaskContext } from '../../../src/contract/task.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import type { PackagesInfo } from '../../../src/facts/packages.js';
import type { ServiceInfo } from '../../../src/facts/services.js';
import { parseSshdFact } from '../../../src/facts/sshd.js';
import { JAIL_LOCAL, VALIDATE, fail2ban, renderJail } from '../../../src/tasks/fail2ban.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { fixture } from '../../fixtures/facts/sshd/fact-output.js';
import { absent, ctx, fileWith } from './_helpers.js';

const parse = (v: unknown) => fail2ban.schema.parse(v);
const hostCtx = (os: string[], kv: string[]): TaskContext => ({
  ...ctx,
  host: parseHostFacts(['__osrelease_begin', ...os, '__osrelease_end', 'uid=0', 'user=root', ...kv].join('\n')),
});
const rocky = hostCtx(['ID="rocky"', 'ID_LIKE="rhel centos fedora"', 'VERSION_ID="9.4"'], ['init=systemd', 'pm=dnf']);
const container = hostCtx(['ID=debian', 'VERSION_ID="12"'], ['init=none', 'pm=apt-get', 'container=1']);
const running: ServiceInfo = { manager: 'systemd', exists: true, active: true, enabled: true };
const installed: PackagesInfo = { fail2ban: { version: '1.0.2-2' }, 'python3-systemd': { version: '235-1+b2' } };
const none: PackagesInfo = { fail2ban: null, 'python3-systemd': null };
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};
const sshd12 = parseSshdFact(fixture('debian12/fact.out'), '/etc/ssh/sshd_config');

const JAIL_SYSTEMD = [
  '# Managed by provision (fail2ban task): local changes are overwritten.',
  '[DEFAULT]',
  'bantime = 1h',
  'findtime = 10m',
  'maxretry = 5',
  'backend = systemd',
  'ignoreip = 127.0.0.1/8 ::1',
  '',
  '[sshd]',
  'enabled = true',
  'port = 22',
  'backend = systemd',
  'journalmatch = _SYSTEMD_UNIT=ssh.service + _SYSTEMD_UNIT=sshd.service + _COMM=sshd + _COMM=sshd-session',
  '',
].join('\n');

describe('fail2ban planner', () => {
  it('fresh Debian 12 with systemd and no auth.log: journal backend, python3-systemd, port from sshd -T, restart', () => {
    const p = changed(fail2ban.plan(parse({}), { packages: none, jail: absent, authLog: absent, service: { ...running, exists: false, active: false, enabled: false }, sshd: sshd12 } as never, ctx));
    expect(p.summary).toBe('install fail2ban, python3-systemd; write /etc/fail2ban/jail.local (sshd jail on, port 22, backend systemd); restart fail2ban');
    expect(p.steps.map((s) => s.command)).toEqual([
      expect.stringContaining("install --no-install-recommends fail2ban python3-systemd"),
      writeFileSteps({ path: JAIL_LOCAL, content: JAIL_SYSTEMD, mode: '0644', owner: 'root', group: 'root', backup: false, validate: VALIDATE })[0]?.command,
      'systemctl enable -- fail2ban.service',
      'systemctl restart -- fail2ban.service',
    ]);
    expect(p.steps[1]?.stdin).toBe(JAIL_SYSTEMD);
    expect(p.diffs).toEqual([{ label: JAIL_LOCAL, before: '', after: JAIL_SYSTEMD }]);
    expect(p.predictions?.map((x) => x.request.id)).toEqual(['packages:fail2ban,python3-systemd', 'file:/etc/fail2ban/jail.local', 'service:systemd:fail2ban']);
  });

  it('idempotent: installed, same file, running and enabled -> ok with the reason', () => {
    const p = fail2ban.plan(parse({ sshd_port: 22 }), { packages: installed, jail: fileWith(JAIL_SYSTEMD), authLog: absent, service: running } as never, ctx);
    expect(p).toEqual({ kind: 'ok', reason: 'fail2ban installed, /etc/fail2ban/jail.local as requested (sshd jail on, port 22, backend systemd), service running and enabled' });
  });

  it('the jail follows the sshd port (argument, or sshd -T with several ports)', () => {
    const two = { ...sshd12, effective: { ...sshd12.effective, port: ['22', '2222'] } };
    const p = changed(fail2ban.plan(parse({}), { packages: installed, jail: fileWith(JAIL_SYSTEMD), authLog: absent, service: running, sshd: two } as never, ctx));
    expect(p.summary).toContain('port 22,2222');
    expect(p.steps[0]?.stdin).toContain('\nport = 22,2222\n');
    expect(fail2ban.facts(parse({ sshd_port: [2222] }), ctx)).not.toHaveProperty('sshd');
  });

  it('auth.log present: fail2ban file backends (auto), no python3-systemd needed', () => {
    const text = renderJail(parse({ sshd_port: 22 }), 'auto', [22]);
    const p = fail2ban.plan(parse({ sshd_port: 22 }), { packages: { fail2ban: { version: '1' }, 'python3-systemd': null }, jail: fileWith(text), authLog: fileWith(''), service: running } as never, ctx);
    expect(p.kind).toBe('ok');
    expect(text).toContain('backend = auto');
    expect(text).not.toContain('journalmatch');
  });

  it('only the service is stopped: start it (and enable), nothing else', () => {
    const p = changed(fail2ban.plan(parse({ sshd_port: 22 }), { packages: installed, jail: fileWith(JAIL_SYSTEMD), authLog: absent, service: { ...running, active: false, enabled: false } } as never, ctx));
    expect(p.summary).toBe('enable and start fail2ban');
    expect(p.steps.map((s) => s.command)).toEqual(['systemctl enable -- fail2ban.service', 'systemctl start -- fail2ban.service']);
  });

  it('RHEL family: EPEL first, log file /var/log/secure', () => {
    const facts = fail2ban.facts(parse({ sshd_port: 22 }), rocky);
    expect(facts.authLog.id).toBe('file:/var/log/secure');
    const p = changed(fail2ban.plan(parse({ sshd_port: 22 }), { packages: { ...none, 'epel-release': null }, jail: absent, authLog: absent, service: { ...running, active: false } } as never, rocky));
    expect(p.summary).toMatch(/^install epel-release \(fail2ban comes from EPEL\); install fail2ban, python3-systemd; /);
    expect(p.steps[0]?.command).toBe("dnf -y -q install epel-release");
    expect(p.steps[1]?.command).toBe('dnf -y -q install fail2ban python3-systemd');
  });

  it('no init system: installed and configured, not started, and the message says so', () => {
    const p = changed(fail2ban.plan(parse({ sshd_port: 22 }), { packages: none, jail: absent, authLog: absent } as never, container));
    expect(p.summary).toContain('host has no init system: fail2ban is installed and configured but NOT started');
    expect(p.steps.some((s) => /systemctl|service |fail2ban-client start/.test(s.command))).toBe(false);
    expect(fail2ban.facts(parse({}), container)).not.toHaveProperty('service');
  });

  it('jail.local contents: ignoreip, banaction, disabled jail', () => {
    const text = renderJail(parse({ ignoreip: ['10.0.0.0/8', '::1'], banaction: 'iptables-multiport', enabled: false, bantime: -1, findtime: '1h', maxretry: 3 }), 'systemd', [2222]);
    expect(text).toContain('\nignoreip = 127.0.0.1/8 ::1 10.0.0.0/8\nbanaction = iptables-multiport\n');
    expect(text).toContain('\nbantime = -1\nfindtime = 1h\nmaxretry = 3\n');
    expect(text).toContain('\n[sshd]\nenabled = false\nport = 2222\n');
  });

  it('hostile arguments are rejected (they would inject jail.local lines)', () => {
    expect(() => parse({ ignoreip: ['10.0.0.1\n[recidive]'] })).toThrow();
    expect(() => parse({ bantime: '1h\nenabled = false' })).toThrow(/fail2ban time/);
    expect(() => parse({ banaction: 'x\ny' })).toThrow();
    expect(() => parse({ sshd_port: 70000 })).toThrow();
    expect(() => parse({ maxretry: 0 })).toThrow();
    expect(() => parse({ bogus: 1 })).toThrow();
  });

  it('the validation tests a copy of /etc/fail2ban holding the candidate', () => {
    expect(VALIDATE).toContain('cp %s "$d"/jail.local && fail2ban-client -c "$d" -t');
  });
});
