/**
 * The variables a task sees on a host, lowest precedence first: inventory
 * (host and group vars), play vars, extra vars (-e), the host's facts, results
 * registered by earlier tasks, then the magic variables.
 */
import type { HostFacts } from '../contract/host-facts.js';
import type { HostSpec, Inventory } from './inventory.js';
import { renderValue } from './template.js';

/** Variables an Ansible user expects to find about the host. */
export function factVars(f: HostFacts): Record<string, unknown> {
  const distribution: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', rocky: 'Rocky', centos: 'CentOS', rhel: 'RedHat', almalinux: 'AlmaLinux', fedora: 'Fedora' };
  return {
    facts: f,
    os_family: f.os.family,
    ansible_os_family: f.os.family === 'debian' ? 'Debian' : f.os.family === 'rhel' ? 'RedHat' : 'Unknown',
    ansible_distribution: distribution[f.os.id] ?? f.os.id,
    ansible_distribution_version: f.os.versionId,
    ansible_distribution_major_version: String(Number.isNaN(f.os.major) ? '' : f.os.major),
    ansible_hostname: f.hostname,
    ansible_architecture: f.arch,
    ansible_user_id: f.user,
    ansible_service_mgr: f.init,
    ansible_pkg_mgr: f.packageManager,
  };
}

/** Render variables that refer to other variables until they settle (Ansible renders lazily). */
export function settleVars(vars: Record<string, unknown>): Record<string, unknown> {
  let current = vars;
  for (let pass = 0; pass < 8; pass++) {
    let changed = false;
    const next: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(current)) {
      if (!JSON.stringify(v ?? null).includes('{{')) {
        next[k] = v;
        continue;
      }
      try {
        next[k] = renderValue(v, current);
        if (JSON.stringify(next[k]) !== JSON.stringify(v)) changed = true;
      } catch {
        next[k] = v; // refers to something defined later (e.g. a registered result): rendered when used
      }
    }
    current = next;
    if (!changed) break;
  }
  return current;
}

/**
 * Names every host has at run time besides its inventory, play and extra
 * variables: the magic variables and the facts (see `factVars`).
 */
export const RUNTIME_VAR_NAMES: readonly string[] = [
  'inventory_hostname',
  'group_names',
  'groups',
  'ansible_check_mode',
  'check_mode',
  'omit',
  'facts',
  'os_family',
  'ansible_os_family',
  'ansible_distribution',
  'ansible_distribution_version',
  'ansible_distribution_major_version',
  'ansible_hostname',
  'ansible_architecture',
  'ansible_user_id',
  'ansible_service_mgr',
  'ansible_pkg_mgr',
];

export interface HostVarsInput {
  spec: HostSpec;
  inventory: Inventory;
  playVars: Record<string, unknown>;
  extraVars: Record<string, unknown>;
  /** Undefined: not gathered (gather_facts: false): the fact variables are undefined, as in Ansible. */
  facts: HostFacts | undefined;
  /** Replaced, never changed in place, when a task registers a result (VarsMemo compares it by identity). */
  registered: Record<string, unknown>;
  check: boolean;
}

/** Every variable of one host for the next task, rendered where it can be. */
export function hostVars(i: HostVarsInput): Record<string, unknown> {
  return settleVars({
    ...i.spec.vars,
    ...i.playVars,
    ...i.extraVars,
    ...(i.facts ? factVars(i.facts) : {}),
    ...i.registered,
    inventory_hostname: i.spec.name,
    group_names: i.spec.groups.filter((g) => g !== 'all'),
    groups: groupsVar(i.inventory),
    ansible_check_mode: i.check,
    check_mode: i.check,
  });
}

/** `groups`: one object per inventory, shared by every host (it lists every host of the run). */
const groupsVars = new WeakMap<Inventory, Record<string, string[]>>();
function groupsVar(inventory: Inventory): Record<string, string[]> {
  let g = groupsVars.get(inventory);
  if (!g) {
    g = Object.fromEntries([...inventory.groups].map(([name, hosts]) => [name, [...hosts]]));
    groupsVars.set(inventory, g);
  }
  return g;
}

/**
 * hostVars of one host, computed again only when an input is another object
 * than last time: settling a play's variables renders every template among
 * them, so a host's tasks share it until a result is registered.
 */
export class VarsMemo {
  private last: { input: HostVarsInput; vars: Record<string, unknown> } | undefined;

  of(input: HostVarsInput): Record<string, unknown> {
    const l = this.last?.input;
    const same = l !== undefined && (Object.keys(input) as (keyof HostVarsInput)[]).every((k) => l[k] === input[k]);
    if (!same || !this.last) this.last = { input, vars: hostVars(input) };
    return this.last.vars;
  }
}
