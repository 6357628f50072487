/**
 * `seport` (community.general.seport): the SELinux type of network ports in
 * the policy store, with `semanage port`.
 *
 * As Ansible's module: each entry of `ports` (a port or a range, compared as
 * written, `8000-8010`) that is not already an entry of `setype` for `proto`
 * is added (`semanage port -a`), or modified (`-m`) when the same entry is
 * defined with another type; `state: absent` deletes (`-d`) the entries
 * that are of `setype`. `local: true` compares with the local
 * customizations only. `reload: false` passes `-N` (no policy reload).
 *
 * SELinux disabled: refused, as Ansible fails, unless `ignore_selinux_state`
 * (the policy store is then edited; it applies once SELinux is enabled).
 * An entry defined by the policy itself cannot be deleted (semanage refuses
 * it): refused at planning, naming it.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Step } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import { exactType, labelsOf, selinux, type PortLabel, type SelinuxFacts } from '../facts/selinux.js';
import { SERVICE_TIMEOUT_MS } from './lib/services.js';
import { requireStore, SBIN_PATH } from './lib/semanage.js';

const ENTRY = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** `8000-8010` as semanage lists it (`80-80` is `80`); undefined when not a port or range of 1-65535. */
export function portEntry(text: string): string | undefined {
  const m = ENTRY.exec(text.trim());
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

const portsArg = z
  .union([z.number().int(), z.string(), z.array(z.union([z.number().int(), z.string()])).min(1)])
  .describe('Ports or ranges: 8080, "8000-8010", a list, or a comma-separated string "10000-10100,10112"');

const argsSchema = z
  .object({
    ports: portsArg,
    proto: z.enum(['tcp', 'udp']).describe('Protocol of the ports'),
    setype: z.string().regex(/^[A-Za-z0-9_]+$/, { message: 'an SELinux type, e.g. ssh_port_t' }).describe('SELinux type of the ports, e.g. http_port_t'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the ports are of setype; absent: no entry of setype for them'),
    reload: z.boolean().default(true).describe('Reload the policy after the change (false: semanage -N)'),
    ignore_selinux_state: z.boolean().default(false).describe('Edit the policy store even when SELinux is disabled'),
    local: z.boolean().default(false).describe('Compare with the local customizations only (semanage port -l -C)'),
  })
  .strict()
  .transform(({ ports, ...rest }, ctx) => {
    const texts = (Array.isArray(ports) ? ports : [ports]).flatMap((p) => String(p).split(','));
    const entries: string[] = [];
    for (const t of texts) {
      const e = portEntry(t);
      if (e === undefined) ctx.addIssue({ code: 'custom', path: ['ports'], message: `${JSON.stringify(t.trim())} is not a port or a range of ports (1-65535, e.g. 8080 or 8000-8010)` });
      else if (!entries.includes(e)) entries.push(e);
    }
    return { ...rest, ports: entries };
  });

export type SeportArgs = z.output<typeof argsSchema>;

const entriesOf = (labels: readonly PortLabel[], a: SeportArgs): string[] => labelsOf(labels, a.proto).filter((l) => l.type === a.setype).flatMap((l) => l.ports);

/** The facts once the entries are labelled (present) or deleted (absent). */
function after(f: SelinuxFacts, a: SeportArgs, todo: readonly string[]): SelinuxFacts {
  // a deletion removes the entries of setype; an addition or modification leaves them of setype only
  const drop = (labels: readonly PortLabel[]): PortLabel[] =>
    labels
      .map((l) => (l.proto === a.proto && (a.state === 'present' || l.type === a.setype) ? { ...l, ports: l.ports.filter((p) => !todo.includes(p)) } : l))
      .filter((l) => l.ports.length > 0);
  if (a.state === 'absent') return { ...f, labels: drop(f.labels), local: drop(f.local) };
  const added: PortLabel = { type: a.setype, proto: a.proto, ports: [...todo] };
  return { ...f, labels: [...drop(f.labels), added], local: [...drop(f.local), added] };
}

export const seport = defineTask({
  name: 'seport',
  description: 'The SELinux type of network ports in the policy store, with semanage port (community.general.seport)',
  example: '- name: Let sshd listen on tcp/2849\n  seport:\n    ports: 2849\n    proto: tcp\n    setype: ssh_port_t\n    state: present',
  schema: argsSchema,
  facts: () => ({ selinux: selinux() }),
  plan(a, facts) {
    const f = facts.selinux;
    requireStore('seport', f, a.ignore_selinux_state);
    const ofType = entriesOf(a.local ? f.local : f.labels, a);
    const present = a.state === 'present';
    const todo = a.ports.filter((p) => ofType.includes(p) !== present);
    const what = `${a.proto}/${a.ports.join(',')}`;
    const data = { ports: a.ports, proto: a.proto, setype: a.setype, state: a.state };
    if (todo.length === 0) return ok(present ? `${what} is ${a.setype}` : `${what} has no ${a.setype} entry`, data);
    const localOfType = entriesOf(f.local, a);
    const fixed = todo.filter((p) => !present && !localOfType.includes(p));
    if (fixed.length > 0) {
      throw new TaskError(`${a.proto}/${fixed.join(',')} is ${a.setype} in the SELinux policy itself, not a local customization: semanage cannot delete it (give it another type with state: present instead)`);
    }
    const noReload = a.reload ? [] : ['-N'];
    const verbs = todo.map((p) => (!present ? '-d' : exactType(f.labels, a.proto, p) !== undefined ? '-m' : '-a'));
    const steps = todo.map((p, i): Step => ({
      command: `${SBIN_PATH}; ${sh`semanage port ${[verbs[i] as string, ...noReload, ...(present ? ['-t', a.setype] : []), '-p', a.proto, p]}`}`,
      timeoutMs: SERVICE_TIMEOUT_MS,
    }));
    const said = todo.map((p, i) => (verbs[i] === '-m' ? `${p} (was ${exactType(f.labels, a.proto, p) ?? '?'})` : p)).join(', ');
    return change(present ? `label ${a.proto}/${said} ${a.setype}` : `delete the ${a.setype} label of ${a.proto}/${said}`, steps, {
      predictions: [{ request: selinux(), value: after(f, a, todo) }],
      data,
    });
  },
});
