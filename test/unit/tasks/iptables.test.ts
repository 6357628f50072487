import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/contract/errors.js';
import type { AccessInfo } from '../../../src/contract/task.js';
import { parseIptablesFact, type IptablesSave } from '../../../src/facts/iptables.js';
import { iptables, planTable, predictSave, type IptablesArgs } from '../../../src/tasks/iptables.js';
import { canonical, cidrContains, parseCidr, cidrToText, parseRule, ruleKey, saveString, tokenize } from '../../../src/tasks/lib/iptables.js';
import type { FirewallManagers } from '../../../src/facts/firewall-managers.js';
import { ctx, noManagers } from './_helpers.js';

const dir = new URL('../../fixtures/facts/iptables/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const fact = (text: string, v: 4 | 6 = 4): IptablesSave =>
  parseIptablesFact(`__version=iptables v1.8.9 (nf_tables)\n__save_begin\n${text}__save_rc=0\n`, v);
const empty = fact(fixture('debian12-empty.v4.txt'));
const dockerF2b = fact(fixture('debian12-docker-f2b.v4.txt'));
const args = (a: Record<string, unknown>): IptablesArgs => iptables.schema.parse(a);
const access: AccessInfo = { user: 'admin', clientIp: '10.0.0.1', serverPort: 22, auth: 'publickey', keys: [] };

/** The hardening baseline, written the way people write it (not the way iptables-save prints it). */
const BASELINE = [
  '-i lo -j ACCEPT',
  '! -i lo -s 127.0.0.0/8 -j DROP',
  '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
  '-p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT',
  '-p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT',
  '-p icmp --icmp-type echo-request -j ACCEPT',
  '-m limit --limit 5/min -j LOG --log-prefix "iptables denied: "',
];
const baseline = (over: Record<string, unknown> = {}) =>
  args({ chains: { INPUT: { policy: 'DROP', rules: BASELINE }, FORWARD: { policy: 'DROP', rules: [] }, OUTPUT: { policy: 'ACCEPT' } }, ...over });

describe('rule canonicaliser against real round trips (restore, then iptables-save)', () => {
  const files = readdirSync(dir).filter((f) => f.startsWith('roundtrip-'));
  it('has recordings for Debian 11, 12, 13, nf_tables and legacy, IPv4 and IPv6', () => {
    expect(files).toHaveLength(12);
  });
  for (const file of files) {
    it(file, () => {
      const v = file.endsWith('.v6.txt') ? 6 : 4;
      const lines = fixture(file).split('\n');
      let checked = 0;
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const input = (lines[i] as string).slice('in: '.length);
        const out = lines[i + 1] as string;
        if (out.startsWith('err: ')) continue; // the host refused it (e.g. 1/day on legacy): iptables-restore fails atomically
        const saved = out.slice('out: '.length);
        if (/-m tcp .*-m tcp /.test(input)) {
          // nf_tables merges a repeated -m tcp, legacy does not: refused as ambiguous
          expect(() => canonical(input, v)).toThrow(/twice/);
          continue;
        }
        // what we emit compares equal to what the host prints
        expect(ruleKey(input, v), input).toBe(ruleKey(saved, v));
        // and, except for /etc/protocols names (gre vs 47), is exactly what the host prints
        if (!/-p (gre|47)/.test(saved)) expect(canonical(input, v), input).toBe(saved);
        // the host's own text is a fixpoint
        if (!/-p gre/.test(saved)) expect(canonical(saved, v)).toBe(saved);
        checked++;
      }
      expect(checked).toBeGreaterThan(15);
    });
  }

  it('every rule of the recorded rulesets is a fixpoint', () => {
    for (const f of ['debian11-docker-f2b.v4.txt', 'debian13-docker.nat.v4.txt', 'debian12-baseline.v6.txt']) {
      const save = fact(fixture(f), f.includes('v6') ? 6 : 4);
      for (const t of Object.values(save.tables)) for (const r of t.rules) expect(canonical(r.spec, save.ipVersion)).toBe(r.spec);
    }
  });
});

describe('tokens, quoting, addresses', () => {
  it('double quotes group and escape like iptables-restore; single quotes are refused', () => {
    expect(tokenize('-j LOG --log-prefix "say \\"hi\\" "')).toEqual(['-j', 'LOG', '--log-prefix', 'say "hi" ']);
    expect(() => tokenize("-j LOG --log-prefix 'x '")).toThrow(/double quotes/);
    expect(() => tokenize('-j LOG --log-prefix "x')).toThrow(/unterminated/);
    expect(saveString('ssh')).toBe('ssh');
    expect(saveString("it's")).toBe('"it\\\'s"');
  });

  it('CIDRs as iptables prints them', () => {
    expect(cidrToText(parseCidr('10.0.0.5/24', 4)!)).toBe('10.0.0.0/24');
    expect(cidrToText(parseCidr('192.168.1.0/255.255.255.0', 4)!)).toBe('192.168.1.0/24');
    expect(cidrToText(parseCidr('2001:0db8:0:0::1', 6)!)).toBe('2001:db8::1/128');
    expect(cidrToText(parseCidr('::ffff:10.0.0.1', 6)!)).toBe('::ffff:10.0.0.1/128');
    expect(cidrToText(parseCidr('fe80::/10', 6)!)).toBe('fe80::/10');
    expect(cidrToText(parseCidr('1:0:0:2:0:0:0:3', 6)!)).toBe('1:0:0:2::3/128');
    expect(parseCidr('example.com', 4)).toBeUndefined();
    expect(parseCidr('10.0.0.0/255.0.255.0', 4)).toBeUndefined();
    expect(cidrContains(parseCidr('10.0.0.0/8', 4)!, '10.200.3.4')).toBe(true);
    expect(cidrContains(parseCidr('2001:db8::/32', 6)!, '2001:db9::1')).toBe(false);
  });

  it('refuses what cannot be compared or would not load', () => {
    expect(() => parseRule('-s web.example.com -j ACCEPT', 4)).toThrow(/host names/);
    expect(() => parseRule('-s 10.0.0.1,10.0.0.2 -j ACCEPT', 4)).toThrow(/one rule per address/);
    expect(() => parseRule('-A INPUT -j ACCEPT', 4)).toThrow(/without -A/);
    expect(() => parseRule('-j REJECT --reject-with tcp-reset', 4)).toThrow(/needs -p tcp/);
    expect(() => parseRule('--dport 22 -j ACCEPT', 4)).toThrow(/outside of a match/);
    expect(() => parseRule('-m conntrack --ctstate BOGUS -j ACCEPT', 4)).toThrow(TaskError);
    expect(() => parseRule('-p tcp --dport nosuchservice -j ACCEPT', 4)).toThrow(/write the number/);
    // a newline would inject another line into the restore script
    expect(() => parseRule('-m comment --comment "x\nCOMMIT\n*filter\n-F OTHER" -j ACCEPT', 4)).toThrow(/control characters/);
    expect(() => iptables.plan(args({ chains: { INPUT: { rules: ['-j ACCEPT\n-F DOCKER'] } } }), { save: empty, managers: noManagers }, ctx)).toThrow(/control characters/);
  });

  it('unknown matches and targets pass through verbatim', () => {
    expect(canonical('-m set --match-set blocklist src -j DROP', 4)).toBe('-m set --match-set blocklist src -j DROP');
    expect(canonical('-p tcp -m hashlimit --hashlimit-above 10/sec --hashlimit-name x --dport 22 -j DROP', 4)).toBe(
      '-p tcp -m hashlimit --hashlimit-above 10/sec --hashlimit-name x -m tcp --dport 22 -j DROP',
    );
  });
});

describe('iptables task: chains mode', () => {
  it('plans one iptables-restore --noflush transaction: policy, flush, rules per owned chain', () => {
    const plan = iptables.plan(baseline(), { save: empty, managers: noManagers }, ctx);
    expect(plan.kind).toBe('change');
    if (plan.kind !== 'change') return;
    expect(plan.risk).toBe('access');
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]!.command).toMatch(/iptables-restore --noflush$/);
    expect(plan.steps[0]!.command).not.toMatch(/sudo/);
    expect(plan.steps[0]!.stdin).toBe(
      [
        '*filter',
        ':INPUT DROP [0:0]',
        ':FORWARD DROP [0:0]',
        '-F INPUT',
        '-A INPUT -i lo -j ACCEPT',
        '-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP',
        '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT',
        '-A INPUT -p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT',
        '-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT',
        '-A INPUT -m limit --limit 5/min -j LOG --log-prefix "iptables denied: "',
        '-F FORWARD',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(plan.summary).toBe('set iptables filter chains INPUT, FORWARD');
    expect(plan.diffs?.[0]?.label).toBe('iptables filter');
    expect(plan.diffs?.[0]?.before).toBe(':INPUT ACCEPT\n:FORWARD ACCEPT\n');
    expect(plan.diffs?.[0]?.after).toContain('-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT\n');
  });

  it('is ok once the host prints the same rules (recorded Debian 12 save)', () => {
    const host = fact(
      fixture('debian12-docker-f2b.v4.txt'),
    );
    // the recorded ruleset's INPUT, as a user would write it
    const rules = [
      '-i lo -j ACCEPT',
      '! -i lo -s 127.0.0.0/8 -j DROP',
      '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT',
      '-p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT',
      '-p icmp --icmp-type echo-request -j ACCEPT',
      '-s 10.0.0.1 -p udp --dport 53 -j ACCEPT',
      '-m limit --limit 5/min -j LOG --log-prefix "iptables denied: " --log-level 4',
      '-p tcp -j REJECT --reject-with tcp-reset',
    ];
    const plan = iptables.plan(args({ chains: { INPUT: { policy: 'DROP', rules } } }), { save: host, managers: noManagers }, ctx);
    expect(plan).toEqual({ kind: 'ok', reason: 'iptables filter: chain INPUT as wanted' });
  });

  it('keeps jumps to chains it does not own (fail2ban, Docker) at the top, and never touches those chains', () => {
    const plan = iptables.plan(args({ chains: { INPUT: { policy: 'DROP', rules: BASELINE }, FORWARD: { policy: 'DROP', rules: [] } } }), { save: dockerF2b, managers: noManagers }, ctx);
    if (plan.kind !== 'change') throw new Error('expected change');
    const script = plan.steps[0]!.stdin!;
    expect(script).toContain('-F INPUT\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n-A INPUT -i lo -j ACCEPT\n');
    expect(script).toContain('-F FORWARD\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n-A FORWARD -o docker0 -j DOCKER\nCOMMIT');
    expect(script).not.toMatch(/-F (DOCKER|f2b-sshd)|:f2b-sshd|:DOCKER/);
    // Docker's plain ACCEPT rules in FORWARD are not jumps: owning FORWARD removes them
    expect(script).not.toContain('-i docker0 ! -o docker0 -j ACCEPT');
    const strict = iptables.plan(args({ chains: { INPUT: { rules: BASELINE } }, keep_foreign_jumps: false }), { save: dockerF2b, managers: noManagers }, ctx);
    if (strict.kind !== 'change') throw new Error('expected change');
    expect(strict.steps[0]!.stdin).not.toContain('f2b-sshd');
  });

  it('creates and flushes owned user chains; a jump to a missing lower-case chain is refused', () => {
    const plan = iptables.plan(args({ chains: { LOGDROP: { rules: ['-j LOG', '-j DROP'] }, INPUT: { rules: ['-j LOGDROP'] } } }), { save: empty, managers: noManagers }, ctx);
    if (plan.kind !== 'change') throw new Error('expected change');
    expect(plan.steps[0]!.stdin).toContain(':LOGDROP - [0:0]\n');
    expect(plan.steps[0]!.stdin).toContain(':INPUT ACCEPT [0:0]\n');
    expect(() => iptables.plan(args({ chains: { INPUT: { rules: ['-j f2b-nope'] } } }), { save: empty, managers: noManagers }, ctx)).toThrow(/does not exist/);
  });

  it('predicts the save fact so firewall_persist sees the planned ruleset', () => {
    const plan = iptables.plan(baseline(), { save: dockerF2b, managers: noManagers }, ctx);
    if (plan.kind !== 'change') throw new Error('expected change');
    const p = plan.predictions![0]!;
    expect(p.request.id).toBe('iptables_save:v4');
    const predicted = p.value as IptablesSave;
    expect(predicted.raw).toContain('-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT');
    expect(predicted.raw).toContain('-A f2b-sshd -j RETURN');
    // planning against the prediction is ok: the prediction is what iptables-save will print
    expect(iptables.plan(baseline(), { save: predicted, managers: noManagers }, ctx).kind).toBe('ok');
  });

  it('ip6tables', () => {
    const v6 = fact(fixture('debian12-baseline.v6.txt'), 6);
    const rules = [
      '-i lo -j ACCEPT',
      '! -i lo -s ::1 -j DROP',
      '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-p ipv6-icmp --icmpv6-type echo-request -j ACCEPT',
      '-p icmpv6 --icmpv6-type neighbour-solicitation -j ACCEPT',
      '-p ipv6-icmp --icmpv6-type neighbor-advertisement -j ACCEPT',
      '-p ipv6-icmp --icmpv6-type router-advertisement -j ACCEPT',
      '-p ipv6-icmp --icmpv6-type packet-too-big -j ACCEPT',
      '-p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT',
      '-s 2001:DB8::1 -p tcp --dport 443 -j ACCEPT',
      '-m limit --limit 5/min -j LOG --log-prefix "ip6tables denied: "',
    ];
    expect(iptables.plan(args({ ip_version: 6, chains: { INPUT: { policy: 'DROP', rules } } }), { save: v6, managers: noManagers }, ctx).kind).toBe('ok');
    const plan = iptables.plan(args({ ip_version: 6, chains: { INPUT: { policy: 'DROP', rules: rules.slice(1) } } }), { save: v6, managers: noManagers }, ctx);
    if (plan.kind !== 'change') throw new Error('expected change');
    expect(plan.steps[0]!.command).toMatch(/ip6tables-restore --noflush$/);
  });

  it('validates arguments', () => {
    expect(iptables.schema.safeParse({ chains: { MINE: { policy: 'DROP', rules: [] } } }).success).toBe(false);
    expect(iptables.schema.safeParse({ chains: {}, rule: '-j ACCEPT', chain: 'INPUT' }).success).toBe(false);
    expect(iptables.schema.safeParse({ rule: '-j ACCEPT' }).success).toBe(false);
    expect(iptables.schema.safeParse({ ip_version: 5, chains: {} }).success).toBe(false);
    expect(baseline()).toMatchObject({ ip_version: 4, table: 'filter', keep_foreign_jumps: true });
  });

  it('iptables missing: apply fails clearly, check mode plans against the empty ruleset', () => {
    const missing = parseIptablesFact('__missing\n', 4);
    expect(() => iptables.plan(baseline(), { save: missing, managers: noManagers }, ctx)).toThrow(/not installed/);
    expect(iptables.plan(baseline(), { save: missing, managers: noManagers }, { ...ctx, check: true }).kind).toBe('change');
  });
});

describe('iptables task: single rule', () => {
  const one = (a: Record<string, unknown>) => args({ chain: 'INPUT', ...a });

  it('present: ok wherever it is (compared canonically)', () => {
    expect(iptables.plan(one({ rule: '-p icmp --icmp-type echo-request -j ACCEPT', position: 1 }), { save: dockerF2b, managers: noManagers }, ctx)).toMatchObject({ kind: 'ok', reason: expect.stringContaining('position 7') });
  });

  it('inserts at a position, before the last rule, or appends', () => {
    const line = (a: Record<string, unknown>) => {
      const p = iptables.plan(one({ rule: '-p tcp --dport 8443 -j ACCEPT', ...a }), { save: dockerF2b, managers: noManagers }, ctx);
      if (p.kind !== 'change') throw new Error('expected change');
      return p.steps[0]!.stdin!.split('\n')[1];
    };
    expect(line({ position: 2 })).toBe('-I INPUT 2 -p tcp -m tcp --dport 8443 -j ACCEPT');
    expect(line({ position: 'before_last' })).toBe('-I INPUT 10 -p tcp -m tcp --dport 8443 -j ACCEPT');
    expect(line({ position: 'append' })).toBe('-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT');
    expect(line({ position: 99 })).toBe('-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT');
  });

  it('absent: deletes every copy by the host text; ok when missing', () => {
    const p = iptables.plan(one({ rule: '-s 10.0.0.1 -p udp --dport 53 -j ACCEPT', state: 'absent' }), { save: dockerF2b, managers: noManagers }, ctx);
    if (p.kind !== 'change') throw new Error('expected change');
    expect(p.steps[0]!.stdin).toBe('*filter\n-D INPUT -s 10.0.0.1/32 -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT\n');
    expect(iptables.plan(one({ rule: '-j DROP', state: 'absent' }), { save: dockerF2b, managers: noManagers }, ctx).kind).toBe('ok');
  });

  it('a missing chain', () => {
    expect(() => iptables.plan(args({ chain: 'NOPE', rule: '-j ACCEPT' }), { save: empty, managers: noManagers }, ctx)).toThrow(/does not exist/);
    expect(iptables.plan(args({ chain: 'NOPE', rule: '-j ACCEPT', state: 'absent' }), { save: empty, managers: noManagers }, ctx).kind).toBe('ok');
  });
});

describe('iptables task: ufw and firewalld in charge', () => {
  // captured on debian12-systemd: ufw from the archive, `ufw allow 22/tcp; ufw --force enable`, then iptables-save
  const ufwRules = fact(fixture('debian12-ufw-active.v4.txt'));
  const ufwOn: FirewallManagers = { ...noManagers, ufw: { installed: true, enabled: true, active: true, masked: false } };
  const fwd = (backend: 'nftables' | 'iptables'): FirewallManagers => ({
    ...noManagers,
    firewalld: { manager: 'systemd', exists: true, active: true, enabled: true, masked: false, unitFileState: 'enabled', backend },
  });

  it('refused by default, naming the manager and the way out', () => {
    expect(() => iptables.plan(baseline(), { save: ufwRules, managers: ufwOn }, ctx)).toThrow(
      'iptables: ufw is active on this host and owns the firewall: it would rewrite these rules (a reload, a reboot). Manage the firewall with ufw, or set firewall_manager: iptables to stop, disable and mask ufw as part of this task',
    );
    expect(() => iptables.plan(baseline(), { save: empty, managers: fwd('nftables') }, ctx)).toThrow(/firewalld is active on this host .*firewalld's own rules filter packets too/);
    // only running counts for iptables (firewall_persist also refuses one enabled at boot)
    const atBoot: FirewallManagers = { ...noManagers, ufw: { ...ufwOn.ufw, active: false } };
    expect(iptables.plan(baseline(), { save: empty, managers: atBoot }, ctx).kind).toBe('change');
  });

  it('firewall_manager: iptables: ufw disabled and masked first, its jumps in INPUT not kept, its chains left alone', () => {
    const p = iptables.plan(baseline({ firewall_manager: 'iptables' }), { save: ufwRules, managers: ufwOn }, ctx);
    if (p.kind !== 'change') throw new Error('expected change');
    expect(p.summary).toMatch(/^stop, disable and mask ufw; /);
    expect(p.steps.map((s) => s.command.split(' && ')[0])).toEqual([
      'PATH="$PATH:/usr/sbin:/sbin"; ufw --force disable >/dev/null',
      'systemctl mask ufw.service >/dev/null 2>&1',
      'PATH="$PATH:/usr/sbin:/sbin" iptables-restore --noflush',
    ]);
    expect(p.steps[0]!.command).toContain(`'PATH="$PATH:/usr/sbin:/sbin"; ufw --force enable'`);
    const script = p.steps[2]!.stdin!;
    expect(script).not.toContain('-j ufw-');
    expect(script).toContain('-A INPUT -i lo -j ACCEPT');
    expect(p.predictions!.map((x) => x.request.id)).toEqual(['firewall_managers:systemd', 'iptables_save:v4']);
    expect(p.risk).toBe('access');
    // the next run, ufw masked and off: nothing left to take over
    const after = p.predictions![0]!.value as FirewallManagers;
    expect(after.ufw).toEqual({ installed: true, enabled: false, active: false, masked: true });
    expect(iptables.plan(baseline({ firewall_manager: 'iptables' }), { save: predictSave(ufwRules, planTable(baseline(), ufwRules, { released: (c) => c.startsWith('ufw-'), flushes: false }).next), managers: after }, ctx).kind).toBe('ok');
  });

  it('firewalld: stop, disable, mask; on its iptables backend (RHEL 7) the stop empties the table, so the plan starts from nothing', () => {
    const p = iptables.plan(baseline({ firewall_manager: 'iptables' }), { save: dockerF2b, managers: fwd('iptables') }, ctx);
    if (p.kind !== 'change') throw new Error('expected change');
    expect(p.steps.slice(0, 3).map((s) => s.command.split(' && ')[0])).toEqual(['systemctl stop firewalld.service', 'systemctl disable firewalld.service', 'systemctl mask firewalld.service']);
    expect(p.steps[3]!.stdin).not.toContain('f2b-sshd');
    const nft = iptables.plan(baseline({ firewall_manager: 'iptables' }), { save: dockerF2b, managers: fwd('nftables') }, ctx);
    if (nft.kind !== 'change') throw new Error('expected change');
    expect(nft.steps[3]!.stdin).toContain('-j f2b-sshd');
  });
});

describe('lockout pre-flight', () => {
  const lockout = (a: IptablesArgs, save: IptablesSave = empty, acc: AccessInfo = access) => iptables.lockout!(a, { save, managers: noManagers }, acc, ctx);
  const input = (rules: string[], policy = 'DROP', extra: Record<string, unknown> = {}) => args({ chains: { INPUT: { policy, rules }, ...extra } });

  it('the baseline keeps a new SSH connection', () => {
    expect(lockout(baseline())).toBeUndefined();
  });

  it('policy DROP without an SSH rule', () => {
    expect(lockout(input(['-i lo -j ACCEPT', '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']))).toBe(
      'iptables filter: policy DROP of INPUT and no rule accepts a new SSH connection (tcp/22 from 10.0.0.1)',
    );
  });

  it('ssh moved: the rule must follow the port sshd accepted us on', () => {
    expect(lockout(baseline(), empty, { ...access, serverPort: 2222 })).toMatch(/policy DROP of INPUT.*tcp\/2222/);
    expect(lockout(input(['-p tcp -m multiport --dports 80,2222 -j ACCEPT']), empty, { ...access, serverPort: 2222 })).toBeUndefined();
  });

  it('names the rule that drops us', () => {
    expect(lockout(input(['-p tcp -j REJECT --reject-with tcp-reset', '-p tcp --dport 22 -j ACCEPT']))).toBe(
      'iptables filter: rule `-A INPUT -p tcp -j REJECT --reject-with tcp-reset` would drop a new SSH connection (tcp/22 from 10.0.0.1)',
    );
  });

  it('source restrictions', () => {
    expect(lockout(input(['-s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT']))).toBeUndefined();
    expect(lockout(input(['-s 192.168.0.0/16 -p tcp --dport 22 -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['! -s 10.0.0.1 -p tcp --dport 22 -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['-s 10.0.0.1 -j DROP'], 'ACCEPT'))).toMatch(/-A INPUT -s 10.0.0.1\/32 -j DROP/);
  });

  it('ESTABLISHED,RELATED alone does not let a reconnect in; interfaces', () => {
    expect(lockout(input(['-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['-i lo -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['! -i lo -p tcp --dport 22 -j ACCEPT']))).toBeUndefined();
    // we do not know the interface name: an ACCEPT on eth0 does not count
    expect(lockout(input(['-i eth0 -p tcp --dport 22 -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['-m conntrack --ctstate INVALID -j DROP', '-p tcp --syn --dport 22 -j ACCEPT']))).toBeUndefined();
  });

  it('unknown matches: no credit for ACCEPT, assumed for DROP', () => {
    expect(lockout(input(['-m set --match-set admins src -p tcp --dport 22 -j ACCEPT']))).toMatch(/policy DROP/);
    expect(lockout(input(['-m set --match-set blocklist src -j DROP', '-p tcp --dport 22 -j ACCEPT']))).toMatch(/match-set blocklist/);
    // limit and comment are understood; recent with a hit count does not trigger on one reconnect
    expect(
      lockout(
        input([
          '-p tcp --dport 22 -m conntrack --ctstate NEW -m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP',
          '-p tcp --dport 22 -m conntrack --ctstate NEW -m recent --name ssh --set',
          '-p tcp --dport 22 -m comment --comment "ssh" -m limit --limit 10/min -j ACCEPT',
        ]),
      ),
    ).toBeUndefined();
  });

  it('jumps: owned chains from the plan, other chains from the host (fail2ban)', () => {
    expect(lockout(input(['-p tcp --dport 22 -j SSH'], 'DROP', { SSH: { rules: ['-s 10.0.0.0/8 -j ACCEPT', '-j RETURN'] } }))).toBeUndefined();
    expect(lockout(input(['-p tcp --dport 22 -j SSH'], 'DROP', { SSH: { rules: ['-s 192.168.0.0/16 -j ACCEPT'] } }))).toMatch(/policy DROP/);
    // the recorded f2b-sshd chain bans 203.0.113.7, kept at the top of INPUT
    expect(lockout(baseline(), dockerF2b)).toBeUndefined();
    expect(lockout(baseline(), dockerF2b, { ...access, clientIp: '203.0.113.7' })).toMatch(/-A f2b-sshd -s 203.0.113.7\/32 -j REJECT/);
  });

  it('our replies: OUTPUT DROP needs ESTABLISHED or the ssh source port', () => {
    expect(lockout(args({ chains: { INPUT: { policy: 'DROP', rules: BASELINE }, OUTPUT: { policy: 'DROP', rules: ['-o lo -j ACCEPT'] } } }))).toMatch(/policy DROP of OUTPUT.*replies/);
    expect(
      lockout(args({ chains: { INPUT: { policy: 'DROP', rules: BASELINE }, OUTPUT: { policy: 'DROP', rules: ['-m conntrack --ctstate ESTABLISHED -j ACCEPT'] } } })),
    ).toBeUndefined();
    expect(lockout(args({ chains: { INPUT: { policy: 'DROP', rules: BASELINE }, OUTPUT: { policy: 'DROP', rules: ['-p tcp --sport 22 -j ACCEPT'] } } }))).toBeUndefined();
  });

  it('only the family our connection uses', () => {
    expect(lockout(args({ ip_version: 6, chains: { INPUT: { policy: 'DROP', rules: [] } } }))).toBeUndefined();
    expect(lockout(args({ ip_version: 6, chains: { INPUT: { policy: 'DROP', rules: [] } } }), fact(fixture('debian12-empty.v4.txt'), 6), { ...access, clientIp: '2001:db8::7' })).toMatch(
      /ip6tables filter: policy DROP.*2001:db8::7/,
    );
    expect(lockout(args({ ip_version: 6, chains: { INPUT: { policy: 'DROP', rules: ['-s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT'] } } }), empty, { ...access, clientIp: '2001:db8::7' })).toBeUndefined();
  });

  it('single-rule mode and other tables', () => {
    const withDrop = predictSave(empty, planTable(input([]), empty).next);
    expect(lockout(args({ chain: 'INPUT', rule: '-p tcp --dport 22 -j ACCEPT', state: 'absent' }), fact(withDrop.raw))).toBeUndefined();
    const accepting = predictSave(empty, planTable(input(['-p tcp --dport 22 -j ACCEPT']), empty).next);
    expect(lockout(args({ chain: 'INPUT', rule: '-p tcp --dport 22 -j ACCEPT', state: 'absent' }), fact(accepting.raw))).toMatch(/policy DROP/);
    expect(lockout(args({ chain: 'INPUT', rule: '-j DROP', position: 1 }))).toMatch(/-A INPUT -j DROP/);
    expect(lockout(args({ table: 'raw', chains: { PREROUTING: { rules: ['-p tcp --dport 22 -j DROP'] } } }))).toMatch(/raw: rule/);
    expect(lockout(args({ table: 'nat', chains: { PREROUTING: { rules: ['-p tcp --dport 22 -j RETURN'] } } }))).toBeUndefined();
  });

  it('nat: a redirect or DNAT of the SSH port sends new connections away from sshd; other ports are fine', () => {
    expect(lockout(args({ table: 'nat', chains: { PREROUTING: { rules: ['-p tcp -m tcp --dport 22 -j REDIRECT --to-ports 2200'] } } }))).toMatch(
      /^iptables nat: rule `-A PREROUTING -p tcp -m tcp --dport 22 -j REDIRECT --to-ports 2200` would redirect a new SSH connection \(tcp\/22 from 10\.0\.0\.1\)/,
    );
    expect(lockout(args({ table: 'nat', chains: { PREROUTING: { rules: ['-p tcp -m tcp --dport 1:1024 -j DNAT --to-destination 10.9.9.9'] } } }))).toMatch(/would redirect/);
    expect(lockout(args({ table: 'nat', chains: { PREROUTING: { rules: ['-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080'] } } }))).toBeUndefined();
    expect(lockout(args({ table: 'nat', chains: { POSTROUTING: { rules: ['-o eth0 -j MASQUERADE'] } } }))).toBeUndefined();
  });
});
