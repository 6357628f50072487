/**
 * sshd fact: everything the sshd_config planner needs, in one command.
 *
 * - the main config file and every file it Includes (patterns relative to
 *   /etc/ssh, globs expanded in C-locale lexical order like glob(3), followed
 *   recursively up to 64 files), each read via base64 so any byte survives;
 * - the effective global configuration from `sshd -T -f <path>` (needs root:
 *   it reads the host keys), or the exit code and stderr when it fails;
 * - given the session (login user, client and server address and port), the
 *   configuration sshd applies to a connection like ours, Match blocks
 *   included (`sshd -T -C user=...,host=...,addr=...,laddr=...,lport=...`);
 *   `host` is the client address, which is what `Match Host` compares with
 *   under UseDNS no (OpenSSH's default);
 * - the algorithms this OpenSSH offers (`ssh -Q cipher|kex|mac`; empty when
 *   the ssh client is not installed);
 * - the OpenSSH version (`ssh -V`, else `sshd -V` on OpenSSH >= 9.1);
 * - the sshd listener pid (PID 1 in a container running sshd in the
 *   foreground, else the pid file, else the sshd whose parent is not sshd):
 *   hosts without an init system are reloaded with SIGHUP to it;
 * - RHEL 8's crypto policy for sshd: `CRYPTO_POLICY='-oCiphers=... ...'` in
 *   /etc/crypto-policies/back-ends/opensshserver.config, unless
 *   /etc/sysconfig/sshd assigns CRYPTO_POLICY (read after it by sshd.service:
 *   `CRYPTO_POLICY=` opts out). sshd.service passes it on the command line,
 *   where it wins over sshd_config and `sshd -T` does not see it: the parser
 *   lays its options over `effective` and `session`. (RHEL 9's back end is
 *   sshd_config lines, included from 50-redhat.conf: read as a config file.)
 * - systemd socket activation (Ubuntu 22.10 and later, Debian's optional
 *   ssh.socket): the active ssh.socket/sshd.socket and what it listens on;
 *   sshd then listens where the socket says, whatever Port says.
 *
 * The parser rebuilds the order in which sshd reads the files (`order`), so
 * the planner can tell which occurrence of an option comes first.
 */
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { SHELL_VARS } from './host.js';

export const DEFAULT_SSHD_CONFIG = '/etc/ssh/sshd_config';

export interface SshdArgs {
  /** Main configuration file (default /etc/ssh/sshd_config). */
  readonly path: string;
  /**
   * Also read the configuration sshd applies to our own session (Match blocks):
   * the session is the one the host facts script leaves in SHELL_VARS.session,
   * so the read needs no host facts first and can ride in their round trip.
   */
  readonly session?: boolean;
}

/** sshd socket-activated by systemd. */
export interface SshdSocket {
  /** `ssh.socket` (Debian, Ubuntu) or `sshd.socket`. */
  readonly unit: string;
  /** What it listens on, as `systemctl show -p Listen` prints it: `[::]:22 (Stream)`. */
  readonly listen: readonly string[];
}

export interface SshdConfigFile {
  readonly path: string;
  /** Null when the file does not exist or cannot be read. */
  readonly text: string | null;
}

/** One file in the order sshd reads it, and the file (and line) that included it. */
export interface SshdOrderEntry {
  readonly path: string;
  /** The file and 1-based line of the Include that pulled it in; absent for the main file. */
  readonly includedFrom?: { readonly path: string; readonly line: number };
}

export interface SshdFacts {
  /** sshd binary found (`command -v sshd` or /usr/sbin/sshd). */
  readonly installed: boolean;
  /** The main file (text null when missing). */
  readonly main: SshdConfigFile;
  /** Every file read, keyed by path (main file included). */
  readonly files: Readonly<Record<string, SshdConfigFile>>;
  /** Include pattern (as written) -> matching paths, in glob order. */
  readonly globs: Readonly<Record<string, readonly string[]>>;
  /** Files in the order sshd reads them (depth first at each Include line). */
  readonly order: readonly SshdOrderEntry[];
  /** `sshd -T` result: `effective` maps lowercase keys to every line's value (in order); null when it failed. */
  readonly effective: Readonly<Record<string, readonly string[]>> | null;
  readonly effectiveExit: number;
  /**
   * `sshd -T -C <session>`: what sshd applies to a connection like ours, Match
   * blocks included (same shape as `effective`); null when no session was
   * given or it failed.
   */
  readonly session: Readonly<Record<string, readonly string[]>> | null;
  /** stderr of a failed `sshd -T` (empty on success). */
  readonly effectiveError: string;
  /** `ssh -Q` lists; null when unknown (no ssh client). */
  readonly algorithms: {
    readonly cipher: readonly string[] | null;
    readonly kex: readonly string[] | null;
    readonly mac: readonly string[] | null;
  };
  /** First line of `ssh -V` / `sshd -V`, e.g. `OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 19 Sep 2023`. */
  readonly versionText: string;
  /** Parsed OpenSSH major.minor, null when unknown. */
  readonly version: { readonly major: number; readonly minor: number } | null;
  /** The listening sshd's pid (null when not running or not found). */
  readonly pid: number | null;
  /** How the pid was found. */
  readonly pidSource: 'pid1' | 'pidfile' | 'proc' | null;
  /**
   * RHEL 8's crypto policy on sshd's command line: its options (lowercase
   * keys, as `sshd -T` prints them), already laid over `effective`/`session`;
   * null when none applies (no such back end, RHEL 9's format, or opted out).
   */
  readonly cryptoPolicy: { readonly source: string; readonly options: Readonly<Record<string, readonly string[]>> } | null;
  /** The active sshd socket unit (socket activation), null when sshd is not socket-activated. */
  readonly socket: SshdSocket | null;
}

/** The socket units that activate sshd: Debian and Ubuntu name it ssh, others sshd. */
export const SSH_SOCKETS = ['ssh.socket', 'sshd.socket'] as const;

/**
 * Where a socket-activated sshd (Ubuntu 22.10+, Debian's optional ssh.socket)
 * is told its ports: sshd listens on the sockets systemd hands it, so Port in
 * sshd_config alone moves nothing. The drop-in resets ListenStream and lists
 * the ports; its name sorts after the `addresses.conf` that Ubuntu's
 * sshd-socket-generator writes from sshd_config, so it wins over that too.
 */
/** Where RHEL 8's sshd.service reads CRYPTO_POLICY: the policy back end, then the admin's file (the last assignment wins). */
export const CRYPTO_POLICY_BACKEND = '/etc/crypto-policies/back-ends/opensshserver.config';
export const SSHD_SYSCONFIG = '/etc/sysconfig/sshd';

export const socketDropin = (unit: string): string => `/etc/systemd/system/${unit}.d/provision-listen.conf`;

/** Base64 of a whole stream on one line. */
const B64 = "base64 | tr -d '\\n'";

function script(path: string, session: boolean): string {
  return [
    'LC_ALL=C; export LC_ALL',
    `NL='\n'`,
    'S=$(command -v sshd 2>/dev/null || true); [ -n "$S" ] || { [ -x /usr/sbin/sshd ] && S=/usr/sbin/sshd; }',
    'if [ -n "$S" ]; then echo installed=1; else echo installed=0; fi',
    `v=$( { ssh -V 2>&1 || "\${S:-sshd}" -V 2>&1; } | grep -m1 OpenSSH); printf 'version=%s\\n' "$(printf %s "$v" | ${B64})"`,
    sh`cfg=${path}`,
    // worklist of files: each printed once, Include patterns expanded relative to /etc/ssh
    'list=$cfg; seen=; n=0',
    'while [ -n "$list" ] && [ "$n" -lt 64 ]; do',
    '  f=${list%%"$NL"*}; if [ "$f" = "$list" ]; then list=; else list=${list#*"$NL"}; fi',
    '  case "$NL$seen$NL" in *"$NL$f$NL"*) continue ;; esac',
    '  seen=$seen$NL$f; n=$((n + 1))',
    `  if [ -f "$f" ] && [ -r "$f" ]; then printf 'file %s %s\\n' "$(printf %s "$f" | ${B64})" "$(base64 < "$f" | tr -d '\\n')"; else printf 'nofile %s\\n' "$(printf %s "$f" | ${B64})"; continue; fi`,
    `  pats=$(sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee]\\([[:space:]]*=[[:space:]]*\\|[[:space:]]\\{1,\\}\\)\\(.*\\)$/\\2/p' "$f")`,
    '  set -f',
    '  for pat in $pats; do',
    '    set +f',
    '    case $pat in /*) full=$pat ;; *) full=/etc/ssh/$pat ;; esac',
    `    printf 'glob %s' "$(printf %s "$pat" | ${B64})"`,
    `    for m in $full; do if [ -e "$m" ]; then printf ' %s' "$(printf %s "$m" | ${B64})"; list=$list$NL$m; fi; done`,
    '    echo',
    '    set -f',
    '  done',
    '  set +f',
    'done',
    'if [ -n "$S" ]; then',
    `  if T=$("$S" -T -f "$cfg" 2>/dev/null); then echo T_rc=0; printf 'T=%s\\n' "$(printf '%s\\n' "$T" | ${B64})"; else echo "T_rc=$?"; printf 'T_err=%s\\n' "$("$S" -T -f "$cfg" 2>&1 >/dev/null | ${B64})"; fi`,
    ...(session
      ? [`  if [ -n "$${SHELL_VARS.session}" ] && C=$("$S" -T -f "$cfg" -C "$${SHELL_VARS.session}" 2>/dev/null); then printf 'C=%s\\n' "$(printf '%s\\n' "$C" | ${B64})"; fi`]
      : []),
    'fi',
    'if command -v ssh >/dev/null 2>&1; then for q in cipher kex mac; do printf "Q_%s=%s\\n" "$q" "$(ssh -Q "$q" 2>/dev/null | tr "\\n" " ")"; done; fi',
    `for f in ${CRYPTO_POLICY_BACKEND} ${SSHD_SYSCONFIG}; do [ -r "$f" ] && printf 'env %s %s\\n' "$(printf %s "$f" | ${B64})" "$(grep '^[[:space:]]*CRYPTO_POLICY=' "$f" | ${B64})"; done`,
    'printf "pid1=%s\\n" "$(cat /proc/1/comm 2>/dev/null)"',
    'printf "pidfile=%s\\n" "$(cat /run/sshd.pid 2>/dev/null || cat /var/run/sshd.pid 2>/dev/null)"',
    'for p in /proc/[0-9]*; do c=$(cat "$p/comm" 2>/dev/null) || continue; [ "$c" = sshd ] || continue; printf "proc=%s %s\\n" "${p#/proc/}" "$(sed -n "s/^PPid:[[:space:]]*//p" "$p/status" 2>/dev/null)"; done',
    // socket activation: the unit and what it listens on
    'if command -v systemctl >/dev/null 2>&1; then',
    `  for u in ${SSH_SOCKETS.join(' ')}; do if systemctl is-active --quiet "$u" 2>/dev/null; then echo "socket=$u"; systemctl show -p Listen "$u" 2>/dev/null | sed -n "s/^Listen=/socket_listen=/p"; break; fi; done`,
    'fi',
    'exit 0',
  ].join('\n');
}

const fromB64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** Words of a config line the way sshd splits them: keyword, optional `=`, then whitespace separated args (double quotes group, `#` at a word start ends the line). */
export function configWords(line: string): string[] {
  const m = /^\s*([^\s=]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(line);
  if (!m) return [];
  const words = [m[1] as string];
  const rest = m[2] ?? '';
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (const c of rest) {
    if (quoted) {
      if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Keyword and arguments of a non-comment line, or null for blank/comment lines. */
export function parseConfigLine(line: string): { key: string; args: string[] } | null {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return null;
  const words = configWords(t);
  if (words.length === 0) return null;
  return { key: (words[0] as string).toLowerCase(), args: words.slice(1) };
}

function buildOrder(main: string, files: Record<string, SshdConfigFile>, globs: Record<string, readonly string[]>): SshdOrderEntry[] {
  const out: SshdOrderEntry[] = [];
  const visit = (path: string, from: SshdOrderEntry['includedFrom'], depth: number): void => {
    out.push(from ? { path, includedFrom: from } : { path });
    const text = files[path]?.text;
    if (text == null || depth >= 16) return;
    text.split('\n').forEach((line, i) => {
      const p = parseConfigLine(line);
      if (!p || p.key !== 'include') return;
      for (const pat of p.args) for (const m of globs[pat] ?? []) visit(m, { path, line: i + 1 }, depth + 1);
    });
  };
  visit(main, undefined, 0);
  return out;
}

/** Parse `sshd -T` output: lowercase key -> values of every line, in order. */
export function parseEffective(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const sp = t.search(/\s/);
    const key = (sp < 0 ? t : t.slice(0, sp)).toLowerCase();
    const value = sp < 0 ? '' : t.slice(sp + 1).trim();
    (out[key] ??= []).push(value);
  }
  return out;
}

export function parseVersion(text: string): SshdFacts['version'] {
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** Pure parser of the fact command's output. */
export function parseSshdFact(stdout: string, path: string, exitCode = 0): SshdFacts {
  const files: Record<string, SshdConfigFile> = {};
  const globs: Record<string, string[]> = {};
  const kv: Record<string, string> = {};
  const procs: Array<{ pid: number; ppid: number }> = [];
  const listen: string[] = [];
  const env: Array<{ path: string; text: string }> = [];
  let sawInstalled = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('file ') || line.startsWith('nofile ')) {
      const [tag, p64, c64] = line.split(' ');
      const p = fromB64(p64 ?? '');
      files[p] = { path: p, text: tag === 'file' ? fromB64(c64 ?? '') : null };
    } else if (line.startsWith('glob ')) {
      const [, pat64, ...ms] = line.trim().split(' ');
      globs[fromB64(pat64 ?? '')] = ms.map(fromB64);
    } else if (line.startsWith('env ')) {
      const [, p64, c64] = line.split(' ');
      env.push({ path: fromB64(p64 ?? ''), text: fromB64(c64 ?? '') });
    } else if (line.startsWith('socket_listen=')) {
      listen.push(line.slice('socket_listen='.length).trim());
    } else if (line.startsWith('proc=')) {
      const [pid, ppid] = line.slice(5).trim().split(/\s+/);
      if (pid && /^\d+$/.test(pid)) procs.push({ pid: Number(pid), ppid: Number(ppid ?? '-1') });
    } else {
      const i = line.indexOf('=');
      if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
      if (line.startsWith('installed=')) sawInstalled = true;
    }
  }
  if (!sawInstalled) throw new FactError('sshd', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const installed = kv.installed === '1';
  const tRc = kv.T_rc === undefined ? -1 : Number(kv.T_rc);
  const effective = tRc === 0 && kv.T !== undefined ? parseEffective(fromB64(kv.T)) : null;
  const list = (k: string): string[] | null => {
    const v = kv[k];
    if (v === undefined) return null;
    const items = v.trim().split(/\s+/).filter(Boolean);
    return items.length > 0 ? items : null;
  };
  const versionText = fromB64(kv.version ?? '').trim();
  // the listener: PID 1 when sshd runs in the foreground as a container's init
  const sshdPids = new Set(procs.map((p) => p.pid));
  let pid: number | null = null;
  let pidSource: SshdFacts['pidSource'] = null;
  const pidfile = Number.parseInt(kv.pidfile ?? '', 10);
  if ((kv.pid1 ?? '').trim() === 'sshd') {
    pid = 1;
    pidSource = 'pid1';
  } else if (Number.isInteger(pidfile) && pidfile > 1 && sshdPids.has(pidfile)) {
    pid = pidfile;
    pidSource = 'pidfile';
  } else {
    const listeners = procs.filter((p) => !sshdPids.has(p.ppid));
    if (listeners.length === 1) {
      pid = (listeners[0] as { pid: number }).pid;
      pidSource = 'proc';
    }
  }
  const main = files[path] ?? { path, text: null };
  // sshd.service passes it; sshd started otherwise (a container's own sshd) does not
  const cryptoPolicy = (kv.pid1 ?? '').trim() === 'systemd' ? cryptoPolicyOf(env) : null;
  const withPolicy = (e: Record<string, string[]> | null) => (e && cryptoPolicy ? { ...e, ...cryptoPolicy.options } : e);
  return {
    installed,
    main,
    files,
    globs,
    order: main.text === null ? [{ path }] : buildOrder(path, files, globs),
    effective: withPolicy(effective),
    effectiveExit: tRc,
    session: withPolicy(kv.C !== undefined ? parseEffective(fromB64(kv.C)) : null),
    effectiveError: kv.T_err !== undefined ? fromB64(kv.T_err).trim() : installed ? '' : 'sshd is not installed',
    algorithms: { cipher: list('Q_cipher'), kex: list('Q_kex'), mac: list('Q_mac') },
    versionText,
    version: parseVersion(versionText),
    pid,
    pidSource,
    socket: kv.socket ? { unit: kv.socket, listen } : null,
    cryptoPolicy,
  };
}

/** The value of the last `CRYPTO_POLICY=` line of an environment file (quotes removed), undefined when none. */
function lastAssignment(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => /^\s*CRYPTO_POLICY=/.test(l));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  const v = last.replace(/^\s*CRYPTO_POLICY=/, '').trim();
  return /^'.*'$|^".*"$/.test(v) ? v.slice(1, -1) : v;
}

/**
 * RHEL 8's crypto policy as sshd.service passes it (`-oKey=value` words),
 * from the environment files in the order systemd reads them.
 */
export function cryptoPolicyOf(env: ReadonlyArray<{ path: string; text: string }>): SshdFacts['cryptoPolicy'] {
  let value: string | undefined;
  let source = '';
  for (const e of env) {
    const v = lastAssignment(e.text);
    if (v !== undefined) [value, source] = [v, e.path];
  }
  const options: Record<string, string[]> = {};
  for (const word of (value ?? '').split(/\s+/)) {
    const m = /^-o([A-Za-z]+)=(.*)$/.exec(word);
    if (m) options[(m[1] as string).toLowerCase()] = [m[2] as string];
  }
  return Object.keys(options).length > 0 ? { source, options } : null;
}

export const sshdFact: Fact<SshdArgs, SshdFacts> = {
  name: 'sshd',
  command: (args) => script(args.path, args.session === true),
  parse: (stdout, args, exitCode) => parseSshdFact(stdout, args.path, exitCode),
  key: (args) => (args.session ? `${args.path} session` : args.path),
};

export const sshdAt = (path: string = DEFAULT_SSHD_CONFIG, session = false): FactRequest<SshdFacts> =>
  req(sshdFact, session ? { path, session } : { path });
