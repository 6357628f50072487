/**
 * `script` (ansible.builtin.script): send a local script to the host and run
 * it there. The free form (or `cmd`) is the script's path on the control
 * machine, then its arguments: a relative path is looked for in `files/`
 * beside the playbook, then beside it, as for `copy`. As in Ansible, the
 * arguments are shell text (variables expand, quotes group); the script runs
 * directly (its #! line picks the interpreter) or with `executable`. It is
 * written to a private temporary file on the host, which is removed again
 * whatever the outcome. `creates` / `removes` make it idempotent (the task is
 * then skipped, as Ansible reports it); otherwise
 * check mode skips it, like command and shell. Scripts are text (UTF-8).
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, skip } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { guardFacts, guardReason, runStep } from './command.js';
import { shortForm, splitWords } from './lib/args.js';
import { readLocalText } from './lib/local.js';

const argsSchema = z
  .object({
    cmd: z.string().min(1).describe('Path of the local script, then its arguments (shell text, as in Ansible)'),
    executable: z.string().min(1).optional().describe('Program that runs the script, e.g. python3; default: the script\'s own #! line'),
    chdir: z.string().min(1).optional().describe('Change into this directory on the host before running'),
    creates: z.string().min(1).optional().describe('A path on the host: when it already exists, the script is not run'),
    removes: z.string().min(1).optional().describe('A path on the host: when it does not exist, the script is not run'),
  })
  .strict()
  // the script's text, read by prepare()
  .transform((a) => ({ ...a, script: undefined as string | undefined }));

export type ScriptArgs = z.output<typeof argsSchema>;

/** The script's path and the rest of the line (its arguments, as shell text). */
export function splitScriptLine(cmd: string): { path: string; args: string } {
  const m = /^\s*((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)\s*([\s\S]*)$/.exec(cmd);
  const first = m ? splitWords(m[1] as string)[0] : undefined;
  if (!m || first === undefined) throw new TaskError(`script: no script path in ${JSON.stringify(cmd)}`);
  return { path: first, args: (m[2] as string).trim() };
}

/**
 * The one step: the script (on stdin) into a mode-0700 temporary file, run
 * with `sh -c` over its arguments ("$0" is the file), its exit code kept, the
 * file removed.
 */
export function scriptStep(script: string, a: Pick<ScriptArgs, 'cmd' | 'executable' | 'chdir'>): { command: string; stdin: string } {
  const { args } = splitScriptLine(a.cmd);
  const run = `${a.executable !== undefined ? `${quote(a.executable)} ` : ''}"$0"${args ? ` ${args}` : ''}`;
  const inner = runStep(`/bin/sh -c ${quote(run)} "$t"`, a.chdir !== undefined ? { chdir: a.chdir } : {}).command;
  const lines = [
    `t=$(mktemp "\${TMPDIR:-/tmp}/provision-script.XXXXXX") || exit 1`,
    `trap 'rm -f "$t"' EXIT`,
    `cat > "$t" && chmod 700 "$t" || exit 1`,
    `( ${inner} )`,
  ];
  return { command: lines.join('\n'), stdin: script };
}

export const script = defineTask({
  name: 'script',
  description: 'Send a local script to the host and run it there (arguments are shell text); creates/removes make it idempotent',
  example:
    '- name: Join the cluster once\n  script: join.sh --token "$(cat /etc/cluster/token)"\n  args:\n    creates: /etc/cluster/joined\n- name: A Python script\n  script: { cmd: report.py --json, executable: python3, chdir: /var/lib/app }',
  opaque: true,
  schema: shortForm('cmd', argsSchema),
  async prepare(a, ctx) {
    const local = await readLocalText(splitScriptLine(a.cmd).path, ctx.searchDirs.files);
    return { ...a, script: local.content };
  },
  facts: (a) => guardFacts(a),
  plan(a, facts) {
    // Ansible's script action reports a guarded run as skipped, not ok
    const why = guardReason(a, facts);
    if (why) return skip(`skipped, since ${why}`);
    if (a.script === undefined) throw new TaskError(`script: ${a.cmd} was not read (prepare() not run)`);
    return change(`run script: ${a.cmd}`, [scriptStep(a.script, a)]);
  },
});
