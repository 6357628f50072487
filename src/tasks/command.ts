/**
 * `command`: run a program on the host WITHOUT a shell (Ansible semantics: no
 * pipes, redirections or `$VAR` expansion; the free-form string is split into
 * words and every word is quoted). `creates`/`removes` make it idempotent.
 */
import { z } from 'zod';
import { change, defineTask, ok, type Step } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { TaskError } from '../contract/errors.js';
import type { FactRequest } from '../contract/fact.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { shortForm, splitWords } from './lib/args.js';

export const guardFields = {
  chdir: z.string().min(1).optional().describe('Change into this directory before running'),
  creates: z.string().min(1).optional().describe('A path: when it already exists, the command is not run'),
  removes: z.string().min(1).optional().describe('A path: when it does not exist, the command is not run'),
  stdin: z.string().optional().describe('Text passed to the command on standard input'),
};

const argsSchema = z
  .object({
    cmd: z.string().min(1).optional().describe('The command line; split into words like a shell would, but nothing is expanded'),
    argv: z.array(z.string()).min(1).optional().describe('The command as a list of words (each passed as it is)'),
    ...guardFields,
  })
  .strict()
  .refine((a) => (a.cmd === undefined) !== (a.argv === undefined), { message: 'give exactly one of cmd or argv' });

export type CommandArgs = z.output<typeof argsSchema>;

type GuardFacts = Record<string, FactRequest<FileInfo>>;

/** Fact requests for `creates` / `removes`. */
export function guardFacts(a: { creates?: string; removes?: string }): GuardFacts {
  const f: GuardFacts = {};
  if (a.creates !== undefined) f.creates = fileAt(a.creates);
  if (a.removes !== undefined) f.removes = fileAt(a.removes);
  return f;
}

/** A reason not to run, from `creates` / `removes`; undefined when the command should run. */
export function guardReason(a: { creates?: string; removes?: string }, facts: Record<string, FileInfo | undefined>): string | undefined {
  if (a.creates !== undefined && facts.creates?.exists) return `${a.creates} exists`;
  if (a.removes !== undefined && facts.removes && !facts.removes.exists) return `${a.removes} does not exist`;
  return undefined;
}

/** Wrap a command with `cd` and stdin handling into one step. */
export function runStep(command: string, a: { chdir?: string; stdin?: string }): Step {
  // `./` keeps a relative directory from being read as an option (`-P`, `-`) or searched in CDPATH
  const dir = a.chdir !== undefined && !a.chdir.startsWith('/') ? `./${a.chdir}` : a.chdir;
  const cd = dir !== undefined ? `cd ${quote(dir)} && ` : '';
  if (a.stdin !== undefined) return { command: `${cd}${command}`, stdin: a.stdin };
  return { command: `${cd}${command} </dev/null` };
}

export const command = defineTask({
  name: 'command',
  description: 'Run a program without a shell (no pipes or variable expansion); creates/removes make it idempotent',
  example: "- name: Generate the DH parameters once\n  command:\n    cmd: openssl dhparam -out /etc/ssl/dhparam.pem 2048\n    creates: /etc/ssl/dhparam.pem\n- name: Read the kernel version\n  command: uname -r\n  register: kernel\n  changed_when: false\n  check_mode: false",
  opaque: true,
  schema: shortForm('cmd', argsSchema),
  facts: (a) => guardFacts(a),
  plan(a, facts) {
    const why = guardReason(a, facts);
    if (why) return ok(why);
    const words = a.argv ?? splitWords(a.cmd as string);
    if (words.length === 0) throw new TaskError('command: empty command');
    const line = words.map((w) => quote(w)).join(' ');
    return change(`run: ${a.cmd ?? line}`, [runStep(line, a)]);
  },
});
