/**
 * Service fact: does a service exist, is it running, does it start at boot.
 * The init system (from the host facts) is part of the arguments, so the one
 * command asks the right manager:
 * - systemd: `systemctl show -p LoadState,ActiveState,UnitFileState`;
 * - sysv: `/etc/init.d/NAME status` (LSB exit codes) and S links in rc2-5.d;
 * - none (a container whose PID 1 is sshd or a shell): `pgrep -x NAME`; nothing
 *   starts at boot, so `enabled` is null.
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

function script(args: ServiceArgs): string {
  switch (args.manager) {
    case 'systemd':
      return [
        'echo manager=systemd',
        sh`LC_ALL=C systemctl show -p LoadState,ActiveState,UnitFileState -- ${unitName(args.name)}`,
      ].join('\n');
    case 'sysv':
      return [
        'echo manager=sysv',
        sh`n=${args.name}`,
        'if [ ! -x "/etc/init.d/$n" ]; then echo exists=0; exit 0; fi',
        'echo exists=1',
        '"/etc/init.d/$n" status >/dev/null 2>&1; echo "status=$?"',
        // Debian rc?.d, RHEL rc.d/rc?.d
        'for l in /etc/rc[2345].d/S[0-9][0-9]"$n" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$n"; do if [ -e "$l" ]; then echo enabled=1; break; fi; done',
      ].join('\n');
    case 'none':
      return [
        'echo manager=none',
        sh`n=${processName(args.name)}`,
        'if pgrep -x -- "$n" >/dev/null 2>&1; then echo active=1; else echo active=0; fi',
        'for f in "/etc/init.d/$n" "/lib/systemd/system/$n.service" "/usr/lib/systemd/system/$n.service" "/etc/systemd/system/$n.service"; do if [ -e "$f" ]; then echo exists=1; break; fi; done',
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
      };
    }
    case 'sysv': {
      if (v.get('exists') !== '1') return { manager: 'sysv', exists: false, active: false, enabled: false };
      const status = Number(v.get('status'));
      // LSB: 0 running; 1-3 dead or stopped; 4 unknown
      const active = status === 0 ? true : status >= 1 && status <= 3 ? false : null;
      return { manager: 'sysv', exists: true, active, enabled: v.get('enabled') === '1' };
    }
    case 'none': {
      const active = v.get('active') === '1';
      return { manager: 'none', exists: active || v.get('exists') === '1', active, enabled: null };
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
