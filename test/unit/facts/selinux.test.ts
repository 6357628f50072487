import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FactError } from '../../../src/contract/errors.js';
import { parseSelinuxFact, portLabel, selinuxFact } from '../../../src/facts/selinux.js';
import { selinuxOutput } from '../../fixtures/facts/selinux/fact-output.js';

describe('selinux fact', () => {
  it('captured listing: tcp labels only, ranges kept, the local customizations apart', () => {
    const f = parseSelinuxFact(selinuxOutput());
    expect(f.mode).toBe('enforcing');
    expect(f.semanage).toBe(true);
    expect(f.tcp.find((l) => l.type === 'ssh_port_t')?.ports).toEqual(['8008', '8991', '22']);
    expect(f.tcp.find((l) => l.type === 'unreserved_port_t')?.ports).toEqual(['61001-65535', '1024-32767']);
    expect(f.tcp.some((l) => l.type === 'hi_reserved_port_t' && l.ports.includes('512-1023'))).toBe(true);
    expect(f.localTcp).toEqual([{ type: 'ssh_port_t', ports: ['8991', '8008'] }]);
  });

  it('portLabel: ssh_port_t covers 22 and 8008 (also http_port_t in the policy); 8080 is an exact http_cache_port_t entry; 2222 only in a range', () => {
    const f = parseSelinuxFact(selinuxOutput());
    expect(portLabel(f, 22)).toEqual({ ssh: true, local: false });
    expect(portLabel(f, 8008)).toMatchObject({ ssh: true, local: true });
    expect(portLabel(f, 8080)).toEqual({ ssh: false, exact: 'http_cache_port_t', local: false });
    expect(portLabel(f, 2222)).toEqual({ ssh: false, local: false });
  });

  it('mode from selinuxfs, else getenforce (hand-made lines), else disabled; semanage missing', () => {
    expect(parseSelinuxFact('enforce=0\n__end\n')).toEqual({ mode: 'permissive', semanage: false, tcp: [], localTcp: [] });
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
