/**
 * Service fact: does a service exist, is it running, does it start at boot.
 * The init system (from the host facts) is part of the arguments, so the one
 * command asks the right manager:
 * - systemd: `systemctl show -p LoadState,ActiveState,UnitFileState`;
 * - sysv: `/etc/init.d/NAME status` (LSB exit codes) and S links in rc2-5.d;
 * - none (a container whose PID 1 is sshd or a shell): `pgrep -x NAME`, and
 *   when /etc/init.d/NAME exists (a package installed one) its LSB status, its
 *   S links in rc2-5.d and which boot-link tool the host has (update-rc.d,
 *   chkconfig): Ansible runs such scripts there. Without an init script
 *   nothing starts at boot, so `enabled` is null.
 */
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import type { InitSystem } from '../contract/host-facts.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface ServiceArgs {
  readonly name: string;
  readonly manager: InitSystem;
}

export interface ServiceInfo {
  readonly manager: InitSystem;
  /** systemd: a unit file is loaded; sysv: /etc/init.d/NAME exists; none: an init script, unit file or process exists. */
  readonly exists: boolean;
  /** Running. null: unknown (sysv status gave no LSB answer). */
  readonly active: boolean | null;
  /**
   * Starts at boot. null: cannot be set (systemd `static`/`generated`/`transient`
   * units, or no init system at all).
   */
  readonly enabled: boolean | null;
  /** systemd only: LoadState=masked. Starting it fails until unmasked. */
  readonly masked?: boolean;
  /** systemd only: the raw UnitFileState, e.g. `enabled`, `static`. */
  readonly unitFileState?: string;
  /** systemd only: the unit's files changed since systemd read them (NeedDaemonReload). */
  readonly needsDaemonReload?: boolean;
  /** none only: /etc/init.d/NAME exists: the script starts, stops and tracks the daemon. */
  readonly initScript?: boolean;
  /** none only: the tool that writes the rc?.d boot links, when installed. */
  readonly bootLinks?: 'update-rc.d' | 'chkconfig';
}

/** systemd needs a unit name: `ssh` → `ssh.service`; `foo.timer` stays. */
export function unitName(name: string): string {
  return /\.(service|socket|timer|path|mount|target)$/.test(name) ? name : `${name}.service`;
}

/** Services whose daemon has another process name (Debian's `ssh` service runs `sshd`). */
const PROCESS_OF: Record<string, string> = { ssh: 'sshd' };

/** The process name for `pgrep -x` when there is no init system: a unit name without its suffix. */
export const processName = (name: string): string => {
  const base = name.replace(/\.service$/, '');
  return PROCESS_OF[base] ?? base;
};

/** An init script's state, `$n` its name: its LSB status exit code, and `enabled=1` when an S link starts it in runlevels 2-5. */
const INIT_SCRIPT_STATE: readonly string[] = [
  '"/etc/init.d/$n" status >/dev/null 2>&1; echo "status=$?"',
  // Debian rc?.d, RHEL rc.d/rc?.d
  'for l in /etc/rc[2345].d/S[0-9][0-9]"$n" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$n"; do if [ -e "$l" ]; then echo enabled=1; break; fi; done',
];

/** LSB status exit codes: 0 running; 1-3 dead or stopped; others (4: unknown) say nothing. */
const lsbActive = (status: number): boolean | null => (status === 0 ? true : status >= 1 && status <= 3 ? false : null);

function script(args: ServiceArgs): string {
  switch (args.manager) {
    case 'systemd':
      return [
        'echo manager=systemd',
        sh`LC_ALL=C systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload -- ${unitName(args.name)}`,
      ].join('\n');
    case 'sysv':
      return [
        'echo manager=sysv',
        sh`n=${args.name}`,
        'if [ ! -x "/etc/init.d/$n" ]; then echo exists=0; exit 0; fi',
        'echo exists=1',
        ...INIT_SCRIPT_STATE,
      ].join('\n');
    case 'none':
      return [
        'echo manager=none',
        sh`p=${processName(args.name)}`,
        sh`n=${args.name.replace(/\.service$/, '')}`,
        'if pgrep -x -- "$p" >/dev/null 2>&1; then echo active=1; else echo active=0; fi',
        'for f in "/etc/init.d/$p" "/lib/systemd/system/$p.service" "/usr/lib/systemd/system/$p.service" "/etc/systemd/system/$p.service"; do if [ -e "$f" ]; then echo exists=1; break; fi; done',
        'if command -v update-rc.d >/dev/null 2>&1; then echo links=update-rc.d; elif command -v chkconfig >/dev/null 2>&1; then echo links=chkconfig; fi',
        'if [ -x "/etc/init.d/$n" ]; then echo initscript=1',
        ...INIT_SCRIPT_STATE,
        'fi',
      ].join('\n');
  }
}

function kv(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

const ENABLED_STATES = new Set(['enabled', 'enabled-runtime', 'alias', 'linked', 'linked-runtime']);
const DISABLED_STATES = new Set(['disabled', 'masked', 'masked-runtime', 'indirect']);

/** Pure parser of the fact command's output. */
export function parseServiceFact(stdout: string, args: ServiceArgs): ServiceInfo {
  const v = kv(stdout);
  const manager = v.get('manager');
  if (manager !== args.manager) throw new FactError('service', `${args.name}: unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
  switch (args.manager) {
    case 'systemd': {
      const load = v.get('LoadState');
      const active = v.get('ActiveState');
      const file = v.get('UnitFileState') ?? '';
      if (!load || !active) throw new FactError('service', `${args.name}: no LoadState/ActiveState in systemctl output`);
      if (load === 'not-found') return { manager: 'systemd', exists: false, active: false, enabled: false, unitFileState: file };
      const masked = load === 'masked' || file.startsWith('masked');
      return {
        manager: 'systemd',
        exists: true,
        active: active === 'active' || active === 'reloading' || active === 'activating',
        enabled: masked ? false : ENABLED_STATES.has(file) ? true : DISABLED_STATES.has(file) ? false : null,
        masked,
        unitFileState: file,
        ...(v.has('NeedDaemonReload') ? { needsDaemonReload: v.get('NeedDaemonReload') === 'yes' } : {}),
      };
    }
    case 'sysv': {
      if (v.get('exists') !== '1') return { manager: 'sysv', exists: false, active: false, enabled: false };
      return { manager: 'sysv', exists: true, active: lsbActive(Number(v.get('status'))), enabled: v.get('enabled') === '1' };
    }
    case 'none': {
      const running = v.get('active') === '1';
      const links = v.get('links');
      const bootLinks: Pick<ServiceInfo, 'bootLinks'> = links === 'update-rc.d' || links === 'chkconfig' ? { bootLinks: links } : {};
      if (v.get('initscript') !== '1') return { manager: 'none', exists: running || v.get('exists') === '1', active: running, enabled: null, initScript: false, ...bootLinks };
      // a daemon the script did not start (no pid file of its own) still runs: the process counts too
      const active = running || lsbActive(Number(v.get('status'))) === true;
      return { manager: 'none', exists: true, active, enabled: v.get('enabled') === '1', initScript: true, ...bootLinks };
    }
  }
}

export const serviceFact: Fact<ServiceArgs, ServiceInfo> = {
  name: 'service',
  command: script,
  parse: (stdout, args) => parseServiceFact(stdout, args),
  key: (args) => `${args.manager}:${args.name}`,
};

/** The fact request for one service, asked of the host's init system. */
export const serviceState = (name: string, manager: InitSystem): FactRequest<ServiceInfo> => req(serviceFact, { name, manager });
