/**
 * `systemd` (and its newer name `systemd_service`): Ansible's systemd module,
 * the service task on a systemd host plus what only systemd has.
 *
 * Decisions:
 * - `daemon_reload: true` runs `systemctl daemon-reload` before anything
 *   else. With `name` it runs when that unit's files changed since systemd
 *   read them (NeedDaemonReload), so a second run changes nothing; alone
 *   (no name, as Ansible allows) it always runs and reports a change: which
 *   unit files changed is not known without a name.
 * - `masked: true|false` masks or unmasks the unit first (`systemctl mask`),
 *   shown in check mode; `state: started`/`enabled: true` with `masked: true`
 *   are refused (systemd would refuse to start it).
 * - `scope` is only `system` (the default): user and global units live in a
 *   user's systemd instance, which this task does not reach; refused by name.
 * - On a host whose init system is not systemd the task fails (as Ansible's
 *   does); `service` works with any init system.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import type { FactRequest } from '../contract/fact.js';
import { change, defineTask } from '../contract/task.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { systemctlStep } from './lib/services.js';
import { planService, serviceFields } from './service.js';

const argsSchema = z
  .object({
    ...serviceFields,
    name: serviceFields.name.optional(),
    masked: z.boolean().optional().describe('Mask the unit (systemctl mask: it cannot be started) or unmask it'),
    daemon_reload: z.boolean().default(false).describe('Run systemctl daemon-reload first (alone: always; with name: when the unit files changed)'),
    scope: z
      .literal('system', { error: 'scope: only system is supported (user and global units live in a user systemd instance this task does not reach)' })
      .optional()
      .describe('Only system (the default): the system instance of systemd'),
  })
  .strict()
  .superRefine((a, ctx) => {
    const wants = a.state !== undefined || a.enabled !== undefined || a.masked !== undefined;
    if (a.name === undefined && wants) ctx.addIssue({ code: 'custom', message: 'state, enabled and masked need name', path: ['name'] });
    if (a.name === undefined && !a.daemon_reload) ctx.addIssue({ code: 'custom', message: 'give name, or daemon_reload: true alone', path: ['name'] });
    if (a.name !== undefined && !wants && !a.daemon_reload) ctx.addIssue({ code: 'custom', message: 'give state, enabled, masked, daemon_reload, or several', path: ['state'] });
  });

export type SystemdArgs = z.output<typeof argsSchema>;

const RELOAD = 'reload the systemd configuration (daemon-reload)';

function systemdModule(name: 'systemd' | 'systemd_service') {
  return defineTask({
    name,
    description: `Ansible's ${name} module: service on a systemd host, plus masked and daemon_reload`,
    example: `- name: nginx unit re-read, nginx running and started at boot\n  ${name}: { name: nginx, daemon_reload: true, state: started, enabled: true }\n- ${name}: { name: apache2, masked: true }`,
    schema: argsSchema,
    facts: (a, ctx): { svc: FactRequest<ServiceInfo> } => (a.name === undefined ? ({} as { svc: FactRequest<ServiceInfo> }) : { svc: serviceState(a.name, ctx.host.init) }),
    plan(a, facts, ctx) {
      if (ctx.host.init !== 'systemd') {
        throw new TaskError(`${name}: this host's init system is ${ctx.host.init === 'none' ? 'none (a container without systemd)' : ctx.host.init}, not systemd (service: works with any)`);
      }
      if (a.name === undefined) return change(RELOAD, [systemctlStep('daemon-reload')]);
      const svc = facts.svc;
      const reload = a.daemon_reload && svc.needsDaemonReload === true;
      const before = reload
        ? { steps: [systemctlStep('daemon-reload')], did: [RELOAD], okWhy: [] }
        : { steps: [], did: [], okWhy: a.daemon_reload ? ['no daemon-reload needed (unit files unchanged since systemd read them)'] : [] };
      return planService({ name: a.name, state: a.state, enabled: a.enabled, masked: a.masked, before }, svc, ctx);
    },
  });
}

export const systemdTask = systemdModule('systemd');
export const systemdServiceTask = systemdModule('systemd_service');
