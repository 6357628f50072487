/**
 * Pure helpers of the sshd_config task: rendering settings as config lines,
 * building the candidate main file (managed block at the top), comparing with
 * the effective configuration (`sshd -T`), filtering algorithm lists and the
 * predicted effective configuration (the lockout pre-flight is in
 * sshd-lockout.ts).
 *
 * sshd semantics this relies on (sshd_config(5)): for most keywords the FIRST
 * value obtained wins, across the main file and its Includes in reading order;
 * a few keywords accumulate over every occurrence (Port, ListenAddress,
 * HostKey, AllowUsers, ...). A `Match` line starts a conditional block that
 * lasts to the next `Match` or the end of the file.
 */
import { TaskError } from '../../contract/errors.js';
import type { Step } from '../../contract/task.js';
import { quote } from '../../contract/quote.js';
import type { HostFacts } from '../../contract/host-facts.js';
import { parseConfigLine, type SshdFacts } from '../../facts/sshd.js';

export type SettingValue = string | number | boolean | ReadonlyArray<string | number>;
export type Settings = Readonly<Record<string, SettingValue>>;

export const BLOCK_BEGIN = '# BEGIN provision managed';
export const BLOCK_END = '# END provision managed';
const BLOCK_NOTE = '# Written by provision sshd_config. sshd uses the first value it reads: keep this block above any Include and Match.';
/** Prefix of a global line this task disabled because the managed block sets the same option. */
export const DISABLED_PREFIX = '#provision-disabled: ';

/** Algorithm options (comma-separated lists), with the `ssh -Q` query that lists what the host supports. */
export const ALGORITHM_QUERY: Readonly<Record<string, 'cipher' | 'kex' | 'mac'>> = { ciphers: 'cipher', kexalgorithms: 'kex', macs: 'mac' };
const COMMA_LISTS = new Set([
  'ciphers',
  'kexalgorithms',
  'macs',
  'hostkeyalgorithms',
  'pubkeyacceptedkeytypes',
  'pubkeyacceptedalgorithms',
  'hostbasedacceptedkeytypes',
  'hostbasedacceptedalgorithms',
  'casignaturealgorithms',
  'gssapikexalgorithms',
]);
/** One line per list item. */
const LINE_PER_ITEM = new Set(['port', 'listenaddress', 'hostkey', 'hostcertificate']);
/** Keywords sshd accumulates over every occurrence instead of keeping the first. */
export const ACCUMULATING = new Set([
  'port',
  'listenaddress',
  'hostkey',
  'hostcertificate',
  'allowusers',
  'denyusers',
  'allowgroups',
  'denygroups',
  'acceptenv',
  'subsystem',
  'setenv',
  'permitlisten',
  'permitopen',
]);
/** Values compared case-sensitively (user and group names, paths). */
const CASE_SENSITIVE = new Set(['allowusers', 'denyusers', 'allowgroups', 'denygroups', 'authorizedkeysfile', 'banner', 'hostkey', 'subsystem', 'chrootdirectory', 'forcecommand', 'authorizedprincipalsfile', 'trustedusercakeys', 'revokedkeys', 'pidfile', 'authorizedkeyscommand', 'authorizedkeyscommanduser', 'versionaddendum', 'setenv', 'acceptenv']);
/** `sshd -T` cannot be compared with what was written (it adds the port, resolves names...): the block decides. */
const UNVERIFIABLE = new Set(['listenaddress', 'rekeylimit', 'include', 'match']);
/** Time values `sshd -T` prints in seconds. */
const TIME_KEYS = new Set(['logingracetime', 'clientaliveinterval', 'channeltimeout']);
/** Old and new names of the same option (`sshd -T` prints one of them depending on the version). */
const ALIASES: Readonly<Record<string, string>> = {
  challengeresponseauthentication: 'kbdinteractiveauthentication',
  kbdinteractiveauthentication: 'challengeresponseauthentication',
  pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms',
  pubkeyacceptedalgorithms: 'pubkeyacceptedkeytypes',
  hostbasedacceptedkeytypes: 'hostbasedacceptedalgorithms',
  hostbasedacceptedalgorithms: 'hostbasedacceptedkeytypes',
};

/** Keys that name the same option as `key` (itself and its alias). */
export function sameOption(key: string): string[] {
  const k = key.toLowerCase();
  const a = ALIASES[k];
  return a ? [k, a] : [k];
}

// ---- rendering ----------------------------------------------------------------------

/** Items of a setting as strings (a comma list given as one string is split for algorithm options). */
export function items(key: string, value: SettingValue): string[] {
  const k = key.toLowerCase();
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'boolean') return [value ? 'yes' : 'no'];
  if (typeof value === 'number') return [String(value)];
  if (COMMA_LISTS.has(k) && !/^[+\-^]/.test(value as string)) return (value as string).split(',').map((s) => s.trim()).filter(Boolean);
  return [value as string];
}

/** The config lines for one setting. */
export function renderSetting(key: string, value: SettingValue): string[] {
  const k = key.toLowerCase();
  const list = items(key, value);
  if (LINE_PER_ITEM.has(k)) return list.map((v) => `${key} ${v}`);
  if (COMMA_LISTS.has(k)) return [`${key} ${list.join(',')}`];
  return [`${key} ${list.join(' ')}`];
}

export function renderBlock(settings: Settings): string[] {
  const lines = [BLOCK_BEGIN, BLOCK_NOTE];
  for (const [k, v] of Object.entries(settings)) lines.push(...renderSetting(k, v));
  lines.push(BLOCK_END);
  return lines;
}

// ---- algorithm filtering -----------------------------------------------------------

export interface FilterResult {
  readonly settings: Settings;
  /** Human notes: `Ciphers: dropped x (not offered by OpenSSH 8.4)`. */
  readonly notes: string[];
}

/** Options newer OpenSSH releases brought (major, minor): an older sshd refuses to start with them. */
const INTRODUCED: Readonly<Record<string, readonly [number, number]>> = { disableforwarding: [7, 4] };

/** Leave out the options the host's OpenSSH is too old to know (kept when its version is unknown), saying so. */
export function withoutNewerOptions(settings: Settings, version: SshdFacts['version']): FilterResult {
  const out: Record<string, SettingValue> = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const since = INTRODUCED[key.toLowerCase()];
    if (since && version && (version.major < since[0] || (version.major === since[0] && version.minor < since[1]))) {
      notes.push(`${key} left out: it needs OpenSSH ${since[0]}.${since[1]}, this host has ${version.major}.${version.minor}`);
      continue;
    }
    out[key] = value;
  }
  return { settings: out, notes };
}

/** Drop Ciphers/KexAlgorithms/MACs entries this OpenSSH does not offer; refuse to produce an empty list. */
export function filterAlgorithms(settings: Settings, facts: Pick<SshdFacts, 'algorithms' | 'version'>): FilterResult {
  const out: Record<string, SettingValue> = {};
  const notes: string[] = [];
  const ver = facts.version ? `OpenSSH ${facts.version.major}.${facts.version.minor}` : 'this OpenSSH';
  for (const [key, value] of Object.entries(settings)) {
    const query = ALGORITHM_QUERY[key.toLowerCase()];
    if (!query || (typeof value === 'string' && /^[+\-^]/.test(value))) {
      out[key] = value;
      continue;
    }
    const offered = facts.algorithms[query];
    if (!offered) {
      out[key] = value;
      notes.push(`${key} not filtered: \`ssh -Q ${query}\` gave nothing (no ssh client?)`);
      continue;
    }
    const want = items(key, value);
    const keep = want.filter((a) => offered.includes(a));
    const dropped = want.filter((a) => !offered.includes(a));
    if (keep.length === 0) {
      throw new TaskError(`${key}: none of ${want.join(',')} is offered by ${ver} (\`ssh -Q ${query}\`); an empty list would stop sshd from starting`);
    }
    if (dropped.length > 0) notes.push(`${key}: dropped ${dropped.join(',')} (not offered by ${ver})`);
    out[key] = keep;
  }
  return { settings: out, notes };
}

// ---- the candidate file ---------------------------------------------------------------

export interface Occurrence {
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  readonly key: string;
  readonly text: string;
}

/** Lines of `text` without the managed block; throws on a BEGIN without END. */
function withoutBlock(lines: string[], path: string): string[] {
  const b = lines.findIndex((l) => l.trim() === BLOCK_BEGIN);
  if (b < 0) return lines;
  const e = lines.findIndex((l, i) => i > b && l.trim() === BLOCK_END);
  if (e < 0) throw new TaskError(`${path}: "${BLOCK_BEGIN}" without "${BLOCK_END}"; fix the file by hand`);
  return [...lines.slice(0, b), ...lines.slice(e + 1)];
}

export interface Candidate {
  readonly text: string;
  /** Global lines of the main file this run disables (line numbers in the current file). */
  readonly disabled: Occurrence[];
  /** Lines a previous run disabled that come back because their option is no longer managed. */
  readonly restored: string[];
}

/**
 * The new main file: the managed block first (before any Include and Match),
 * then the rest of the file with global lines setting a managed option
 * disabled (`#provision-disabled: `); Match blocks are left as they are.
 */
export function buildCandidate(current: string, settings: Settings, path: string): Candidate {
  const managed = new Set(Object.keys(settings).flatMap(sameOption));
  const hadNewline = current === '' || current.endsWith('\n');
  const body = withoutBlock((hadNewline ? current.slice(0, -1) : current).split('\n'), path);
  const disabled: Occurrence[] = [];
  const restored: string[] = [];
  let inMatch = false;
  const rest = body.map((line, i) => {
    if (line.startsWith(DISABLED_PREFIX)) {
      const original = line.slice(DISABLED_PREFIX.length);
      const p = parseConfigLine(original);
      if (!inMatch && p && !managed.has(p.key)) {
        restored.push(original);
        return original;
      }
      return line;
    }
    const p = parseConfigLine(line);
    if (!p) return line;
    if (p.key === 'match') inMatch = true;
    if (inMatch || !managed.has(p.key)) return line;
    disabled.push({ path, line: i + 1, key: p.key, text: line.trim() });
    return DISABLED_PREFIX + line;
  });
  const lines = current === '' ? renderBlock(settings) : [...renderBlock(settings), ...rest];
  return { text: lines.join('\n') + '\n', disabled, restored };
}

/** Global occurrences (outside Match blocks) of `keys` in the files sshd reads besides the main file, in reading order. */
export function includedOccurrences(facts: SshdFacts, keys: ReadonlySet<string>): Occurrence[] {
  const out: Occurrence[] = [];
  for (const entry of facts.order) {
    if (entry.path === facts.main.path) continue;
    const text = facts.files[entry.path]?.text;
    if (text == null) continue;
    let inMatch = false;
    text.split('\n').forEach((line, i) => {
      const p = parseConfigLine(line);
      if (!p) return;
      if (p.key === 'match') inMatch = true;
      if (!inMatch && keys.has(p.key)) out.push({ path: entry.path, line: i + 1, key: p.key, text: line.trim() });
    });
  }
  return out;
}

// ---- effective values -----------------------------------------------------------------

/** sshd time format (`1h30m`, `90`, `2m`) in seconds; NaN when not a time. */
export function timeSeconds(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const re = /(\d+)([sSmMhHdDwW])/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(v)) !== null) {
    const n = Number(m[1]);
    const unit = (m[2] as string).toLowerCase();
    total += n * (unit === 's' ? 1 : unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 604800);
    consumed = re.lastIndex;
  }
  return consumed === v.length && v.length > 0 ? total : Number.NaN;
}

/** Normalised value for comparison with `sshd -T`. */
export function normalise(key: string, value: string): string {
  const k = key.toLowerCase();
  let v = value.trim().replace(/\s+/g, ' ');
  if (!CASE_SENSITIVE.has(k)) v = v.toLowerCase();
  if (k === 'permitrootlogin' && v === 'without-password') v = 'prohibit-password';
  if (TIME_KEYS.has(k)) {
    const s = timeSeconds(v);
    if (!Number.isNaN(s)) v = String(s);
  }
  return v;
}

/** The desired value of a setting as `sshd -T` would show it (all lines' args joined by a space). */
export function desiredValue(key: string, value: SettingValue): string {
  return normalise(
    key,
    renderSetting(key, value)
      .map((l) => l.slice(key.length + 1))
      .join(' '),
  );
}

/** The effective value of an option from `sshd -T` (alias-aware), undefined when not shown. */
export function effectiveValue(effective: Readonly<Record<string, readonly string[]>>, key: string): string | undefined {
  for (const k of sameOption(key)) {
    const v = effective[k];
    if (v !== undefined) return normalise(k, v.join(' '));
  }
  return undefined;
}

export interface Mismatch {
  readonly key: string;
  /** Effective value now (undefined: not shown by sshd -T). */
  readonly current: string | undefined;
  readonly desired: string;
}

/** Settings whose effective value differs from the desired one; unverifiable ones are left out. */
export function mismatches(settings: Settings, effective: Readonly<Record<string, readonly string[]>>): { differ: Mismatch[]; unverified: string[] } {
  const differ: Mismatch[] = [];
  const unverified: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const k = key.toLowerCase();
    const cur = effectiveValue(effective, k);
    if (UNVERIFIABLE.has(k) || cur === undefined || (typeof value === 'string' && COMMA_LISTS.has(k) && /^[+\-^]/.test(value))) {
      unverified.push(key);
      continue;
    }
    const want = desiredValue(key, value);
    if (cur !== want) differ.push({ key, current: cur, desired: want });
  }
  return { differ, unverified };
}

/** The effective map once `settings` are applied (our block is read first). */
export function predictEffective(current: Readonly<Record<string, readonly string[]>>, settings: Settings): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(current)) out[k] = [...v];
  for (const [key, value] of Object.entries(settings)) {
    const k = key.toLowerCase();
    const present = sameOption(k).find((a) => a in out) ?? k;
    const lines = renderSetting(key, value).map((l) => l.slice(key.length + 1));
    out[present] = LINE_PER_ITEM.has(k) || k === 'allowusers' || k === 'denyusers' || k === 'allowgroups' || k === 'denygroups' ? lines : [lines.join(' ')];
  }
  return out;
}

// ---- reload --------------------------------------------------------------------------------

/** `sshd` on PATH or where Debian and RHEL install it (sudo's secure_path has /usr/sbin; a plain login shell may not). */
export const SSHD = 'PATH="$PATH:/usr/sbin:/sbin" sshd';

// ---- socket activation ------------------------------------------------------------------

/** The drop-in's text: ListenStream reset, then one line per port. */
export function socketDropinText(ports: readonly number[]): string {
  return ['# Managed by provision (sshd_config Port): sshd is socket-activated, so the socket decides its ports', '[Socket]', 'ListenStream=', ...ports.map((p) => `ListenStream=${p}`), ''].join('\n');
}

/** The ports a socket listens on, from `systemctl show -p Listen` (`[::]:22 (Stream)`, `0.0.0.0:2222 (Stream)`). */
export function socketPorts(listen: readonly string[]): number[] {
  const ports = listen.map((l) => /:(\d+) \(Stream\)$/.exec(l.trim())?.[1]);
  return [...new Set(ports.filter((p): p is string => p !== undefined).map(Number))].sort((a, b) => a - b);
}

/** How sshd must take the new configuration in. */
export type Reload =
  /** SIGHUP through the service manager (the default). */
  | 'reload'
  /** A new command line (RHEL 8's crypto policy): sshd re-executes itself with the old one on SIGHUP. */
  | 'restart'
  /** Listen elsewhere: reload units and restart the socket (the service first stopped: systemd refuses to start a socket whose service runs). */
  | { readonly socket: string };

/**
 * The step that makes the running sshd read the new configuration, always
 * after `sshd -t` (a daemon re-reading a broken file exits: with sshd as PID 1
 * that ends the container). systemd: reload (of a running unit only; Debian
 * names it ssh, RHEL sshd: the other name is the fallback), or for a
 * socket-activated sshd moving ports `daemon-reload`, the service stopped
 * and the socket restarted; sysv: `service`;
 * no init: SIGHUP to the listener, after checking the pid is still sshd, then
 * a second to re-execute and listen again (and a check that it did).
 * Undefined when there is nothing to reload (no init and no sshd running).
 */
export function reloadStep(host: HostFacts, pid: number | null, how: Reload = 'reload'): Step | undefined {
  const first = host.os.family === 'debian' ? 'ssh' : 'sshd';
  const second = first === 'ssh' ? 'sshd' : 'ssh';
  const check = `${SSHD} -t`;
  if (host.init === 'systemd') {
    if (typeof how === 'object') {
      // KillMode=process: stopping the service ends the listener, not the sessions it started (ours included)
      const service = how.socket.replace(/\.socket$/, '.service');
      return { command: `${check} && systemctl daemon-reload && systemctl stop ${quote(service)} && systemctl restart ${quote(how.socket)}` };
    }
    // KillMode=process (Debian's and RHEL's units): a restart keeps the sessions
    return {
      command: `${check} && if systemctl cat ${first}.service >/dev/null 2>&1; then u=${first}; else u=${second}; fi && systemctl ${how === 'restart' ? 'restart' : 'reload-or-try-restart'} "$u".service`,
    };
  }
  if (host.init === 'sysv') {
    return { command: `${check} && if [ -x /etc/init.d/${first} ]; then service ${first} reload; else service ${second} reload; fi` };
  }
  if (pid === null) return undefined;
  const p = quote(pid);
  // sshd re-executes itself on SIGHUP: give it a moment to listen again before the next connection
  return { command: `${check} && [ "$(cat /proc/${p}/comm 2>/dev/null)" = sshd ] && kill -HUP ${p} && sleep 1 && [ "$(cat /proc/${p}/comm 2>/dev/null)" = sshd ]` };
}
