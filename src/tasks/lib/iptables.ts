/**
 * Pure iptables rule handling: tokenise a rule written in iptables-save syntax
 * (without `-A CHAIN`), canonicalise it the way `iptables-save` prints it back
 * (implicit `-m tcp`, `/32` suffixes, conntrack state order, ICMP type numbers,
 * LOG defaults dropped, ...), diff owned chains, render an
 * `iptables-restore --noflush` script, and simulate a packet through a chain
 * for the lockout pre-flight.
 *
 * The canonical forms were checked against real round trips (restore, then
 * save) on Debian 11 (iptables 1.8.7), 12 (1.8.9) and 13 (1.8.11), nf_tables
 * and legacy backends: test/fixtures/facts/iptables/roundtrip-*.txt.
 *
 * Matches and targets this module does not know are passed through verbatim
 * (only their quoting is normalised): they compare exactly as written, so
 * write them the way iptables-save prints them.
 */
import { TaskError } from '../../contract/errors.js';

export type IpVersion = 4 | 6;

// ---- tokens ----------------------------------------------------------------------

/**
 * Split a rule the way iptables-restore does: whitespace separates words,
 * double quotes group (a backslash escapes the next character inside quotes),
 * single quotes are NOT special to iptables-restore and are refused here so a
 * shell habit does not turn into a literal quote in a log prefix.
 */
export function tokenize(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < spec.length) {
        cur += spec[++i];
      } else if (c === '"') {
        quoted = false;
        out.push(cur);
        cur = '';
        inWord = false;
      } else cur += c;
      continue;
    }
    if (c === '"') {
      if (inWord) {
        out.push(cur);
        cur = '';
      }
      quoted = true;
      inWord = true;
      continue;
    }
    if (c === "'") throw new TaskError(`iptables rule ${JSON.stringify(spec)}: use double quotes (iptables-save syntax), not single quotes`);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) {
        out.push(cur);
        cur = '';
        inWord = false;
      }
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (quoted) throw new TaskError(`iptables rule ${JSON.stringify(spec)}: unterminated double quote`);
  if (inWord) out.push(cur);
  return out;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** Quote a value as iptables-save does (xtables_save_string): bare when only [A-Za-z0-9_-], else double quoted with `"`, `\`, `'` escaped. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

// ---- addresses -------------------------------------------------------------------

function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

const v4ToText = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

function parseV6(text: string): number[] | undefined {
  let s = text.toLowerCase();
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.') && lastColon >= 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    s = s.slice(0, lastColon + 1) + (s.endsWith('::') || s.slice(0, lastColon + 1).endsWith('::') ? '' : '0');
    if (s.endsWith(':0')) s = s.slice(0, -2);
    else if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0] as string);
  const back = halves.length === 2 ? group(halves[1] as string) : [];
  if (!head || !back) return undefined;
  const want = 8 - tail.length;
  if (halves.length === 2) {
    const fill = want - head.length - back.length;
    if (fill < 1) return undefined;
    return [...head, ...new Array<number>(fill).fill(0), ...back, ...tail];
  }
  if (head.length !== want) return undefined;
  return [...head, ...tail];
}

/** glibc inet_ntop for IPv6: longest zero run (>= 2 groups) as `::`, embedded IPv4 for ::/96 and ::ffff:0:0/96. */
function v6ToText(words: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] === 0) {
      let j = i;
      while (j < 8 && words[j] === 0) j++;
      if (j - i > bestLen) {
        bestBase = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += v4ToText((words[6] as number) * 65536 + (words[7] as number));
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

export interface Cidr {
  readonly version: IpVersion;
  /** 32-bit number (v4) or eight 16-bit words (v6). */
  readonly v4?: number;
  readonly v6?: readonly number[];
  readonly prefix: number;
}

function maskLen(mask: string, version: IpVersion): number | undefined {
  if (/^\d+$/.test(mask)) {
    const n = Number(mask);
    return n <= (version === 4 ? 32 : 128) ? n : undefined;
  }
  const bits: number[] = [];
  if (version === 4) {
    const m = parseV4(mask);
    if (m === undefined) return undefined;
    for (let i = 31; i >= 0; i--) bits.push(Math.floor(m / 2 ** i) % 2);
  } else {
    const m = parseV6(mask);
    if (!m) return undefined;
    for (const w of m) for (let i = 15; i >= 0; i--) bits.push((w >> i) & 1);
  }
  const len = bits.indexOf(0) < 0 ? bits.length : bits.indexOf(0);
  if (bits.slice(len).some((b) => b === 1)) return undefined; // non-contiguous mask
  return len;
}

/** Parse `a.b.c.d[/len|/mask]` or an IPv6 address with optional prefix; host bits are cleared. */
export function parseCidr(text: string, version: IpVersion): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  if (version === 4) {
    const n = parseV4(addr);
    if (n === undefined) return undefined;
    const prefix = maskText === undefined ? 32 : maskLen(maskText, 4);
    if (prefix === undefined) return undefined;
    const size = 2 ** (32 - prefix);
    return { version, v4: n - (n % size), prefix };
  }
  const w = parseV6(addr);
  if (!w) return undefined;
  const prefix = maskText === undefined ? 128 : maskLen(maskText, 6);
  if (prefix === undefined) return undefined;
  const masked = w.map((word, i) => {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    return keep === 0 ? 0 : word & ((0xffff << (16 - keep)) & 0xffff);
  });
  return { version, v6: masked, prefix };
}

export function cidrToText(c: Cidr): string {
  return c.version === 4 ? `${v4ToText(c.v4 as number)}/${c.prefix}` : `${v6ToText(c.v6 as number[])}/${c.prefix}`;
}

/** Does the CIDR contain this address (same family)? */
export function cidrContains(c: Cidr, ip: string): boolean {
  const host = parseCidr(ip, c.version);
  if (!host) return false;
  const net = parseCidr(`${ip}/${c.prefix}`, c.version);
  if (!net) return false;
  return cidrToText(net) === cidrToText(c);
}

export function ipVersionOf(ip: string): IpVersion | undefined {
  if (parseV4(ip) !== undefined) return 4;
  if (parseV6(ip) !== undefined) return 6;
  return undefined;
}

// ---- tables of names ---------------------------------------------------------------

/** Protocols iptables prints by name from its own table (the rest come from /etc/protocols, or as numbers). */
const BUILTIN_PROTOS: Record<string, string> = {
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'ipv6-icmp',
  '132': 'sctp',
  '136': 'udplite',
  '50': 'esp',
  '51': 'ah',
  '135': 'mh',
};
/** /etc/protocols names that depend on the host's file: compared by number. */
const OTHER_PROTOS: Record<string, string> = {
  gre: '47',
  igmp: '2',
  ipip: '4',
  'ipencap': '4',
  ospf: '89',
  vrrp: '112',
  pim: '103',
  l2tp: '115',
  dccp: '33',
  'ipv6': '41',
};

function canonProto(p: string): string {
  const l = p.toLowerCase();
  if (l === 'all' || l === '0') return 'all';
  if (l === 'icmpv6' || l === 'ipv6-icmp') return 'ipv6-icmp';
  if (BUILTIN_PROTOS[l]) return BUILTIN_PROTOS[l] as string;
  if (Object.values(BUILTIN_PROTOS).includes(l)) return l;
  return OTHER_PROTOS[l] ?? l;
}

/** Well-known service names iptables resolves through /etc/services. */
const SERVICES: Record<string, number> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  pop3: 110,
  ntp: 123,
  imap: 143,
  imap2: 143,
  snmp: 161,
  ldap: 389,
  https: 443,
  submission: 587,
  submissions: 465,
  syslog: 514,
  ldaps: 636,
  imaps: 993,
  pop3s: 995,
  openvpn: 1194,
  mysql: 3306,
  postgresql: 5432,
  'http-alt': 8080,
};

function port(text: string, rule: string): number {
  if (/^\d+$/.test(text) && Number(text) <= 65535) return Number(text);
  const s = SERVICES[text.toLowerCase()];
  if (s === undefined) throw new TaskError(`iptables rule ${JSON.stringify(rule)}: unknown port ${JSON.stringify(text)} (write the number)`);
  return s;
}

/** `22`, `1000:2000`, `:1023`, `1024:` -> [min, max]. */
function portRange(text: string, rule: string): [number, number] {
  const i = text.indexOf(':');
  if (i < 0) {
    const p = port(text, rule);
    return [p, p];
  }
  const a = text.slice(0, i);
  const b = text.slice(i + 1);
  return [a === '' ? 0 : port(a, rule), b === '' ? 65535 : port(b, rule)];
}

const rangeText = ([a, b]: [number, number]): string => (a === b ? String(a) : `${a}:${b}`);

const ICMP_TYPES: Record<string, string> = {
  any: 'any',
  'echo-reply': '0',
  pong: '0',
  'destination-unreachable': '3',
  'network-unreachable': '3/0',
  'host-unreachable': '3/1',
  'protocol-unreachable': '3/2',
  'port-unreachable': '3/3',
  'fragmentation-needed': '3/4',
  'source-route-failed': '3/5',
  'network-unknown': '3/6',
  'host-unknown': '3/7',
  'network-prohibited': '3/9',
  'host-prohibited': '3/10',
  'TOS-network-unreachable': '3/11',
  'TOS-host-unreachable': '3/12',
  'communication-prohibited': '3/13',
  'host-precedence-violation': '3/14',
  'precedence-cutoff': '3/15',
  'source-quench': '4',
  redirect: '5',
  'network-redirect': '5/0',
  'host-redirect': '5/1',
  'TOS-network-redirect': '5/2',
  'TOS-host-redirect': '5/3',
  'echo-request': '8',
  ping: '8',
  'router-advertisement': '9',
  'router-solicitation': '10',
  'time-exceeded': '11',
  'ttl-exceeded': '11',
  'ttl-zero-during-transit': '11/0',
  'ttl-zero-during-reassembly': '11/1',
  'parameter-problem': '12',
  'ip-header-bad': '12/0',
  'required-option-missing': '12/1',
  'timestamp-request': '13',
  'timestamp-reply': '14',
  'address-mask-request': '17',
  'address-mask-reply': '18',
};

const ICMP6_TYPES: Record<string, string> = {
  'destination-unreachable': '1',
  'no-route': '1/0',
  'communication-prohibited': '1/1',
  'beyond-scope': '1/2',
  'address-unreachable': '1/3',
  'port-unreachable': '1/4',
  'failed-policy': '1/5',
  'reject-route': '1/6',
  'packet-too-big': '2',
  'time-exceeded': '3',
  'ttl-exceeded': '3',
  'ttl-zero-during-transit': '3/0',
  'ttl-zero-during-reassembly': '3/1',
  'parameter-problem': '4',
  'bad-header': '4/0',
  'unknown-header-type': '4/1',
  'unknown-option': '4/2',
  'echo-request': '128',
  ping: '128',
  'echo-reply': '129',
  pong: '129',
  'mld-listener-query': '130',
  'mld-listener-report': '131',
  'mld-listener-done': '132',
  'mld-listener-reduction': '132',
  'router-solicitation': '133',
  'router-advertisement': '134',
  'neighbour-solicitation': '135',
  'neighbor-solicitation': '135',
  'neighbour-advertisement': '136',
  'neighbor-advertisement': '136',
  redirect: '137',
};

function icmpType(text: string, v6: boolean, rule: string): string {
  const table = v6 ? ICMP6_TYPES : ICMP_TYPES;
  const named = table[text] ?? table[text.toLowerCase()];
  if (named) return named;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) throw new TaskError(`iptables rule ${JSON.stringify(rule)}: unknown ${v6 ? 'ICMPv6' : 'ICMP'} type ${JSON.stringify(text)}`);
  return m[2] === undefined ? String(Number(m[1])) : `${Number(m[1])}/${Number(m[2])}`;
}

const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

function stateList(text: string, rule: string): string {
  const want = new Set(text.toUpperCase().split(','));
  for (const s of want) if (!CT_STATES.includes(s)) throw new TaskError(`iptables rule ${JSON.stringify(rule)}: unknown conntrack state ${s}`);
  return CT_STATES.filter((s) => want.has(s)).join(',');
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function flagList(text: string, rule: string): string {
  const u = text.toUpperCase();
  if (u === 'ALL') return TCP_FLAGS.join(',');
  if (u === 'NONE') return 'NONE';
  const want = new Set(u.split(','));
  for (const f of want) if (!TCP_FLAGS.includes(f)) throw new TaskError(`iptables rule ${JSON.stringify(rule)}: unknown TCP flag ${f}`);
  const out = TCP_FLAGS.filter((f) => want.has(f));
  return out.length ? out.join(',') : 'NONE';
}

/** libxt_limit: rates are stored as a period and printed in the largest unit that keeps them integral. */
const LIMIT_SCALE = 10000;
const RATE_UNITS: [string, number][] = [
  ['day', LIMIT_SCALE * 24 * 60 * 60],
  ['hour', LIMIT_SCALE * 60 * 60],
  ['min', LIMIT_SCALE * 60],
  ['sec', LIMIT_SCALE],
];

function limitRate(text: string, rule: string): string {
  const m = /^(\d+)(?:\/(\w+))?$/.exec(text);
  const unit = (m?.[2] ?? 'sec').toLowerCase();
  const mult = unit.startsWith('d') ? RATE_UNITS[0]![1] : unit.startsWith('h') ? RATE_UNITS[1]![1] : unit.startsWith('m') ? RATE_UNITS[2]![1] : unit.startsWith('s') ? RATE_UNITS[3]![1] : 0;
  const r = Number(m?.[1]);
  if (!m || !mult || !(r > 0)) throw new TaskError(`iptables rule ${JSON.stringify(rule)}: bad --limit ${JSON.stringify(text)}`);
  const period = Math.floor(mult / r);
  let i = 1;
  for (; i < RATE_UNITS.length; i++) {
    const um = RATE_UNITS[i]![1];
    if (period > um || Math.floor(um / period) < um % period) break;
  }
  const [name, um] = RATE_UNITS[i - 1]!;
  return `${Math.floor(um / period)}/${name}`;
}

const LOG_LEVELS: Record<string, number> = { emerg: 0, panic: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };

const REJECT_ALIASES_4: Record<string, string> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
};
const REJECT_ALIASES_6: Record<string, string> = {
  'icmp6-no-route': 'icmp6-no-route',
  'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited',
  'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable',
  'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable',
  'port-unreach': 'icmp6-port-unreachable',
  'icmp6-policy-fail': 'icmp6-policy-fail',
  'policy-fail': 'icmp6-policy-fail',
  'icmp6-reject-route': 'icmp6-reject-route',
  'reject-route': 'icmp6-reject-route',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
};

// ---- parsed rules ------------------------------------------------------------------

export interface Opt {
  readonly neg: boolean;
  /** `--dport` */
  readonly name: string;
  readonly values: readonly string[];
}

export interface Match {
  readonly module: string;
  readonly opts: Opt[];
  /** Inserted by iptables for `-p tcp --dport 22` without `-m tcp`. */
  readonly implicit?: boolean;
}

export interface Rule {
  /** Canonical base selectors, `null` when absent. */
  readonly src: { neg: boolean; cidr: string } | null;
  readonly dst: { neg: boolean; cidr: string } | null;
  readonly inIface: { neg: boolean; name: string } | null;
  readonly outIface: { neg: boolean; name: string } | null;
  readonly proto: { neg: boolean; name: string } | null;
  readonly fragment: { neg: boolean } | null;
  readonly matches: readonly Match[];
  /** `-j X` or `-g X`; null for a rule without target (counts only). */
  readonly target: { goto: boolean; name: string; opts: Opt[] } | null;
  /** The canonical text, as iptables-save prints it. */
  readonly text: string;
  /** The text used for comparison (also maps /etc/protocols names to numbers). */
  readonly key: string;
}

const BASE_ALIASES: Record<string, string> = {
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--in-interface': '-i',
  '--out-interface': '-o',
  '--protocol': '-p',
  '--fragment': '-f',
  '--match': '-m',
  '--jump': '-j',
  '--goto': '-g',
};

/** Option names of the matches and targets we canonicalise, with their arity and aliases. */
interface OptSpec {
  readonly arity: number;
  /** Canonical name. */
  readonly canon: string;
}
const PORT_OPTS: Record<string, OptSpec> = {
  '--sport': { arity: 1, canon: '--sport' },
  '--source-port': { arity: 1, canon: '--sport' },
  '--dport': { arity: 1, canon: '--dport' },
  '--destination-port': { arity: 1, canon: '--dport' },
};
const KNOWN_MATCH_OPTS: Record<string, Record<string, OptSpec>> = {
  tcp: {
    ...PORT_OPTS,
    '--syn': { arity: 0, canon: '--syn' },
    '--tcp-flags': { arity: 2, canon: '--tcp-flags' },
    '--tcp-option': { arity: 1, canon: '--tcp-option' },
  },
  udp: PORT_OPTS,
  udplite: PORT_OPTS,
  sctp: PORT_OPTS,
  icmp: { '--icmp-type': { arity: 1, canon: '--icmp-type' } },
  icmp6: { '--icmpv6-type': { arity: 1, canon: '--icmpv6-type' } },
  multiport: {
    '--sports': { arity: 1, canon: '--sports' },
    '--source-ports': { arity: 1, canon: '--sports' },
    '--dports': { arity: 1, canon: '--dports' },
    '--destination-ports': { arity: 1, canon: '--dports' },
    '--ports': { arity: 1, canon: '--ports' },
  },
  conntrack: { '--ctstate': { arity: 1, canon: '--ctstate' } },
  state: { '--state': { arity: 1, canon: '--state' } },
  limit: { '--limit': { arity: 1, canon: '--limit' }, '--limit-burst': { arity: 1, canon: '--limit-burst' } },
  comment: { '--comment': { arity: 1, canon: '--comment' } },
  recent: {
    '--set': { arity: 0, canon: '--set' },
    '--rcheck': { arity: 0, canon: '--rcheck' },
    '--update': { arity: 0, canon: '--update' },
    '--remove': { arity: 0, canon: '--remove' },
    '--seconds': { arity: 1, canon: '--seconds' },
    '--reap': { arity: 0, canon: '--reap' },
    '--hitcount': { arity: 1, canon: '--hitcount' },
    '--rttl': { arity: 0, canon: '--rttl' },
    '--name': { arity: 1, canon: '--name' },
    '--mask': { arity: 1, canon: '--mask' },
    '--rsource': { arity: 0, canon: '--rsource' },
    '--rdest': { arity: 0, canon: '--rdest' },
  },
};
/** Options whose canonical order inside their match is fixed by the extension's save function. */
const SAVE_ORDER: Record<string, readonly string[]> = {
  tcp: ['--sport', '--dport', '--tcp-option', '--tcp-flags'],
  udp: ['--sport', '--dport'],
  udplite: ['--sport', '--dport'],
  limit: ['--limit', '--limit-burst'],
  recent: ['--set', '--rcheck', '--update', '--remove', '--seconds', '--reap', '--hitcount', '--rttl', '--name', '--mask', '--rsource', '--rdest'],
};
const KNOWN_TARGET_OPTS: Record<string, Record<string, OptSpec>> = {
  LOG: {
    '--log-level': { arity: 1, canon: '--log-level' },
    '--log-prefix': { arity: 1, canon: '--log-prefix' },
    '--log-tcp-sequence': { arity: 0, canon: '--log-tcp-sequence' },
    '--log-tcp-options': { arity: 0, canon: '--log-tcp-options' },
    '--log-ip-options': { arity: 0, canon: '--log-ip-options' },
    '--log-uid': { arity: 0, canon: '--log-uid' },
    '--log-macdecode': { arity: 0, canon: '--log-macdecode' },
  },
  REJECT: { '--reject-with': { arity: 1, canon: '--reject-with' } },
  ACCEPT: {},
  DROP: {},
  RETURN: {},
};
const LOG_ORDER = ['--log-prefix', '--log-level', '--log-tcp-sequence', '--log-tcp-options', '--log-ip-options', '--log-uid', '--log-macdecode'];

/** The protocol whose options (`--dport`, `--icmp-type`) load an implicit match. */
function implicitModule(proto: string | undefined, v6: boolean): string | undefined {
  if (proto === 'tcp' || proto === 'udp' || proto === 'udplite' || proto === 'sctp') return proto;
  if (proto === 'icmp' && !v6) return 'icmp';
  if (proto === 'ipv6-icmp' && v6) return 'icmp6';
  return undefined;
}

function isKnownMatch(module: string): boolean {
  return module in KNOWN_MATCH_OPTS;
}

function fail(rule: string, why: string): never {
  throw new TaskError(`iptables rule ${JSON.stringify(rule)}: ${why}`);
}

/**
 * Parse and canonicalise one rule (iptables-save syntax, without `-A CHAIN`).
 * Throws TaskError on what iptables would refuse or what cannot be compared
 * reliably (host names, comma lists of addresses, single quotes).
 */
export function parseRule(spec: string, version: IpVersion): Rule {
  // one rule is one line of the restore script: a newline would smuggle in another command (-F, COMMIT...)
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(spec)) fail(spec, 'control characters (newlines) are not allowed in a rule');
  const tokens = tokenize(spec);
  const v6 = version === 6;
  let src: Rule['src'] = null;
  let dst: Rule['dst'] = null;
  let inIface: Rule['inIface'] = null;
  let outIface: Rule['outIface'] = null;
  let proto: Rule['proto'] = null;
  let fragment: Rule['fragment'] = null;
  const matches: Match[] = [];
  let target: { goto: boolean; name: string; opts: Opt[] } | null = null;
  let current: Match | undefined;
  let neg = false;
  const take = (i: number, what: string): string => {
    const v = tokens[i];
    if (v === undefined) fail(spec, `${what} needs a value`);
    return v;
  };
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i] as string;
    if (t === '!') {
      if (neg) fail(spec, 'double negation');
      neg = true;
      continue;
    }
    t = BASE_ALIASES[t] ?? t;
    const n = neg;
    neg = false;
    if (target && t.startsWith('-') && !['-s', '-d', '-i', '-o', '-p', '-f', '-m'].includes(t)) {
      // target options
      const known = KNOWN_TARGET_OPTS[target.name];
      const optSpec = known?.[t];
      if (known && !optSpec) fail(spec, `unknown option ${t} for target ${target.name}`);
      const arity = optSpec ? optSpec.arity : tokens[i + 1] !== undefined && !tokens[i + 1]!.startsWith('-') ? 1 : 0;
      const values: string[] = [];
      for (let k = 0; k < arity; k++) values.push(take(++i, t));
      target.opts.push({ neg: n, name: optSpec?.canon ?? t, values });
      continue;
    }
    switch (t) {
      case '-s':
      case '-d': {
        const value = take(++i, t);
        if (value.includes(',')) fail(spec, `${t} with a comma list expands to several rules: write one rule per address`);
        const c = parseCidr(value, version);
        if (!c) fail(spec, `${t} ${value} is not an IPv${version} address or network (host names are not resolved)`);
        const sel = { neg: n, cidr: cidrToText(c) };
        if (t === '-s') src = sel;
        else dst = sel;
        current = undefined;
        continue;
      }
      case '-i':
      case '-o': {
        const sel = { neg: n, name: take(++i, t) };
        if (t === '-i') inIface = sel;
        else outIface = sel;
        current = undefined;
        continue;
      }
      case '-p':
        proto = { neg: n, name: canonProto(take(++i, t)) };
        current = undefined;
        continue;
      case '-f':
        fragment = { neg: n };
        current = undefined;
        continue;
      case '-m': {
        if (n) fail(spec, '! before -m');
        let module = take(++i, t).toLowerCase();
        if (module === 'ipv6-icmp' || module === 'icmpv6') module = 'icmp6';
        // nf_tables (Debian 12+) merges `-m tcp --dport 22 -m tcp --sport 1` into one match, legacy does not: refuse the ambiguity
        if (isKnownMatch(module) && module !== 'recent' && module !== 'comment' && matches.some((m) => m.module === module)) fail(spec, `-m ${module} twice: put its options into one -m ${module}`);
        current = { module, opts: [] };
        matches.push(current);
        continue;
      }
      case '-j':
      case '-g': {
        if (n) fail(spec, `! before ${t}`);
        if (target) fail(spec, 'more than one target');
        target = { goto: t === '-g', name: take(++i, t), opts: [] };
        current = undefined;
        continue;
      }
      case '-A':
      case '-I':
      case '-D':
      case '-N':
      case '-F':
      case '-P':
        fail(spec, `write the rule without ${t} CHAIN (the chain is the key under chains:)`);
    }
    if (!t.startsWith('--')) fail(spec, `unexpected ${JSON.stringify(t)}`);
    // a match option: the current explicit match, or the protocol's implicit match
    const implicit = implicitModule(proto?.name, v6);
    const implicitOpt = implicit !== undefined && KNOWN_MATCH_OPTS[implicit]?.[t] !== undefined;
    let owner: Match | undefined;
    if (current && isKnownMatch(current.module) && KNOWN_MATCH_OPTS[current.module]?.[t]) owner = current;
    else if (current && !isKnownMatch(current.module) && !implicitOpt) owner = current;
    else if (implicitOpt) {
      owner = matches.find((m) => m.module === implicit);
      if (!owner) {
        owner = { module: implicit as string, opts: [], implicit: true };
        matches.push(owner);
      }
    } else if (current) fail(spec, `unknown option ${t} for -m ${current.module}`);
    else fail(spec, `option ${t} outside of a match (missing -m or -p?)`);
    const o = owner as Match;
    const optSpec = KNOWN_MATCH_OPTS[o.module]?.[t];
    const arity = optSpec ? optSpec.arity : tokens[i + 1] !== undefined && !tokens[i + 1]!.startsWith('-') ? 1 : 0;
    const values: string[] = [];
    for (let k = 0; k < arity; k++) values.push(take(++i, t));
    // unknown matches may take several words (`--match-set name src`)
    if (!optSpec) while (tokens[i + 1] !== undefined && !tokens[i + 1]!.startsWith('-') && tokens[i + 1] !== '!') values.push(tokens[++i] as string);
    o.opts.push({ neg: n, name: optSpec?.canon ?? t, values });
    if (!o.implicit) current = o;
  }
  if (neg) fail(spec, 'dangling !');
  if (proto && (proto.name === 'all') && !proto.neg) proto = null;
  if (src && !src.neg && src.cidr.endsWith('/0')) src = null;
  if (dst && !dst.neg && dst.cidr.endsWith('/0')) dst = null;
  for (const m of matches) canonMatch(m, spec, v6);
  if (target) canonTarget(target, spec, v6, proto?.name);
  const rule = { src, dst, inIface, outIface, proto, fragment, matches, target };
  const text = render(rule);
  return { ...rule, text, key: text };
}

function canonMatch(m: Match, spec: string, v6: boolean): void {
  const opts = m.opts;
  const map = (fn: (o: Opt) => Opt): void => {
    opts.splice(0, opts.length, ...opts.map(fn));
  };
  switch (m.module) {
    case 'tcp':
    case 'udp':
    case 'udplite':
    case 'sctp':
      map((o) => {
        if (o.name === '--sport' || o.name === '--dport') return { ...o, values: [rangeText(portRange(o.values[0] as string, spec))] };
        if (o.name === '--syn') return { neg: o.neg, name: '--tcp-flags', values: ['FIN,SYN,RST,ACK', 'SYN'] };
        if (o.name === '--tcp-flags') return { ...o, values: [flagList(o.values[0] as string, spec), flagList(o.values[1] as string, spec)] };
        return o;
      });
      // a port range covering everything is not printed
      opts.splice(0, opts.length, ...opts.filter((o) => !((o.name === '--sport' || o.name === '--dport') && !o.neg && o.values[0] === '0:65535')));
      break;
    case 'icmp':
    case 'icmp6':
      map((o) => ({ ...o, values: [icmpType(o.values[0] as string, m.module === 'icmp6', spec)] }));
      break;
    case 'multiport':
      map((o) => ({ ...o, values: [(o.values[0] as string).split(',').map((p) => rangeText(portRange(p, spec))).join(',')] }));
      break;
    case 'conntrack':
    case 'state':
      map((o) => ({ ...o, values: [stateList(o.values[0] as string, spec)] }));
      break;
    case 'limit': {
      map((o) => (o.name === '--limit' ? { ...o, values: [limitRate(o.values[0] as string, spec)] } : o));
      if (!opts.some((o) => o.name === '--limit')) opts.unshift({ neg: false, name: '--limit', values: ['3/hour'] });
      const burst = opts.findIndex((o) => o.name === '--limit-burst');
      if (burst >= 0 && Number(opts[burst]!.values[0]) === 5) opts.splice(burst, 1);
      break;
    }
    case 'recent': {
      if (!opts.some((o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.name))) fail(spec, '-m recent needs one of --set, --rcheck, --update, --remove');
      if (!opts.some((o) => o.name === '--name')) opts.push({ neg: false, name: '--name', values: ['DEFAULT'] });
      if (!opts.some((o) => o.name === '--mask')) opts.push({ neg: false, name: '--mask', values: [v6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255'] });
      if (!opts.some((o) => o.name === '--rsource' || o.name === '--rdest')) opts.push({ neg: false, name: '--rsource', values: [] });
      break;
    }
  }
  const order = SAVE_ORDER[m.module];
  if (order) opts.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

function canonTarget(t: { name: string; opts: Opt[] }, spec: string, v6: boolean, proto: string | undefined): void {
  if (t.name === 'LOG') {
    t.opts = t.opts
      .map((o) => {
        if (o.name !== '--log-level') return o;
        const v = (o.values[0] as string).toLowerCase();
        const lvl = /^\d+$/.test(v) ? Number(v) : LOG_LEVELS[v];
        if (lvl === undefined || lvl > 7) fail(spec, `bad --log-level ${v}`);
        return { ...o, values: [String(lvl)] };
      })
      .filter((o) => !(o.name === '--log-level' && o.values[0] === '4') && !(o.name === '--log-prefix' && o.values[0] === ''));
    t.opts.sort((a, b) => LOG_ORDER.indexOf(a.name) - LOG_ORDER.indexOf(b.name));
  } else if (t.name === 'REJECT') {
    const aliases = v6 ? REJECT_ALIASES_6 : REJECT_ALIASES_4;
    const w = t.opts.find((o) => o.name === '--reject-with');
    const value = w ? aliases[w.values[0] as string] : v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
    if (!value) fail(spec, `unknown --reject-with ${w?.values[0]} for IPv${v6 ? 6 : 4}`);
    if (value === 'tcp-reset' && proto !== 'tcp') fail(spec, '--reject-with tcp-reset needs -p tcp');
    t.opts = [{ neg: false, name: '--reject-with', values: [value] }];
  }
}

/** Options whose value is free text, printed by iptables with xtables_save_string. */
const STRING_OPTS = new Set(['--comment', '--log-prefix', '--nflog-prefix', '--ulog-prefix']);
const PLAIN = /^[^\s"'\\]+$/;

function renderOpt(o: Opt): string {
  const value = (v: string) => (STRING_OPTS.has(o.name) || !PLAIN.test(v) ? saveString(v) : v);
  return [...(o.neg ? ['!'] : []), o.name, ...o.values.map(value)].join(' ');
}

function render(r: Omit<Rule, 'text' | 'key'>): string {
  const parts: string[] = [];
  const neg = (b: boolean) => (b ? '! ' : '');
  if (r.src) parts.push(`${neg(r.src.neg)}-s ${r.src.cidr}`);
  if (r.dst) parts.push(`${neg(r.dst.neg)}-d ${r.dst.cidr}`);
  if (r.inIface) parts.push(`${neg(r.inIface.neg)}-i ${saveString(r.inIface.name).replace(/^"(.*)"$/, '$1')}`);
  if (r.outIface) parts.push(`${neg(r.outIface.neg)}-o ${saveString(r.outIface.name).replace(/^"(.*)"$/, '$1')}`);
  // /etc/protocols names (gre, ...) are emitted as numbers, which every host accepts
  if (r.proto) parts.push(`${neg(r.proto.neg)}-p ${r.proto.name}`);
  if (r.fragment) parts.push(`${neg(r.fragment.neg)}-f`);
  for (const m of r.matches) parts.push([`-m ${m.module}`, ...m.opts.map(renderOpt)].join(' '));
  if (r.target) parts.push([`${r.target.goto ? '-g' : '-j'} ${r.target.name}`, ...r.target.opts.map(renderOpt)].join(' '));
  return parts.join(' ');
}

/** Canonical text of a rule written by a user or read from iptables-save. */
export function canonical(spec: string, version: IpVersion): string {
  return parseRule(spec, version).text;
}

/** Comparison key of a rule; rules iptables cannot be made to parse (from a newer tool) compare by their text. */
export function ruleKey(spec: string, version: IpVersion): string {
  try {
    return parseRule(spec, version).key;
  } catch {
    return spec.trim().replace(/\s+/g, ' ');
  }
}

// ---- owned chains: diff and restore script -------------------------------------------

export interface ChainState {
  readonly name: string;
  readonly policy: string | null;
}

/** A table as the planner sees it: chains in order and the rule specs of each. */
export interface TableModel {
  readonly name: string;
  readonly chains: readonly ChainState[];
  readonly rules: ReadonlyMap<string, readonly string[]>;
}

// ---- lockout simulation ------------------------------------------------------------

/** A packet of our SSH connection, as one chain sees it. */
export interface Packet {
  /** Unknown for our replies when the host's address is not known. */
  readonly src?: string;
  /** Unknown when the host's address is not known. */
  readonly dst?: string;
  readonly sport: number | 'ephemeral';
  readonly dport: number | 'ephemeral';
  /** Interface the packet arrives on / leaves by (never lo for a remote client); null where not applicable. */
  readonly inIface: 'lo' | 'other' | null;
  readonly outIface: 'lo' | 'other' | null;
  /** Conntrack state; null before conntrack ran (raw table). */
  readonly state: 'NEW' | 'ESTABLISHED' | null;
  readonly flags: readonly string[];
  readonly version: IpVersion;
}

export interface Verdict {
  readonly verdict: 'accept' | 'drop';
  /** `-A INPUT ...` of the deciding rule, or undefined when the chain policy decided. */
  readonly rule?: string;
  /** The built-in chain whose policy decided. */
  readonly policyOf?: string;
}

type Tri = boolean | undefined;
const and = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === undefined || b === undefined ? undefined : true);
const flip = (v: Tri, neg: boolean): Tri => (v === undefined ? undefined : neg ? !v : v);

const EPHEMERAL: [number, number] = [1024, 65535];

function portIn(p: number | 'ephemeral', ranges: [number, number][]): Tri {
  if (p !== 'ephemeral') return ranges.some(([a, b]) => p >= a && p <= b);
  if (ranges.some(([a, b]) => a <= EPHEMERAL[0] && b >= EPHEMERAL[1])) return true;
  if (ranges.every(([a, b]) => b < EPHEMERAL[0] || a > EPHEMERAL[1])) return false;
  return undefined;
}

const ranges = (text: string): [number, number][] =>
  text.split(',').map((r) => {
    const [a, b] = r.split(':');
    return [Number(a), Number(b ?? a)];
  });

function ifaceMatch(sel: { neg: boolean; name: string }, iface: 'lo' | 'other' | null): Tri {
  if (iface === null) return undefined;
  const name = sel.name;
  let v: Tri;
  if (name.endsWith('+')) v = 'lo'.startsWith(name.slice(0, -1)) ? (iface === 'lo' ? true : undefined) : iface === 'lo' ? false : undefined;
  else if (name === 'lo') v = iface === 'lo';
  else v = iface === 'lo' ? false : undefined;
  return flip(v, sel.neg);
}

function addrMatch(sel: { neg: boolean; cidr: string }, ip: string | undefined, version: IpVersion): Tri {
  if (ip === undefined) return undefined;
  const c = parseCidr(sel.cidr, version);
  if (!c) return undefined;
  return flip(cidrContains(c, ip), sel.neg);
}

function matchModule(m: Match, p: Packet): Tri {
  let v: Tri = true;
  const each = (fn: (o: Opt) => Tri): Tri => {
    for (const o of m.opts) v = and(v, flip(fn(o), o.neg));
    return v;
  };
  switch (m.module) {
    case 'tcp':
      return each((o) => {
        if (o.name === '--dport') return portIn(p.dport, ranges(o.values[0] as string));
        if (o.name === '--sport') return portIn(p.sport, ranges(o.values[0] as string));
        if (o.name === '--tcp-flags') {
          const mask = o.values[0] === 'NONE' ? [] : (o.values[0] as string).split(',');
          const comp = o.values[1] === 'NONE' ? [] : (o.values[1] as string).split(',');
          return mask.every((f) => p.flags.includes(f) === comp.includes(f));
        }
        return undefined;
      });
    case 'udp':
    case 'udplite':
    case 'sctp':
    case 'icmp':
    case 'icmp6':
      return false;
    case 'multiport':
      return each((o) => {
        const r = ranges(o.values[0] as string);
        if (o.name === '--dports') return portIn(p.dport, r);
        if (o.name === '--sports') return portIn(p.sport, r);
        if (o.name === '--ports') {
          const d = portIn(p.dport, r);
          const s = portIn(p.sport, r);
          return d === true || s === true ? true : d === false && s === false ? false : undefined;
        }
        return undefined;
      });
    case 'conntrack':
    case 'state':
      return each((o) => {
        if (o.name !== '--ctstate' && o.name !== '--state') return undefined;
        if (p.state === null) return undefined;
        return (o.values[0] as string).split(',').includes(p.state);
      });
    case 'limit':
    case 'comment':
      return true;
    case 'recent': {
      const action = m.opts.find((o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.name));
      if (action?.name === '--set') return flip(true, action.neg);
      const hit = Number(m.opts.find((o) => o.name === '--hitcount')?.values[0] ?? 0);
      // a single reconnect does not reach a hit count of 2 or more
      if ((action?.name === '--rcheck' || action?.name === '--update') && hit >= 2) return flip(false, action.neg);
      return undefined;
    }
    case 'addrtype':
      return each((o) => {
        if (o.name === '--dst-type' && o.values[0] === 'LOCAL' && p.inIface !== null) return true;
        return undefined;
      });
    case 'pkttype':
      return each((o) => (o.name === '--pkt-type' ? (o.values[0] as string).toLowerCase() === 'unicast' : undefined));
    default:
      return undefined;
  }
}

/** Tri-state: does this rule match the packet (undefined: cannot tell)? */
export function ruleMatches(r: Rule, p: Packet): Tri {
  let v: Tri = true;
  if (r.proto) v = and(v, flip(r.proto.name === 'tcp', r.proto.neg));
  if (r.src) v = and(v, addrMatch(r.src, p.src, p.version));
  if (r.dst) v = and(v, addrMatch(r.dst, p.dst, p.version));
  if (r.inIface) v = and(v, ifaceMatch(r.inIface, p.inIface));
  if (r.outIface) v = and(v, ifaceMatch(r.outIface, p.outIface));
  if (r.fragment) v = and(v, flip(false, r.fragment.neg));
  for (const m of r.matches) {
    if (v === false) return false;
    v = and(v, matchModule(m, p));
  }
  return v;
}

/** Targets that log or mark and let the packet continue. */
const CONTINUE_TARGETS = new Set(['LOG', 'NFLOG', 'ULOG', 'MARK', 'CONNMARK', 'CLASSIFY', 'TRACE', 'AUDIT', 'CT', 'NOTRACK', 'TCPMSS', 'DSCP', 'TOS', 'TTL', 'HL', 'SECMARK', 'CONNSECMARK', 'SET', 'IDLETIMER', 'LED', 'CHECKSUM', 'TEE']);

type Outcome = { kind: 'verdict'; v: Verdict } | { kind: 'return' };

/**
 * Walk `chain` of `table` for packet `p` like the kernel does: first matching
 * rule decides; jumps to user chains, RETURN, goto; built-in policy at the end.
 * Conservative where a match cannot be evaluated: an ACCEPT rule with an
 * unknown match does not count, a DROP/REJECT rule with one does.
 */
export function simulate(table: TableModel, chain: string, p: Packet): Verdict {
  const parsed = new Map<string, Rule | null>();
  const parse = (spec: string): Rule | null => {
    if (!parsed.has(spec)) {
      try {
        parsed.set(spec, parseRule(spec, p.version));
      } catch {
        parsed.set(spec, null);
      }
    }
    return parsed.get(spec) as Rule | null;
  };
  const exists = (name: string) => table.chains.some((c) => c.name === name);
  const walk = (name: string, depth: number): Outcome => {
    if (depth > 32) return { kind: 'verdict', v: { verdict: 'drop', rule: `(jump loop through ${name})` } };
    for (const spec of table.rules.get(name) ?? []) {
      const text = `-A ${name} ${spec}`.trim();
      const r = parse(spec);
      // a rule we cannot parse: it may drop us
      if (!r) return { kind: 'verdict', v: { verdict: 'drop', rule: text } };
      const m = ruleMatches(r, p);
      if (m === false || !r.target) continue;
      const t = r.target.name;
      if (t === 'ACCEPT') {
        if (m === true) return { kind: 'verdict', v: { verdict: 'accept', rule: text } };
        continue;
      }
      if (t === 'DROP' || t === 'REJECT') return { kind: 'verdict', v: { verdict: 'drop', rule: text } };
      if (t === 'RETURN') {
        if (m === true) return { kind: 'return' };
        continue;
      }
      if (CONTINUE_TARGETS.has(t)) continue;
      if (exists(t)) {
        const sub = walk(t, depth + 1);
        if (sub.kind === 'verdict') {
          if (sub.v.verdict === 'drop' || m === true) return sub;
          continue; // uncertain jump into an accepting chain: do not count it
        }
        if (r.target.goto && m === true) return { kind: 'return' };
        continue;
      }
      // unknown terminal target (TARPIT, a chain that does not exist...): assume the worst
      return { kind: 'verdict', v: { verdict: 'drop', rule: text } };
    }
    return { kind: 'return' };
  };
  const out = walk(chain, 0);
  if (out.kind === 'verdict') return out.v;
  const policy = table.chains.find((c) => c.name === chain)?.policy ?? 'ACCEPT';
  return { verdict: policy === 'DROP' ? 'drop' : 'accept', policyOf: chain };
}

/** The chains our SSH traffic crosses in a table, with the packet each one sees. */
export function sshPaths(tableName: string, a: { clientIp: string; serverIp?: string; serverPort: number; version: IpVersion }): [string, Packet][] {
  const base = { version: a.version };
  const inbound: Packet = { ...base, src: a.clientIp, ...(a.serverIp ? { dst: a.serverIp } : {}), sport: 'ephemeral', dport: a.serverPort, inIface: 'other', outIface: null, state: 'NEW', flags: ['SYN'] };
  const replyPkt: Packet = { ...base, ...(a.serverIp ? { src: a.serverIp } : {}), dst: a.clientIp, sport: a.serverPort, dport: 'ephemeral', inIface: null, outIface: 'other', state: 'ESTABLISHED', flags: ['SYN', 'ACK'] };
  switch (tableName) {
    case 'filter':
    case 'security':
      return [['INPUT', inbound], ['OUTPUT', replyPkt]];
    case 'mangle':
      return [['PREROUTING', inbound], ['INPUT', inbound], ['OUTPUT', replyPkt], ['POSTROUTING', replyPkt]];
    case 'raw':
      return [['PREROUTING', { ...inbound, state: null }], ['OUTPUT', { ...replyPkt, state: null }]];
    default:
      return []; // nat cannot drop
  }
}
