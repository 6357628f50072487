import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFirewalld, parseZones } from '../../../src/facts/firewalld.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/firewalld/${name}`, import.meta.url), 'utf8');

describe('firewalld fact (captured on debian12-systemd, firewalld 1.3.3 from the archive: test/fixtures/facts/SOURCES.md)', () => {
  it('running: default zone, every zone runtime and permanent, rich rules, the addresses of each interface', () => {
    const s = parseFirewalld(fixture('debian12-running-changed.txt'));
    expect(s).toMatchObject({ installed: true, running: true, addresses: { lo: ['127.0.0.1'], eth0: ['172.17.0.2'] } });
    expect(s.runtime?.defaultZone).toBe('public');
    expect(s.runtime?.zones.public).toEqual({
      name: 'public',
      target: 'default',
      interfaces: [],
      sources: [],
      services: ['dhcpv6-client', 'ssh'],
      ports: ['8443/tcp'],
      richRules: ['rule family="ipv4" source address="10.1.0.0/16" port port="22" protocol="tcp" reject'],
    });
    expect(s.runtime?.zones.block?.target).toBe('%%REJECT%%');
    expect(s.runtime?.zones.drop?.target).toBe('DROP');
    expect(s.permanent?.zones.public?.richRules).toHaveLength(1);
    expect(Object.keys(s.runtime?.zones ?? {})).toContain('trusted');
  });

  it('stopped: only the permanent configuration (firewall-offline-cmd)', () => {
    const s = parseFirewalld(fixture('debian12-stopped.txt'));
    expect(s.running).toBe(false);
    expect(s.runtime).toBeUndefined();
    expect(s.permanent?.defaultZone).toBe('public');
    expect(s.permanent?.zones.public?.services).toEqual(['dhcpv6-client', 'ssh']);
  });

  it('not installed', () => {
    expect(parseFirewalld(fixture('debian12-absent.txt'))).toMatchObject({ installed: false, running: false });
  });

  it('Fedora Workstation --list-all (real, avocado-framework/avocado-vt#1785): zone with (active), port ranges', () => {
    const zones = parseZones(fixture('fedora-list-all.txt').split('\n'));
    expect(zones.FedoraWorkstation).toMatchObject({ target: 'default', interfaces: ['wlp61s0'], ports: ['1025-65535/udp', '1025-65535/tcp'], services: ['dhcpv6-client', 'mdns', 'samba-client', 'ssh'] });
  });

  it('hand-made: output it does not know, running without a zone listing (no root)', () => {
    expect(() => parseFirewalld('nonsense')).toThrow(/fact firewalld: unexpected output/);
    expect(() => parseFirewalld('__addr\n__running\n__runtime\n')).toThrow(/become: true/);
  });
});
