/**
 * Firewall managers that own the host's packet filter besides us: ufw
 * (Ubuntu, installed and often active) and firewalld (RHEL 8/9, Rocky, Alma:
 * active by default). Either rewrites iptables behind an iptables task's back
 * (`ufw reload`, `firewall-cmd --reload`, a zone change, a reboot), and
 * firewalld's nftables rules (RHEL 8+) filter packets whatever iptables
 * accepts.
 *
 * - ufw: installed, starts at boot (`ENABLED=yes` in /etc/ufw/ufw.conf),
 *   active (`ufw status`: needs root), the ufw.service unit masked;
 * - firewalld: the service fact of firewalld (systemd, sysv or a process) and
 *   its backend (`FirewallBackend=` in /etc/firewalld/firewalld.conf;
 *   firewalld before 0.6, RHEL 7's, has no such key and drives iptables).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import type { InitSystem } from '../contract/host-facts.js';
import { parseServiceFact, serviceFact, type ServiceInfo } from './services.js';

export interface UfwState {
  readonly installed: boolean;
  /** `ENABLED=yes` in /etc/ufw/ufw.conf: ufw loads its rules at boot. */
  readonly enabled: boolean;
  /** `ufw status` says active (its chains are loaded). */
  readonly active: boolean;
  /** ufw.service is masked (systemd). */
  readonly masked: boolean;
}

export interface FirewallManagers {
  readonly ufw: UfwState;
  readonly firewalld: ServiceInfo & { readonly backend: 'nftables' | 'iptables' };
}

function script(init: InitSystem): string {
  return [
    'PATH="$PATH:/usr/sbin:/sbin"',
    'echo __ufw',
    'if command -v ufw >/dev/null 2>&1; then',
    '  echo installed=1',
    "  sed -n 's/^ENABLED=/enabled=/p' /etc/ufw/ufw.conf 2>/dev/null",
    '  ufw status 2>/dev/null | sed -n "1s/^Status: */status=/p"',
    '  if command -v systemctl >/dev/null 2>&1 && [ "$(systemctl is-enabled ufw.service 2>/dev/null)" = masked ]; then echo masked=1; fi',
    'fi',
    'echo __firewalld',
    // no sed started where there is no such file (sed printed nothing then)
    `if [ -e /etc/firewalld/firewalld.conf ]; then sed -n 's/^[[:space:]]*FirewallBackend=[[:space:]]*//p' /etc/firewalld/firewalld.conf 2>/dev/null | sed 's/^/backend=/'; fi`,
    serviceFact.command({ name: 'firewalld', manager: init }),
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseFirewallManagers(stdout: string, init: InitSystem, exitCode = 0): FirewallManagers {
  const a = stdout.indexOf('__ufw\n');
  const b = stdout.indexOf('__firewalld\n');
  if (a < 0 || b < a) throw new FactError('firewall_managers', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const ufw = stdout.slice(a + 6, b);
  const fw = stdout.slice(b + 12);
  const has = (re: RegExp) => re.test(ufw);
  const installed = has(/^installed=1$/m);
  const enabled = has(/^enabled=yes$/im);
  const status = /^status=(\w+)/m.exec(ufw)?.[1]?.toLowerCase();
  const backend = /^backend=(\w+)/m.exec(fw)?.[1]?.toLowerCase() === 'nftables' ? 'nftables' : 'iptables';
  return {
    // without root `ufw status` says nothing: ENABLED=yes means it loaded at boot
    ufw: { installed, enabled, active: installed && (status !== undefined ? status === 'active' : enabled), masked: has(/^masked=1$/m) },
    firewalld: { ...parseServiceFact(fw.replace(/^backend=.*\n/m, ''), { name: 'firewalld', manager: init }), backend },
  };
}

export const firewallManagersFact: Fact<InitSystem, FirewallManagers> = {
  name: 'firewall_managers',
  command: script,
  parse: (stdout, init, exitCode) => parseFirewallManagers(stdout, init, exitCode),
  key: (init) => init,
};

export const firewallManagers = (init: InitSystem): FactRequest<FirewallManagers> => req(firewallManagersFact, init);
