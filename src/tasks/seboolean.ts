/**
 * `seboolean` (ansible.posix.seboolean): an SELinux boolean, running and
 * (`persistent`) in the policy store.
 *
 * As Ansible's module: without `persistent` only the running value counts
 * (`setsebool NAME on`); with it the value in the policy store counts, and
 * setting it sets the running value too (`setsebool -P`). Unlike Ansible, a
 * persistent value already right with a running value that differs is a
 * change as well (Ansible leaves the running value wrong).
 *
 * SELinux disabled: refused, as Ansible fails, unless `ignore_selinux_state`;
 * then only the policy store can change (`semanage boolean -m`, as
 * `setsebool` needs a running SELinux), so `persistent: false` is refused
 * too, naming why: there is no running value to set.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Prediction, type Step } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import { BOOLEAN_NAME, seboolean as sebooleanFact, type SebooleanFacts } from '../facts/selinux.js';
import { SERVICE_TIMEOUT_MS } from './lib/services.js';
import { requireStore, SBIN_PATH } from './lib/semanage.js';

const argsSchema = z
  .object({
    name: z.string().regex(BOOLEAN_NAME, { message: 'an SELinux boolean name: letters, digits and _ (e.g. httpd_can_network_connect)' }).describe('The boolean, e.g. httpd_can_network_connect'),
    state: z.boolean().describe('Its value: true (on) or false (off)'),
    persistent: z.boolean().default(false).describe('Also in the policy store, so it survives a reboot (setsebool -P)'),
    ignore_selinux_state: z.boolean().default(false).describe('With SELinux disabled, set the value in the policy store (needs persistent: true)'),
  })
  .strict();

export type SebooleanArgs = z.output<typeof argsSchema>;

const onOff = (v: boolean): string => (v ? 'on' : 'off');
const shown = (v: boolean | undefined): string => (v === undefined ? 'unknown' : onOff(v));

/** Why the boolean's values cannot be read, or undefined when they can. */
function unreadable(f: SebooleanFacts, a: SebooleanArgs, enabled: boolean): string | undefined {
  if (enabled && f.running === undefined) return `SELinux boolean ${a.name} is not defined in the running policy (getsebool ${a.name} failed)`;
  if (a.persistent && f.stored === undefined) return `SELinux boolean ${a.name} is not defined in the policy store (semanage boolean -l does not list it)`;
  return undefined;
}

export const seboolean = defineTask({
  name: 'seboolean',
  description: 'An SELinux boolean, running and in the policy store (ansible.posix.seboolean)',
  example: '- name: httpd may connect to the network\n  seboolean:\n    name: httpd_can_network_connect\n    state: true\n    persistent: true',
  schema: argsSchema,
  facts: (a) => ({ bool: sebooleanFact(a.name) }),
  plan(a, facts) {
    const f = facts.bool;
    const enabled = f.mode !== 'disabled';
    if (enabled && !a.persistent) {
      if (f.running === undefined) throw new TaskError(unreadable(f, a, enabled) as string);
    } else {
      requireStore('seboolean', f, a.ignore_selinux_state);
      if (!enabled && !a.persistent) throw new TaskError(`SELinux is disabled: ${a.name} has no running value to set; give persistent: true to set it in the policy store`);
      const why = unreadable(f, a, enabled);
      if (why !== undefined) throw new TaskError(why);
    }
    const want = a.state;
    const runningWrong = enabled && f.running !== want;
    const storedWrong = a.persistent && f.stored !== want;
    const data = { name: a.name, state: a.state, persistent: a.persistent };
    const where = [...(enabled ? ['running'] : []), ...(a.persistent ? ['in the policy store'] : [])].join(' and ');
    if (!runningWrong && !storedWrong) return ok(`${a.name} is ${onOff(want)} ${where}`, data);
    const command = enabled
      ? sh`setsebool ${[...(a.persistent ? ['-P'] : []), a.name, onOff(want)]}`
      : sh`semanage boolean -m ${want ? '--on' : '--off'} ${a.name}`;
    const steps: Step[] = [{ command: `${SBIN_PATH}; ${command}`, timeoutMs: SERVICE_TIMEOUT_MS }];
    const value: SebooleanFacts = { ...f, ...(enabled ? { running: want } : {}), ...(a.persistent ? { stored: want } : {}) };
    const predictions: Prediction[] = [{ request: sebooleanFact(a.name), value }];
    const was = [...(runningWrong ? [`running ${shown(f.running)}`] : []), ...(storedWrong ? [`stored ${shown(f.stored)}`] : [])].join(', ');
    return change(`set ${a.name} ${onOff(want)} ${where} (was ${was})`, steps, { predictions, data });
  },
});
