/**
 * The firewall tasks (iptables, firewall_persist) and the firewall managers
 * (ufw, firewalld). With one of them in charge, rules set with iptables do not
 * hold: ufw and firewalld reload their own rules over ours (firewalld with
 * the iptables backend flushes every table), and firewalld's nftables rules
 * (RHEL 8+) still drop what iptables accepts. So a task refuses, naming the
 * manager, unless the play says the host's firewall is iptables
 * (`firewall_manager: iptables`): then the task stops, disables and masks the
 * manager in the same commit-confirmed change, each step recording its undo
 * for the rollback (ufw and firewalld come back if access is lost).
 */
import { z } from 'zod';
import { TaskError } from '../../contract/errors.js';
import type { HostFacts } from '../../contract/host-facts.js';
import type { Prediction, Step } from '../../contract/task.js';
import { onRollback } from '../../core/guard.js';
import { firewallManagers, type FirewallManagers } from '../../facts/firewall-managers.js';
import { SERVICE_TIMEOUT_MS } from './services.js';

export const firewallManagerArg = z
  .literal('iptables')
  .optional()
  .describe(
    'Who manages the firewall. Unset: the task refuses while ufw or firewalld is in charge (they rewrite the rules). iptables: stop, disable and mask ufw/firewalld in the same commit-confirmed change',
  );

export interface TakeOver {
  readonly steps: readonly Step[];
  /** `stop, disable and mask firewalld`, for the summary. */
  readonly what: readonly string[];
  readonly predictions: readonly Prediction[];
  /** A manager running now stops: the running rules change under the task. */
  readonly stopsRunning: boolean;
  /** Chains of a stopped manager: jumps to them are not kept in owned chains. */
  readonly released: (chain: string) => boolean;
  /** firewalld on its iptables backend stops: every table is flushed, every user chain deleted. */
  readonly flushes: boolean;
}

const UFW_CHAIN = /^ufw6?-/;
const PATH = 'PATH="$PATH:/usr/sbin:/sbin"';

/** `stop, disable and mask firewalld` */
const phrase = (verbs: readonly string[], name: string): string =>
  `${verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} and ${verbs.at(-1)}` : verbs[0]} ${name}`;

/** A command and the one that undoes it if the rollback fires. */
const step = (command: string, undo: string): Step => ({ command: `${command} && ${onRollback(undo)}`, timeoutMs: SERVICE_TIMEOUT_MS });

/**
 * What a firewall task does about ufw and firewalld: nothing when neither is
 * in charge (running, or with `atBoot` also set to start at boot); a refusal
 * naming them unless `manager` is `iptables`; otherwise the steps that stop,
 * disable and mask them.
 */
export function takeOver(host: HostFacts, m: FirewallManagers, manager: 'iptables' | undefined, task: string, atBoot: boolean): TakeOver {
  const ufwOn = m.ufw.active || (atBoot && m.ufw.enabled);
  const fwdOn = m.firewalld.active === true || (atBoot && m.firewalld.enabled === true);
  if (manager !== 'iptables') {
    const names = [...(ufwOn ? ['ufw'] : []), ...(fwdOn ? ['firewalld'] : [])];
    if (names.length > 0) {
      const how = names.map((n) => `${n} is ${(n === 'ufw' ? m.ufw.active : m.firewalld.active) ? 'active' : 'enabled at boot'}`).join(' and ');
      throw new TaskError(
        `${task}: ${how} on this host and owns the firewall: it would rewrite these rules (a reload, a reboot${names.includes('firewalld') ? `, and firewalld's own rules filter packets too` : ''}). Manage the firewall with ${names.join('/')}, or set firewall_manager: iptables to stop, disable and mask ${names.join(' and ')} as part of this task`,
      );
    }
    return { steps: [], what: [], predictions: [], stopsRunning: false, released: () => false, flushes: false };
  }
  const systemd = host.init === 'systemd';
  const steps: Step[] = [];
  const what: string[] = [];
  const ufw = m.ufw;
  if (ufw.installed && (ufw.active || ufw.enabled || (systemd && !ufw.masked))) {
    const verbs: string[] = [];
    if (ufw.active || ufw.enabled) {
      steps.push(step(`${PATH}; ufw --force disable >/dev/null`, `${PATH}; ufw --force enable`));
      verbs.push(...(ufw.active ? ['stop'] : []), 'disable');
    }
    if (systemd && !ufw.masked) {
      steps.push(step('systemctl mask ufw.service >/dev/null 2>&1', 'systemctl unmask ufw.service'));
      verbs.push('mask');
    }
    what.push(phrase(verbs, 'ufw'));
  }
  const fwd = m.firewalld;
  if (fwd.exists && (fwd.active === true || fwd.enabled === true || (systemd && fwd.masked !== true))) {
    if (!systemd) throw new TaskError(`${task}: firewalld runs without systemd on this host; stop and disable it by hand`);
    const verbs: string[] = [];
    for (const [on, verb, undo] of [
      [fwd.active === true, 'stop', 'start'],
      [fwd.enabled === true, 'disable', 'enable'],
      [fwd.masked !== true, 'mask', 'unmask'],
    ] as const) {
      if (!on) continue;
      steps.push(step(`systemctl ${verb} firewalld.service`, `systemctl ${undo} firewalld.service`));
      verbs.push(verb);
    }
    what.push(phrase(verbs, 'firewalld'));
  }
  const after: FirewallManagers = {
    ufw: { ...ufw, active: false, enabled: false, masked: ufw.installed && (ufw.masked || systemd) },
    firewalld: { ...fwd, active: false, enabled: false, masked: fwd.exists ? true : fwd.masked === true },
  };
  return {
    steps,
    what,
    predictions: steps.length > 0 ? [{ request: firewallManagers(host.init), value: after }] : [],
    stopsRunning: ufw.active || fwd.active === true,
    released: (chain) => UFW_CHAIN.test(chain),
    flushes: fwd.active === true && fwd.backend === 'iptables',
  };
}
