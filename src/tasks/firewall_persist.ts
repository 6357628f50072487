/**
 * `firewall_persist`: make the running iptables/ip6tables rules survive a
 * reboot (CIS 4.4.1.x).
 *
 * Debian family: install iptables-persistent (debconf preseeded so it never
 *   asks to save), write /etc/iptables/rules.v4 and rules.v6, enable
 *   netfilter-persistent. Note: Debian's iptables-persistent conflicts with
 *   ufw, so installing it removes the ufw package.
 * RHEL family: install iptables-services, write /etc/sysconfig/iptables and
 *   ip6tables, enable (and start) the iptables/ip6tables services.
 *
 * The files are written from the running rules as the `iptables_save` fact
 * reads them (atomically, with a dated backup of the old file); they count as
 * equal when they differ only in `#` comments and `[packets:bytes]` counters.
 * In check mode after an iptables task planned a change, that fact holds the
 * predicted ruleset, so this task reports what the apply would save.
 *
 * ufw or firewalld running, or set to start at boot (where it would load its
 * own rules over the saved ones): refused, naming it, unless
 * `firewall_manager: iptables`, which stops, disables and masks it
 * (lib/firewall-managers.ts) commit-confirmed. Stopping them flushes their
 * rules, so then the files are saved from the rules running AFTER the stop
 * (iptables-save at apply time), not from the fact.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Diff, type Plan, type Prediction, type Step } from '../contract/task.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import type { HostFacts } from '../contract/host-facts.js';
import { iptablesSave, normaliseSave, tools, type IptablesSave } from '../facts/iptables.js';
import { packagesInstalled, type PackagesInfo } from '../facts/packages.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { firewallManagers, type FirewallManagers } from '../facts/firewall-managers.js';
import { beforeText, predictWrittenFile, writeFileSteps } from './lib/files.js';
import { firewallManagerArg, takeOver } from './lib/firewall-managers.js';
import { installSteps } from './lib/packages.js';
import { serviceSteps } from './lib/services.js';

const argsSchema = z
  .object({
    ipv4: z.boolean().default(true).describe('Persist the IPv4 rules'),
    ipv6: z.boolean().default(true).describe('Persist the IPv6 rules'),
    firewall_manager: firewallManagerArg,
  })
  .strict()
  .refine((a) => a.ipv4 || a.ipv6, { message: 'persist at least one of ipv4, ipv6' });

export type FirewallPersistArgs = z.output<typeof argsSchema>;

interface Layout {
  readonly packages: readonly string[];
  readonly files: Readonly<Record<4 | 6, string>>;
  readonly mode: string;
  /** Services that load the files at boot, per IP version. */
  readonly services: Readonly<Record<4 | 6, string>>;
}

export const LAYOUT: Readonly<Record<'debian' | 'rhel', Layout>> = {
  debian: {
    packages: ['iptables-persistent'],
    files: { 4: '/etc/iptables/rules.v4', 6: '/etc/iptables/rules.v6' },
    mode: '0640',
    services: { 4: 'netfilter-persistent', 6: 'netfilter-persistent' },
  },
  rhel: {
    packages: ['iptables-services'],
    files: { 4: '/etc/sysconfig/iptables', 6: '/etc/sysconfig/ip6tables' },
    mode: '0600',
    services: { 4: 'iptables', 6: 'ip6tables' },
  },
};

/** Keep iptables-persistent from asking (and from saving on its own) during the install. */
export const DEBCONF_PRESEED =
  "printf '%s\\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' 'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections";

function layoutOf(host: HostFacts): Layout {
  if (host.os.family === 'unknown') throw new TaskError(`firewall_persist: unsupported OS ${host.os.prettyName} (Debian or RHEL family needed)`);
  return LAYOUT[host.os.family];
}

const versions = (a: FirewallPersistArgs): (4 | 6)[] => [...(a.ipv4 ? [4 as const] : []), ...(a.ipv6 ? [6 as const] : [])];

/** How a rules file is written, from the fact or from the rules running at apply time: its directory is made when missing. */
const ruleFile = (mode: string) => ({ mode, owner: 'root', group: 'root', parent: {} }) as const;

/**
 * One step: save the rules running at apply time into `path`, atomically
 * (the shared writer: temp file beside it, rename), after a dated backup of
 * the old file.
 */
export function saveRunningSteps(path: string, v: 4 | 6, mode: string): Step[] {
  return writeFileSteps({ path, generate: `PATH="$PATH:/usr/sbin:/sbin" ${tools(v).save}`, ...ruleFile(mode), backup: true });
}

/** Does the saved file hold the running rules (comments and counters aside)? */
export function savedMatches(file: FileInfo, save: IptablesSave): boolean {
  if (!file.exists || file.type !== 'file' || file.content === undefined) return false;
  return normaliseSave(file.content) === normaliseSave(save.raw);
}

type Facts = {
  packages: PackagesInfo;
  save4?: IptablesSave;
  save6?: IptablesSave;
  file4?: FileInfo;
  file6?: FileInfo;
  managers: FirewallManagers;
  boot4?: ServiceInfo;
  boot6?: ServiceInfo;
};

export const firewallPersist = defineTask({
  name: 'firewall_persist',
  description: 'Persist the running iptables/ip6tables rules across reboots (iptables-persistent / iptables-services); refuses while ufw/firewalld manage the firewall unless told to take over',
  example: "- name: Firewall rules survive a reboot\n  firewall_persist: { ipv4: true, ipv6: true, firewall_manager: iptables }",
  schema: argsSchema,
  facts(a, ctx) {
    const l = layoutOf(ctx.host);
    const init = ctx.host.init;
    const out: Record<string, ReturnType<typeof fileAt> | ReturnType<typeof iptablesSave> | ReturnType<typeof packagesInstalled> | ReturnType<typeof serviceState> | ReturnType<typeof firewallManagers>> = {
      packages: packagesInstalled(l.packages),
      managers: firewallManagers(init),
    };
    for (const v of versions(a)) {
      out[`save${v}`] = iptablesSave(v);
      out[`file${v}`] = fileAt(l.files[v]);
      if (init !== 'none') out[`boot${v}`] = serviceState(l.services[v], init);
    }
    return out;
  },
  plan(a, facts, ctx): Plan {
    const host = ctx.host;
    const l = layoutOf(host);
    const f = facts as unknown as Facts;
    const steps: Step[] = [];
    const what: string[] = [];
    const notes: string[] = [];
    const diffs: Diff[] = [];
    const predictions: Prediction[] = [];

    // 1. take the firewall from ufw / firewalld, if told to (they flush their rules when stopped)
    const take = takeOver(host, f.managers, a.firewall_manager, 'firewall_persist', true);
    steps.push(...take.steps);
    what.push(...take.what);
    predictions.push(...take.predictions);
    const rulesWillMove = take.stopsRunning;
    if (a.firewall_manager !== 'iptables' && host.os.family === 'debian' && f.managers.ufw.installed && !l.packages.every((p) => f.packages[p])) {
      // iptables-persistent Conflicts: ufw: apt would remove ufw behind the user's back
      throw new TaskError('firewall_persist: ufw is installed and iptables-persistent conflicts with it (installing removes ufw): set firewall_manager: iptables or remove ufw first');
    }

    // 2. the package that loads the files at boot
    const missing = l.packages.filter((p) => !f.packages[p]);
    if (missing.length) {
      if (host.os.family === 'debian') steps.push({ command: DEBCONF_PRESEED });
      steps.push(...installSteps(host, missing));
      what.push(`install ${missing.join(', ')}`);
      predictions.push({ request: packagesInstalled(l.packages), value: { ...f.packages, ...Object.fromEntries(missing.map((p) => [p, { version: '(planned)' }])) } });
    }

    // 3. the rule files
    for (const v of versions(a)) {
      const save = (v === 4 ? f.save4 : f.save6) as IptablesSave;
      const file = (v === 4 ? f.file4 : f.file6) as FileInfo;
      const path = l.files[v];
      if (rulesWillMove || !save.available) {
        // the running rules at apply time are not the ones read now: save them then
        steps.push(...saveRunningSteps(path, v, l.mode));
        what.push(`save the running ${tools(v).bin} rules to ${path}${rulesWillMove ? ' (after ufw/firewalld stop)' : ''}`);
        continue;
      }
      if (savedMatches(file, save)) continue;
      const content = save.raw.endsWith('\n') || save.raw === '' ? save.raw : `${save.raw}\n`;
      steps.push(...writeFileSteps({ path, content, ...ruleFile(l.mode), backup: file.exists }));
      what.push(`${file.exists ? 'update' : 'write'} ${path}`);
      diffs.push({ label: path, before: beforeText(file), after: content });
      predictions.push({ request: fileAt(path), value: predictWrittenFile(file, { content, mode: l.mode, owner: 'root', group: 'root' }) });
    }

    // 4. load them at boot
    const bootNames = [...new Set(versions(a).map((v) => l.services[v]))];
    if (host.init === 'none') {
      notes.push(`host has no init system: ${bootNames.join(', ')} not enabled (skipped), nothing loads the rules at boot`);
    } else {
      for (const v of versions(a)) {
        const name = l.services[v];
        if (v === 6 && l.services[6] === l.services[4] && a.ipv4) continue;
        const svc = v === 4 ? f.boot4 : f.boot6;
        const fresh = missing.length > 0 || !svc?.exists;
        if (fresh || svc?.enabled === false) {
          steps.push(...serviceSteps(host, name, 'enable'));
          what.push(`enable ${name}`);
        }
        // RHEL: start the service so its state is consistent; it loads the file we just wrote (the running rules)
        if (host.os.family === 'rhel' && (fresh || svc?.active === false)) {
          steps.push(...serviceSteps(host, name, 'start'));
          what.push(`start ${name}`);
        }
        if (svc) predictions.push({ request: serviceState(name, host.init), value: { ...svc, exists: true, enabled: true, ...(host.os.family === 'rhel' ? { active: true } : {}) } });
      }
    }

    const files = versions(a).map((v) => l.files[v]).join(', ');
    if (steps.length === 0) {
      return ok(`${files} hold the running rules; ${l.packages.join(', ')} installed${notes.length ? `; ${notes.join('; ')}` : ''}`);
    }
    // stopping ufw/firewalld is undone if the change fails half-way
    return change(`${what.join('; ')}${notes.length ? `; ${notes.join('; ')}` : ''}`, steps, { diffs, predictions, ...(take.steps.length > 0 ? { risk: 'access' as const } : {}) });
  },
});
