/**
 * `fail2ban`: install fail2ban with an sshd jail that follows the sshd port.
 *
 * - Package: `fail2ban` (RHEL family: from EPEL, so `epel-release` is
 *   installed first; Rocky/Alma ship it in their extras repository). With the
 *   systemd backend also `python3-systemd` (the packages lib installs without
 *   recommends, and the journal backend needs it).
 * - `/etc/fail2ban/jail.local` (read after jail.conf and jail.d/*.conf, so it
 *   overrides the distribution defaults) written atomically, after
 *   `fail2ban-client -t` passed on a copy of /etc/fail2ban holding the new
 *   file, with a dated backup.
 * - Backend `auto` (the argument's default) resolves per host: fail2ban's own
 *   `auto` (log files) when sshd's syslog file exists (/var/log/auth.log,
 *   RHEL /var/log/secure), else `systemd`: sshd logs to the journal (Debian 12+
 *   without rsyslog, where the file backend finds no log and fail2ban refuses
 *   to start). The journal backend needs python3-systemd, installed with it.
 * - The jail port: `sshd_port`, else the effective `Port` of sshd (`sshd -T`,
 *   predicted by an earlier sshd_config task in check mode).
 * - Service: systemd/sysv: enabled, and restarted when the package or the
 *   file changed (started when it is not running). A host WITHOUT an init
 *   system gets the package and the file but no daemon: nothing would
 *   supervise or restart it, and such hosts (containers running sshd as PID 1
 *   with `-e`) log sshd to stderr, where no fail2ban backend can read it. The
 *   plan says so.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Diff, type Prediction, type Step } from '../contract/task.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import type { HostFacts } from '../contract/host-facts.js';
import { packagesInstalled, type PackagesInfo } from '../facts/packages.js';
import { serviceState, type ServiceInfo } from '../facts/services.js';
import { sshdAt, type SshdFacts } from '../facts/sshd.js';
import { beforeText, diffOf, predictWrittenFile, sameContent, writeFileSteps } from './lib/files.js';
import { installSteps } from './lib/packages.js';
import { serviceSteps } from './lib/services.js';

export const JAIL_LOCAL = '/etc/fail2ban/jail.local';
/** Where sshd's syslog messages land per family (fail2ban's paths-debian.conf / paths-fedora.conf). */
export const AUTH_LOG = { debian: '/var/log/auth.log', rhel: '/var/log/secure' } as const;
const authLogFor = (host: HostFacts): string => (host.os.family === 'rhel' ? AUTH_LOG.rhel : AUTH_LOG.debian);

/** fail2ban time: `600`, `10m`, `1h30m`, `1d`, `-1` (forever). */
const TIME = /^(-1|(\d+(\.\d+)?(s|m|h|d|w|mo|y|sec|min|hour|day|week|month|year)?)+)$/;
const time = z.union([z.string().regex(TIME, { message: "a fail2ban time like '600', '10m', '1h', '1d' or '-1'" }), z.number().int()]).transform(String);
const port = z.number().int().min(1).max(65535);

const argsSchema = z
  .object({
    sshd_port: z
      .union([port, z.array(port).min(1)])
      .optional()
      .describe("Port(s) of the sshd jail; default: sshd's effective Port (sshd -T)"),
    maxretry: z.number().int().min(1).default(5).describe('Failures within findtime before a ban'),
    bantime: time.default('1h').describe("Ban duration ('1h'; '-1' forever)"),
    findtime: time.default('10m').describe('Window in which maxretry failures count'),
    backend: z
      .enum(['auto', 'systemd', 'polling', 'pyinotify'])
      .default('auto')
      .describe('auto: systemd where sshd logs to the journal (systemd init, no /var/log/auth.log), else log files'),
    ignoreip: z
      .array(z.string().regex(/^[0-9A-Za-z:.\/_-]+$/, { message: 'an address, CIDR or host name' }))
      .default([])
      .describe('Addresses never banned (127.0.0.1/8 and ::1 always are)'),
    banaction: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\[[A-Za-z0-9_=,. -]*\])?$/, { message: 'an action name such as iptables-multiport or nftables' })
      .optional()
      .describe('Ban action (default: the distribution default)'),
    enabled: z.boolean().default(true).describe('Enable the sshd jail'),
  })
  .strict();

export type Fail2banArgs = z.output<typeof argsSchema>;

/** Packages this host needs (pure). */
export function packagesFor(backend: string): string[] {
  return backend === 'systemd' ? ['fail2ban', 'python3-systemd'] : ['fail2ban'];
}

/**
 * `auto` resolved for this host: fail2ban's file backends when sshd's syslog
 * file exists, else the journal. Without an init system there is neither (sshd
 * logs to stderr): `systemd` keeps the configuration valid (`fail2ban-client
 * -t` refuses a jail without a log file) and the daemon is not started there.
 */
export function resolveBackend(requested: Fail2banArgs['backend'], authLog: FileInfo): string {
  if (requested !== 'auto') return requested;
  return authLog.exists ? 'auto' : 'systemd';
}

/** The ports of the jail: the argument, else sshd's effective ports, else 22. */
export function jailPorts(args: Fail2banArgs, sshd: SshdFacts | undefined): number[] {
  if (args.sshd_port !== undefined) return Array.isArray(args.sshd_port) ? args.sshd_port : [args.sshd_port];
  const eff = (sshd?.effective?.port ?? []).map(Number).filter((p) => Number.isInteger(p) && p > 0);
  return eff.length > 0 ? [...new Set(eff)] : [22];
}

/** journalmatch for sshd on Debian (unit ssh) and RHEL (unit sshd), OpenSSH before and after sshd-session (9.8). */
const JOURNALMATCH = '_SYSTEMD_UNIT=ssh.service + _SYSTEMD_UNIT=sshd.service + _COMM=sshd + _COMM=sshd-session';

export function renderJail(args: Fail2banArgs, backend: string, ports: readonly number[]): string {
  const lines = [
    '# Managed by provision (fail2ban task): local changes are overwritten.',
    '[DEFAULT]',
    `bantime = ${args.bantime}`,
    `findtime = ${args.findtime}`,
    `maxretry = ${args.maxretry}`,
    `backend = ${backend}`,
    `ignoreip = ${['127.0.0.1/8', '::1', ...args.ignoreip.filter((i) => i !== '127.0.0.1/8' && i !== '::1')].join(' ')}`,
    ...(args.banaction !== undefined ? [`banaction = ${args.banaction}`] : []),
    '',
    '[sshd]',
    `enabled = ${args.enabled ? 'true' : 'false'}`,
    `port = ${ports.join(',')}`,
    `backend = ${backend}`,
    ...(backend === 'systemd' ? [`journalmatch = ${JOURNALMATCH}`] : []),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Validation of a candidate jail.local: fail2ban only reads its own
 * directory, so test a copy of /etc/fail2ban with the candidate in place.
 */
export const VALIDATE =
  'd=$(mktemp -d) && cp -a /etc/fail2ban/. "$d"/ && cp %s "$d"/jail.local && fail2ban-client -c "$d" -t >/dev/null; rc=$?; rm -rf "$d"; exit $rc';


export const fail2ban = defineTask({
  name: 'fail2ban',
  description: 'Install fail2ban with an sshd jail that follows the sshd port (journal backend where sshd logs there)',
  example: "- name: fail2ban on sshd\n  fail2ban: { maxretry: 5, bantime: 1h, ignoreip: [203.0.113.0/24] }",
  schema: argsSchema,
  facts: (args, ctx) => ({
    packages: packagesInstalled(ctx.host.os.family === 'rhel' ? ['fail2ban', 'python3-systemd', 'epel-release'] : ['fail2ban', 'python3-systemd']),
    jail: fileAt(JAIL_LOCAL),
    authLog: fileAt(authLogFor(ctx.host)),
    ...(ctx.host.init !== 'none' ? { service: serviceState('fail2ban', ctx.host.init) } : {}),
    ...(args.sshd_port === undefined ? { sshd: sshdAt() } : {}),
  }),
  plan(args, facts, ctx) {
    const host = ctx.host;
    if (host.os.family === 'unknown') throw new TaskError(`fail2ban: unsupported OS ${host.os.prettyName} (Debian or RHEL family needed)`);
    const f = facts as unknown as { packages: PackagesInfo; jail: FileInfo; authLog: FileInfo; service?: ServiceInfo; sshd?: SshdFacts };
    const backend = resolveBackend(args.backend, f.authLog);
    const ports = jailPorts(args, f.sshd);
    const content = renderJail(args, backend, ports);
    const pkgs: PackagesInfo = f.packages;
    const missing = packagesFor(backend).filter((p) => !pkgs[p]);
    const fileSame = sameContent(f.jail, content);
    const steps: Step[] = [];
    const what: string[] = [];
    const predictions: Prediction[] = [];
    const diffs: Diff[] = [];

    if (missing.length > 0) {
      if (host.os.family === 'rhel' && !pkgs['epel-release']) {
        steps.push(...installSteps(host, ['epel-release']));
        what.push('install epel-release (fail2ban comes from EPEL)');
      }
      steps.push(...installSteps(host, missing));
      what.push(`install ${missing.join(', ')}`);
      const after: PackagesInfo = { ...pkgs };
      for (const p of missing) after[p] = { version: '(planned)' };
      if (host.os.family === 'rhel') after['epel-release'] ??= { version: '(planned)' };
      predictions.push({ request: packagesInstalled(Object.keys(pkgs)), value: after });
    }
    if (!fileSame) {
      steps.push(...writeFileSteps({ path: JAIL_LOCAL, content, mode: '0644', owner: 'root', group: 'root', backup: f.jail.exists, validate: VALIDATE }));
      what.push(`${f.jail.exists ? 'update' : 'write'} ${JAIL_LOCAL} (sshd jail ${args.enabled ? 'on' : 'off'}, port ${ports.join(',')}, backend ${backend})`);
      diffs.push(diffOf(JAIL_LOCAL, beforeText(f.jail), content));
      predictions.push({ request: fileAt(JAIL_LOCAL), value: predictWrittenFile(f.jail, { content, mode: '0644', owner: 'root', group: 'root' }) });
    }
    const configChanged = missing.length > 0 || !fileSame;

    let serviceNote = '';
    if (host.init === 'none') {
      serviceNote = 'host has no init system: fail2ban is installed and configured but NOT started (nothing would supervise it, and sshd here logs to stderr where no backend can read it)';
    } else {
      const svc = f.service;
      // after a fresh install the package's own scripts may have started it with the old config: restart
      if (configChanged) {
        steps.push(...serviceSteps(host, 'fail2ban', 'enable'), ...serviceSteps(host, 'fail2ban', 'restart'));
        what.push('restart fail2ban');
      } else if (svc && (!svc.active || svc.enabled === false)) {
        if (svc.enabled === false) steps.push(...serviceSteps(host, 'fail2ban', 'enable'));
        if (!svc.active) steps.push(...serviceSteps(host, 'fail2ban', 'start'));
        what.push(`${svc.enabled === false ? 'enable' : ''}${svc.enabled === false && !svc.active ? ' and ' : ''}${!svc.active ? 'start' : ''} fail2ban`);
      }
      if (svc && (configChanged || !svc.active || svc.enabled === false)) {
        predictions.push({ request: serviceState('fail2ban', host.init), value: { ...svc, exists: true, active: true, enabled: true } });
      }
    }

    if (steps.length === 0) {
      return ok(
        `fail2ban installed, ${JAIL_LOCAL} as requested (sshd jail ${args.enabled ? 'on' : 'off'}, port ${ports.join(',')}, backend ${backend})${serviceNote ? `; ${serviceNote}` : host.init !== 'none' ? ', service running and enabled' : ''}`,
      );
    }
    return change(`${what.join('; ')}${serviceNote ? `; ${serviceNote}` : ''}`, steps, { diffs, predictions });
  },
});
