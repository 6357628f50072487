/**
 * `service`: a daemon running or stopped, started at boot or not, through the
 * host's init system (systemd, sysv).
 *
 * Decisions:
 * - `restarted` and `reloaded` always change (as in Ansible): the state that
 *   asks for them (a new config) is not visible to this task. Use them after
 *   a task that changed the config, with `when:`.
 * - A host without an init system (a container whose PID 1 is sshd) where
 *   /etc/init.d/NAME exists (a package installed it): the script starts,
 *   stops, restarts and reloads the daemon (as Ansible does there), and
 *   `enabled` writes its /etc/rc?.d links with update-rc.d (Debian) or
 *   chkconfig (RHEL), failing when neither is installed.
 * - A host without an init system and no init script: nothing can start, stop
 *   or track a daemon. So `enabled: true` FAILS (the playbook expects the
 *   daemon back after a reboot: impossible here), `started`/`stopped`/
 *   `restarted` FAIL unless the process already is in the requested state
 *   (`started` with a running process, `stopped` with none: ok), `reloaded`
 *   sends SIGHUP to the oldest process of that name (sshd, most daemons
 *   re-read their config on HUP) or fails when none runs, and `enabled: false`
 *   is ok: nothing will start it at boot, which is what was asked.
 * - A service that does not exist fails, except in check mode after an
 *   earlier task on the host reported a change (only predicted): that task may
 *   be what installs it (`package: nginx` then `service: nginx`), so the
 *   requested start/enable is predicted as a change, saying so.
 * - A systemd `static` unit has no [Install] section: `enabled` is ok with
 *   the reason (dependents start it). A masked unit fails for `started` and
 *   `enabled: true`, naming `systemctl unmask`.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan, type Prediction, type Step, type TaskContext } from '../contract/task.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { initScriptSteps, noInitMessage, serviceSteps, signalReloadSteps, systemctlStep, type ServiceAction } from './lib/services.js';

/** The arguments service shares with Ansible's systemd module (which adds its own). */
export const serviceFields = {
    name: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/, 'not a service name')
      .describe('Service name (systemd unit without .service, or the /etc/init.d script name)'),
    state: z
      .enum(['started', 'stopped', 'restarted', 'reloaded'])
      .optional()
      .describe('started/stopped: running or not (idempotent); restarted/reloaded: always done, reported as a change'),
    enabled: z.boolean().optional().describe('Start at boot (systemctl enable, update-rc.d, chkconfig)'),
};

const argsSchema = z
  .object(serviceFields)
  .strict()
  .refine((a) => a.state !== undefined || a.enabled !== undefined, { message: 'give state, enabled, or both', path: ['state'] });

export type ServiceArgs = z.output<typeof argsSchema>;

/** What a service task asks of one service; the systemd task adds masking and a daemon-reload first. */
export interface ServiceRequest {
  readonly name: string;
  readonly state?: ServiceArgs['state'];
  readonly enabled?: boolean;
  /** systemd only: mask (true) or unmask (false) the unit before anything else. */
  readonly masked?: boolean;
  /** systemd only: steps already planned to run first (daemon-reload), with what they do, or why none is needed. */
  readonly before?: { readonly steps: readonly Step[]; readonly did: readonly string[]; readonly okWhy: readonly string[] };
}

export const serviceTask = defineTask({
  name: 'service',
  description: 'Start, stop, restart or reload a service and enable or disable it at boot (systemd, sysv)',
  example: "- name: nginx running and started at boot\n  service: { name: nginx, state: started, enabled: true }",
  schema: argsSchema,
  facts: (args, ctx) => ({ svc: serviceState(args.name, ctx.host.init) }),
  plan: (args, facts, ctx) => planService(args, facts.svc, ctx),
});

/** Where the service's steps come from: the host's manager, or the init script on a host without one. */
type Manager = (action: ServiceAction) => Step[];

/** Plan what `req` asks of the service `found` (its fact), on ctx.host. */
export function planService(req: ServiceRequest, found: ServiceInfo, ctx: TaskContext): Plan {
  const { host } = ctx;
  const name = req.name;
  let svc = found;
  let pending = '';
  if (!svc.exists) {
    if (!ctx.check || (ctx.earlierChanges ?? 0) === 0) {
      throw new TaskError(`service ${name} not found on ${host.hostname || 'the host'} (${svc.manager === 'none' ? 'no init script, unit file or process' : svc.manager === 'systemd' ? `no unit ${name}` : `no /etc/init.d/${name}`})`);
    }
    // check mode: an earlier, only predicted, change may be what installs it (with an init script where there is no init system)
    pending = ' (not installed yet: an earlier task would install it)';
    svc = { ...svc, exists: true, active: false, enabled: false, masked: false, ...(host.init === 'none' ? { initScript: true } : {}) };
  }
  if (host.init === 'none' && !svc.initScript) return planWithoutInit(req, svc);
  const manager: Manager = host.init === 'none' ? (a) => initScriptSteps(name, a, svc.bootLinks) : (a) => serviceSteps(host, name, a);
  const steps: Step[] = [...(req.before?.steps ?? [])];
  const did: string[] = [...(req.before?.did ?? [])];
  const okWhy: string[] = [...(req.before?.okWhy ?? [])];
  let after: ServiceInfo = svc;
  const act = (s: readonly Step[], text: string, next: Partial<ServiceInfo>) => {
    steps.push(...s);
    did.push(text);
    after = { ...after, ...next };
  };

  if (req.masked !== undefined) {
    if (req.masked === (svc.masked ?? false)) okWhy.push(req.masked ? 'masked' : 'not masked');
    else act([systemctlStep(req.masked ? 'mask' : 'unmask', name)], `${req.masked ? 'mask' : 'unmask'} ${name}`, { masked: req.masked, enabled: false });
  }
  const masked = after.masked === true;
  const refuseMasked = (verb: string) => {
    if (masked) throw new TaskError(`cannot ${verb} ${name}: the unit is masked (${req.masked ? 'masked: true masks it' : `systemctl unmask ${name}`})`);
  };
  // enable before start: a unit that fails to start is still enabled as asked
  if (req.enabled !== undefined) {
    if (req.enabled) refuseMasked('enable');
    if (after.enabled === null) okWhy.push(`${svc.unitFileState ?? 'static'} unit: started by its dependents, cannot be ${req.enabled ? 'enabled' : 'disabled'}`);
    else if (after.enabled === req.enabled) okWhy.push(req.enabled ? 'enabled' : 'disabled');
    else act(manager(req.enabled ? 'enable' : 'disable'), `${req.enabled ? 'enable' : 'disable'} ${name}`, { enabled: req.enabled });
  }
  switch (req.state) {
    case 'started':
      refuseMasked('start');
      if (svc.active === true) okWhy.push('running');
      else act(manager('start'), `start ${name}`, { active: true });
      break;
    case 'stopped':
      if (svc.active === false) okWhy.push('stopped');
      else act(manager('stop'), `stop ${name}`, { active: false });
      break;
    case 'restarted':
      refuseMasked('restart');
      act(manager('restart'), `restart ${name}`, { active: true });
      break;
    case 'reloaded':
      // reloading a stopped service starts nothing: start it instead (Ansible does the same)
      if (svc.active === false) act(manager('start'), `start ${name} (was stopped, nothing to reload)`, { active: true });
      else act(manager('reload'), `reload ${name}`, {});
      break;
    case undefined:
      break;
  }
  if (steps.length === 0) return ok(`${name}: ${okWhy.join(', ')}`);
  const predictions: Prediction[] = [{ request: serviceState(name, host.init), value: after } as Prediction];
  return change(did.join(', ') + pending, steps, {
    diffs: [{ label: `service ${name}`, before: describe(found), after: describe(after) }],
    predictions,
  });
}

/** A host without an init system and no init script for the service: only what needs no manager. */
function planWithoutInit(req: ServiceRequest, svc: ServiceInfo): Plan {
  const name = req.name;
  const okWhy: string[] = [];
  if (req.enabled === true) throw new TaskError(noInitMessage(name, 'enable'));
  if (req.enabled === false) okWhy.push('not started at boot (host has no init system)');
  switch (req.state) {
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
      return change(`reload ${name} (SIGHUP: no init system)`, signalReloadSteps(name));
    case undefined:
      break;
  }
  return ok(`${name}: ${okWhy.join(', ')}`);
}

function describe(s: ServiceInfo): string {
  const active = !s.exists ? 'not installed' : s.active === null ? 'unknown' : s.active ? 'running' : 'stopped';
  const enabled = s.masked ? 'masked' : s.enabled === null ? (s.unitFileState ?? 'n/a') : s.enabled ? 'enabled' : 'disabled';
  return `state: ${active}\nboot: ${enabled}\n`;
}
