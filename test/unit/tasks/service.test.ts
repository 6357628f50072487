import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serviceTask } from '../../../src/tasks/service.js';
import { parseServiceFact } from '../../../src/facts/services.js';
import { serviceSteps, signalReloadSteps } from '../../../src/tasks/lib/services.js';

import type { TaskContext } from '../../../src/contract/task.js';
import { ctxOf, hostOf } from './_helpers.js';
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/service-${name}.txt`, import.meta.url), 'utf8');
const sysd = hostOf('debian');
const sysv = hostOf('debian', { init: 'sysv' });
const none = hostOf('debian', { init: 'none', container: true });

function plan(raw: unknown, fixtureName: string, host = sysd, ctx: Partial<TaskContext> = {}) {
  const args = serviceTask.schema.parse(raw);
  const svc = parseServiceFact(fixture(fixtureName), { name: args.name, manager: host.init });
  return serviceTask.plan(args, { svc }, { ...ctxOf(host), ...ctx });
}
const initScript = (status: number, running: number, links = 'update-rc.d', enabled = '') =>
  `manager=none\nactive=${running}\nexists=1\nlinks=${links}\ninitscript=1\nstatus=${status}\n${enabled}`;
function planNone(raw: unknown, out: string) {
  const args = serviceTask.schema.parse(raw);
  return serviceTask.plan(args, { svc: parseServiceFact(out, { name: args.name, manager: 'none' }) }, ctxOf(none));
}

describe('service task', () => {
  it('systemd: ok when running and enabled, says why', () => {
    expect(plan({ name: 'ssh', state: 'started', enabled: true }, 'systemd-ssh-running')).toEqual({ kind: 'ok', reason: 'ssh: enabled, running' });
  });
  it('systemd: enable then start, exact commands, diff and prediction', () => {
    const p = plan({ name: 'ssh', state: 'started', enabled: true }, 'systemd-ssh-stopped-disabled');
    expect(p).toMatchObject({
      kind: 'change',
      summary: 'enable ssh, start ssh',
      steps: [{ command: 'systemctl enable -- ssh.service' }, { command: 'systemctl start -- ssh.service' }],
      diffs: [{ label: 'service ssh', before: 'state: stopped\nboot: disabled\n', after: 'state: running\nboot: enabled\n' }],
    });
    expect(p.kind === 'change' && p.predictions?.[0]?.value).toMatchObject({ active: true, enabled: true });
  });
  it('restarted / reloaded always change; reload of a stopped service starts it', () => {
    expect(plan({ name: 'ssh', state: 'restarted' }, 'systemd-ssh-running')).toMatchObject({ kind: 'change', steps: [{ command: 'systemctl restart -- ssh.service' }] });
    expect(plan({ name: 'ssh', state: 'reloaded' }, 'systemd-ssh-running')).toMatchObject({ kind: 'change', steps: [{ command: 'systemctl reload -- ssh.service' }] });
    expect(plan({ name: 'ssh', state: 'reloaded' }, 'systemd-ssh-stopped-disabled')).toMatchObject({ summary: 'start ssh (was stopped, nothing to reload)' });
  });
  it('systemd: masked fails naming unmask; static cannot be enabled (ok with reason); missing unit fails', () => {
    expect(() => plan({ name: 'ssh', state: 'started' }, 'systemd-ssh-masked')).toThrow('cannot start ssh: the unit is masked (systemctl unmask ssh)');
    expect(plan({ name: 'systemd-journald', enabled: true }, 'systemd-static')).toEqual({ kind: 'ok', reason: 'systemd-journald: static unit: started by its dependents, cannot be enabled' });
    expect(() => plan({ name: 'nosuch', state: 'started' }, 'systemd-missing')).toThrow('service nosuch not found on web1 (no unit nosuch)');
  });
  it('sysv: service + update-rc.d on debian, chkconfig on rhel', () => {
    expect(plan({ name: 'ssh', state: 'started' }, 'sysv-ssh-stopped', sysv)).toMatchObject({ steps: [{ command: 'service ssh start' }] });
    expect(plan({ name: 'ssh', state: 'stopped', enabled: false }, 'sysv-ssh-running', sysv)).toMatchObject({
      summary: 'disable ssh, stop ssh',
      steps: [{ command: 'update-rc.d ssh disable' }, { command: 'service ssh stop' }],
    });
    expect(plan({ name: 'crond', enabled: true }, 'sysv-centos6-crond', hostOf('rhel', { init: 'sysv' }))).toMatchObject({ steps: [{ command: 'chkconfig crond on' }] });
  });
  it('no init system: enable fails, start of a stopped daemon fails, running daemon ok, reload by SIGHUP', () => {
    expect(() => plan({ name: 'sshd', enabled: true }, 'none-sshd-running', none)).toThrow('cannot enable sshd: host has no init system (container without systemd), nothing starts services at boot');
    expect(plan({ name: 'sshd', state: 'started', enabled: false }, 'none-sshd-running', none)).toEqual({
      kind: 'ok',
      reason: 'sshd: not started at boot (host has no init system), running (host has no init system: not managed)',
    });
    expect(plan({ name: 'sshd', state: 'reloaded' }, 'none-sshd-running', none)).toEqual({
      kind: 'change',
      summary: 'reload sshd (SIGHUP: no init system)',
      steps: [{ command: 'pkill -HUP -o -x -- sshd' }],
    });
    expect(() => plan({ name: 'sshd', state: 'restarted' }, 'none-sshd-running', none)).toThrow('cannot restart sshd: host has no init system');
    expect(() => plan({ name: 'fail2ban', state: 'started' }, 'none-missing', none)).toThrow('service fail2ban not found');
  });
  it('no init system, /etc/init.d script: the script runs the daemon, update-rc.d / chkconfig write the boot links', () => {
    expect(planNone({ name: 'nginx', state: 'started', enabled: true }, initScript(3, 0))).toMatchObject({
      kind: 'change',
      summary: 'enable nginx, start nginx',
      steps: [{ command: 'update-rc.d nginx defaults' }, { command: '/etc/init.d/nginx start' }],
      diffs: [{ before: 'state: stopped\nboot: disabled\n', after: 'state: running\nboot: enabled\n' }],
    });
    expect(planNone({ name: 'nginx', state: 'started', enabled: true }, initScript(0, 1, 'update-rc.d', 'enabled=1\n'))).toEqual({ kind: 'ok', reason: 'nginx: enabled, running' });
    expect(planNone({ name: 'nginx', state: 'stopped', enabled: false }, initScript(0, 1, 'chkconfig', 'enabled=1\n'))).toMatchObject({
      steps: [{ command: 'chkconfig nginx off' }, { command: '/etc/init.d/nginx stop' }],
    });
    expect(planNone({ name: 'nginx', state: 'restarted' }, initScript(0, 1))).toMatchObject({ steps: [{ command: '/etc/init.d/nginx restart' }] });
    expect(planNone({ name: 'nginx', state: 'reloaded' }, initScript(0, 1))).toMatchObject({ steps: [{ command: '/etc/init.d/nginx reload' }] });
    expect(() => planNone({ name: 'nginx', enabled: true }, 'manager=none\nactive=0\ninitscript=1\nstatus=3\n')).toThrow(
      'cannot enable nginx: host has no init system and neither update-rc.d nor chkconfig is installed to write its /etc/rc?.d links',
    );
    // the recorded debian12 container: sshd is PID 1, /etc/init.d/ssh and its S links shipped with the image
    expect(plan({ name: 'ssh', state: 'started', enabled: true }, 'none-ssh-initscript', none)).toEqual({ kind: 'ok', reason: 'ssh: enabled, running' });
  });
  it('a missing service: an error, except in check mode after an earlier predicted change (it may install it)', () => {
    const pending = { check: true, earlierChanges: 1 };
    expect(plan({ name: 'nginx', state: 'started', enabled: true }, 'systemd-missing', sysd, pending)).toMatchObject({
      kind: 'change',
      summary: 'enable nginx, start nginx (not installed yet: an earlier task would install it)',
      diffs: [{ before: 'state: not installed\nboot: disabled\n', after: 'state: running\nboot: enabled\n' }],
    });
    // no init system: a package brings the init script, so the script's steps are predicted
    expect(plan({ name: 'nginx', state: 'restarted' }, 'none-missing', none, pending)).toMatchObject({ summary: 'restart nginx (not installed yet: an earlier task would install it)', steps: [{ command: '/etc/init.d/nginx restart' }] });
    expect(() => plan({ name: 'nginx', state: 'started' }, 'systemd-missing', sysd, { check: true, earlierChanges: 0 })).toThrow('service nginx not found');
    expect(() => plan({ name: 'nginx', state: 'started' }, 'systemd-missing', sysd, { check: false, earlierChanges: 3 })).toThrow('service nginx not found');
  });
  it('lib: quoting, none throws, signal helpers', () => {
    expect(serviceSteps(sysv, "a'b", 'restart')).toEqual([{ command: "service 'a'\\''b' restart", timeoutMs: 180000 }]);
    expect(() => serviceSteps(none, 'fail2ban', 'enable')).toThrow('cannot enable fail2ban: host has no init system (container without systemd)');
    expect(signalReloadSteps('nginx', 'HUP', '/run/nginx.pid')).toEqual([{ command: 'kill -HUP "$(cat /run/nginx.pid)"' }]);
    expect(() => signalReloadSteps('x', 'HUP; rm')).toThrow('invalid signal name');
  });
  it('schema: needs state or enabled; refuses shell in the name', () => {
    expect(serviceTask.schema.safeParse({ name: 'ssh' }).success).toBe(false);
    expect(serviceTask.schema.safeParse({ name: 'ssh; reboot', state: 'started' }).success).toBe(false);
  });
});
