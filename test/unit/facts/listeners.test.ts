import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FactError } from '../../../src/contract/errors.js';
import { isLoopback, listeners, parseListeners, splitAddress } from '../../../src/facts/listeners.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/ss/${name}.txt`, import.meta.url), 'utf8');

const expected = (pids: { sshd: number; http: number; py: number }) => [
  { proto: 'tcp', address: '::', port: 22, process: 'sshd', pid: pids.sshd },
  { proto: 'tcp', address: '0.0.0.0', port: 22, process: 'sshd', pid: pids.sshd },
  { proto: 'tcp', address: '127.0.0.53', port: 53, process: 'python3', pid: pids.py },
  { proto: 'tcp', address: '0.0.0.0', port: 8080, process: 'python3', pid: pids.http },
];

describe('listeners fact (recorded ss and netstat outputs)', () => {
  it.each(['debian11', 'debian12', 'debian13'])('%s: ss -H -tulpn as root', (release) => {
    const info = parseListeners(`__tool=ss\n${fixture(`${release}-root`)}`);
    expect(info.tool).toBe('ss');
    expect(info.listeners).toHaveLength(6);
    expect(info.listeners.filter((l) => l.proto === 'udp').map((l) => [l.address, l.port, l.process])).toEqual([
      ['*', 514, 'python3'],
      ['127.0.0.1', 5353, 'python3'],
    ]);
    expect(info.listeners.every((l) => typeof l.pid === 'number')).toBe(true);
  });

  it('ss with a header line (old iproute2 without -H)', () => {
    const info = parseListeners(`__tool=ss\n${fixture('debian11-header')}`);
    expect(info.listeners.filter((l) => l.proto === 'tcp')).toEqual(expected({ sshd: 2127, http: 2128, py: 2130 }));
  });

  it('as an unprivileged user: no process names', () => {
    const info = parseListeners(`__tool=ss\n${fixture('debian13-nobody')}`);
    expect(info.listeners).toHaveLength(6);
    expect(info.listeners.some((l) => l.process !== undefined)).toBe(false);
  });

  it('netstat -tulpn fallback, root and unprivileged', () => {
    const info = parseListeners(`__tool=netstat\n${fixture('debian12-netstat')}`);
    expect(info.tool).toBe('netstat');
    expect(info.listeners.filter((l) => l.proto === 'tcp')).toEqual(expected({ sshd: 2130, http: 2131, py: 2133 }));
    expect(info.listeners.filter((l) => l.proto === 'udp').map((l) => `${l.address}:${l.port}`)).toEqual([':::514', '127.0.0.1:5353']);
    const nobody = parseListeners(`__tool=netstat\n${fixture('debian12-netstat-nobody')}`);
    expect(nobody.listeners.map((l) => l.port).sort()).toEqual([22, 22, 514, 53, 5353, 8080].sort());
    expect(nobody.listeners.some((l) => l.process)).toBe(false);
  });

  it('neither tool, and garbage', () => {
    expect(parseListeners('__tool=none\n')).toEqual({ tool: 'none', listeners: [] });
    expect(() => parseListeners('bash: oops')).toThrow(FactError);
  });

  it('addresses with brackets, zones and wildcards', () => {
    expect(splitAddress('[::]:22')).toEqual({ address: '::', port: 22 });
    expect(splitAddress('*:514')).toEqual({ address: '*', port: 514 });
    expect(splitAddress('127.0.0.53%lo:53')).toEqual({ address: '127.0.0.53', port: 53 });
    expect(splitAddress('[fe80::1]%eth0:546')).toEqual({ address: 'fe80::1', port: 546 });
    expect(splitAddress(':::22')).toEqual({ address: '::', port: 22 });
    expect(splitAddress('0.0.0.0:*')).toBeUndefined();
  });

  it('loopback addresses', () => {
    expect(['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '*', '10.0.0.1', '::2'].some(isLoopback)).toBe(false);
  });

  it('one fact request, ss first then netstat', () => {
    const r = listeners();
    expect(r.id).toBe('listeners:all');
    expect(r.command.indexOf('ss -H -tulpn')).toBeLessThan(r.command.indexOf('netstat -tulpn'));
  });
});
