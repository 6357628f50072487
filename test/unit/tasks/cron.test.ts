/**
 * `cron`: the entry Ansible writes (#Ansible: NAME + job line), edited in a
 * crontab from hand-made facts (add, update in place, disable, remove, env,
 * cron_file), the arguments refused by name, and the crontab fact's parser.
 */
import { describe, expect, it } from 'vitest';
import { parseCrontab } from '../../../src/facts/crontab.js';
import { cron, editCrontab, jobLine } from '../../../src/tasks/cron.js';
import { absent, ctx, fileWith } from './_helpers.js';

const parse = (raw: unknown) => cron.schema.parse(raw);
const invalid = (raw: unknown) => cron.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const tab = (...lines: string[]) => ({ installed: true as const, lines });

describe('cron arguments', () => {
  it('defaults the time fields to * and takes numbers', () => {
    expect(parse({ name: 'a', job: 'x', minute: 5 })).toMatchObject({ minute: '5', hour: '*', day: '*', month: '*', weekday: '*', state: 'present', disabled: false });
  });
  it('refuses what Ansible refuses and what is not supported, by name', () => {
    expect(invalid({ name: 'a' })).toBe('job: job is required with state: present');
    expect(invalid({ name: 'a', job: 'x', cron_file: 'f' })).toBe('user: cron_file needs user (the user the job runs as)');
    expect(invalid({ name: 'a', job: 'x', special_time: 'reboot', hour: 2 })).toBe('special_time: give special_time or the time fields (hour), not both');
    expect(invalid({ name: 'a', job: 'x', backup: true })).toMatch(/backup/);
    expect(invalid({ name: 'a', job: 'x', insertafter: 'PATH' })).toMatch(/insertafter/);
    expect(invalid({ name: 'a', job: 'x\ny' })).toMatch(/single line/);
  });
});

describe('cron entry lines (as Ansible writes them)', () => {
  it('five fields, special time, user in a cron_file, disabled', () => {
    expect(jobLine(parse({ name: 'a', job: 'run', minute: '*/5', hour: 2 }))).toBe('*/5 2 * * * run');
    expect(jobLine(parse({ name: 'a', job: 'run', special_time: 'reboot' }))).toBe('@reboot run');
    expect(jobLine(parse({ name: 'a', job: 'run', cron_file: 'f', user: 'app', weekday: 1 }))).toBe('* * * * 1 app run');
    expect(jobLine(parse({ name: 'a', job: 'run', disabled: true }))).toBe('#* * * * * run');
  });
  it('adds at the end, updates in place, removes marker and job, keeps everything else', () => {
    const a = parse({ name: 'backup', job: '/bin/backup', hour: 2, minute: 0 });
    expect(editCrontab(['MAILTO=x', '1 1 * * * other'], a)).toEqual(['MAILTO=x', '1 1 * * * other', '#Ansible: backup', '0 2 * * * /bin/backup']);
    expect(editCrontab(['#Ansible: backup', '5 5 * * * old', '# mine'], a)).toEqual(['#Ansible: backup', '0 2 * * * /bin/backup', '# mine']);
    expect(editCrontab(['x', '#Ansible: backup', '5 5 * * * old', 'y'], parse({ name: 'backup', state: 'absent' }))).toEqual(['x', 'y']);
  });
  it('env: NAME=VALUE first when new, replaced in place, removed', () => {
    expect(editCrontab(['#Ansible: a', '* * * * * j'], parse({ name: 'PATH', job: '/usr/bin', env: true }))).toEqual(['PATH=/usr/bin', '#Ansible: a', '* * * * * j']);
    expect(editCrontab(['PATH=/bin', 'x'], parse({ name: 'PATH', job: '/usr/bin', env: true }))).toEqual(['PATH=/usr/bin', 'x']);
    expect(editCrontab(['PATH=/bin', 'x'], parse({ name: 'PATH', env: true, state: 'absent' }))).toEqual(['x']);
  });
});

describe('cron planner', () => {
  it('user crontab: crontab -u USER - with the whole new crontab; ok when it holds the entry', () => {
    const a = parse({ name: 'app', special_time: 'reboot', job: 'start', user: 'deploy' });
    const p = cron.plan(a, { crontab: tab('MAILTO=""') } as never, ctx);
    expect(p).toMatchObject({ kind: 'change', summary: 'set cron entry app of deploy', steps: [{ command: 'crontab -u deploy -', stdin: 'MAILTO=""\n#Ansible: app\n@reboot start\n' }] });
    expect(cron.plan(a, { crontab: tab('MAILTO=""', '#Ansible: app', '@reboot start') } as never, ctx)).toMatchObject({ kind: 'ok' });
    expect(cron.plan(parse({ name: 'app', state: 'absent' }), { crontab: tab() } as never, ctx)).toMatchObject({ kind: 'ok' });
  });
  it('refuses a host without crontab, naming the package', () => {
    expect(() => cron.plan(parse({ name: 'a', job: 'j' }), { crontab: { installed: false } } as never, ctx)).toThrow(/no crontab command: install the cron package/);
  });
  it('cron_file: written in /etc/cron.d mode 0644; removed when its last entry goes', () => {
    const a = parse({ name: 'c', cron_file: 'cleanup', user: 'root', minute: '*/10', job: 'clean' });
    const p = cron.plan(a, { file: absent } as never, ctx);
    expect(p).toMatchObject({ kind: 'change', summary: 'set cron entry c in /etc/cron.d/cleanup', steps: [{ stdin: '#Ansible: c\n*/10 * * * * root clean\n' }] });
    expect(cron.plan(a, { file: fileWith('#Ansible: c\n*/10 * * * * root clean\n') } as never, ctx)).toMatchObject({ kind: 'ok' });
    const gone = cron.plan(parse({ name: 'c', cron_file: 'cleanup', state: 'absent' }), { file: fileWith('#Ansible: c\n*/10 * * * * root clean\n') } as never, ctx);
    expect(gone).toMatchObject({ kind: 'change', steps: [{ command: 'rm -f -- /etc/cron.d/cleanup' }] });
  });
});

describe('crontab fact', () => {
  it('parses lines, an empty crontab, and a host without crontab', () => {
    expect(parseCrontab('__provision_crontab_begin\n# x\n* * * * * j\n', {})).toEqual({ installed: true, lines: ['# x', '* * * * * j'] });
    expect(parseCrontab('__provision_crontab_begin\n', {})).toEqual({ installed: true, lines: [] });
    expect(parseCrontab('__provision_no_crontab\n', {})).toEqual({ installed: false });
    expect(() => parseCrontab('__provision_crontab_begin\n', { user: 'nobody2' }, 1)).toThrow(/cannot read the crontab of nobody2/);
  });
});
