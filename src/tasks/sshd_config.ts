/**
 * `sshd_config`: enforce sshd options so that they are EFFECTIVE, not merely
 * written somewhere.
 *
 * sshd keeps the first value it reads for most options, across the main file
 * and its Includes in reading order. Debian/Ubuntu/RHEL ship an
 * `Include /etc/ssh/sshd_config.d/*.conf` at the top of the main file, and
 * drop-ins such as cloud-init's `50-cloud-init.conf` (`PasswordAuthentication
 * yes`) or RHEL's `50-redhat.conf` would win over lines appended to the main
 * file. So the settings go into a managed block at the very TOP of the main
 * file (global section, before any Include and any Match), replaced on later
 * runs; global occurrences of the same options further down the main file are
 * disabled (`#provision-disabled: `, restored when no longer managed); Match
 * blocks and drop-ins are left untouched (the message names the drop-ins our
 * block now overrides). Options sshd accumulates (Port, ListenAddress,
 * AllowUsers, ...) cannot be overridden that way: a drop-in setting one of
 * them is an error naming the file and line.
 *
 * sshd socket-activated by systemd (ssh.socket: Ubuntu 22.10+'s default,
 * Debian's option) listens where the socket says, whatever Port says: a Port
 * change also writes a drop-in resetting the socket's ListenStream to those
 * ports (it overrides the one Ubuntu's generator makes from sshd_config), then
 * reloads units, stops the service and restarts the socket. ListenAddress is
 * refused there. Idempotence for the port reads where the socket listens.
 *
 * A Port move on an SELinux host labels the new port `ssh_port_t` first
 * (lib/selinux.ts). RHEL 8's crypto policy, on sshd's command line, wins over
 * the algorithms we write: managing one opts sshd out of it
 * (lib/sshd-crypto-policy.ts). A Match block that applies to our session
 * (`sshd -T -C`) is named when it overrides a managed option, and the
 * lockout pre-flight judges the session's view.
 *
 * Idempotence compares the effective values (`sshd -T`) with the desired ones
 * and the main file with the one that would be written. The write is atomic
 * with `sshd -t -f <candidate>` before the rename, mode 0600 root:root and a
 * dated backup, then sshd reloads (after another `sshd -t`). Always
 * `risk: 'access'`; the lockout pre-flight refuses a config that would
 * refuse the current session.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, skip, type AccessInfo, type Diff, type Prediction, type Step, type TaskContext } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { iptablesSave, type IptablesSave } from '../facts/iptables.js';
import { quote } from '../contract/quote.js';
import { onRollback } from '../core/guard.js';
import { DEFAULT_SSHD_CONFIG, sshdAt, socketDropin, type SshdFacts } from '../facts/sshd.js';
import { attrSteps } from './lib/attrs.js';
import { beforeText, diffOf, predictWrittenFile, writeFileSteps } from './lib/files.js';
import {
  ACCUMULATING,
  SSHD,
  buildCandidate,

  filterAlgorithms,
  includedOccurrences,
  mismatches,
  predictEffective,
  reloadStep,
  socketDropinText,
  socketPorts,
  sameOption,
  withoutNewerOptions,
  type Settings,
} from './lib/sshd.js';
import { ipVersionOf, sshBlocked, tableModel } from './lib/iptables.js';
import { lockoutReason } from './lib/sshd-lockout.js';
import { selinux, type SelinuxFacts } from '../facts/selinux.js';
import { sshPortLabels } from './lib/selinux.js';
import { cryptoPolicyOptOut } from './lib/sshd-crypto-policy.js';

/** No control characters (a newline would inject config lines), no NUL. */
const CONTROL = /[\u0000-\u001f\u007f]/;

const scalar = z
  .string()
  .min(1)
  .refine((s) => !CONTROL.test(s), { message: 'must not contain newlines or other control characters (they would inject sshd_config lines)' })
  .refine((s) => s.trim() === s, { message: 'must not start or end with whitespace' });
const listItem = z.union([
  z
    .string()
    .min(1)
    .refine((s) => !/[\s,]/.test(s) && !CONTROL.test(s), { message: 'list items must not contain whitespace, commas or control characters' }),
  z.number().int().nonnegative(),
]);
const settingValue = z.union([scalar, z.number().int().nonnegative(), z.boolean(), z.array(listItem).min(1)]);

const argsSchema = z
  .object({
    settings: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, { message: 'an sshd keyword is letters and digits, e.g. PermitRootLogin' }),
        settingValue,
      )
      .refine((s) => Object.keys(s).length > 0, { message: 'at least one setting' })
      .refine((s) => !Object.keys(s).some((k) => ['match', 'include'].includes(k.toLowerCase())), {
        message: 'Match and Include cannot be managed here (settings go into the global section)',
      })
      .refine((s) => new Set(Object.keys(s).flatMap((k) => sameOption(k)[0] as string)).size === Object.keys(s).length, {
        message: 'the same keyword appears twice (keywords are case-insensitive)',
      })
      .describe(
        'sshd options: booleans render yes/no, lists comma-joined for algorithm options, one line per item for Port/ListenAddress/HostKey, space-joined otherwise. An option the host\'s OpenSSH is too old to know (DisableForwarding before 7.4) is left out, and the message says so',
      )
      .transform((s) => s as Settings),
    path: z.string().min(1).regex(/^\//, { message: 'an absolute path' }).default(DEFAULT_SSHD_CONFIG).describe('Main sshd config file'),
    backup: z.boolean().default(true).describe('Keep a dated copy of the old file'),
    filter_algorithms: z
      .boolean()
      .default(true)
      .describe('Drop Ciphers/KexAlgorithms/MACs entries the host OpenSSH does not offer (ssh -Q); never an empty list'),
  })
  .strict();

export type SshdConfigArgs = z.output<typeof argsSchema>;

/** Settings without the options this OpenSSH is too old for, and after algorithm filtering (what will be written). */
export function effectiveSettings(args: SshdConfigArgs, facts: SshdFacts): { settings: Settings; notes: string[] } {
  const known = withoutNewerOptions(args.settings, facts.version);
  if (!args.filter_algorithms) return known;
  const filtered = filterAlgorithms(known.settings, facts);
  return { settings: filtered.settings, notes: [...known.notes, ...filtered.notes] };
}

/** Long values (algorithm lists) shortened for one-line messages. */
const short = (v: string): string => (v.length > 48 ? `${v.slice(0, 45)}...` : v);

function ports(settings: Settings): number[] | undefined {
  const key = Object.keys(settings).find((k) => k.toLowerCase() === 'port');
  if (key === undefined) return undefined;
  const v = settings[key];
  return (Array.isArray(v) ? v : [v]).map((p) => Number(p));
}

/**
 * sshd moves off the port we came in on: would the firewall (as it stands, or
 * as earlier tasks of the play leave it) let a new connection reach the new one?
 */
function portMoveBlocked(
  want: number[] | undefined,
  fw: { fw4?: IptablesSave; fw6?: IptablesSave },
  access: AccessInfo,
  serverIp: string | undefined,
): string | undefined {
  if (want === undefined || want.length === 0 || want.includes(access.serverPort)) return undefined;
  const version = ipVersionOf(access.clientIp);
  const save = version === 6 ? fw.fw6 : version === 4 ? fw.fw4 : undefined;
  if (!version || !save?.available) return undefined;
  const server = serverIp && ipVersionOf(serverIp) === version ? serverIp : undefined;
  const tables = Object.values(save.tables).map(tableModel);
  const why = sshBlocked(tables, { clientIp: access.clientIp, ...(server ? { serverIp: server } : {}), serverPort: want[0] as number, version });
  return why ? `sshd would move to port ${want[0]}, but the firewall's ${why}: open the new port in an earlier task` : undefined;
}

/**
 * A socket-activated sshd listens where its socket says, not where Port says:
 * the ports the socket must move to (undefined when it already listens there
 * or Port is not managed). ListenAddress cannot be carried over: refused.
 */
function socketMove(f: SshdFacts, settings: Settings, want: number[] | undefined): { unit: string; ports: number[] } | undefined {
  const s = f.socket;
  if (s === null) return undefined;
  if (Object.keys(settings).some((k) => k.toLowerCase() === 'listenaddress')) {
    throw new TaskError(`sshd is socket-activated (${s.unit}): ListenAddress in sshd_config is not where it listens, and is not carried to the socket; manage Port only, or set ListenStream in a drop-in of ${s.unit}`);
  }
  if (want === undefined) return undefined;
  const ports = [...new Set(want)].sort((a, b) => a - b);
  return socketPorts(s.listen).join(' ') === ports.join(' ') ? undefined : { unit: s.unit, ports };
}

type Effective = Readonly<Record<string, readonly string[]>>;

/** What a Match block sets for this session differently from the global section (`sshd -T -C` vs `sshd -T`). */
function matchOverrides(f: SshdFacts): Effective {
  const s = f.session;
  const g = f.effective;
  if (!s || !g) return {};
  return Object.fromEntries(Object.entries(s).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(g[k])));
}

/**
 * The configuration a connection like ours gets once `settings` are written:
 * the global values we set, except where a Match block overrides them (a
 * Match we do not see yet, one that sets the same value as the global section
 * today, is seen on the next read).
 */
function predictSession(f: SshdFacts, settings: Settings): Effective | null {
  if (!f.session) return null;
  return { ...predictEffective(f.effective ?? {}, settings), ...matchOverrides(f) };
}

/** The message part naming the managed options a Match block overrides for this session. */
function matchNote(f: SshdFacts, settings: Settings, host: TaskContext['host']): string {
  const over = matchOverrides(f);
  const hit = Object.keys(settings).filter((k) => over[k.toLowerCase()] !== undefined);
  if (hit.length === 0) return '';
  const who = host.ssh ? ` (${host.user} from ${host.ssh.clientIp})` : '';
  return `; a Match block sets ${hit.map((k) => `${k} ${short((over[k.toLowerCase()] ?? []).join(' '))}`).join(', ')} for this session${who}: the global value does not apply to it (Match blocks are left untouched)`;
}

/** Drop-in lines setting an accumulating option we manage: sshd would add them to ours. */
function accumulatingConflicts(settings: Settings, facts: SshdFacts): string[] {
  const keys = new Set(Object.keys(settings).map((k) => k.toLowerCase()).filter((k) => ACCUMULATING.has(k)));
  if (keys.size === 0) return [];
  return includedOccurrences(facts, keys).map((o) => `${o.path}:${o.line}: ${o.text}`);
}

export const sshd_config = defineTask({
  name: 'sshd_config',
  description: 'Enforce effective sshd options: managed block first in sshd_config, validated with sshd -t, reloaded; lockout-checked',
  example: "- name: Keys only, no root\n  sshd_config:\n    settings:\n      PermitRootLogin: \"no\"\n      PasswordAuthentication: false\n      Port: 2222                # moved in one run, with the firewall rule below",
  schema: argsSchema,
  // the session's view too (sshd -T -C), so a Match block that applies to us is seen;
  // a port move is checked against the firewall as it stands (or as earlier tasks leave it)
  // and needs the new port's SELinux label
  facts: (
    args,
  ): { sshd: FactRequest<SshdFacts>; file: FactRequest<FileInfo>; fw4?: FactRequest<IptablesSave>; fw6?: FactRequest<IptablesSave>; selinux?: FactRequest<SelinuxFacts> } => ({
    sshd: sshdAt(args.path, true),
    file: fileAt(args.path),
    ...(ports(args.settings) ? { fw4: iptablesSave(4), fw6: iptablesSave(6), selinux: selinux() } : {}),
  }),
  plan(args, facts, ctx) {
    const f = facts.sshd;
    if (!f.installed) return skip('sshd is not installed');
    if (f.main.text === null) throw new TaskError(`${args.path} does not exist or cannot be read (become: true?)`);
    const { settings, notes } = effectiveSettings(args, f);
    const acc = accumulatingConflicts(settings, f);
    if (acc.length > 0) {
      throw new TaskError(
        `sshd accumulates ${[...new Set(acc.map((a) => a.split(': ')[1]?.split(/\s/)[0]))].join(', ')} over every file, so the managed block cannot override: ${acc.join('; ')}. Remove these lines (this task leaves drop-ins untouched)`,
      );
    }
    const want = ports(settings);
    const socket = socketMove(f, settings, want);
    const cand = buildCandidate(f.main.text, settings, args.path);
    const textSame = cand.text === f.main.text;
    const managedKeys = new Set(Object.keys(settings).flatMap(sameOption));
    const dropins = includedOccurrences(f, managedKeys);
    const dropinNote =
      dropins.length > 0
        ? `; ${dropins.map((o) => `${o.path}:${o.line} sets ${o.text}`).join(', ')}: our block is read first so it no longer applies (drop-ins left untouched)`
        : '';
    const labels = sshPortLabels(facts.selinux, want ?? []);
    const optOut = cryptoPolicyOptOut(f, settings);
    const filterNote = `${[...notes, ...labels.notes, ...(optOut ? [optOut.note] : [])].map((n) => `; ${n}`).join('')}${matchNote(f, settings, ctx.host)}`;
    const eff = f.effective;
    const cmp = eff ? mismatches(settings, eff) : undefined;
    const n = Object.keys(settings).length;
    const fileInfo = facts.file;
    const attrs = { mode: '0600', owner: 'root', group: 'root' };

    if (textSame && !socket && labels.steps.length === 0 && !optOut) {
      const attrFix = fileInfo.exists ? attrSteps(args.path, fileInfo, attrs) : [];
      const tail = !eff
        ? ` (sshd -T failed, effective values not verified: ${f.effectiveError || `exit ${f.effectiveExit}`})`
        : cmp && cmp.differ.length > 0
          ? ` (sshd -T reports ${cmp.differ.map((d) => `${d.key} ${d.current ?? '(unset)'}`).join(', ')}: sshd normalises these differently)`
          : '';
      if (attrFix.length > 0) return change(`set ${args.path} to root:root 0600`, attrFix, { risk: 'access' });
      return ok(`effective sshd settings already as requested (${n} setting${n === 1 ? '' : 's'}, managed block in place)${tail}${filterNote}`);
    }

    const what = textSame
      ? `${args.path} already as requested`
      : cmp
      ? cmp.differ.length > 0
        ? `set ${cmp.differ.map((d) => `${d.key} ${short(d.desired)} (effective ${short(d.current ?? 'unset')})`).join(', ')}`
        : 'write the managed block (effective values already match)'
      : `write ${n} setting${n === 1 ? '' : 's'} (sshd -T failed, effective values unknown: ${f.effectiveError || `exit ${f.effectiveExit}`})`;
    const disabledNote = cand.disabled.length > 0 ? `; disable ${cand.disabled.map((o) => `line ${o.line} "${o.text}"`).join(', ')} of ${args.path}` : '';
    const restoredNote = cand.restored.length > 0 ? `; restore ${cand.restored.map((l) => `"${l.trim()}"`).join(', ')} (no longer managed)` : '';

    // the port labelled before sshd moves there
    const steps: Step[] = [
      ...labels.steps,
      ...(textSame ? [] : writeFileSteps({ path: args.path, content: cand.text, ...attrs, backup: args.backup, validate: `${SSHD} -t -f %s` })),
    ];
    const dropin = socket ? socketDropin(socket.unit) : undefined;
    if (socket && dropin) {
      // the snapshot restores an earlier drop-in; one this run creates goes with the rollback
      steps.push({ command: onRollback(`rm -f -- ${quote(dropin)}`) });
      steps.push(...writeFileSteps({ path: dropin, content: socketDropinText(socket.ports), mode: '0644', owner: 'root', group: 'root', parent: {} }));
    }
    if (optOut) steps.push(optOut.step);
    const reload = reloadStep(ctx.host, f.pid, socket ? { socket: socket.unit } : optOut ? 'restart' : 'reload');
    if (reload) steps.push(reload);
    const reloadNote = reload ? '' : '; sshd is not running (no init, no listener found): nothing to reload';
    const socketNote = socket ? `; sshd is socket-activated: ${socket.unit} moves to port ${socket.ports.join(', ')} (${dropin})` : '';

    // socket-activated, sshd listens where the socket does
    const current = f.socket ? socketPorts(f.socket.listen) : (eff?.port ?? []).map(Number);
    let sshPort: number | undefined;
    let portNote = '';
    if (want !== undefined && want.join(' ') !== current.join(' ')) {
      const servedOn = ctx.host.ssh?.serverPort;
      if (servedOn === undefined || !want.includes(servedOn)) sshPort = want[0];
      portNote = `; sshd moves to port ${want.join(', ')}${sshPort !== undefined ? ' (the runner reconnects on the new port)' : ''}`;
    }

    const diffs: Diff[] = textSame ? [] : [diffOf(args.path, beforeText(fileInfo), cand.text)];
    const predicted: SshdFacts = {
      ...f,
      ...(f.socket && socket ? { socket: { ...f.socket, listen: socket.ports.map((p) => `[::]:${p} (Stream)`) } } : {}),
      main: { path: args.path, text: cand.text },
      files: { ...f.files, [args.path]: { path: args.path, text: cand.text } },
      effective: eff ? predictEffective(eff, settings) : null,
      session: predictSession(f, settings),
      ...(optOut ? { cryptoPolicy: null } : {}),
    };
    const predictions: Prediction[] = [
      // other tasks read the fact without the session
      { request: sshdAt(args.path, true), value: predicted },
      { request: sshdAt(args.path), value: { ...predicted, session: null } },
      { request: fileAt(args.path), value: predictWrittenFile(fileInfo, { content: cand.text, ...attrs }) },
      ...labels.predictions,
    ];
    return change(`${what}${dropinNote}${disabledNote}${restoredNote}${filterNote}${portNote}${socketNote}${reloadNote}`, steps, {
      diffs,
      predictions,
      risk: 'access',
      ...(sshPort !== undefined ? { sshPort } : {}),
    });
  },
  lockout(args, facts, access, ctx) {
    const f = facts.sshd;
    if (!f.installed || f.main.text === null) return undefined;
    const { settings } = effectiveSettings(args, f);
    return lockoutReason(predictSession(f, settings) ?? predictEffective(f.effective ?? {}, settings), access) ?? portMoveBlocked(ports(settings), facts, access, ctx.host.ssh?.serverIp);
  },
});

