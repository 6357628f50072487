/**
 * `set_fact`: variables the host keeps for the rest of the run (later tasks
 * and later plays), over play, role and task vars; only -e and role or include
 * parameters win over them. Runs on the control machine; nothing is changed on
 * the host. As in Ansible (without jinja2_native), a value that is the text
 * `true`, `false`, `yes` or `no` becomes a boolean. `cacheable` is accepted:
 * facts last for the run either way (provision keeps no fact cache between runs).
 */
import { z } from 'zod';
import { controlled, defineTask } from '../contract/task.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const argsSchema = z
  .object({ cacheable: z.boolean().optional().describe('Accepted: facts last for the whole run either way') })
  .catchall(z.unknown().describe('A variable to set'))
  .superRefine((a, ctx) => {
    const names = Object.keys(a).filter((k) => k !== 'cacheable');
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'set_fact needs at least one variable to set' });
    for (const k of names) if (!IDENT.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `${JSON.stringify(k)} is not a valid variable name (letters, digits and _, not starting with a digit)` });
  });

/** Ansible's set_fact turns these texts into booleans. */
function factValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.toLowerCase();
  if (t === 'true' || t === 'yes') return true;
  if (t === 'false' || t === 'no') return false;
  return v;
}

export const setFact = defineTask({
  name: 'set_fact',
  description: 'Set variables on the host for the rest of the run (runs on the control machine)',
  example: "- name: Apache names for this family\n  set_fact:\n    apache_package: \"{{ 'httpd' if ansible_os_family == 'RedHat' else 'apache2' }}\"\n    apache_service: \"{{ 'httpd' if ansible_os_family == 'RedHat' else 'apache2' }}\"",
  schema: argsSchema,
  facts: () => ({}),
  plan(args) {
    const facts = Object.fromEntries(Object.entries(args).filter(([k]) => k !== 'cacheable').map(([k, v]) => [k, factValue(v)]));
    return controlled(`set ${Object.keys(facts).join(', ')}`, { facts }, { ansible_facts: facts });
  },
});
