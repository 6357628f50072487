/**
 * `sysctl`: a kernel parameter in a sysctl file and in the running kernel,
 * with ansible.posix.sysctl's parameters and semantics.
 *
 * The file is read as Ansible reads it: `key = value` lines, `#` and `;`
 * comments. A change rewrites it as Ansible does (every line trimmed, each
 * setting once as `key=value`, the first occurrence kept in place; a new one
 * appended) and writes it atomically. With `reload` (default) a file that
 * already holds the value is still a change when the running value differs,
 * and every change ends with `sysctl -p FILE` (failing on sysctl's "setting
 * key ...: Invalid argument / Read-only file system" even when it exits 0).
 * `sysctl_set` also sets the running value with `sysctl -w`. Values compare
 * word by word; yes/no/true/false become 1/0.
 *
 * In a container the task is skipped: kernel parameters belong to the
 * container host, and /proc/sys is read-only in the container.
 */
import { z } from 'zod';
import { change, defineTask, ok, skip, type Diff, type Prediction, type Step } from '../contract/task.js';
import { quote, sh } from '../contract/quote.js';
import { fileAt } from '../facts/files.js';
import { badSysctlName, sysctlValue } from '../facts/sysctl.js';
import { aliased } from './lib/args.js';
import { beforeText, diffOf, predictWrittenFile, writeFileSteps } from './lib/files.js';

const CONTROL = /[\u0000-\u001f\u007f]/;
const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

const nameArg = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:@/-]*$/, { message: 'a kernel parameter name: letters, digits and _ . : @ / - (e.g. net.ipv4.ip_forward)' })
  .superRefine((n, ctx) => {
    const why = badSysctlName(n);
    if (why) ctx.addIssue({ code: 'custom', message: `not a kernel parameter name: ${why}` });
  });

const argsSchema = z
  .object({
    name: nameArg.optional().describe('The parameter, e.g. net.ipv4.ip_forward (alias: key)'),
    key: nameArg.optional().describe('Alias of name'),
    value: z
      .union([z.string(), z.number(), z.boolean()])
      .optional()
      .describe('Its value (state: present); yes/no/true/false mean 1/0 (alias: val)'),
    val: z.union([z.string(), z.number(), z.boolean()]).optional().describe('Alias of value'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the file sets it; absent: no line of the file sets it'),
    sysctl_file: z.string().regex(/^\//, { message: 'an absolute path' }).default('/etc/sysctl.conf').describe('The file that holds it'),
    reload: z
      .boolean()
      .default(true)
      .describe('After a change, load the file (sysctl -p FILE); a running value that differs from the file is a change too'),
    sysctl_set: z.boolean().default(false).describe('Also set the running value with sysctl -w when it differs'),
    ignoreerrors: z.boolean().default(false).describe('sysctl -e: ignore unknown keys when loading the file and setting the value'),
  })
  .strict()
  .transform(({ key, val, ...rest }, ctx) => {
    const name = aliased({ name: rest.name, key }, ['name', 'key'], ctx);
    const given = [rest.value, val].filter((v) => v !== undefined);
    if (given.length > 1) ctx.addIssue({ code: 'custom', message: 'give only one of value, val (aliases)', path: ['val'] });
    const value = given[0] === undefined ? undefined : normaliseValue(given[0]);
    if (rest.state === 'present' && (value === undefined || value === '')) ctx.addIssue({ code: 'custom', message: 'state: present needs a value', path: ['value'] });
    if (value !== undefined && CONTROL.test(value)) ctx.addIssue({ code: 'custom', message: 'value must not contain newlines or other control characters (they would add lines to the file)', path: ['value'] });
    return { ...rest, name, value: value ?? '' };
  });

export type SysctlArgs = z.output<typeof argsSchema>;

/** Ansible's value: booleans and their spellings become 1/0, text is trimmed. */
export function normaliseValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v).trim();
  if (TRUE.has(s.toLowerCase())) return '1';
  if (FALSE.has(s.toLowerCase())) return '0';
  return s;
}

/** The same words in the same order (`32768\t60999` equals `32768 60999`). */
export const sameValue = (a: string | null, b: string): boolean => a !== null && a.split(/\s+/).filter(Boolean).join(' ') === b.split(/\s+/).filter(Boolean).join(' ');

const isSetting = (line: string): boolean => line !== '' && !line.startsWith('#') && !line.startsWith(';') && line.includes('=');

/** Every setting of a sysctl file (the last occurrence of a key wins), as Ansible reads it. */
export function fileValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!isSetting(line)) continue;
    const i = line.indexOf('=');
    out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

/** The file as Ansible rewrites it: lines trimmed, each key once (first place), `key=value`; ours set or dropped. */
export function rewrite(text: string, a: Pick<SysctlArgs, 'name' | 'value' | 'state'>): string {
  const seen = new Set<string>();
  const out: string[] = [];
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!isSetting(line)) {
      out.push(line);
      continue;
    }
    const i = line.indexOf('=');
    const k = line.slice(0, i).trim();
    if (seen.has(k)) continue;
    seen.add(k);
    if (k !== a.name) out.push(`${k}=${line.slice(i + 1).trim()}`);
    else if (a.state === 'present') out.push(`${k}=${a.value}`);
  }
  if (!seen.has(a.name) && a.state === 'present') out.push(`${a.name}=${a.value}`);
  return out.map((l) => `${l}\n`).join('');
}

/** `sysctl -p FILE`, failing on the errors sysctl reports with exit 0 (Ansible checks the same). */
function reloadStep(a: SysctlArgs): Step {
  const bad = '^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$';
  return {
    command: [
      `out=$(LC_ALL=C PATH="$PATH:/usr/sbin:/sbin" sysctl${a.ignoreerrors ? ' -e' : ''} -p ${quote(a.sysctl_file)} 2>&1); rc=$?`,
      `if [ $rc -ne 0 ] || printf '%s\\n' "$out" | grep -Eq ${quote(bad)}; then printf '%s\\n' "$out" >&2; exit 1; fi`,
    ].join('\n'),
  };
}

export const sysctl = defineTask({
  name: 'sysctl',
  description: 'A kernel parameter in a sysctl file and in the running kernel (ansible.posix.sysctl); skipped in containers',
  example:
    '- name: No IP forwarding\n  sysctl:\n    name: net.ipv4.ip_forward\n    value: 0\n    sysctl_file: /etc/sysctl.d/90-hardening.conf',
  schema: argsSchema,
  facts: (a) => ({ file: fileAt(a.sysctl_file), running: sysctlValue(a.name) }),
  plan(a, facts, ctx) {
    if (ctx.host.container) {
      return skip(`host is a container: ${a.name} belongs to the container host's kernel, which sets it (docker run --sysctl for the per-namespace ones)`);
    }
    const cur = facts.file;
    const text = cur.exists && cur.content !== undefined ? cur.content : '';
    const inFile = fileValues(text).get(a.name);
    const running = facts.running;
    const present = a.state === 'present';
    const fileWrong = present ? inFile !== a.value : inFile !== undefined;
    const runningWrong = present && !sameValue(running, a.value);
    const setRunning = a.sysctl_set && runningWrong;
    if (!fileWrong && !(runningWrong && (a.reload || a.sysctl_set))) {
      return ok(present ? `${a.name} is ${a.value} in ${a.sysctl_file}${a.reload || a.sysctl_set ? ' and in the running kernel' : ''}` : `${a.sysctl_file} does not set ${a.name}`);
    }
    const steps: Step[] = [];
    const what: string[] = [];
    const predictions: Prediction[] = [];
    if (setRunning) {
      steps.push({ command: sh`LC_ALL=C PATH="$PATH:/usr/sbin:/sbin" sysctl ${a.ignoreerrors ? ['-e'] : []} -w ${`${a.name}=${a.value}`}` });
      what.push(`set ${a.name} to ${a.value} (running: ${running ?? 'unknown'})`);
    }
    const diffs: Diff[] = [];
    if (fileWrong) {
      const content = rewrite(text, a);
      steps.push(...writeFileSteps({ path: a.sysctl_file, content }));
      diffs.push(diffOf(a.sysctl_file, beforeText(cur), content));
      predictions.push({ request: fileAt(a.sysctl_file), value: predictWrittenFile(cur, { content }) });
      what.push(present ? `${inFile === undefined ? 'add' : 'set'} ${a.name}=${a.value} in ${a.sysctl_file}${inFile === undefined ? '' : ` (was ${inFile})`}` : `remove ${a.name} from ${a.sysctl_file}`);
    } else if (runningWrong && !setRunning) {
      what.push(`load ${a.sysctl_file}: the running ${a.name} is ${running ?? 'unknown'}`);
    }
    if (a.reload) steps.push(reloadStep(a));
    if (present && (a.reload || a.sysctl_set)) predictions.push({ request: sysctlValue(a.name), value: a.value });
    return change(what.join('; '), steps, { diffs, predictions });
  },
});
