/**
 * `service`: a daemon running or stopped, started at boot or not, through the
 * host's init system (systemd, sysv).
 *
 * Decisions:
 * - `restarted` and `reloaded` always change (as in Ansible): the state that
 *   asks for them (a new config) is not visible to this task. Use them after
 *   a task that changed the config, with `when:`.
 * - A host without an init system (a container whose PID 1 is sshd):
 *   nothing starts at boot and nothing can start, stop or track a daemon. So
 *   `enabled: true` FAILS (the playbook expects the daemon back after a reboot:
 *   impossible here), `started`/`stopped`/`restarted` FAIL unless the process
 *   already is in the requested state (`started` with a running process,
 *   `stopped` with none: ok), `reloaded` sends SIGHUP to the oldest process
 *   of that name (sshd, most daemons re-read their config on HUP) or fails
 *   when none runs, and `enabled: false` is ok: nothing will start it at boot,
 *   which is what was asked.
 * - A systemd `static` unit has no [Install] section: `enabled` is ok with
 *   the reason (dependents start it). A masked unit fails for `started` and
 *   `enabled: true`, naming `systemctl unmask`.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Prediction, type Step } from '../contract/task.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { noInitMessage, serviceSteps, signalReloadSteps, type ServiceAction } from './lib/services.js';

const argsSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/, 'not a service name')
      .describe('Service name (systemd unit without .service, or the /etc/init.d script name)'),
    state: z
      .enum(['started', 'stopped', 'restarted', 'reloaded'])
      .optional()
      .describe('started/stopped: running or not (idempotent); restarted/reloaded: always done, reported as a change'),
    enabled: z.boolean().optional().describe('Start at boot (systemctl enable, update-rc.d, chkconfig)'),
  })
  .strict()
  .refine((a) => a.state !== undefined || a.enabled !== undefined, { message: 'give state, enabled, or both', path: ['state'] });

export type ServiceArgs = z.output<typeof argsSchema>;

export const serviceTask = defineTask({
  name: 'service',
  description: 'Start, stop, restart or reload a service and enable or disable it at boot (systemd, sysv)',
  example: "- name: nginx running and started at boot\n  service: { name: nginx, state: started, enabled: true }",
  schema: argsSchema,
  facts: (args, ctx) => ({ svc: serviceState(args.name, ctx.host.init) }),
  plan(args, facts, ctx) {
    const svc = facts.svc;
    const host = ctx.host;
    const name = args.name;
    const steps: Step[] = [];
    const did: string[] = [];
    const okWhy: string[] = [];
    let after: ServiceInfo = svc;

    if (!svc.exists) {
      throw new TaskError(`service ${name} not found on ${host.hostname || 'the host'} (${svc.manager === 'none' ? 'no init script, unit file or process' : svc.manager === 'systemd' ? `no unit ${name}` : `no /etc/init.d/${name}`})`);
    }

    if (host.init === 'none') {
      if (args.enabled === true) throw new TaskError(noInitMessage(name, 'enable'));
      if (args.enabled === false) okWhy.push('not started at boot (host has no init system)');
      switch (args.state) {
        case 'started':
          if (!svc.active) throw new TaskError(noInitMessage(name, 'start'));
          okWhy.push('running (host has no init system: not managed)');
          break;
        case 'stopped':
          if (svc.active) throw new TaskError(noInitMessage(name, 'stop'));
          okWhy.push('not running');
          break;
        case 'restarted':
          throw new TaskError(noInitMessage(name, 'restart'));
        case 'reloaded':
          if (!svc.active) throw new TaskError(`cannot reload ${name}: no process ${name} is running (host has no init system)`);
          steps.push(...signalReloadSteps(name));
          did.push(`reload ${name} (SIGHUP: no init system)`);
          break;
        case undefined:
          break;
      }
      if (steps.length === 0) return ok(`${name}: ${okWhy.join(', ')}`);
      return change(did.join(', '), steps);
    }

    const act = (action: ServiceAction, text: string) => {
      steps.push(...serviceSteps(host, name, action));
      did.push(text);
    };

    // enable before start: a unit that fails to start is still enabled as asked
    if (args.enabled !== undefined) {
      if (svc.masked && args.enabled) throw new TaskError(`cannot enable ${name}: the unit is masked (systemctl unmask ${name})`);
      if (svc.enabled === null) okWhy.push(`${svc.unitFileState ?? 'static'} unit: started by its dependents, cannot be ${args.enabled ? 'enabled' : 'disabled'}`);
      else if (svc.enabled === args.enabled) okWhy.push(args.enabled ? 'enabled' : 'disabled');
      else {
        act(args.enabled ? 'enable' : 'disable', `${args.enabled ? 'enable' : 'disable'} ${name}`);
        after = { ...after, enabled: args.enabled };
      }
    }
    switch (args.state) {
      case 'started':
        if (svc.masked) throw new TaskError(`cannot start ${name}: the unit is masked (systemctl unmask ${name})`);
        if (svc.active === true) okWhy.push('running');
        else {
          act('start', `start ${name}`);
          after = { ...after, active: true };
        }
        break;
      case 'stopped':
        if (svc.active === false) okWhy.push('stopped');
        else {
          act('stop', `stop ${name}`);
          after = { ...after, active: false };
        }
        break;
      case 'restarted':
        if (svc.masked) throw new TaskError(`cannot restart ${name}: the unit is masked (systemctl unmask ${name})`);
        act('restart', `restart ${name}`);
        after = { ...after, active: true };
        break;
      case 'reloaded':
        // reloading a stopped service starts nothing: start it instead (Ansible does the same)
        if (svc.active === false) {
          act('start', `start ${name} (was stopped, nothing to reload)`);
          after = { ...after, active: true };
        } else act('reload', `reload ${name}`);
        break;
      case undefined:
        break;
    }
    if (steps.length === 0) return ok(`${name}: ${okWhy.join(', ')}`);
    const predictions: Prediction[] = [{ request: serviceState(name, host.init), value: after } as Prediction];
    return change(did.join(', '), steps, {
      diffs: [{ label: `service ${name}`, before: describe(svc), after: describe(after) }],
      predictions,
    });
  },
});

function describe(s: ServiceInfo): string {
  const active = s.active === null ? 'unknown' : s.active ? 'running' : 'stopped';
  const enabled = s.enabled === null ? (s.unitFileState ?? 'n/a') : s.enabled ? 'enabled' : 'disabled';
  return `state: ${active}\nboot: ${enabled}\n`;
}
