/**
 * Tables of names iptables resolves or prints in its own way: protocols,
 * service ports, ICMP/ICMPv6 types, conntrack states, TCP flags, --limit
 * rates, log levels and REJECT aliases, with the canonical form of each.
 */
import { fail } from './tokens.js';

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

export function canonProto(p: string): string {
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
  if (s === undefined) fail(rule, `unknown port ${JSON.stringify(text)} (write the number)`);
  return s;
}

/** `22`, `1000:2000`, `:1023`, `1024:` -> [min, max]. */
export function portRange(text: string, rule: string): [number, number] {
  const i = text.indexOf(':');
  if (i < 0) {
    const p = port(text, rule);
    return [p, p];
  }
  const a = text.slice(0, i);
  const b = text.slice(i + 1);
  return [a === '' ? 0 : port(a, rule), b === '' ? 65535 : port(b, rule)];
}

export const rangeText = ([a, b]: [number, number]): string => (a === b ? String(a) : `${a}:${b}`);

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

export function icmpType(text: string, v6: boolean, rule: string): string {
  const table = v6 ? ICMP6_TYPES : ICMP_TYPES;
  const named = table[text] ?? table[text.toLowerCase()];
  if (named) return named;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) fail(rule, `unknown ${v6 ? 'ICMPv6' : 'ICMP'} type ${JSON.stringify(text)}`);
  return m[2] === undefined ? String(Number(m[1])) : `${Number(m[1])}/${Number(m[2])}`;
}

const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

export function stateList(text: string, rule: string): string {
  const want = new Set(text.toUpperCase().split(','));
  for (const s of want) if (!CT_STATES.includes(s)) fail(rule, `unknown conntrack state ${s}`);
  return CT_STATES.filter((s) => want.has(s)).join(',');
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

export function flagList(text: string, rule: string): string {
  const u = text.toUpperCase();
  if (u === 'ALL') return TCP_FLAGS.join(',');
  if (u === 'NONE') return 'NONE';
  const want = new Set(u.split(','));
  for (const f of want) if (!TCP_FLAGS.includes(f)) fail(rule, `unknown TCP flag ${f}`);
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

export function limitRate(text: string, rule: string): string {
  const m = /^(\d+)(?:\/(\w+))?$/.exec(text);
  const unit = (m?.[2] ?? 'sec').toLowerCase();
  const mult = unit.startsWith('d') ? RATE_UNITS[0]![1] : unit.startsWith('h') ? RATE_UNITS[1]![1] : unit.startsWith('m') ? RATE_UNITS[2]![1] : unit.startsWith('s') ? RATE_UNITS[3]![1] : 0;
  const r = Number(m?.[1]);
  if (!m || !mult || !(r > 0)) fail(rule, `bad --limit ${JSON.stringify(text)}`);
  const period = Math.floor(mult / r);
  let i = 1;
  for (; i < RATE_UNITS.length; i++) {
    const um = RATE_UNITS[i]![1];
    if (period > um || Math.floor(um / period) < um % period) break;
  }
  const [name, um] = RATE_UNITS[i - 1]!;
  return `${Math.floor(um / period)}/${name}`;
}

export const LOG_LEVELS: Record<string, number> = { emerg: 0, panic: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };

export const REJECT_ALIASES_4: Record<string, string> = {
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
export const REJECT_ALIASES_6: Record<string, string> = {
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
