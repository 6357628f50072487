/**
 * ufw's state, for the `ufw` task: one round trip reading
 *
 * - `ufw status verbose` (needs root): active or not; while active, the
 *   default policies and the logging level as the running firewall has them;
 * - /etc/default/ufw and /etc/ufw/ufw.conf: the default policies
 *   (`DEFAULT_INPUT_POLICY="DROP"`), IPV6 and LOGLEVEL, which ufw applies on
 *   enable (what `status` cannot say while inactive);
 * - the `### tuple ###` lines of /etc/ufw/user.rules and user6.rules: the
 *   user rules in ufw's own canonical form, in order, per address family
 *   (`allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in`, `... OpenSSH - in`,
 *   `deny any 25 ... in_eth0`, `... comment=<hex>`);
 * - `ufw app info all`: each application profile's ports (`OpenSSH`: 22/tcp),
 *   which the lockout pre-flight needs for a rule given by `name`.
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { outputSections } from './sections.js';

export type UfwPolicy = 'allow' | 'deny' | 'reject';
export type UfwDirection = 'incoming' | 'outgoing' | 'routed';
export type UfwAction = 'allow' | 'deny' | 'reject' | 'limit';

/** One user rule as ufw stores it (a tuple line). */
export interface UfwRule {
  readonly action: UfwAction;
  /** `any`, `tcp`, `udp`, ... */
  readonly proto: string;
  /** `any`, `22`, `80,443`, `1000:2000`. */
  readonly dport: string;
  /** `any` for 0.0.0.0/0 and ::/0. */
  readonly dst: string;
  readonly sport: string;
  readonly src: string;
  /** Application profile names ('' when none). */
  readonly dapp: string;
  readonly sapp: string;
  readonly direction: 'in' | 'out';
  /** `on eth0` ('' when none). */
  readonly iface: string;
  readonly comment: string;
}

export interface UfwState {
  readonly installed: boolean;
  readonly active: boolean;
  readonly ipv6: boolean;
  readonly defaults: Readonly<Record<UfwDirection, UfwPolicy>>;
  /** `off`, `low`, `medium`, `high`, `full`. */
  readonly logging: string;
  readonly rules: { readonly v4: readonly UfwRule[]; readonly v6: readonly UfwRule[] };
  /** Profile name → its port specs (`22/tcp`, `5298`). */
  readonly apps: Readonly<Record<string, readonly string[]>>;
}

const COMMAND = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  'command -v ufw >/dev/null 2>&1 || { echo __absent; exit 0; }',
  'echo __status; LC_ALL=C ufw status verbose 2>&1',
  "echo __conf; grep -hE '^(IPV6|DEFAULT_[A-Z]+_POLICY|LOGLEVEL)=' /etc/default/ufw /etc/ufw/ufw.conf 2>/dev/null",
  "echo __v4; grep -h '^### tuple ###' /etc/ufw/user.rules 2>/dev/null",
  "echo __v6; grep -h '^### tuple ###' /etc/ufw/user6.rules 2>/dev/null",
  'echo __apps; LC_ALL=C ufw app info all 2>/dev/null',
  'true',
].join('\n');

const POLICY: Record<string, UfwPolicy> = { DROP: 'deny', REJECT: 'reject', ACCEPT: 'allow', deny: 'deny', reject: 'reject', allow: 'allow' };
const ANY = new Set(['0.0.0.0/0', '::/0']);

/** A `### tuple ###` line (ufw's backend_iptables writes them) as a rule; undefined for route rules and unknown forms. */
export function parseTuple(line: string): UfwRule | undefined {
  const body = line.replace(/^### tuple ###\s*/, '').trim();
  const cm = / comment=([0-9a-f]*)$/.exec(body);
  const words = (cm ? body.slice(0, cm.index) : body).split(/\s+/);
  if (words.length !== 7 && words.length !== 9) return undefined;
  const [action, proto, dport, dst, sport, src] = words as [string, string, string, string, string, string];
  const app = words.length === 9 ? [words[6] as string, words[7] as string] : ['-', '-'];
  const where = /^(in|out)(?:_(.+))?$/.exec(words.at(-1) as string);
  // `allow_log`, `allow_log-all`: a logged rule (it filters all the same); route rules (`route:allow`) are not in INPUT/OUTPUT
  const act = /^(allow|deny|reject|limit)(?:_log(?:-all)?)?$/.exec(action)?.[1];
  if (!where || !act) return undefined;
  const dec = (a: string) => (a === '-' ? '' : a.replace(/%20/g, ' '));
  return {
    action: act as UfwAction,
    proto,
    dport,
    dst: ANY.has(dst) ? 'any' : dst,
    sport,
    src: ANY.has(src) ? 'any' : src,
    dapp: dec(app[0] as string),
    sapp: dec(app[1] as string),
    direction: where[1] as 'in' | 'out',
    iface: where[2] ?? '',
    comment: cm ? Buffer.from(cm[1] as string, 'hex').toString('utf8') : '',
  };
}

/** `ufw app info all`: `Profile: NAME` then `Port:`/`Ports:` and indented specs (`22/tcp`, `5298`, `6000:6007/tcp`, `80,443/tcp`). */
export function parseApps(lines: readonly string[]): Record<string, string[]> {
  const apps: Record<string, string[]> = {};
  let name: string | undefined;
  let inPorts = false;
  for (const line of lines) {
    const p = /^Profile: (.+)$/.exec(line);
    if (p) {
      name = (p[1] as string).trim();
      apps[name] = [];
      inPorts = false;
    } else if (/^Ports?:\s*$/.test(line)) inPorts = true;
    else if (inPorts && name !== undefined && /^\s+\S/.test(line)) apps[name]?.push(line.trim());
    else inPorts = false;
  }
  return apps;
}

/** Pure parser of the fact command's output. */
export function parseUfw(stdout: string, exitCode = 0): UfwState {
  const s = outputSections(stdout);
  const empty = { v4: [], v6: [] };
  // not installed: what a fresh install has (an earlier task may install it), with openssh-server's OpenSSH profile
  const fallback = { installed: false, active: false, ipv6: true, defaults: { incoming: 'deny', outgoing: 'allow', routed: 'deny' } as const, logging: 'low', rules: empty, apps: { OpenSSH: ['22/tcp'] } };
  if (s.has('absent')) return fallback;
  const status = s.get('status');
  if (!status) throw new FactError('ufw', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const head = status.find((l) => l.trim() !== '') ?? '';
  const st = /^Status: (active|inactive)$/.exec(head.trim());
  if (!st) throw new FactError('ufw', `cannot read \`ufw status verbose\` (run with become: true): ${JSON.stringify(status.join('\n').trim().slice(0, 200))}`);
  const conf = Object.fromEntries((s.get('conf') ?? []).map((l) => /^(\w+)="?([^"]*)"?$/.exec(l.trim())).flatMap((m) => (m ? [[m[1], m[2]]] : [])));
  const defaults: Record<UfwDirection, UfwPolicy> = {
    incoming: POLICY[conf.DEFAULT_INPUT_POLICY ?? ''] ?? 'deny',
    outgoing: POLICY[conf.DEFAULT_OUTPUT_POLICY ?? ''] ?? 'allow',
    routed: POLICY[conf.DEFAULT_FORWARD_POLICY ?? ''] ?? 'deny',
  };
  let logging = conf.LOGLEVEL ?? 'low';
  // while active, the running firewall's own word: `Default: deny (incoming), allow (outgoing), disabled (routed)`, `Logging: on (low)`
  for (const line of status) {
    for (const m of line.startsWith('Default:') ? line.matchAll(/(allow|deny|reject)\s+\((incoming|outgoing|routed)\)/g) : []) {
      defaults[m[2] as UfwDirection] = m[1] as UfwPolicy;
    }
    const lg = /^Logging: (on \((\w+)\)|off)$/.exec(line.trim());
    if (lg) logging = lg[2] ?? 'off';
  }
  const rules = (k: string) => (s.get(k) ?? []).flatMap((l) => (l.startsWith('### tuple ###') ? [parseTuple(l)].filter((r): r is UfwRule => r !== undefined) : []));
  return { installed: true, active: st[1] === 'active', ipv6: conf.IPV6 !== 'no', defaults, logging, rules: { v4: rules('v4'), v6: rules('v6') }, apps: parseApps(s.get('apps') ?? []) };
}

export const ufwFact: Fact<null, UfwState> = {
  name: 'ufw',
  command: () => COMMAND,
  parse: (stdout, _args, exitCode) => parseUfw(stdout, exitCode),
  key: () => 'state',
};

export const ufwState = (): FactRequest<UfwState> => req(ufwFact, null);
