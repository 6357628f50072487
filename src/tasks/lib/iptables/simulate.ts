/**
 * Lockout simulation: walk a packet of our SSH connection through a chain of
 * the planned table, the way the kernel would, conservatively where a match
 * cannot be evaluated.
 */
import { cidrContains, parseCidr, type IpVersion } from './addresses.js';
import type { TableModel } from './restore.js';
import { parseRule, type Match, type Opt, type Rule } from './rules.js';

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
  /** redirect: a nat rule sends the connection elsewhere (REDIRECT, DNAT). */
  readonly verdict: 'accept' | 'drop' | 'redirect';
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

/** nat targets that send a matching connection somewhere else. */
const REDIRECT_TARGETS = new Set(['REDIRECT', 'DNAT', 'TPROXY', 'NETMAP']);

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
      // nat: our connection would go to another port or address (counted when it may match, too)
      if (REDIRECT_TARGETS.has(t)) return { kind: 'verdict', v: { verdict: 'redirect', rule: text } };
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
    case 'nat':
      // only a new connection's first packet crosses nat: a redirect there sends it away from sshd
      return [['PREROUTING', inbound]];
    default:
      return [];
  }
}

export interface SshAccess {
  clientIp: string;
  serverIp?: string;
  serverPort: number;
  version: IpVersion;
}

/**
 * Why the ruleset would stop a new SSH connection like ours (or its replies),
 * naming the deciding rule or policy; undefined when every table lets it
 * through. Tables are walked in the order given.
 */
export function sshBlocked(tables: readonly TableModel[], a: SshAccess): string | undefined {
  for (const table of tables) {
    for (const [chain, packet] of sshPaths(table.name, a)) {
      const res = simulate(table, chain, packet);
      if (res.verdict === 'accept') continue;
      const reply = chain === 'OUTPUT' || chain === 'POSTROUTING';
      const what = reply ? `our SSH replies (tcp from port ${a.serverPort} to ${a.clientIp})` : `a new SSH connection (tcp/${a.serverPort} from ${a.clientIp})`;
      const does = res.verdict === 'redirect' ? 'redirect' : 'drop';
      if (res.rule) return `${table.name} rule \`${res.rule}\` would ${does} ${what}`;
      return `${table.name} policy DROP of ${chain} and no rule accepts ${what}`;
    }
  }
  return undefined;
}
