import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { systemdServiceTask, systemdTask } from '../../../src/tasks/systemd.js';
import { parseServiceFact } from '../../../src/facts/services.js';
import { ctxOf, hostOf } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/service-${name}.txt`, import.meta.url), 'utf8');
const sysd = hostOf('debian');

function plan(raw: unknown, fixtureName?: string, host = sysd) {
  const args = systemdTask.schema.parse(raw);
  const svc = fixtureName && args.name ? parseServiceFact(fixture(fixtureName), { name: args.name, manager: host.init }) : undefined;
  return systemdTask.plan(args, (svc ? { svc } : {}) as never, ctxOf(host));
}
const issues = (raw: unknown) => {
  const r = systemdTask.schema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('systemd task', () => {
  it('daemon_reload alone (no name) always reloads, as the only step', () => {
    expect(plan({ daemon_reload: true })).toEqual({ kind: 'change', summary: 'reload the systemd configuration (daemon-reload)', steps: [{ command: 'systemctl daemon-reload', timeoutMs: 180000 }] });
  });
  it('daemon_reload with a name: first, only when the unit files changed (NeedDaemonReload)', () => {
    expect(plan({ name: 'ssh', daemon_reload: true, state: 'started' }, 'systemd-ssh-needs-reload')).toMatchObject({
      kind: 'change',
      summary: 'reload the systemd configuration (daemon-reload)',
      steps: [{ command: 'systemctl daemon-reload' }],
    });
    expect(plan({ name: 'ssh', daemon_reload: true, state: 'started' }, 'systemd-ssh-running')).toEqual({
      kind: 'ok',
      reason: 'ssh: no daemon-reload needed (unit files unchanged since systemd read them), running',
    });
    expect(plan({ name: 'ssh', daemon_reload: true, state: 'started', enabled: true }, 'systemd-ssh-stopped-disabled')).toMatchObject({
      summary: 'enable ssh, start ssh',
      steps: [{ command: 'systemctl enable -- ssh.service' }, { command: 'systemctl start -- ssh.service' }],
    });
  });
  it('masked: mask / unmask first, idempotent, shown as a diff; a masked unit is not started', () => {
    expect(plan({ name: 'ssh', masked: true }, 'systemd-ssh-stopped-disabled')).toMatchObject({
      summary: 'mask ssh',
      steps: [{ command: 'systemctl mask -- ssh.service' }],
      diffs: [{ before: 'state: stopped\nboot: disabled\n', after: 'state: stopped\nboot: masked\n' }],
    });
    expect(plan({ name: 'ssh', masked: true }, 'systemd-ssh-masked')).toEqual({ kind: 'ok', reason: 'ssh: masked' });
    expect(plan({ name: 'ssh', masked: false, state: 'started', enabled: true }, 'systemd-ssh-masked')).toMatchObject({
      summary: 'unmask ssh, enable ssh, start ssh',
      steps: [{ command: 'systemctl unmask -- ssh.service' }, { command: 'systemctl enable -- ssh.service' }, { command: 'systemctl start -- ssh.service' }],
    });
    expect(() => plan({ name: 'ssh', masked: true, state: 'started' }, 'systemd-ssh-running')).toThrow('cannot start ssh: the unit is masked (masked: true masks it)');
  });
  it('refuses a host without systemd, naming service', () => {
    expect(() => plan({ name: 'ssh', state: 'started' }, 'sysv-ssh-running', hostOf('debian', { init: 'sysv' }))).toThrow("systemd: this host's init system is sysv, not systemd (service: works with any)");
  });
  it('schema: name or daemon_reload alone; scope only system; unknown options refused by name', () => {
    expect(issues({ daemon_reload: true })).toEqual([]);
    expect(issues({ name: 'ssh', scope: 'system', state: 'started' })).toEqual([]);
    expect(issues({ state: 'started', daemon_reload: true })).toEqual(['name: state, enabled and masked need name']);
    expect(issues({})).toEqual(['name: give name, or daemon_reload: true alone']);
    expect(issues({ name: 'ssh' })).toEqual(['state: give state, enabled, masked, daemon_reload, or several']);
    expect(issues({ name: 'ssh', state: 'started', scope: 'user' })).toEqual(['scope: scope: only system is supported (user and global units live in a user systemd instance this task does not reach)']);
    expect(issues({ name: 'ssh', state: 'started', no_block: true })[0]).toContain('no_block');
    expect(systemdServiceTask.name).toBe('systemd_service');
  });
});
