/**
 * `ping`: the host is reachable and runs commands as the task's user (the
 * connection, and sudo with become, are made before any task plans), as
 * Ansible's ping module. Always ok; registers `ping: <data>`. `data: crash`
 * fails the task, as Ansible's module raises.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { defineTask, ok } from '../contract/task.js';

const argsSchema = z
  .object({
    data: z.string().default('pong').describe('What to register as `ping` (crash: fail the task, to test failure handling)'),
  })
  .strict();

export const ping = defineTask({
  name: 'ping',
  description: 'Check that the host is reachable and answers (registers ping: pong)',
  example: '- name: Reachable\n  ping:',
  schema: argsSchema,
  facts: () => ({}),
  plan(a, _facts, ctx) {
    if (a.data === 'crash') throw new TaskError('boom (ping data: crash)');
    return ok(`${ctx.host.hostname || 'host'} answers: ${a.data}`, { ping: a.data });
  },
});
