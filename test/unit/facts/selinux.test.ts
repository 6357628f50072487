import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FactError } from '../../../src/contract/errors.js';
import { exactType, labelsOf, parseSebooleanFact, parseSelinuxFact, portLabel, selinuxFact } from '../../../src/facts/selinux.js';
import { readFileSync } from 'node:fs';
import { selinuxOutput } from '../../fixtures/facts/selinux/fact-output.js';

const debian12 = (name: string): string => readFileSync(new URL(`../../fixtures/facts/selinux/debian12/${name}`, import.meta.url), 'utf8');
const STORE_ERROR = 'ValueError: SELinux policy is not managed or store cannot be accessed.';

describe('selinux fact', () => {
  it('captured listing: labels of every protocol, ranges kept, the local customizations apart', () => {
    const f = parseSelinuxFact(selinuxOutput());
    expect(f.mode).toBe('enforcing');
    expect(f.semanage).toBe(true);
    expect(f.storeError).toBeUndefined();
    const tcp = labelsOf(f.labels, 'tcp');
    expect(tcp.find((l) => l.type === 'ssh_port_t')?.ports).toEqual(['8008', '8991', '22']);
    expect(tcp.find((l) => l.type === 'unreserved_port_t')?.ports).toEqual(['61001-65535', '1024-32767']);
    expect(tcp.some((l) => l.type === 'hi_reserved_port_t' && l.ports.includes('512-1023'))).toBe(true);
    expect(labelsOf(f.labels, 'udp').find((l) => l.type === 'afs_fs_port_t')?.ports).toEqual(['7000', '7005']);
    expect(f.local).toEqual([{ type: 'ssh_port_t', proto: 'tcp', ports: ['8991', '8008'] }]);
    expect(exactType(f.labels, 'tcp', '8080')).toBe('http_cache_port_t');
    expect(exactType(f.labels, 'udp', '2849')).toBeUndefined();
  });

  it('a policy store semanage cannot read: its last lines kept as storeError (captured on Debian 12 with policycoreutils-python-utils and no policy installed)', () => {
    const f = parseSelinuxFact(debian12('selinux-fact-no-policy.out'));
    expect(f).toEqual({ mode: 'disabled', semanage: true, labels: [], local: [], storeError: STORE_ERROR });
    expect(parseSebooleanFact(debian12('seboolean-fact-no-policy.out'), 'httpd_can_network_connect')).toEqual({ mode: 'disabled', semanage: true, storeError: STORE_ERROR });
  });

  it('captured on Debian 12 (policy installed, booted without SELinux): the store is read, local labels of both protocols', () => {
    const f = parseSelinuxFact(debian12('selinux-fact-disabled-local-2849.out'));
    expect(f.mode).toBe('disabled');
    expect(f.local).toEqual([
      { type: 'http_port_t', proto: 'udp', ports: ['8000-8010'] },
      { type: 'ssh_port_t', proto: 'tcp', ports: ['2849'] },
    ]);
    expect(labelsOf(f.labels, 'tcp').find((l) => l.type === 'ssh_port_t')?.ports).toEqual(['2849', '22']);
    expect(portLabel(f, 2849)).toEqual({ ssh: true, local: true });
  });

  it('seboolean fact (captured on Debian 12): the stored value from semanage, no running value when disabled; other booleans ignored', () => {
    const out = debian12('seboolean-fact-httpd_can_network_connect-off.out');
    expect(parseSebooleanFact(out, 'httpd_can_network_connect')).toEqual({ mode: 'disabled', semanage: true, stored: false });
    expect(parseSebooleanFact(out, 'no_such_boolean')).toEqual({ mode: 'disabled', semanage: true });
    // hand-made: an enforcing host's getsebool line, a stored value on
    const enabled = out.replace('getenforce=Disabled', 'enforce=1').replace('getsebool:  SELinux is disabled', 'httpd_can_network_connect --> on').replace(/^httpd_can_network_connect\s+\(off\s*,\s*off\)/m, 'httpd_can_network_connect      (on   ,   on)');
    expect(parseSebooleanFact(enabled, 'httpd_can_network_connect')).toEqual({ mode: 'enforcing', running: true, semanage: true, stored: true });
  });

  it('portLabel: ssh_port_t covers 22 and 8008 (also http_port_t in the policy); 8080 is an exact http_cache_port_t entry; 2222 only in a range', () => {
    const f = parseSelinuxFact(selinuxOutput());
    expect(portLabel(f, 22)).toEqual({ ssh: true, local: false });
    expect(portLabel(f, 8008)).toMatchObject({ ssh: true, local: true });
    expect(portLabel(f, 8080)).toEqual({ ssh: false, exact: 'http_cache_port_t', local: false });
    expect(portLabel(f, 2222)).toEqual({ ssh: false, local: false });
  });

  it('mode from selinuxfs, else getenforce (hand-made lines), else disabled; semanage missing', () => {
    expect(parseSelinuxFact('enforce=0\n__end\n')).toEqual({ mode: 'permissive', semanage: false, labels: [], local: [] });
    expect(parseSelinuxFact('getenforce=Enforcing\n__end\n').mode).toBe('enforcing');
    expect(parseSelinuxFact('getenforce=Disabled\n__end\n').mode).toBe('disabled');
    expect(parseSelinuxFact('__end\n').mode).toBe('disabled');
    expect(() => parseSelinuxFact('sh: 1: syntax error')).toThrow(FactError);
  });

  it('the command runs under sh on a host without SELinux (this machine): disabled', () => {
    const out = execFileSync('/bin/sh', ['-c', selinuxFact.command(null)], { encoding: 'utf8' });
    expect(parseSelinuxFact(out).mode).toBe('disabled');
  });
});
