/**
 * `listeners`: assert that nothing listens besides the allowed services
 * (CIS "no listening service besides the allowed ones"). Reads `ss -tulpn`
 * (or `netstat -tulpn`); changes nothing on the host.
 *
 * Outcomes:
 *   - only allowed listeners: ok, naming them;
 *   - unexpected listeners, `state: report`: ok, the reason lists them;
 *   - unexpected listeners, `state: fail` (default):
 *       apply: the task FAILS (TaskError E_LISTENERS) naming each port,
 *              address and process, so the playbook stops before it
 *              pretends the host is hardened;
 *       check mode: drift, reported as a `change` with no steps and a diff
 *              (all listeners -> the allowed ones), so an audit run counts it
 *              as changed and goes on with the other tasks.
 * Listeners on 127.0.0.0/8 and ::1 are fine unless `localhost_ok: false`.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan } from '../contract/task.js';
import { isLoopback, listeners as listenersFact, type Listener } from '../facts/listeners.js';

const entrySchema = z.union([
  z.string().min(1).describe('"22/tcp", "53" (tcp and udp), or a process name like "sshd"'),
  z
    .object({
      port: z.number().int().min(0).max(65535),
      proto: z.enum(['tcp', 'udp']).optional(),
      address: z.string().min(1).optional().describe('Only when bound to this address'),
    })
    .strict(),
  z.object({ process: z.string().min(1) }).strict(),
]);

const argsSchema = z
  .object({
    allow: z.array(entrySchema).default([]).describe('Allowed listeners: "22/tcp", { port: 80, proto: tcp }, "sshd"'),
    localhost_ok: z.boolean().default(true).describe('Listeners on 127.0.0.0/8 and ::1 are allowed'),
    state: z.enum(['report', 'fail']).default('fail').describe('fail: unexpected listeners fail the task (drift in check mode); report: only list them'),
  })
  .strict();

export type ListenersArgs = z.output<typeof argsSchema>;

interface Rule {
  port?: number;
  proto?: 'tcp' | 'udp';
  address?: string;
  process?: string;
}

function toRule(e: z.output<typeof entrySchema>): Rule {
  if (typeof e !== 'string') return e;
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(e.trim());
  if (m) {
    const port = Number(m[1]);
    if (port > 65535) throw new TaskError(`listeners: port ${port} out of range`);
    return { port, ...(m[2] ? { proto: m[2].toLowerCase() as 'tcp' | 'udp' } : {}) };
  }
  if (/[\s/]/.test(e)) throw new TaskError(`listeners: allow entry ${JSON.stringify(e)}: write "PORT/tcp", "PORT/udp", "PORT" or a process name`);
  return { process: e };
}

const allowedBy = (l: Listener, r: Rule): boolean =>
  (r.port === undefined || r.port === l.port) &&
  (r.proto === undefined || r.proto === l.proto) &&
  (r.address === undefined || r.address === l.address) &&
  (r.process === undefined || r.process === l.process);

/** `22/tcp sshd on 0.0.0.0, ::` per port/proto/process. */
export function describeListeners(ls: readonly Listener[]): string[] {
  const groups = new Map<string, string[]>();
  for (const l of ls) {
    const k = `${l.port}/${l.proto}${l.process ? ` (${l.process}${l.pid !== undefined ? ` pid ${l.pid}` : ''})` : ''}`;
    if (!groups.has(k)) groups.set(k, []);
    const addrs = groups.get(k)!;
    if (!addrs.includes(l.address)) addrs.push(l.address);
  }
  return [...groups].map(([k, addrs]) => `${k} on ${addrs.join(', ')}`);
}

export const listeners = defineTask({
  name: 'listeners',
  description: 'Check that only allowed services listen (ss/netstat); unexpected listeners fail the task, or are reported',
  example: "- name: Nothing listens but sshd and the web server\n  listeners: { allow: [\"2222/tcp\", \"80/tcp\", \"443/tcp\"] }",
  schema: argsSchema,
  facts: () => ({ info: listenersFact() }),
  plan(a, f, ctx): Plan {
    const info = f.info;
    if (info.tool === 'none') throw new TaskError('listeners: neither ss (iproute2) nor netstat (net-tools) is installed on the host');
    const rules = a.allow.map(toRule);
    const unexpected: Listener[] = [];
    const allowed: Listener[] = [];
    for (const l of info.listeners) {
      if ((a.localhost_ok && isLoopback(l.address)) || rules.some((r) => allowedBy(l, r))) allowed.push(l);
      else unexpected.push(l);
    }
    if (unexpected.length === 0) {
      const shown = describeListeners(allowed);
      return ok(shown.length ? `only allowed listeners: ${shown.join('; ')}` : 'nothing listens');
    }
    const hidden = rules.some((r) => r.process !== undefined) && unexpected.some((l) => l.process === undefined) ? ' (process names are not visible: run with become: true)' : '';
    const list = describeListeners(unexpected).join('; ');
    if (a.state === 'report') return ok(`unexpected listeners (state: report): ${list}${hidden}`);
    if (ctx.check) {
      const lines = (ls: readonly Listener[]) => describeListeners(ls).map((l) => `${l}\n`).join('');
      return change(`unexpected listeners: ${list}${hidden}`, [], { diffs: [{ label: 'listeners', before: lines(info.listeners), after: lines(allowed) }] });
    }
    throw new TaskError(`unexpected listeners: ${list}${hidden}; stop or remove the service behind each, or add it to allow:`, { code: 'E_LISTENERS' });
  },
});
