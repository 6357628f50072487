/**
 * The variables a task sees on a host, lowest precedence first, as Ansible
 * orders them: role defaults, inventory (group then host vars), the host's
 * facts, play vars, vars_files, role vars, the task's scope (block, include
 * and task vars), what the host collected during the run (registered
 * results, set_fact, include_vars), role and include parameters, extra vars
 * (-e), then the magic variables. `hostvars` gives every host's variables,
 * each one rendered only when a template reads it.
 */
import type { HostFacts } from '../contract/host-facts.js';
import type { HostSpec, Inventory } from './inventory.js';
import { resolve } from 'node:path';
import { ProvisionError } from '../contract/errors.js';
import type { PlayDef, RoleScope } from './playbook.js';
import { renderString, renderValue } from './template.js';

/** Variables an Ansible user expects to find about the host. */
export function factVars(f: HostFacts): Record<string, unknown> {
  const distribution: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', rocky: 'Rocky', centos: 'CentOS', rhel: 'RedHat', almalinux: 'AlmaLinux', fedora: 'Fedora' };
  const v: Record<string, unknown> = {
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
  // ansible_facts: the same facts under their names without the ansible_ prefix
  return { ...v, ansible_facts: Object.fromEntries(Object.entries(v).filter(([k]) => k.startsWith('ansible_')).map(([k, x]) => [k.slice(8), x])) };
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
  'inventory_hostname_short',
  'group_names',
  'groups',
  'hostvars',
  'play_hosts',
  'ansible_play_hosts',
  'ansible_play_hosts_all',
  'ansible_play_batch',
  'ansible_play_name',
  'playbook_dir',
  'role_path',
  'role_name',
  'ansible_failed_task',
  'ansible_failed_result',
  'ansible_check_mode',
  'check_mode',
  'omit',
  'facts',
  'ansible_facts',
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

/** What the run knows about the play on this host: who is in it, and where its playbook is. */
export interface PlayMagic {
  /** The play's hosts that are still in it (not failed, reachable). */
  playHosts: readonly string[];
  /** Every host the play selected. */
  allHosts: readonly string[];
  /** The hosts of the current batch (serial) still in it. */
  batch: readonly string[];
}

export interface HostVarsInput {
  spec: HostSpec;
  inventory: Inventory;
  play: Pick<PlayDef, 'name' | 'vars' | 'varsFilesVars' | 'roleDefaults' | 'roleVars' | 'playbookDir'>;
  /** Variables of the play's templated vars_files, as resolved for this host. */
  playFiles: Record<string, unknown>;
  /** The task's (or include's) own scope. */
  scope?: { vars?: Record<string, unknown>; role?: RoleScope };
  extraVars: Record<string, unknown>;
  facts: HostFacts | undefined;
  /** Set on this host during the run: registered results, set_fact, include_vars. */
  hostFacts: Record<string, unknown>;
  /** The running include's loop variable, rescue's ansible_failed_*: over everything but -e. */
  dynamic: Record<string, unknown>;
  magic: PlayMagic;
  /** Every host's variables, read lazily (see `hostvarsView`). */
  hostvars: Record<string, unknown>;
  check: boolean;
}

/** The magic variables that name the host and its groups. */
function hostMagic(spec: HostSpec, inventory: Inventory): Record<string, unknown> {
  return {
    inventory_hostname: spec.name,
    inventory_hostname_short: spec.name.split('.')[0],
    group_names: spec.groups.filter((g) => g !== 'all'),
    groups: groupsVar(inventory),
  };
}

/** Every variable of one host for the next task, rendered where it can be. */
export function hostVars(i: HostVarsInput): Record<string, unknown> {
  const role = i.scope?.role;
  const settled = settleVars({
    ...i.play.roleDefaults,
    ...role?.defaults,
    ...i.spec.vars,
    ...(i.facts ? factVars(i.facts) : {}),
    ...i.play.vars,
    ...i.play.varsFilesVars,
    ...i.playFiles,
    ...i.play.roleVars,
    ...role?.vars,
    ...i.scope?.vars,
    ...i.hostFacts,
    ...role?.params,
    ...i.dynamic,
    ...i.extraVars,
    ...hostMagic(i.spec, i.inventory),
    play_hosts: [...i.magic.batch],
    ansible_play_batch: [...i.magic.batch],
    ansible_play_hosts: [...i.magic.playHosts],
    ansible_play_hosts_all: [...i.magic.allHosts],
    ansible_play_name: i.play.name,
    playbook_dir: i.play.playbookDir,
    ...(role ? { role_path: role.path, role_name: role.name } : {}),
    ansible_check_mode: i.check,
    check_mode: i.check,
  });
  // added after settling: rendering walks every value, and hostvars must stay lazy
  return { ...settled, hostvars: i.hostvars };
}

/** What `hostvars[name]` shows of a host: its inventory variables, facts, what it collected, -e and its magic variables. */
export interface HostView {
  spec: HostSpec;
  facts: HostFacts | undefined;
  hostFacts: Record<string, unknown>;
}

/**
 * `hostvars`: one property per inventory host, computed when a template
 * reads it (never for hosts no template asks about), rendered in that
 * host's own variables, as Ansible's HostVars does.
 */
export function hostvarsView(inventory: Inventory, extraVars: Record<string, unknown>, view: (name: string) => HostView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of inventory.hosts.keys()) {
    Object.defineProperty(out, name, {
      enumerable: true,
      get: () => {
        const h = view(name);
        return settleVars({ ...h.spec.vars, ...(h.facts ? factVars(h.facts) : {}), ...h.hostFacts, ...extraVars, ...hostMagic(h.spec, inventory) });
      },
    });
  }
  return out;
}

/** The play's vars_files named with templates, resolved with the host's variables: each entry's first name that is one of its files. */
export function playFilesVars(play: Pick<PlayDef, 'varsFiles'>, vars: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const ref of play.varsFiles) {
    const names = ref.names.map((n) => resolve(ref.dir, String(renderString(n, vars))));
    const file = names.find((n) => Object.prototype.hasOwnProperty.call(ref.files, n));
    if (file === undefined) throw new ProvisionError('E_VARS_FILES', `vars_files (${ref.location.file}:${ref.location.line}): none of ${names.join(', ')} is a file checked when the playbook was loaded`);
    out = { ...out, ...ref.files[file] };
  }
  return out;
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
