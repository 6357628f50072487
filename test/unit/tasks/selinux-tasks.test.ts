/**
 * seport, seboolean and selinux planned from recorded facts: the selinux and
 * seboolean fact outputs captured on Debian 12 with the SELinux policy
 * installed (booted without SELinux), Debian's /etc/selinux/config, and the
 * RHEL 7.6 port listing (see test/fixtures/facts/SOURCES.md). The enforcing
 * variants are those outputs with the mode line replaced (hand-made).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/contract/errors.js';
import type { Plan } from '../../../src/contract/task.js';
import { parseSebooleanFact, parseSelinuxFact, type SebooleanFacts, type SelinuxFacts, type SelinuxMode } from '../../../src/facts/selinux.js';
import { seboolean } from '../../../src/tasks/seboolean.js';
import { configValue, selinux } from '../../../src/tasks/selinux.js';
import { portEntry, seport } from '../../../src/tasks/seport.js';
import { selinuxOutput } from '../../fixtures/facts/selinux/fact-output.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const debian12 = (name: string): string => readFileSync(new URL(`../../fixtures/facts/selinux/debian12/${name}`, import.meta.url), 'utf8');
const disabled = parseSelinuxFact(debian12('selinux-fact-disabled-local-2849.out'));
const noPolicy = parseSelinuxFact(debian12('selinux-fact-no-policy.out'));
const rhel = parseSelinuxFact(selinuxOutput());
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected a change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};
const commands = (p: Plan): string => changed(p).steps.map((s) => s.command).join('\n');

const portPlan = (args: Record<string, unknown>, f: SelinuxFacts): Plan => seport.plan(seport.schema.parse(args), { selinux: f }, ctx);
const prediction = (p: Plan): SelinuxFacts => changed(p).predictions?.[0]?.value as SelinuxFacts;

describe('seport', () => {
  it('ports: a number, a range, a list, a comma string; invalid ones refused naming them', () => {
    expect(seport.schema.parse({ ports: 2849, proto: 'tcp', setype: 'ssh_port_t' }).ports).toEqual(['2849']);
    expect(seport.schema.parse({ ports: '10000-10100, 10112,10112', proto: 'tcp', setype: 'memcache_port_t' }).ports).toEqual(['10000-10100', '10112']);
    expect(seport.schema.parse({ ports: [8080, '80-80'], proto: 'udp', setype: 'x_t' }).ports).toEqual(['8080', '80']);
    expect(portEntry('0')).toBeUndefined();
    expect(portEntry('9-8')).toBeUndefined();
    expect(portEntry('65536')).toBeUndefined();
    expect(() => seport.schema.parse({ ports: '22;id', proto: 'tcp', setype: 'ssh_port_t' })).toThrow('22;id\\" is not a port or a range');
    expect(() => seport.schema.parse({ ports: 22, proto: 'sctp', setype: 'ssh_port_t' })).toThrow();
    expect(() => seport.schema.parse({ ports: 22, proto: 'tcp', setype: 'ssh port' })).toThrow('an SELinux type');
  });

  it('the corpus task on an enforcing RHEL host: semanage port -a, then (predicted facts) nothing', () => {
    const args = { ports: 2849, proto: 'tcp', setype: 'ssh_port_t', state: 'present' };
    const p = portPlan(args, rhel);
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; semanage port -a -t ssh_port_t -p tcp 2849');
    expect(changed(p).summary).toBe('label tcp/2849 ssh_port_t');
    expect(portPlan(args, prediction(p)).kind).toBe('ok');
  });

  it('an entry defined with another type is modified (-m); one of the type already is ok; reload: false adds -N', () => {
    const p = portPlan({ ports: [8080, 22], proto: 'tcp', setype: 'ssh_port_t', reload: false }, rhel);
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; semanage port -m -N -t ssh_port_t -p tcp 8080');
    expect(changed(p).summary).toBe('label tcp/8080 (was http_cache_port_t) ssh_port_t');
    expect(portPlan({ ports: '22', proto: 'tcp', setype: 'ssh_port_t' }, rhel)).toMatchObject({ kind: 'ok', reason: 'tcp/22 is ssh_port_t' });
  });

  it('a port inside a range of the type is still added, as Ansible compares entries as written', () => {
    expect(commands(portPlan({ ports: 5990, proto: 'tcp', setype: 'vnc_port_t' }, rhel))).toContain('semanage port -a -t vnc_port_t -p tcp 5990');
  });

  it('absent: a local entry is deleted (-d); a policy entry is refused, naming it; none of the type is ok', () => {
    const p = portPlan({ ports: 2849, proto: 'tcp', setype: 'ssh_port_t', state: 'absent', ignore_selinux_state: true }, disabled);
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; semanage port -d -p tcp 2849');
    expect(labelsOfType(prediction(p), 'ssh_port_t')).toEqual(['22']);
    expect(() => portPlan({ ports: 22, proto: 'tcp', setype: 'ssh_port_t', state: 'absent' }, rhel)).toThrow('tcp/22 is ssh_port_t in the SELinux policy itself');
    expect(portPlan({ ports: 2849, proto: 'udp', setype: 'ssh_port_t', state: 'absent', ignore_selinux_state: true }, disabled).kind).toBe('ok');
  });

  it('local: true compares with the local customizations only (22 is ssh_port_t in the policy, not locally)', () => {
    expect(commands(portPlan({ ports: 22, proto: 'tcp', setype: 'ssh_port_t', local: true }, rhel))).toContain('semanage port -m -t ssh_port_t -p tcp 22');
    expect(portPlan({ ports: 8991, proto: 'tcp', setype: 'ssh_port_t', local: true }, rhel).kind).toBe('ok');
  });

  it('SELinux disabled: refused as Ansible does, unless ignore_selinux_state; then the store is read (udp range present)', () => {
    expect(() => portPlan({ ports: 2849, proto: 'tcp', setype: 'ssh_port_t' }, disabled)).toThrow(/SELinux is disabled on this host .*ignore_selinux_state: true/);
    expect(portPlan({ ports: '8000-8010', proto: 'udp', setype: 'http_port_t', ignore_selinux_state: true }, disabled).kind).toBe('ok');
  });

  it('semanage missing: refused naming the package; store unreadable: refused naming the policy packages', () => {
    const bare: SelinuxFacts = { mode: 'enforcing', semanage: false, labels: [], local: [] };
    expect(() => portPlan({ ports: 1, proto: 'tcp', setype: 'x_t' }, bare)).toThrow(TaskError);
    expect(() => portPlan({ ports: 1, proto: 'tcp', setype: 'x_t' }, bare)).toThrow('install policycoreutils-python-utils');
    expect(() => portPlan({ ports: 1, proto: 'tcp', setype: 'x_t', ignore_selinux_state: true }, noPolicy)).toThrow(
      'semanage cannot read the SELinux policy store (ValueError: SELinux policy is not managed or store cannot be accessed.): install the policy',
    );
  });
});

function labelsOfType(f: SelinuxFacts, type: string): readonly string[] {
  return f.labels.filter((l) => l.proto === 'tcp' && l.type === type).flatMap((l) => l.ports);
}

const boolOut = debian12('seboolean-fact-httpd_can_network_connect-off.out');
const BOOL = 'httpd_can_network_connect';
/** The captured fact (stored off, disabled), or hand-made enforcing with a running value. */
function boolFacts(running?: boolean, stored = false): SebooleanFacts {
  const f = parseSebooleanFact(boolOut, BOOL);
  return running === undefined ? { ...f, stored } : { ...f, mode: 'enforcing', running, stored };
}
const boolPlan = (args: Record<string, unknown>, f: SebooleanFacts): Plan => seboolean.plan(seboolean.schema.parse({ name: BOOL, ...args }), { bool: f }, ctx);

describe('seboolean', () => {
  it('the corpus task (state yes, persistent yes) on an enforcing host: setsebool -P; predicted facts then ok', () => {
    const p = boolPlan({ state: true, persistent: true }, boolFacts(false));
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; setsebool -P httpd_can_network_connect on');
    expect(changed(p).summary).toBe('set httpd_can_network_connect on running and in the policy store (was running off, stored off)');
    expect(boolPlan({ state: true, persistent: true }, changed(p).predictions?.[0]?.value as SebooleanFacts).kind).toBe('ok');
  });

  it('not persistent: only the running value counts (setsebool without -P)', () => {
    expect(boolPlan({ state: true }, boolFacts(true, false)).kind).toBe('ok');
    expect(commands(boolPlan({ state: false }, boolFacts(true)))).toBe('PATH="$PATH:/usr/sbin:/sbin"; setsebool httpd_can_network_connect off');
  });

  it('persistent: a stored value right with the running one wrong is a change too', () => {
    expect(changed(boolPlan({ state: true, persistent: true }, boolFacts(false, true))).summary).toContain('(was running off)');
  });

  it('SELinux disabled (captured): refused unless ignore_selinux_state; then semanage boolean -m, and only with persistent', () => {
    expect(() => boolPlan({ state: true, persistent: true }, boolFacts())).toThrow('SELinux is disabled on this host');
    const p = boolPlan({ state: true, persistent: true, ignore_selinux_state: true }, boolFacts());
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; semanage boolean -m --on httpd_can_network_connect');
    expect(changed(p).summary).toBe('set httpd_can_network_connect on in the policy store (was stored off)');
    expect(boolPlan({ state: false, persistent: true, ignore_selinux_state: true }, boolFacts()).kind).toBe('ok');
    expect(() => boolPlan({ state: true, ignore_selinux_state: true }, boolFacts())).toThrow('has no running value to set; give persistent: true');
  });

  it('an unknown boolean is refused, naming where it is missing', () => {
    const unknown = parseSebooleanFact(boolOut, 'no_such_boolean');
    expect(() => seboolean.plan(seboolean.schema.parse({ name: 'no_such_boolean', state: true, persistent: true, ignore_selinux_state: true }), { bool: unknown }, ctx)).toThrow(
      'SELinux boolean no_such_boolean is not defined in the policy store',
    );
    expect(() => seboolean.plan(seboolean.schema.parse({ name: 'no_such_boolean', state: true }), { bool: { ...unknown, mode: 'permissive' } }, ctx)).toThrow('not defined in the running policy');
  });

  it('names are held to the policy spelling', () => {
    expect(() => seboolean.schema.parse({ name: 'a b', state: true })).toThrow('an SELinux boolean name');
  });
});

const CONFIG = debian12('etc-selinux-config');
const modePlan = (args: Record<string, unknown>, mode: SelinuxMode, config = CONFIG, policyDir = true): Plan =>
  selinux.plan(selinux.schema.parse(args), { mode, file: fileWith(config), policyDir: policyDir ? dirInfo() : absent }, ctx);
const written = (p: Plan): string => changed(p).steps.find((s) => s.stdin !== undefined)?.stdin ?? '';

describe('selinux', () => {
  it("Debian's config (captured): enforcing + targeted rewrites both lines, comments kept; disabled at runtime: reboot required, no setenforce", () => {
    const p = modePlan({ policy: 'targeted', state: 'enforcing' }, 'disabled');
    const text = written(p);
    expect(configValue(text, 'SELINUX')).toBe('enforcing');
    expect(configValue(text, 'SELINUXTYPE')).toBe('targeted');
    expect(text.split('\n').filter((l) => l.startsWith('#'))).toEqual(CONFIG.split('\n').filter((l) => l.startsWith('#')));
    expect(commands(p)).not.toContain('setenforce');
    expect(changed(p).summary).toBe('set SELINUX=enforcing SELINUXTYPE=targeted in /etc/selinux/config; reboot required to set SELinux enforcing (it is disabled in the running system)');
    expect(changed(p).data).toMatchObject({ reboot_required: true, policy: 'targeted', state: 'enforcing' });
    expect(modePlan({ policy: 'targeted', state: 'enforcing' }, 'disabled', text)).toMatchObject({ kind: 'ok', data: { reboot_required: true } });
  });

  it('running permissive -> enforcing: setenforce 1 now, predicted; config already right is only the setenforce', () => {
    const config = CONFIG.replace('SELINUX=permissive', 'SELINUX=enforcing');
    const p = modePlan({ policy: 'default', state: 'enforcing' }, 'permissive', config);
    expect(commands(p)).toBe('PATH="$PATH:/usr/sbin:/sbin"; setenforce 1');
    expect(changed(p).predictions?.[0]?.value).toBe('enforcing');
    expect(changed(p).data).toMatchObject({ reboot_required: false });
    expect(modePlan({ policy: 'default', state: 'enforcing' }, 'enforcing', config).kind).toBe('ok');
  });

  it('disabled while enforcing: permissive meanwhile (setenforce 0) and reboot required; policy kept from the config', () => {
    const p = modePlan({ state: 'disabled' }, 'enforcing');
    expect(commands(p)).toContain('setenforce 0');
    expect(configValue(written(p), 'SELINUXTYPE')).toBe('default');
    expect(changed(p).summary).toContain('reboot required to disable SELinux (permissive meanwhile)');
  });

  it('a policy not installed is refused; a missing config is refused naming the packages; missing lines are appended', () => {
    expect(() => modePlan({ policy: 'mls', state: 'permissive' }, 'disabled', CONFIG, false)).toThrow('policy mls does not exist in /etc/selinux/');
    expect(() => selinux.plan(selinux.schema.parse({ state: 'disabled' }), { mode: 'disabled', file: absent }, ctx)).toThrow('/etc/selinux/config does not exist: install the SELinux policy first');
    expect(written(modePlan({ policy: 'targeted', state: 'permissive' }, 'disabled', '# empty\n'))).toBe('# empty\nSELINUX=permissive\nSELINUXTYPE=targeted\n');
  });

  it('schema: policy required unless disabled; update_kernel_param refused; aliases of configfile', () => {
    expect(() => selinux.schema.parse({ state: 'enforcing' })).toThrow('policy is required unless state: disabled');
    expect(() => selinux.schema.parse({ state: 'disabled', update_kernel_param: true })).toThrow('update_kernel_param is not supported');
    expect(selinux.schema.parse({ state: 'disabled', conf: '/tmp/c' }).configfile).toBe('/tmp/c');
    expect(() => selinux.schema.parse({ state: 'disabled', policy: '../x' })).toThrow('a policy name');
  });
});
