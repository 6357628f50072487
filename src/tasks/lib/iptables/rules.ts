/**
 * One rule (iptables-save syntax, without `-A CHAIN`) parsed and
 * canonicalised the way `iptables-save` prints it back (implicit `-m tcp`,
 * `/32` suffixes, conntrack state order, ICMP type numbers, LOG defaults
 * dropped, ...), and the key rules are compared by.
 */
import { TaskError } from '../../../contract/errors.js';
import { cidrToText, parseCidr, type IpVersion } from './addresses.js';
import { canonProto, flagList, icmpType, limitRate, LOG_LEVELS, portRange, rangeText, REJECT_ALIASES_4, REJECT_ALIASES_6, stateList } from './names.js';
import { saveString, tokenize } from './tokens.js';

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
