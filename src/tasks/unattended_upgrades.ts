/**
 * `unattended_upgrades`: automatic (security) updates.
 *
 * Debian family: the `unattended-upgrades` package, `20auto-upgrades` (daily
 * list refresh and upgrade run) and `52provision-unattended-upgrades`, read
 * after the package's `50unattended-upgrades`: apt merges lists across files,
 * so it starts with `#clear` of Origins-Pattern and Allowed-Origins (Ubuntu's
 * file uses the latter) and then names the origins: the security archive only
 * by default. Automatic-Reboot and its time are always written.
 *
 * RHEL family (dnf): `dnf-automatic`, `/etc/dnf/automatic.conf` edited by
 * lines in [commands] (`upgrade_type = security|default`, `download_updates`,
 * `apply_updates = yes`, `reboot` when asked or when the file already knows
 * the option: older dnf has none), and `dnf-automatic.timer` enabled and
 * started. dnf-automatic cannot schedule the reboot: `reboot_time` is
 * Debian only (the timer's OnCalendar decides when dnf-automatic runs).
 * When the package is not installed yet the file does not exist at planning
 * time, so the edit is an awk program run after the install, with the same
 * semantics as the pure `editIni` used when the file is known.
 *
 * A host without an init system is SKIPPED with the reason: neither the apt
 * timers nor dnf-automatic.timer (nor cron) would ever run there, and
 * configuring updates that never happen would be a false assurance.
 * yum hosts (CentOS 7, yum-cron) are not supported: a TaskError says so.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, skip, type Diff, type Prediction, type Step } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import type { HostFacts } from '../contract/host-facts.js';
import type { FactRequest } from '../contract/fact.js';
import { packagesInstalled, type PackagesInfo } from '../facts/packages.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { beforeText, diffOf, predictWrittenFile, sameContent, writeFileSteps } from './lib/files.js';
import { installSteps } from './lib/packages.js';
import { serviceSteps } from './lib/services.js';

export const AUTO_UPGRADES = '/etc/apt/apt.conf.d/20auto-upgrades';
export const PROVISION_UU = '/etc/apt/apt.conf.d/52provision-unattended-upgrades';
export const DNF_AUTOMATIC = '/etc/dnf/automatic.conf';
export const DNF_TIMER = 'dnf-automatic.timer';

const argsSchema = z
  .object({
    security_only: z.boolean().default(true).describe('Only security updates (false: all updates from the distribution)'),
    reboot: z.boolean().default(false).describe('Reboot automatically when an update needs it'),
    reboot_time: z
      .string()
      .regex(/^(([01]\d|2[0-3]):[0-5]\d|now)$/, { message: "a time like '02:00' (or 'now')" })
      .default('02:00')
      .describe('When to reboot (Debian family; HH:MM)'),
  })
  .strict();

export type UnattendedArgs = z.output<typeof argsSchema>;

export const AUTO_UPGRADES_CONTENT = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n';

/** Origins for unattended-upgrade (the `${distro_codename}` variables are expanded by unattended-upgrade itself). */
export function origins(host: HostFacts, securityOnly: boolean): string[] {
  if (host.os.id === 'ubuntu') {
    const sec = [
      'origin=Ubuntu,archive=${distro_codename}-security',
      'origin=UbuntuESMApps,archive=${distro_codename}-apps-security',
      'origin=UbuntuESM,archive=${distro_codename}-infra-security',
    ];
    return securityOnly ? sec : ['origin=Ubuntu,archive=${distro_codename}', 'origin=Ubuntu,archive=${distro_codename}-updates', ...sec];
  }
  const sec = ['origin=Debian,codename=${distro_codename},label=Debian-Security', 'origin=Debian,codename=${distro_codename}-security,label=Debian-Security'];
  return securityOnly ? sec : ['origin=Debian,codename=${distro_codename},label=Debian', 'origin=Debian,codename=${distro_codename}-updates', ...sec];
}

export function renderDebianConfig(host: HostFacts, args: UnattendedArgs): string {
  return [
    '// Managed by provision (unattended_upgrades task): local changes are overwritten.',
    '// Read after 50unattended-upgrades: #clear drops the origins listed there.',
    '#clear Unattended-Upgrade::Allowed-Origins;',
    '#clear Unattended-Upgrade::Origins-Pattern;',
    'Unattended-Upgrade::Origins-Pattern {',
    ...origins(host, args.security_only).map((o) => `        "${o}";`),
    '};',
    `Unattended-Upgrade::Automatic-Reboot "${args.reboot ? 'true' : 'false'}";`,
    `Unattended-Upgrade::Automatic-Reboot-Time "${args.reboot_time}";`,
    '',
  ].join('\n');
}

// ---- INI edit by lines (dnf automatic.conf) -----------------------------------------

export type IniSettings = ReadonlyArray<readonly [string, string]>;

/**
 * Set `key = value` lines in `[section]`: an existing line of the key is
 * replaced in place (later duplicates dropped), missing keys are added at the
 * end of the section (the section is appended when absent). Comments and
 * other lines are kept. Same semantics as `EDIT_AWK`.
 */
export function editIni(text: string, section: string, settings: IniSettings): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  const done = new Set<string>();
  let inSec = false;
  let seen = false;
  const flush = (): void => {
    for (const [k, v] of settings) if (!done.has(k)) {
      out.push(`${k} = ${v}`);
      done.add(k);
    }
  };
  for (const line of lines) {
    if (/^[ \t]*\[/.test(line)) {
      if (inSec) flush();
      inSec = new RegExp(`^[ \\t]*\\[${section}\\][ \\t]*$`).test(line);
      if (inSec) seen = true;
      out.push(line);
      continue;
    }
    const m = inSec ? /^[ \t]*([A-Za-z0-9_]+)[ \t]*=/.exec(line) : null;
    const hit = m ? settings.find(([k]) => k === m[1]) : undefined;
    if (hit) {
      if (!done.has(hit[0])) out.push(`${hit[0]} = ${hit[1]}`);
      done.add(hit[0]);
      continue;
    }
    out.push(line);
  }
  if (inSec) flush();
  else if (!seen) {
    out.push(`[${section}]`);
    flush();
  }
  return out.join('\n') + '\n';
}

/** POSIX awk doing what `editIni` does (for files that only exist after the install step). */
export const EDIT_AWK = [
  'BEGIN { n = split(kv, a, "|"); for (i = 1; i <= n; i++) { p = index(a[i], "="); k[i] = substr(a[i], 1, p - 1); v[i] = substr(a[i], p + 1); d[i] = 0 } }',
  'function flush(  i) { for (i = 1; i <= n; i++) if (!d[i]) { print k[i] " = " v[i]; d[i] = 1 } }',
  '/^[ \\t]*\\[/ { if (insec) flush(); insec = ($0 ~ ("^[ \\t]*\\\\[" sec "\\\\][ \\t]*$")); if (insec) seen = 1; print; next }',
  'insec && /^[ \\t]*[A-Za-z0-9_]+[ \\t]*=/ { key = $0; sub(/^[ \\t]*/, "", key); sub(/[ \\t]*=.*$/, "", key); for (i = 1; i <= n; i++) if (k[i] == key) { if (!d[i]) print k[i] " = " v[i]; d[i] = 1; next } }',
  '{ print }',
  'END { if (insec) flush(); else if (!seen) { print "[" sec "]"; flush() } }',
].join('\n');

/** Step: edit `path` in place with EDIT_AWK, atomically (the shared writer: temp file beside it, mode/owner kept, rename). */
export function awkEditStep(path: string, section: string, settings: IniSettings): Step {
  for (const [k, v] of settings) if (!/^[A-Za-z0-9_]+$/.test(k) || /[|\n]/.test(v)) throw new TaskError(`cannot edit ${k} = ${v}`);
  const kv = settings.map(([k, v]) => `${k}=${v}`).join('|');
  const [step] = writeFileSteps({ path, generate: `awk -v sec=${quote(section)} -v kv=${quote(kv)} ${quote(EDIT_AWK)} ${quote(path)}` });
  return step as Step;
}

/** The [commands] settings for dnf-automatic. */
export function dnfSettings(args: UnattendedArgs, current: string | undefined): IniSettings {
  const out: Array<[string, string]> = [
    ['upgrade_type', args.security_only ? 'security' : 'default'],
    ['download_updates', 'yes'],
    ['apply_updates', 'yes'],
  ];
  const knowsReboot = current !== undefined && /^[ \t]*#?[ \t]*reboot[ \t]*=/m.test(current);
  if (args.reboot || knowsReboot) out.push(['reboot', args.reboot ? 'when-needed' : 'never']);
  return out;
}

export const unattended_upgrades = defineTask({
  name: 'unattended_upgrades',
  description: 'Automatic security updates: unattended-upgrades (Debian family) or dnf-automatic (RHEL family)',
  example: "- name: Automatic security updates, no automatic reboot\n  unattended_upgrades: { security_only: true, reboot: false }",
  schema: argsSchema,
  facts: (_args, ctx): Record<string, FactRequest> =>
    ctx.host.os.family === 'rhel'
      ? {
          packages: packagesInstalled(['dnf-automatic']),
          conf: fileAt(DNF_AUTOMATIC),
          ...(ctx.host.init === 'systemd' ? { timer: serviceState(DNF_TIMER, 'systemd') } : {}),
        }
      : { packages: packagesInstalled(['unattended-upgrades']), auto: fileAt(AUTO_UPGRADES), conf: fileAt(PROVISION_UU) },
  plan(args, factValues, ctx) {
    const host = ctx.host;
    if (host.init === 'none') {
      return skip('host has no init system: no timer or cron would ever run automatic upgrades here');
    }
    const facts = factValues as unknown as { packages: PackagesInfo; conf: FileInfo; auto?: FileInfo; timer?: ServiceInfo };
    const steps: Step[] = [];
    const what: string[] = [];
    const diffs: Diff[] = [];
    const predictions: Prediction[] = [];
    const install = (name: string): void => {
      if (facts.packages[name]) return;
      steps.push(...installSteps(host, [name]));
      what.push(`install ${name}`);
      predictions.push({ request: packagesInstalled([name]), value: { [name]: { version: '(planned)' } } });
    };
    const write = (path: string, info: FileInfo, content: string): void => {
      if (sameContent(info, content)) return;
      steps.push(...writeFileSteps({ path, content, mode: '0644', owner: 'root', group: 'root', backup: false }));
      what.push(`${info.exists ? 'update' : 'write'} ${path}`);
      diffs.push(diffOf(path, beforeText(info), content));
      predictions.push({ request: fileAt(path), value: predictWrittenFile(info, { content, mode: '0644', owner: 'root', group: 'root' }) });
    };
    const kind = args.security_only ? 'security updates' : 'all updates';

    if (host.os.family === 'debian') {
      install('unattended-upgrades');
      write(AUTO_UPGRADES, facts.auto as FileInfo, AUTO_UPGRADES_CONTENT);
      write(PROVISION_UU, facts.conf, renderDebianConfig(host, args));
      const reboot = args.reboot ? `automatic reboot at ${args.reboot_time}` : 'no automatic reboot';
      if (steps.length === 0) return ok(`unattended-upgrades installed and configured (daily, ${kind}, ${reboot})`);
      return change(`${what.join('; ')} (daily, ${kind}, ${reboot})`, steps, { diffs, predictions });
    }

    if (host.os.family === 'rhel') {
      if (host.packageManager !== 'dnf') throw new TaskError(`unattended_upgrades: ${host.os.prettyName} uses ${host.packageManager}; only dnf-automatic (dnf hosts) is supported, not yum-cron`);
      install('dnf-automatic');
      const current = facts.conf.exists ? facts.conf.content : undefined;
      if (facts.conf.exists && current === undefined) throw new TaskError(`${DNF_AUTOMATIC} is not a readable text file`);
      const settings = dnfSettings(args, current);
      if (current === undefined) {
        // installed by the step above: edit it once it exists
        steps.push(awkEditStep(DNF_AUTOMATIC, 'commands', settings));
        what.push(`set ${settings.map(([k, v]) => `${k} = ${v}`).join(', ')} in ${DNF_AUTOMATIC}`);
      } else {
        const edited = editIni(current, 'commands', settings);
        if (edited !== current) {
          steps.push(...writeFileSteps({ path: DNF_AUTOMATIC, content: edited, backup: true }));
          what.push(`set ${settings.map(([k, v]) => `${k} = ${v}`).join(', ')} in ${DNF_AUTOMATIC}`);
          diffs.push(diffOf(DNF_AUTOMATIC, current, edited));
          predictions.push({ request: fileAt(DNF_AUTOMATIC), value: predictWrittenFile(facts.conf, { content: edited }) });
        }
      }
      if (host.init === 'systemd') {
        const t = facts.timer;
        if (!t || !t.enabled) steps.push(...serviceSteps(host, DNF_TIMER, 'enable'));
        if (!t || !t.active) steps.push(...serviceSteps(host, DNF_TIMER, 'start'));
        if (!t || !t.enabled || !t.active) {
          what.push(`enable and start ${DNF_TIMER}`);
          if (t) predictions.push({ request: serviceState(DNF_TIMER, 'systemd'), value: { ...t, exists: true, active: true, enabled: true } });
        }
      } else {
        throw new TaskError(`unattended_upgrades: dnf-automatic runs from ${DNF_TIMER}, which needs systemd (this host's init is ${host.init})`);
      }
      const note = args.reboot ? '; reboot_time is not supported by dnf-automatic (its timer decides when it runs)' : '';
      if (steps.length === 0) return ok(`dnf-automatic installed, ${DNF_AUTOMATIC} set (${kind}, applied), ${DNF_TIMER} enabled and running${note}`);
      return change(`${what.join('; ')} (${kind}, applied)${note}`, steps, { diffs, predictions });
    }
    throw new TaskError(`unattended_upgrades: unsupported OS ${host.os.prettyName} (Debian or RHEL family needed)`);
  },
});
