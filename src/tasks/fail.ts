/** `fail`: stop the host with a message (usually with `when:`). Runs on the control machine. */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { defineTask } from '../contract/task.js';

const argsSchema = z.strictObject({ msg: z.string().optional().describe('Why (default: "Failed as requested from task")') });

export const fail = defineTask({
  name: 'fail',
  description: 'Fail the host with a message (runs on the control machine)',
  example: "- name: Only Debian and RHEL families\n  fail: { msg: \"unsupported OS family {{ ansible_os_family }}\" }\n  when: ansible_os_family not in ['Debian', 'RedHat']",
  schema: argsSchema,
  facts: () => ({}),
  plan(args) {
    throw new TaskError(args.msg ?? 'Failed as requested from task', { code: 'E_FAIL' });
  },
});
