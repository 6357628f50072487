/**
 * `meta`: the play's flow. `flush_handlers` runs the handlers notified so far
 * (on this host), `end_play` ends the play for every host (each stops before
 * its next task), `end_host` ends it for this host, neither failing any, and
 * `noop` does nothing; `when:` works as on any task. Ansible's other meta
 * actions are refused by name.
 */
import { z } from 'zod';
import { controlled, defineTask } from '../contract/task.js';
import { shortForm } from './lib/args.js';

const ACTIONS = ['flush_handlers', 'end_play', 'end_host', 'noop'] as const;

const argsSchema = z.strictObject({
  action: z.enum(ACTIONS).describe('flush_handlers, end_play, end_host or noop'),
});

const REASON: Record<(typeof ACTIONS)[number], string> = {
  flush_handlers: 'run the notified handlers now',
  end_play: 'end the play',
  end_host: 'end the play for this host',
  noop: 'nothing to do',
};

export const meta = defineTask({
  name: 'meta',
  description: "Run the notified handlers now, or end the play (for every host or this one); Ansible's meta task",
  example: '- name: Handlers now, before the checks below\n  meta: flush_handlers\n- meta: end_host\n  when: ansible_os_family != "Debian"',
  schema: shortForm('action', argsSchema),
  facts: () => ({}),
  plan(args) {
    return controlled(REASON[args.action], { meta: args.action });
  },
});
