import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { firewallManagersFact, parseFirewallManagers } from '../../../src/facts/firewall-managers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/firewall-managers/${name}.txt`, import.meta.url), 'utf8');
const parse = (name: string) => parseFirewallManagers(fixture(name), 'systemd');

describe('firewall managers fact (captured on debian12-systemd with ufw and firewalld from the archive)', () => {
  it('neither installed', () => {
    expect(parse('debian12-systemd-none')).toEqual({
      ufw: { installed: false, enabled: false, active: false, masked: false },
      firewalld: { manager: 'systemd', exists: false, active: false, enabled: false, unitFileState: '', backend: 'iptables' },
    });
  });

  it('ufw installed and off, active, masked', () => {
    expect(parse('debian12-systemd-ufw-installed').ufw).toEqual({ installed: true, enabled: false, active: false, masked: false });
    expect(parse('debian12-systemd-ufw-active').ufw).toEqual({ installed: true, enabled: true, active: true, masked: false });
    expect(parse('debian12-systemd-ufw-masked').ufw).toEqual({ installed: true, enabled: false, active: false, masked: true });
  });

  it('firewalld running on its nftables backend', () => {
    const running = { manager: 'systemd', exists: true, active: true, enabled: true, masked: false, unitFileState: 'enabled' };
    expect(parse('debian12-systemd-firewalld-active').firewalld).toEqual({ ...running, backend: 'nftables' });
  });

  it("Ubuntu's ufw status (captured, test/fixtures/facts/ubuntu/): its first line is what the fact reads", () => {
    const status = readFileSync(new URL('../../fixtures/facts/ubuntu/ufw-status-verbose.txt', import.meta.url), 'utf8');
    // the fact's sed: first line, `Status: ` becomes `status=`
    const line = (status.split('\n')[0] ?? '').replace(/^Status: */, 'status=');
    expect(parseFirewallManagers(`__ufw\ninstalled=1\nenabled=yes\n${line}\n__firewalld\nmanager=systemd\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n`, 'systemd').ufw.active).toBe(true);
  });

  it('hand-made: without root `ufw status` prints nothing, so ENABLED=yes stands for active; firewalld before 0.6 (RHEL 7) has no FirewallBackend and drives iptables', () => {
    const out = parseFirewallManagers('__ufw\ninstalled=1\nenabled=yes\n__firewalld\nmanager=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n', 'systemd');
    expect(out.ufw.active).toBe(true);
    expect(out.firewalld).toMatchObject({ active: true, backend: 'iptables' });
  });

  it('output it does not know is refused', () => {
    expect(() => parseFirewallManagers('bash: sed: not found\n', 'systemd')).toThrow(/firewall_managers: unexpected output/);
  });

  it('the command reads ufw.conf, ufw status, the unit state and firewalld.conf', () => {
    const cmd = firewallManagersFact.command('systemd');
    expect(cmd).toContain('/etc/ufw/ufw.conf');
    expect(cmd).toContain('/etc/firewalld/firewalld.conf');
    expect(cmd).toContain('systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload -- firewalld.service');
  });
});
