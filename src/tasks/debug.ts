/**
 * `debug`: show a message (`msg`, any value) or a variable (`var`, by name or
 * expression) in the run's output; secrets in it are masked like everywhere.
 * Runs on the control machine. A variable that is not defined shows
 * `VARIABLE IS NOT DEFINED!`, as in Ansible.
 */
import { z } from 'zod';
import { TemplateError } from '../contract/errors.js';
import { defineTask, ok } from '../contract/task.js';
import { renderString } from '../core/template.js';

const argsSchema = z
  .strictObject({
    msg: z.unknown().optional().describe('The message: text, or any value (shown as JSON)'),
    var: z.string().min(1).optional().describe('A variable name or expression to show with its value'),
  })
  .refine((a) => a.msg === undefined || a.var === undefined, { message: "'msg' and 'var' are incompatible options" });

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export const debug = defineTask({
  name: 'debug',
  description: 'Show a message or a variable in the output (runs on the control machine)',
  example: "- name: Where we are\n  debug:\n    msg: \"{{ inventory_hostname }} runs {{ ansible_distribution }} {{ ansible_distribution_major_version }}\"\n- debug: { var: ansible_facts.os_family }",
  schema: argsSchema,
  facts: () => ({}),
  plan(args, _facts, ctx) {
    if (args.var === undefined) {
      const msg = args.msg ?? 'Hello world!';
      return ok(shown(msg), { msg });
    }
    let value: unknown;
    try {
      value = renderString(`{{ ${args.var} }}`, ctx.vars);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      value = 'VARIABLE IS NOT DEFINED!';
    }
    return ok(`${args.var}: ${shown(value)}`, { [args.var]: value });
  },
});
