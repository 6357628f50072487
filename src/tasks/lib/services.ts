/**
 * Service manager steps shared by tasks: start/stop/restart/reload/enable/disable
 * via systemctl (systemd) or service + update-rc.d/chkconfig (sysv). A host
 * without an init system (a container whose PID 1 is sshd) cannot manage
 * services: those calls throw a TaskError that says so; daemons that reload
 * their configuration on a signal can still be told with `signalReloadSteps`.
 */
import type { Step } from '../../contract/task.js';
import { TaskError } from '../../contract/errors.js';
import { sh } from '../../contract/quote.js';
import type { HostFacts } from '../../contract/host-facts.js';
import { processName, unitName } from '../../facts/services.js';

export type ServiceAction = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable';

/** Starting a daemon can take a while (systemd's default start timeout is 90 s). */
export const SERVICE_TIMEOUT_MS = 3 * 60 * 1000;

const step = (command: string): Step => ({ command, timeoutMs: SERVICE_TIMEOUT_MS });

/** Why `action` is impossible on a host without an init system. */
export function noInitMessage(name: string, action: ServiceAction): string {
  const why =
    action === 'enable' || action === 'disable'
      ? 'nothing starts services at boot'
      : 'no service manager can run or track the daemon';
  return `cannot ${action} ${name}: host has no init system (container without systemd), ${why}`;
}

/** systemd's own operations: mask/unmask a unit, or re-read every unit file (`daemon-reload`, no unit). */
export function systemctlStep(verb: 'mask' | 'unmask' | 'daemon-reload', name?: string): Step {
  return step(name === undefined ? sh`systemctl ${verb}` : sh`systemctl ${verb} -- ${unitName(name)}`);
}

export function serviceSteps(host: HostFacts, name: string, action: ServiceAction): Step[] {
  switch (host.init) {
    case 'systemd':
      return [step(sh`systemctl ${action} -- ${unitName(name)}`)];
    case 'sysv':
      if (action === 'enable' || action === 'disable') return [bootLinkStep(host.os.family === 'rhel' ? 'chkconfig' : 'update-rc.d', name, action)];
      return [step(sh`service ${name} ${action}`)];
    case 'none':
      throw new TaskError(noInitMessage(name, action));
  }
}

/** The S/K links in /etc/rc?.d that start a sysv script at boot, written by the distribution's tool. */
function bootLinkStep(tool: 'update-rc.d' | 'chkconfig', name: string, action: 'enable' | 'disable'): Step {
  if (tool === 'chkconfig') return step(sh`chkconfig ${name} ${action === 'enable' ? 'on' : 'off'}`);
  return step(sh`update-rc.d ${name} ${action === 'enable' ? 'defaults' : 'disable'}`);
}

/**
 * A host without an init system where /etc/init.d/NAME exists (a package
 * installed it): the script itself runs the daemon, as Ansible's service
 * module does there; its boot links are written with update-rc.d or chkconfig
 * (`bootLinks`, what the host has), and without either enabling fails.
 */
export function initScriptSteps(name: string, action: ServiceAction, bootLinks: 'update-rc.d' | 'chkconfig' | undefined): Step[] {
  if (action !== 'enable' && action !== 'disable') return [step(sh`/etc/init.d/${name} ${action}`)];
  if (!bootLinks) throw new TaskError(`cannot ${action} ${name}: host has no init system and neither update-rc.d nor chkconfig is installed to write its /etc/rc?.d links`);
  return [bootLinkStep(bootLinks, name, action)];
}

/**
 * Tell a running daemon to reload its configuration with a signal, for hosts
 * without an init system (sshd re-reads sshd_config on SIGHUP). With `pidfile`
 * the pid is read from it; otherwise the OLDEST process named exactly
 * `process` gets the signal (`pkill -o`): the listening daemon, not its
 * per-connection children (signalling every sshd would HUP our own session).
 * Fails (exit 1) when no such process runs.
 */
export function signalReloadSteps(process: string, signal = 'HUP', pidfile?: string): Step[] {
  if (!/^[A-Z0-9]+$/.test(signal)) throw new TaskError(`invalid signal name ${JSON.stringify(signal)}`);
  if (pidfile) return [{ command: sh`kill -${signal} "$(cat ${pidfile})"` }];
  return [{ command: sh`pkill -${signal} -o -x -- ${processName(process)}` }];
}
