/**
 * `cron` (ansible.builtin.cron): one named entry in a user's crontab (written
 * with `crontab -u USER -`) or in a file of /etc/cron.d (`cron_file`, written
 * atomically, mode 0644). The entry is the line `#Ansible: NAME` followed by
 * the job line, exactly as Ansible writes it, so crontabs Ansible manages are
 * read and edited in place (and the other way round):
 *
 * - `MIN HOUR DAY MONTH WEEKDAY [USER] JOB`, or `@SPECIAL [USER] JOB`; USER
 *   only in a cron_file; `disabled: true` comments the job line out (`#`).
 * - `env: true`: the entry is the variable line `NAME=JOB`, put first in the
 *   crontab when new (Ansible's default without insertafter/insertbefore).
 * - `state: absent` removes the entry; a cron_file left without any line is
 *   removed.
 *
 * Idempotent by comparing the whole resulting crontab with the current one.
 * Not supported, refused by name: backup, insertafter, insertbefore.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, type Plan } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { crontabOf, type Crontab } from '../facts/crontab.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { diffOf, predictWrittenFile, writeFileSteps } from './lib/files.js';

const SPECIAL = ['annually', 'daily', 'hourly', 'monthly', 'reboot', 'weekly', 'yearly'] as const;
const field = (what: string) =>
  z
    .union([z.string(), z.number().int().min(0)])
    .transform(String)
    .pipe(z.string().regex(/^\S+$/, 'one crontab field, without spaces'))
    .default('*')
    .describe(`${what} when the job runs (crontab syntax: *, 5, */15, 1-5, 1,15)`);
const line = z.string().min(1).regex(/^[^\r\n]*$/, 'a single line');

const argsSchema = z
  .object({
    name: line.describe('Name of the entry: the `#Ansible: NAME` line above the job (with env: the variable name)'),
    job: line.optional().describe('The command to run (with env: the variable value); required with state: present'),
    state: z.enum(['present', 'absent']).default('present'),
    user: z.string().min(1).regex(/^[^\s:/]+$/, 'a user name').optional().describe("Whose crontab; default: the user the task runs as. Required with cron_file (the job line's user field)"),
    minute: field('Minute'),
    hour: field('Hour'),
    day: field('Day of the month'),
    month: field('Month'),
    weekday: field('Day of the week'),
    special_time: z.enum(SPECIAL).optional().describe('@reboot, @daily... instead of the five time fields'),
    disabled: z.boolean().default(false).describe('Keep the job, commented out'),
    cron_file: z
      .string()
      .min(1)
      .regex(/^[^\r\n]*[^/\r\n]$/, 'a file name or path')
      .optional()
      .describe('A file of /etc/cron.d (a relative name is taken there) instead of a user crontab'),
    env: z.boolean().default(false).describe('The entry is an environment variable NAME=JOB instead of a job'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.state === 'present' && a.job === undefined) ctx.addIssue({ code: 'custom', message: 'job is required with state: present', path: ['job'] });
    if (a.cron_file !== undefined && a.user === undefined && a.state === 'present') ctx.addIssue({ code: 'custom', message: 'cron_file needs user (the user the job runs as)', path: ['user'] });
    const times = (['minute', 'hour', 'day', 'month', 'weekday'] as const).filter((k) => a[k] !== '*');
    if (a.special_time !== undefined && times.length > 0) ctx.addIssue({ code: 'custom', message: `give special_time or the time fields (${times.join(', ')}), not both`, path: ['special_time'] });
    if (a.env && a.name.includes('=')) ctx.addIssue({ code: 'custom', message: 'an environment variable name cannot contain =', path: ['name'] });
  });

export type CronArgs = z.output<typeof argsSchema>;

export const MARKER = '#Ansible: ';

/** The path of a cron_file: a relative name is in /etc/cron.d. */
export const cronFilePath = (f: string): string => (f.startsWith('/') ? f : posix.join('/etc/cron.d', f));

/** The job line Ansible writes for these arguments. */
export function jobLine(a: CronArgs): string {
  const user = a.cron_file !== undefined ? ` ${a.user ?? 'root'}` : '';
  const when = a.special_time !== undefined ? `@${a.special_time}` : [a.minute, a.hour, a.day, a.month, a.weekday].join(' ');
  return `${a.disabled ? '#' : ''}${when}${user} ${a.job ?? ''}`;
}

/** The crontab's lines with the entry set or removed (pure). */
export function editCrontab(lines: readonly string[], a: CronArgs): string[] {
  const out = [...lines];
  if (a.env) {
    const at = out.findIndex((l) => l.startsWith(`${a.name}=`));
    const want = `${a.name}=${a.job ?? ''}`;
    if (a.state === 'absent') return at < 0 ? out : out.filter((_, i) => i !== at);
    if (at < 0) out.unshift(want);
    else out[at] = want;
    return out;
  }
  const at = out.indexOf(`${MARKER}${a.name}`);
  if (a.state === 'absent') {
    if (at >= 0) out.splice(at, at + 1 < out.length ? 2 : 1);
    return out;
  }
  if (at < 0) out.push(`${MARKER}${a.name}`, jobLine(a));
  else if (at + 1 < out.length) out[at + 1] = jobLine(a);
  else out.push(jobLine(a));
  return out;
}

const text = (lines: readonly string[]): string => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);

type CronFacts = { crontab?: FactRequest<Crontab>; file?: FactRequest<FileInfo> };

function planUserCrontab(a: CronArgs, cur: Crontab): Plan {
  const whose = a.user ?? 'the task user';
  if (!cur.installed) throw new TaskError(`cron: the host has no crontab command: install the cron package first`);
  const next = editCrontab(cur.lines, a);
  if (text(next) === text(cur.lines)) return ok(`crontab of ${whose} ${a.state === 'absent' ? 'has no' : 'has the'} entry ${a.name}`);
  const u = a.user !== undefined ? ` -u ${quote(a.user)}` : '';
  return change(`${a.state === 'absent' ? 'remove' : 'set'} cron entry ${a.name} of ${whose}`, [{ command: `crontab${u} -`, stdin: text(next) }], {
    diffs: [diffOf(`crontab ${whose}`, text(cur.lines), text(next))],
    predictions: [{ request: crontabOf(a.user !== undefined ? { user: a.user } : {}), value: { installed: true, lines: next } }],
  });
}

function planCronFile(a: CronArgs, path: string, cur: FileInfo): Plan {
  if (cur.exists && (cur.type !== 'file' || cur.content === undefined)) throw new TaskError(`${path} is not a text file`);
  const before = cur.exists ? (cur.content ?? '') : '';
  const lines = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const next = editCrontab(lines, a);
  if (cur.exists && text(next) === before) return ok(`${path} ${a.state === 'absent' ? 'has no' : 'has the'} entry ${a.name}`);
  if (!cur.exists && a.state === 'absent') return ok(`${path} does not exist`);
  const diffs = [diffOf(path, before, text(next))];
  if (next.length === 0) {
    return change(`remove ${path} (its last entry ${a.name} removed)`, [{ command: `rm -f -- ${quote(path)}` }], { diffs, predictions: [{ request: fileAt(path), value: { exists: false } }] });
  }
  const steps = writeFileSteps({ path, content: text(next), mode: '0644', owner: 'root', group: 'root' });
  return change(`${a.state === 'absent' ? 'remove' : 'set'} cron entry ${a.name} in ${path}`, steps, {
    diffs,
    predictions: [{ request: fileAt(path), value: predictWrittenFile(cur, { content: text(next), mode: '0644', owner: 'root', group: 'root' }) }],
  });
}

export const cron = defineTask({
  name: 'cron',
  description: 'One named cron job (or variable) in a user crontab or /etc/cron.d, in the #Ansible: NAME format Ansible uses',
  example:
    '- name: Nightly backup\n  cron:\n    name: backup\n    minute: "30"\n    hour: "2"\n    job: /usr/local/bin/backup >/dev/null 2>&1\n- name: Start the app on boot\n  cron: { name: app, special_time: reboot, job: /opt/app/start, user: deploy }\n- name: In /etc/cron.d\n  cron: { name: cleanup, cron_file: cleanup, user: root, minute: "*/10", job: /usr/local/bin/cleanup }',
  schema: argsSchema,
  facts(a): CronFacts {
    if (a.cron_file !== undefined) return { file: fileAt(cronFilePath(a.cron_file)) };
    return { crontab: crontabOf(a.user !== undefined ? { user: a.user } : {}) };
  },
  plan(a, facts) {
    if (a.cron_file !== undefined) {
      if (!facts.file) throw new TaskError('internal: the cron_file fact is missing');
      return planCronFile(a, cronFilePath(a.cron_file), facts.file);
    }
    if (!facts.crontab) throw new TaskError('internal: the crontab fact is missing');
    return planUserCrontab(a, facts.crontab);
  },
});
