/**
 * `assert`: every expression of `that` must hold (bare expressions, as in
 * `when:`), else the host fails with `fail_msg` (or `msg`) and the expression
 * that did not hold. Runs on the control machine. `quiet` is accepted: a
 * passing assert only shows `success_msg` under -v anyway.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { defineTask, ok } from '../contract/task.js';
import { evalCondition } from '../core/template.js';

const message = z.union([z.string(), z.array(z.string())]);

const argsSchema = z.strictObject({
  that: z.union([z.string().min(1), z.boolean(), z.array(z.union([z.string().min(1), z.boolean()])).min(1)]).describe('Expression(s) that must all be true'),
  fail_msg: message.optional().describe('Message when an expression is false (default "Assertion failed")'),
  msg: message.optional().describe('Alias of fail_msg'),
  success_msg: message.optional().describe('Message when all hold (default "All assertions passed")'),
  quiet: z.boolean().optional().describe('Accepted: a passing assert shows its message only under -v'),
});

const text = (m: string | string[] | undefined, dflt: string): string => (m === undefined ? dflt : Array.isArray(m) ? m.join(' ') : m);

export const assertTask = defineTask({
  name: 'assert',
  description: 'Fail the host unless every expression holds (runs on the control machine)',
  example: "- name: Enough memory and a supported family\n  assert:\n    that:\n      - ansible_os_family in ['Debian', 'RedHat']\n      - admin_user != 'root'\n    fail_msg: \"this playbook needs a Debian or RHEL host and a non-root admin_user\"",
  schema: argsSchema,
  facts: () => ({}),
  plan(args, _facts, ctx) {
    const thats = Array.isArray(args.that) ? args.that : [args.that];
    for (const that of thats) {
      if (!evalCondition(that, ctx.vars)) {
        throw new TaskError(`${text(args.fail_msg ?? args.msg, 'Assertion failed')} (assertion: ${String(that)})`, { code: 'E_ASSERT' });
      }
    }
    return ok(text(args.success_msg, 'All assertions passed'), { msg: text(args.success_msg, 'All assertions passed') });
  },
});
