import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serviceTask } from '../../../src/tasks/service.js';
import { parseServiceFact } from '../../../src/facts/services.js';
import { serviceSteps, signalReloadSteps } from '../../../src/tasks/lib/services.js';

import { ctxOf, hostOf } from './_helpers.js';
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/service-${name}.txt`, import.meta.url), 'utf8');
const sysd = hostOf('debian');
const sysv = hostOf('debian', { init: 'sysv' });
const none = hostOf('debian', { init: 'none', container: true });

function plan(raw: unknown, fixtureName: string, host = sysd) {
  const args = serviceTask.schema.parse(raw);
  const svc = parseServiceFact(fixture(fixtureName), { name: args.name, manager: host.init });
  return serviceTask.plan(args, { svc }, ctxOf(host));
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
