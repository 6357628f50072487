import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServiceFact, serviceFact, unitName } from '../../../src/facts/services.js';
import type { InitSystem } from '../../../src/contract/host-facts.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/service-${name}.txt`, import.meta.url), 'utf8');
const parse = (name: string, svc: string, manager: InitSystem) => parseServiceFact(fixture(name), { name: svc, manager });

describe('serviceFact parser (recorded on debian12 / debian12-systemd)', () => {
  it('systemd running + enabled', () => {
    expect(parse('systemd-ssh-running', 'ssh', 'systemd')).toEqual({ manager: 'systemd', exists: true, active: true, enabled: true, masked: false, unitFileState: 'enabled' });
    expect(parse('systemd-ssh-needs-reload', 'ssh', 'systemd')).toMatchObject({ active: true, needsDaemonReload: true });
  });
  it('systemd stopped + disabled', () => {
    expect(parse('systemd-ssh-stopped-disabled', 'ssh', 'systemd')).toMatchObject({ exists: true, active: false, enabled: false });
  });
  it('systemd masked / static / missing', () => {
    expect(parse('systemd-ssh-masked', 'ssh', 'systemd')).toMatchObject({ exists: true, active: false, enabled: false, masked: true });
    expect(parse('systemd-static', 'systemd-journald', 'systemd')).toMatchObject({ exists: true, active: true, enabled: null, unitFileState: 'static' });
    expect(parse('systemd-missing', 'nosuch', 'systemd')).toEqual({ manager: 'systemd', exists: false, active: false, enabled: false, unitFileState: '' });
  });
  it('sysv: LSB status 0/3, rc links, missing script', () => {
    expect(parse('sysv-ssh-running', 'ssh', 'sysv')).toEqual({ manager: 'sysv', exists: true, active: true, enabled: true });
    expect(parse('sysv-ssh-stopped', 'ssh', 'sysv')).toEqual({ manager: 'sysv', exists: true, active: false, enabled: true });
    expect(parse('sysv-centos6-crond', 'crond', 'sysv')).toEqual({ manager: 'sysv', exists: true, active: true, enabled: false });
    expect(parse('sysv-missing', 'nosuch', 'sysv')).toEqual({ manager: 'sysv', exists: false, active: false, enabled: false });
    expect(parseServiceFact('manager=sysv\nexists=1\nstatus=4\n', { name: 'x', manager: 'sysv' }).active).toBeNull();
  });
  it('no init: pgrep', () => {
    expect(parse('none-sshd-running', 'sshd', 'none')).toEqual({ manager: 'none', exists: true, active: true, enabled: null, initScript: false });
    expect(parse('none-missing', 'fail2ban', 'none')).toEqual({ manager: 'none', exists: false, active: false, enabled: null, initScript: false });
  });
  it('no init, /etc/init.d script: LSB status or the process, S links, the boot-link tool', () => {
    expect(parse('none-ssh-initscript', 'ssh', 'none')).toEqual({ manager: 'none', exists: true, active: true, enabled: true, initScript: true, bootLinks: 'update-rc.d' });
    const stopped = (status: number, running: number) => parseServiceFact(`manager=none\nactive=${running}\ninitscript=1\nstatus=${status}\nlinks=chkconfig\n`, { name: 'x', manager: 'none' });
    expect(stopped(3, 0)).toEqual({ manager: 'none', exists: true, active: false, enabled: false, initScript: true, bootLinks: 'chkconfig' });
    // a daemon started without the script (no pid file of its own) still counts as running
    expect(stopped(3, 1).active).toBe(true);
    expect(stopped(0, 0).active).toBe(true);
  });
  it('output from another manager is refused', () => {
    expect(() => parse('sysv-ssh-running', 'ssh', 'systemd')).toThrow('unexpected output');
  });
  it('commands: unit names, quoting', () => {
    expect(unitName('ssh')).toBe('ssh.service');
    expect(unitName('fstrim.timer')).toBe('fstrim.timer');
    expect(serviceFact.command({ name: 'ssh', manager: 'systemd' })).toBe('echo manager=systemd\nLC_ALL=C systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload -- ssh.service');
    expect(serviceFact.command({ name: 'a b$(x)', manager: 'none' })).toContain(`n='a b$(x)'`);
    expect(serviceFact.command({ name: 'ssh', manager: 'none' })).toContain('p=sshd\nn=ssh\n');
  });
});
