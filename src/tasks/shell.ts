/**
 * `shell`: run a script through `/bin/sh -c` (or `executable`): pipes,
 * redirections and variables work. The script is passed as one quoted word.
 */
import { z } from 'zod';
import { change, defineTask, ok } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { guardFacts, guardFields, guardReason, runStep } from './command.js';
import { shortForm } from './lib/args.js';

const argsSchema = z
  .object({
    cmd: z.string().min(1).describe('Shell script to run'),
    executable: z.string().min(1).default('/bin/sh').describe('Shell that runs the script with -c'),
    ...guardFields,
  })
  .strict();

export type ShellArgs = z.output<typeof argsSchema>;

export const shell = defineTask({
  name: 'shell',
  description: 'Run a shell script (pipes, redirections and variables work); creates/removes make it idempotent',
  example: "- name: Rotate the app log when it is large\n  shell: \"[ $(stat -c %s /var/log/app.log) -lt 10000000 ] || logrotate -f /etc/logrotate.d/app\"\n- name: Database initialised once\n  shell: { cmd: \"myapp-init --db /var/lib/myapp && touch /var/lib/myapp/.initialised\", creates: /var/lib/myapp/.initialised }",
  opaque: true,
  schema: shortForm('cmd', argsSchema),
  facts: (a) => guardFacts(a),
  plan(a, facts) {
    const why = guardReason(a, facts);
    if (why) return ok(why);
    return change(`run: ${a.cmd}`, [runStep(`${quote(a.executable)} -c ${quote(a.cmd)}`, a)]);
  },
});
