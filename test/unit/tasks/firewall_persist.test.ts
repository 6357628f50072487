import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan, TaskContext } from '../../../src/contract/task.js';
import type { FileInfo } from '../../../src/facts/files.js';
import type { HostFacts } from '../../../src/contract/host-facts.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import { parseIptablesFact, type IptablesSave } from '../../../src/facts/iptables.js';
import type { ServiceInfo } from '../../../src/facts/services.js';
import type { FirewallManagers } from '../../../src/facts/firewall-managers.js';
import { DEBCONF_PRESEED, firewallPersist, saveRunningSteps, savedMatches } from '../../../src/tasks/firewall_persist.js';
import { iptables } from '../../../src/tasks/iptables.js';
import { absent, ctx, fileWith, noManagers } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/iptables/${name}`, import.meta.url), 'utf8');
const fact = (text: string, v: 4 | 6): IptablesSave => parseIptablesFact(`__version=iptables v1.8.9 (nf_tables)\n__save_begin\n${text}__save_rc=0\n`, v);
const save4 = fact(fixture('debian12-docker-f2b.v4.txt'), 4);
const save6 = fact(fixture('debian12-baseline.v6.txt'), 6);
const args = (a: Record<string, unknown> = {}) => firewallPersist.schema.parse(a);

const hostOf = (over: { id: string; init: string; pm: string }): HostFacts =>
  parseHostFacts(
    [
      '__osrelease_begin',
      `ID=${over.id}`,
      'VERSION_ID="9"',
      '__osrelease_end',
      'uid=0',
      'user=root',
      'hostname=h',
      `init=${over.init}`,
      `pm=${over.pm}`,
    ].join('\n'),
  );
const rocky = hostOf({ id: 'rocky', init: 'systemd', pm: 'dnf' });
const bare = hostOf({ id: 'debian', init: 'none', pm: 'apt-get' });

const svc = (over: Partial<ServiceInfo> = {}): ServiceInfo => ({ manager: 'systemd', exists: true, active: true, enabled: true, ...over });
const gone: ServiceInfo = { manager: 'systemd', exists: false, active: false, enabled: false };
const ufwOn: FirewallManagers = { ...noManagers, ufw: { installed: true, enabled: true, active: true, masked: false } };
const firewalldOn: FirewallManagers = { ...noManagers, firewalld: { ...svc({ masked: false, unitFileState: 'enabled' }), backend: 'nftables' } };
const takeOver = args({ firewall_manager: 'iptables' });

function facts(over: Record<string, unknown> = {}) {
  return {
    packages: { 'iptables-persistent': { version: '1.0.20' } },
    save4,
    save6,
    file4: fileWith(save4.raw) as FileInfo,
    file6: fileWith(save6.raw) as FileInfo,
    boot4: svc({ active: false }),
    boot6: svc({ active: false }),
    managers: noManagers,
    ...over,
  };
}
const plan = (f: Record<string, unknown>, a = args(), c: TaskContext = ctx): Plan => firewallPersist.plan(a, f as never, c);
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected change, got ${JSON.stringify(p)}`);
  return p;
};

describe('firewall_persist: Debian family', () => {
  it('ok when the saved files hold the running rules (comments and counters aside)', () => {
    const file4 = fileWith(save4.raw.replace(/# Generated.*/, '# Generated yesterday').replace(':INPUT DROP [0:0]', ':INPUT DROP [42:4242]'));
    expect(plan(facts({ file4 }))).toEqual({
      kind: 'ok',
      reason: '/etc/iptables/rules.v4, /etc/iptables/rules.v6 hold the running rules; iptables-persistent installed',
    });
    expect(savedMatches(absent, save4)).toBe(false);
  });

  it('fresh host: preseed debconf, install iptables-persistent, write both files with backup, enable netfilter-persistent', () => {
    const p = changed(plan(facts({ packages: { 'iptables-persistent': null }, file4: absent, file6: fileWith('old\n'), boot4: gone, boot6: gone })));
    const cmds = p.steps.map((s) => s.command);
    expect(cmds[0]).toBe(DEBCONF_PRESEED);
    expect(cmds[0]).toContain('iptables-persistent/autosave_v4 boolean false');
    expect(cmds[1]).toMatch(/DEBIAN_FRONTEND=noninteractive apt-get .* install --no-install-recommends iptables-persistent/);
    const writes = p.steps.filter((s) => s.stdin !== undefined);
    expect(writes.map((s) => s.stdin)).toEqual([save4.raw, save6.raw]);
    expect(writes[0]!.command).toContain('/etc/iptables/rules.v4');
    expect(writes[1]!.command).toMatch(/\.bak/); // the old rules.v6 is kept, dated
    expect(writes[0]!.command).toContain('chmod 0640');
    expect(cmds.some((c) => /systemctl enable -- netfilter-persistent.service/.test(c))).toBe(true);
    expect(cmds.join('\n')).not.toMatch(/sudo/);
    expect(p.summary).toBe('install iptables-persistent; write /etc/iptables/rules.v4; update /etc/iptables/rules.v6; enable netfilter-persistent');
    expect(p.diffs?.map((d) => d.label)).toEqual(['/etc/iptables/rules.v4', '/etc/iptables/rules.v6']);
    expect(p.predictions?.map((x) => x.request.id)).toContain('file:/etc/iptables/rules.v4');
  });

  it('in check mode the iptables task prediction flows into the saved files', () => {
    const rules = ['-i lo -j ACCEPT', '-p tcp --dport 22 -j ACCEPT'];
    const ip = iptables.plan(iptables.schema.parse({ chains: { INPUT: { policy: 'DROP', rules } } }), { save: save4, managers: noManagers }, { ...ctx, check: true });
    if (ip.kind !== 'change') throw new Error('expected change');
    const predicted = ip.predictions![0]!.value as IptablesSave;
    const p = changed(plan(facts({ save4: predicted }), args(), { ...ctx, check: true }));
    expect(p.summary).toBe('update /etc/iptables/rules.v4');
    expect(p.diffs?.[0]?.after).toContain('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n');
    expect(p.diffs?.[0]?.after).toContain('-A f2b-sshd -j RETURN');
  });

  it('ipv4 only', () => {
    const p = changed(plan({ ...facts({ file4: absent }), save6: undefined, file6: undefined, boot6: undefined }, args({ ipv6: false })));
    expect(p.summary).toBe('write /etc/iptables/rules.v4');
    expect(firewallPersist.facts(args({ ipv6: false }), ctx)).not.toHaveProperty('save6');
    expect(firewallPersist.schema.safeParse({ ipv4: false, ipv6: false }).success).toBe(false);
  });

  it('ufw active: refused by default, naming it; with firewall_manager: iptables disabled and masked first (each with its undo), then the rules running after that are saved at apply time', () => {
    expect(() => plan(facts({ managers: ufwOn }))).toThrow(
      'firewall_persist: ufw is active on this host and owns the firewall: it would rewrite these rules (a reload, a reboot). Manage the firewall with ufw, or set firewall_manager: iptables to stop, disable and mask ufw as part of this task',
    );
    const p = changed(plan(facts({ managers: ufwOn }), takeOver));
    const cmds = p.steps.map((s) => s.command);
    expect(cmds[0]).toMatch(/^PATH="\$PATH:\/usr\/sbin:\/sbin"; ufw --force disable >\/dev\/null && \{ if \[ -n "\$\{PROVISION_ROLLBACK_DIR:-\}" \]; then printf '%s\\n' 'PATH="\$PATH:\/usr\/sbin:\/sbin"; ufw --force enable' >> /);
    expect(cmds[1]).toMatch(/^systemctl mask ufw\.service >\/dev\/null 2>&1 && \{ .*'systemctl unmask ufw\.service'/);
    expect(cmds.some((c) => c.includes('iptables-save > "$tmp"'))).toBe(true);
    expect(cmds.some((c) => c.includes('ip6tables-save > "$tmp"'))).toBe(true);
    expect(p.steps.some((s) => s.stdin !== undefined)).toBe(false);
    expect(p.summary).toMatch(/^stop, disable and mask ufw; save the running iptables rules to \/etc\/iptables\/rules\.v4 \(after ufw\/firewalld stop\)/);
    expect(p.risk).toBe('access');
  });

  it('ufw installed but off, and enabled at boot: enabled at boot is refused too (it would load its rules over the saved ones)', () => {
    const atBoot: FirewallManagers = { ...noManagers, ufw: { installed: true, enabled: true, active: false, masked: false } };
    expect(() => plan(facts({ managers: atBoot }))).toThrow(/ufw is enabled at boot on this host/);
  });

  it('ufw kept but iptables-persistent would remove it', () => {
    const off: FirewallManagers = { ...noManagers, ufw: { installed: true, enabled: false, active: false, masked: false } };
    expect(() => plan(facts({ packages: { 'iptables-persistent': null }, managers: off }))).toThrow(/conflicts.*set firewall_manager: iptables/);
  });

  it('the old disable_ufw / disable_firewalld keys are refused at validation, naming them', () => {
    const r = firewallPersist.schema.safeParse({ disable_ufw: false });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('disable_ufw');
  });

  it('no init system: says what was skipped', () => {
    const p = plan({ ...facts(), boot4: undefined, boot6: undefined }, args(), { ...ctx, host: bare });
    expect(p).toMatchObject({ kind: 'ok', reason: expect.stringContaining('no init system: netfilter-persistent not enabled (skipped)') });
    expect(firewallPersist.facts(args(), { ...ctx, host: bare })).not.toHaveProperty('boot4');
  });
});

describe('firewall_persist: RHEL family', () => {
  const rhelCtx = { ...ctx, host: rocky };
  const rf = (over: Record<string, unknown> = {}) => ({ ...facts(over), packages: { 'iptables-services': null }, ...over });

  it('iptables-services, /etc/sysconfig files, enable and start iptables/ip6tables; firewalld stopped, disabled and masked when told to take over', () => {
    expect(() => plan(rf({ managers: firewalldOn, file4: absent, file6: absent, boot4: gone, boot6: gone }), args(), rhelCtx)).toThrow(
      /firewalld is active on this host and owns the firewall: .*and firewalld's own rules filter packets too\)\. Manage the firewall with firewalld, or set firewall_manager: iptables/,
    );
    const p = changed(plan(rf({ managers: firewalldOn, file4: absent, file6: absent, boot4: gone, boot6: gone }), takeOver, rhelCtx));
    const cmds = p.steps.map((s) => s.command);
    expect(cmds.slice(0, 3).map((c) => c.split(' && ')[0])).toEqual(['systemctl stop firewalld.service', 'systemctl disable firewalld.service', 'systemctl mask firewalld.service']);
    expect(cmds[0]).toContain("'systemctl start firewalld.service'");
    expect(cmds[2]).toContain("'systemctl unmask firewalld.service'");
    expect(cmds[3]).toMatch(/dnf -y -q install iptables-services/);
    expect(cmds.filter((c) => c.includes('/etc/sysconfig/iptables') || c.includes('/etc/sysconfig/ip6tables'))).toHaveLength(2);
    expect(cmds).toEqual(expect.arrayContaining(['systemctl enable -- iptables.service', 'systemctl start -- iptables.service', 'systemctl enable -- ip6tables.service']));
    expect(p.summary).toMatch(/^stop, disable and mask firewalld; install iptables-services; save the running iptables rules to \/etc\/sysconfig\/iptables \(after ufw\/firewalld stop\)/);
  });

  it('ok when all is in place', () => {
    const f = { ...facts({ boot4: svc(), boot6: svc() }), packages: { 'iptables-services': { version: '1.8.8' } } };
    expect(plan({ ...f, file4: fileWith(save4.raw), file6: fileWith(save6.raw) }, args(), rhelCtx)).toMatchObject({ kind: 'ok' });
  });

  it('unknown OS family', () => {
    const alpine = hostOf({ id: 'alpine', init: 'none', pm: 'none' });
    expect(() => firewallPersist.facts(args(), { ...ctx, host: alpine })).toThrow(/unsupported OS/);
  });
});

describe('saveRunningSteps against a real /bin/sh', () => {
  it('saves atomically with a dated backup', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwp-'));
    const bin = join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'iptables-save'), '#!/bin/sh\nprintf "*filter\\n:INPUT DROP [0:0]\\nCOMMIT\\n"\n');
    chmodSync(join(bin, 'iptables-save'), 0o755);
    const target = join(dir, 'etc', 'rules.v4');
    const [step] = saveRunningSteps(target, 4, '0640');
    execFileSync('/bin/sh', ['-c', step!.command], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(readFileSync(target, 'utf8')).toBe('*filter\n:INPUT DROP [0:0]\nCOMMIT\n');
    writeFileSync(target, 'old\n');
    execFileSync('/bin/sh', ['-c', step!.command], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const files = readdirSync(join(dir, 'etc'));
    expect(files.filter((f) => /^rules\.v4\.\d{8}T\d{6}\.bak$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => f.includes('provision'))).toEqual([]);
    expect((execFileSync('stat', ['-c', '%a', target], { encoding: 'utf8' }) as string).trim()).toBe('640');
  });

  it('a failing iptables-save leaves the old file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwp-'));
    writeFileSync(join(dir, 'iptables-save'), '#!/bin/sh\necho partial\nexit 1\n');
    chmodSync(join(dir, 'iptables-save'), 0o755);
    const target = join(dir, 'rules.v4');
    writeFileSync(target, 'old\n');
    const [step] = saveRunningSteps(target, 4, '0640');
    expect(() => execFileSync('/bin/sh', ['-c', step!.command], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, stdio: 'pipe' })).toThrow();
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(readdirSync(dir).filter((f) => f.includes('provision'))).toEqual([]);
  });
});
