/**
 * sysctl planner from recorded facts: running values read with the fact's own
 * command on the development machine (a Debian 12 container on a 6.18 kernel:
 * ip_forward 1, rp_filter 0, a two-word port range, a key the kernel lacks),
 * Debian 12's own /etc/sysctl.conf and /usr/lib/sysctl.d/99-protect-links.conf
 * (see test/fixtures/facts/SOURCES.md). What the task writes is checked as the
 * file it renders, and against ansible.posix.sysctl's rules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import type { Plan, TaskContext } from '../../../src/contract/task.js';
import { renderValue } from '../../../src/core/template.js';
import type { FileInfo } from '../../../src/facts/files.js';
import { badSysctlName, parseSysctlValue, sysctlFact, sysctlPath, sysctlValue } from '../../../src/facts/sysctl.js';
import { fileValues, normaliseValue, rewrite, sameValue, sysctl } from '../../../src/tasks/sysctl.js';
import { absent, ctx, fileWith, hostOf } from './_helpers.js';

const fixture = (rel: string) => readFileSync(new URL(`../../fixtures/facts/sysctl/${rel}`, import.meta.url), 'utf8');
/** The fact's value for a key, from the recorded stdout of one merged read (grep exited 2: two paths are not files). */
const MERGED = fixture('devbox-merged.out');
const running = (key: string) => parseSysctlValue(MERGED, key);
const vm: TaskContext = { ...ctx, host: hostOf('debian', { container: false }) };
const plan = (args: Record<string, unknown>, file: FileInfo, run: string | null, c: TaskContext = vm): Plan =>
  sysctl.plan(sysctl.schema.parse(args), { file, running: run }, c);
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected a change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};
/** The file a change writes (the write step's stdin). */
const written = (p: Plan): string => changed(p).steps.find((s) => s.stdin !== undefined)?.stdin ?? '';
const DEBIAN_CONF = fixture('debian12-sysctl.conf');
const LINKS = fixture('debian12-99-protect-links.conf');
const FILE = '/etc/sysctl.d/90-hardening.conf';

describe('sysctl fact (recorded)', () => {
  it('reads one value, a tab-separated pair, and nothing for a key the kernel lacks or a directory', () => {
    expect(running('net.ipv4.ip_forward')).toBe('1');
    expect(running('net.ipv4.ip_local_port_range')).toBe('32768\t60999');
    expect(running('kernel.printk')).toMatch(/^\d+\t\d+\t\d+\t\d+$/);
    expect(running('net/ipv4/conf/all/rp_filter')).toBe(running('net.ipv4.conf.all.rp_filter'));
    expect(running('no.such.key')).toBeNull();
    expect(running('net.ipv4')).toBeNull();
    expect(parseSysctlValue('', 'net.ipv4.ip_forward')).toBeNull();
  });

  it('a multi-line file keeps its lines; a path that only starts like another is not it', () => {
    const out = '/proc/sys/a/b\0one\n/proc/sys/a/bc\0other\n/proc/sys/a/b\0two\n';
    expect(parseSysctlValue(out, 'a.b')).toBe('one\ntwo');
    expect(parseSysctlValue(out, 'a.bc')).toBe('other');
  });

  it('the reads of a batch merge into ONE grep naming each file once; a name with / keeps its dots', () => {
    const reads = ['net.ipv4.ip_forward', 'kernel.printk', 'net.ipv4.ip_forward', 'net/ipv4/ip_forward'].map(sysctlValue);
    const merged = sysctlFact.merge!(reads.map((r) => r.args as { names: string[] }));
    expect(sysctlFact.command(merged)).toBe("LC_ALL=C grep -a -s -H -Z '' /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/printk");
    // each spelling finds the one copy of the file's lines
    const out = '/proc/sys/net/ipv4/ip_forward\x001\n/proc/sys/kernel/printk\x004\t4\t1\t7\n';
    expect(reads.map((r) => r.parse(out, 2))).toEqual(['1', '4\t4\t1\t7', '1', '1']);
    // sysctl.d's rule: the first separator decides; a VLAN interface in either form
    expect(sysctlPath('net/ipv4/conf/eth0.100/rp_filter')).toBe('/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlPath('net.ipv4.conf.eth0/100.rp_filter')).toBe('/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlValue('kernel.printk').id).toBe('sysctl:kernel.printk');
  });

  it('names that would leave /proc/sys or name nothing are refused at validation', () => {
    for (const name of ['net/../../etc/shadow', 'net.ipv4..ip_forward', 'net/./ipv4', 'net.ipv4.', 'net//ipv4', 'net.//.//.//.etc.shadow']) {
      expect(badSysctlName(name), name).toBeDefined();
      expect(() => sysctl.schema.parse({ name, value: 1 }), name).toThrow(/not a kernel parameter name/);
    }
    expect(badSysctlName('net/ipv4/conf/eth0.100/rp_filter')).toBeUndefined();
  });
});

describe('sysctl planner', () => {
  it('adds the setting to a new file, loads it, and predicts the running value', () => {
    const p = changed(plan({ name: 'net.ipv4.ip_forward', value: 0, sysctl_file: FILE }, absent, running('net.ipv4.ip_forward')));
    expect(p.summary).toBe(`add net.ipv4.ip_forward=0 in ${FILE}`);
    expect(written(p)).toBe('net.ipv4.ip_forward=0\n');
    expect(changed(p).steps.at(-1)?.command).toContain(`sysctl -p ${FILE} 2>&1); rc=$?`);
    expect(p.predictions?.map((x) => [x.request.id, x.value])).toContainEqual(['sysctl:net.ipv4.ip_forward', '0']);
  });

  it("Debian's commented /etc/sysctl.conf: appended, every other line kept (trimmed, as Ansible writes)", () => {
    const p = changed(plan({ name: 'net.ipv4.conf.all.rp_filter', value: '1' }, fileWith(DEBIAN_CONF), running('net.ipv4.conf.all.rp_filter')));
    const text = written(p);
    expect(text.split('\n').slice(0, -2)).toEqual(DEBIAN_CONF.replace(/\n$/, '').split('\n').map((l) => l.trim()));
    expect(text.endsWith('\nnet.ipv4.conf.all.rp_filter=1\n')).toBe(true);
    expect(p.diffs?.[0]?.label).toBe('/etc/sysctl.conf');
  });

  it('a value already in the file: ok when the kernel agrees; with reload a different running value is loaded from the file', () => {
    const links = fileWith(LINKS);
    expect(plan({ name: 'fs.protected_regular', value: 2, sysctl_file: '/usr/lib/sysctl.d/99-protect-links.conf' }, links, '2')).toEqual({
      kind: 'ok',
      reason: 'fs.protected_regular is 2 in /usr/lib/sysctl.d/99-protect-links.conf and in the running kernel',
    });
    const file = fileWith('net.ipv4.conf.all.rp_filter = 1\n');
    const p = changed(plan({ name: 'net.ipv4.conf.all.rp_filter', value: 1, sysctl_file: FILE }, file, running('net.ipv4.conf.all.rp_filter')));
    expect(p.summary).toBe(`load ${FILE}: the running net.ipv4.conf.all.rp_filter is 0`);
    expect(p.steps).toHaveLength(1);
    expect(p.diffs).toEqual([]);
    // reload: false looks at the file only (Ansible)
    expect(plan({ name: 'net.ipv4.conf.all.rp_filter', value: 1, sysctl_file: FILE, reload: false }, file, '0').kind).toBe('ok');
  });

  it('changing a value rewrites its first line, drops repeats, and keeps the rest', () => {
    const file = fileWith('# mine\n  kernel.sysrq = 438\nnet.ipv4.ip_forward = 1\nnet.ipv4.ip_forward=1\n; old\n');
    const p = changed(plan({ key: 'net.ipv4.ip_forward', val: 'no', sysctl_file: FILE }, file, running('net.ipv4.ip_forward')));
    expect(p.summary).toBe(`set net.ipv4.ip_forward=0 in ${FILE} (was 1)`);
    expect(written(p)).toBe('# mine\nkernel.sysrq=438\nnet.ipv4.ip_forward=0\n; old\n');
  });

  it('state: absent removes every line of the key; absent already is ok', () => {
    const file = fileWith('net.ipv4.ip_forward=1\nkernel.sysrq = 438\nnet.ipv4.ip_forward = 1\n');
    expect(written(plan({ name: 'net.ipv4.ip_forward', state: 'absent', sysctl_file: FILE }, file, '1'))).toBe('kernel.sysrq=438\n');
    expect(plan({ name: 'net.ipv4.ip_forward', state: 'absent' }, fileWith(DEBIAN_CONF), '1')).toEqual({ kind: 'ok', reason: '/etc/sysctl.conf does not set net.ipv4.ip_forward' });
  });

  it('sysctl_set sets the running value with sysctl -w; values compare word by word', () => {
    const file = fileWith('net.ipv4.ip_local_port_range = 32768 60999\n');
    expect(plan({ name: 'net.ipv4.ip_local_port_range', value: '32768 60999', sysctl_file: FILE, sysctl_set: true }, file, running('net.ipv4.ip_local_port_range')).kind).toBe('ok');
    const p = changed(plan({ name: 'net.ipv4.ip_forward', value: 0, sysctl_file: FILE, sysctl_set: true, reload: false, ignoreerrors: true }, fileWith('net.ipv4.ip_forward=0\n'), '1'));
    expect(p.steps.map((s) => s.command)).toEqual(['LC_ALL=C PATH="$PATH:/usr/sbin:/sbin" sysctl -e -w net.ipv4.ip_forward=0']);
    expect(p.summary).toBe('set net.ipv4.ip_forward to 0 (running: 1)');
  });

  it('a key the kernel lacks is a change on every run with reload, as in Ansible; ignoreerrors loads with -e', () => {
    const p = changed(plan({ name: 'no.such.key', value: 1, sysctl_file: FILE, ignoreerrors: true }, fileWith('no.such.key=1\n'), running('no.such.key')));
    expect(p.summary).toBe(`load ${FILE}: the running no.such.key is unknown`);
    expect(p.steps[0]?.command).toContain(`sysctl -e -p ${FILE}`);
  });

  it('the reload fails on the errors sysctl reports with exit 0', () => {
    const step = changed(plan({ name: 'net.ipv4.ip_forward', value: 0, sysctl_file: FILE }, absent, '1')).steps.at(-1)?.command ?? '';
    expect(step).toContain(`grep -Eq '^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$'`);
  });

  it('skips in a container and says why', () => {
    const container = { ...vm, host: hostOf('debian', { container: true }) };
    expect(plan({ name: 'kernel.randomize_va_space', value: 2 }, absent, '2', container)).toEqual({
      kind: 'skip',
      reason: "host is a container: kernel.randomize_va_space belongs to the container host's kernel, which sets it (docker run --sysctl for the per-namespace ones)",
    });
  });

  it('the schema: aliases, value needed for present, no control characters, names that cannot be options', () => {
    const bad = (v: unknown) => {
      const r = sysctl.schema.safeParse(v);
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad({ name: 'a.b' })).toBe('value: state: present needs a value');
    expect(bad({ name: 'a.b', key: 'a.b', value: 1 })).toBe('key: give only one of name, key (aliases)');
    expect(bad({ name: 'a.b', value: 1, val: 2 })).toBe('val: give only one of value, val (aliases)');
    expect(bad({ name: '-w', value: 1 })).toMatch(/^name: a kernel parameter name/);
    expect(bad({ name: 'a.b', value: '1\nkernel.sysrq=1' })).toMatch(/^value: value must not contain newlines/);
    expect(bad({ name: 'a.b', value: 1, sysctl_file: 'rel.conf' })).toBe('sysctl_file: an absolute path');
    expect(bad({ name: 'a.b', value: 1, sysctl_sett: true })).toMatch(/sysctl_sett/);
    expect(normaliseValue(true)).toBe('1');
    expect(normaliseValue(' Off ')).toBe('0');
    expect(sameValue('32768\t60999', '32768 60999')).toBe(true);
    expect(fileValues(LINKS).get('fs.protected_regular')).toBe('2');
    expect(rewrite('', { name: 'a', value: '1', state: 'absent' })).toBe('');
  });
});

describe("harden.yaml's kernel settings", () => {
  const [play] = load(readFileSync(new URL('../../../playbooks/harden.yaml', import.meta.url), 'utf8')) as { vars: Record<string, unknown> }[];
  const baseline = Object.entries(renderValue(play!.vars.sysctl_baseline, { ip_forward: 0 }) as Record<string, string | number>);
  const HARDEN_FILE = '/etc/sysctl.d/90-provision-hardening.conf';

  it('planned one after another on a VM, render one file with each setting once; against that file and an agreeing kernel, every one is ok', () => {
    let text = '';
    for (const [name, value] of baseline) {
      // the recorded kernel where there is a recording, else the opposite of what is wanted
      const recorded = existsSync(new URL(`../../fixtures/facts/sysctl/devbox/${name}.out`, import.meta.url));
      const now = recorded ? running(name) : String(value) === '0' ? '1' : '0';
      text = written(plan({ name, value, sysctl_file: HARDEN_FILE }, text ? fileWith(text) : absent, now));
    }
    expect(text.split('\n').filter(Boolean)).toEqual(baseline.map(([k, v]) => `${k}=${v}`));
    expect(text).toContain('net.ipv4.ip_forward=0\nnet.ipv6.conf.all.forwarding=0\n');
    expect(text).toMatch(/^fs\.suid_dumpable=0$/m);
    expect(text).toMatch(/^kernel\.randomize_va_space=2$/m);
    for (const [name, value] of baseline) expect(plan({ name, value, sysctl_file: HARDEN_FILE }, fileWith(text), String(value)).kind, name).toBe('ok');
  });
});
