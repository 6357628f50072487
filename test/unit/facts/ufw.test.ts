import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTuple, parseUfw } from '../../../src/facts/ufw.js';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');

describe('ufw fact (captured on debian12-systemd, ufw 0.36.2 from the archive: test/fixtures/facts/SOURCES.md)', () => {
  it('active with rules of every kind: status, defaults, logging, tuples per family, application profiles', () => {
    const s = parseUfw(fixture('facts/ufw/debian12-active-rules.txt'));
    expect(s).toMatchObject({ installed: true, active: true, ipv6: true, logging: 'medium', defaults: { incoming: 'deny', outgoing: 'allow', routed: 'deny' } });
    expect(s.rules.v4[0]).toEqual({ action: 'allow', proto: 'tcp', dport: '22', dst: 'any', sport: 'any', src: 'any', dapp: '', sapp: '', direction: 'in', iface: '', comment: '' });
    expect(s.rules.v4[1]).toMatchObject({ dport: '80', src: '10.0.0.0/8', comment: 'web lan' });
    expect(s.rules.v4[2]).toMatchObject({ action: 'limit', dport: '2222' });
    expect(s.rules.v4[3]).toMatchObject({ action: 'deny', proto: 'any', dport: '25', iface: 'eth0' });
    expect(s.rules.v4[4]).toMatchObject({ action: 'allow', proto: 'tcp', dport: '22', dapp: 'OpenSSH', sapp: '' });
    expect(s.rules.v4[5]).toMatchObject({ action: 'reject', direction: 'out', proto: 'udp', dport: '53' });
    // the route rule (route:allow) is not an INPUT/OUTPUT rule: left out
    expect(s.rules.v4.map((r) => `${r.action} ${r.dport}`)).toEqual(['allow 22', 'allow 80', 'limit 2222', 'deny 25', 'allow 22', 'reject 53', 'allow 443', 'allow 123', 'deny 8080', 'allow 80,443']);
    expect(s.rules.v4[6]).toMatchObject({ dst: '10.0.0.1', sport: '1000:2000', src: '192.168.1.0/24' });
    expect(s.rules.v4[7]).toMatchObject({ direction: 'out', iface: 'eth0', dst: '1.2.3.4' });
    expect(s.rules.v6.find((r) => r.src === '2001:db8::/32')).toMatchObject({ proto: 'udp', dport: '53' });
    expect(s.rules.v6).toHaveLength(8);
    expect(s.apps.OpenSSH).toEqual(['22/tcp']);
    expect(s.apps.Bonjour).toEqual(['5353/udp', '5298']);
  });

  it('inactive after ufw reset: defaults and logging from /etc/default/ufw and ufw.conf', () => {
    const s = parseUfw(fixture('facts/ufw/debian12-inactive-reset.txt'));
    expect(s).toEqual({ installed: true, active: false, ipv6: true, defaults: { incoming: 'deny', outgoing: 'allow', routed: 'deny' }, logging: 'medium', rules: { v4: [], v6: [] }, apps: expect.objectContaining({ OpenSSH: ['22/tcp'] }) });
  });

  it("Ubuntu's ufw status verbose (real: test/fixtures/facts/ubuntu/): the running defaults and logging level", () => {
    const status = fixture('facts/ubuntu/ufw-status-verbose.txt');
    const s = parseUfw(`__status\n${status}\n__conf\nDEFAULT_INPUT_POLICY="ACCEPT"\nLOGLEVEL=off\n__v4\n__v6\n__apps\n`);
    expect(s).toMatchObject({ active: true, logging: 'low', defaults: { incoming: 'deny', outgoing: 'allow', routed: 'deny' } });
  });

  it('hand-made: not installed; not root; a logged rule; an unknown tuple form', () => {
    expect(parseUfw('__absent\n')).toMatchObject({ installed: false, active: false });
    expect(() => parseUfw('__status\nERROR: You need to be root to run this script\n__conf\n')).toThrow(/become: true/);
    expect(() => parseUfw('garbage')).toThrow(/fact ufw: unexpected output/);
    expect(parseTuple('### tuple ### deny_log-all tcp 22 0.0.0.0/0 any 0.0.0.0/0 in')).toMatchObject({ action: 'deny', dport: '22' });
    expect(parseTuple('### tuple ### route:allow any 80 0.0.0.0/0 any 0.0.0.0/0 in')).toBeUndefined();
    expect(parseTuple('### tuple ### allow tcp')).toBeUndefined();
  });
});
