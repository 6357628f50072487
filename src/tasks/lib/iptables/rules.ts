/**
 * One rule (iptables-save syntax, without `-A CHAIN`) parsed and
 * canonicalised the way `iptables-save` prints it back (implicit `-m tcp`,
 * `/32` suffixes, conntrack state order, ICMP type numbers, LOG defaults
 * dropped, ...), and the key rules are compared by.
 */
import { cidrToText, parseCidr, type IpVersion } from './addresses.js';
import { canonMatch, canonTarget, render } from './canon.js';
import { canonProto } from './names.js';
import { fail, tokenize } from './tokens.js';

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

/** A rule's parts while its tokens are read. */
interface Parsing {
  readonly spec: string;
  readonly tokens: readonly string[];
  readonly version: IpVersion;
  /** Index of the token being read. */
  i: number;
  src: Rule['src'];
  dst: Rule['dst'];
  inIface: Rule['inIface'];
  outIface: Rule['outIface'];
  proto: Rule['proto'];
  fragment: Rule['fragment'];
  readonly matches: Match[];
  target: { goto: boolean; name: string; opts: Opt[] } | null;
  /** The explicit match (`-m x`) whose options are being read. */
  current: Match | undefined;
}

/** The next token, the value of option `what`. */
function take(p: Parsing, what: string): string {
  const v = p.tokens[++p.i];
  if (v === undefined) fail(p.spec, `${what} needs a value`);
  return v;
}

/** Values of an option: its arity if known, else one value when a non-option word follows. */
function optValues(p: Parsing, name: string, spec: OptSpec | undefined): string[] {
  const next = p.tokens[p.i + 1];
  const arity = spec ? spec.arity : next !== undefined && !next.startsWith('-') ? 1 : 0;
  const values: string[] = [];
  for (let k = 0; k < arity; k++) values.push(take(p, name));
  return values;
}

/** An option after `-j TARGET`. */
function targetOption(p: Parsing, t: string, neg: boolean): void {
  const target = p.target as NonNullable<Parsing['target']>;
  const known = KNOWN_TARGET_OPTS[target.name];
  const optSpec = known?.[t];
  if (known && !optSpec) fail(p.spec, `unknown option ${t} for target ${target.name}`);
  target.opts.push({ neg, name: optSpec?.canon ?? t, values: optValues(p, t, optSpec) });
}

/** Base selectors, `-m`, `-j`/`-g`; false when `t` is none of them (a match option). */
function baseOption(p: Parsing, t: string, neg: boolean): boolean {
  const spec = p.spec;
  switch (t) {
    case '-s':
    case '-d': {
      const value = take(p, t);
      if (value.includes(',')) fail(spec, `${t} with a comma list expands to several rules: write one rule per address`);
      const c = parseCidr(value, p.version);
      if (!c) fail(spec, `${t} ${value} is not an IPv${p.version} address or network (host names are not resolved)`);
      const sel = { neg, cidr: cidrToText(c) };
      if (t === '-s') p.src = sel;
      else p.dst = sel;
      p.current = undefined;
      return true;
    }
    case '-i':
    case '-o': {
      const sel = { neg, name: take(p, t) };
      if (t === '-i') p.inIface = sel;
      else p.outIface = sel;
      p.current = undefined;
      return true;
    }
    case '-p':
      p.proto = { neg, name: canonProto(take(p, t)) };
      p.current = undefined;
      return true;
    case '-f':
      p.fragment = { neg };
      p.current = undefined;
      return true;
    case '-m': {
      if (neg) fail(spec, '! before -m');
      let module = take(p, t).toLowerCase();
      if (module === 'ipv6-icmp' || module === 'icmpv6') module = 'icmp6';
      // nf_tables (Debian 12+) merges `-m tcp --dport 22 -m tcp --sport 1` into one match, legacy does not: refuse the ambiguity
      if (isKnownMatch(module) && module !== 'recent' && module !== 'comment' && p.matches.some((m) => m.module === module)) fail(spec, `-m ${module} twice: put its options into one -m ${module}`);
      p.current = { module, opts: [] };
      p.matches.push(p.current);
      return true;
    }
    case '-j':
    case '-g': {
      if (neg) fail(spec, `! before ${t}`);
      if (p.target) fail(spec, 'more than one target');
      p.target = { goto: t === '-g', name: take(p, t), opts: [] };
      p.current = undefined;
      return true;
    }
    case '-A':
    case '-I':
    case '-D':
    case '-N':
    case '-F':
    case '-P':
      fail(spec, `write the rule without ${t} CHAIN (the chain is the key under chains:)`);
  }
  return false;
}

/** A match option: of the current explicit match, or of the protocol's implicit match. */
function matchOption(p: Parsing, t: string, neg: boolean): void {
  const spec = p.spec;
  if (!t.startsWith('--')) fail(spec, `unexpected ${JSON.stringify(t)}`);
  const current = p.current;
  const implicit = implicitModule(p.proto?.name, p.version === 6);
  const implicitOpt = implicit !== undefined && KNOWN_MATCH_OPTS[implicit]?.[t] !== undefined;
  let owner: Match | undefined;
  if (current && isKnownMatch(current.module) && KNOWN_MATCH_OPTS[current.module]?.[t]) owner = current;
  else if (current && !isKnownMatch(current.module) && !implicitOpt) owner = current;
  else if (implicitOpt) {
    owner = p.matches.find((m) => m.module === implicit);
    if (!owner) {
      owner = { module: implicit as string, opts: [], implicit: true };
      p.matches.push(owner);
    }
  } else if (current) fail(spec, `unknown option ${t} for -m ${current.module}`);
  else fail(spec, `option ${t} outside of a match (missing -m or -p?)`);
  const o = owner as Match;
  const optSpec = KNOWN_MATCH_OPTS[o.module]?.[t];
  const values = optValues(p, t, optSpec);
  // unknown matches may take several words (`--match-set name src`)
  if (!optSpec) while (p.tokens[p.i + 1] !== undefined && !p.tokens[p.i + 1]!.startsWith('-') && p.tokens[p.i + 1] !== '!') values.push(p.tokens[++p.i] as string);
  o.opts.push({ neg, name: optSpec?.canon ?? t, values });
  if (!o.implicit) p.current = o;
}

/**
 * Parse and canonicalise one rule (iptables-save syntax, without `-A CHAIN`).
 * Throws TaskError on what iptables would refuse or what cannot be compared
 * reliably (host names, comma lists of addresses, single quotes).
 */
export function parseRule(spec: string, version: IpVersion): Rule {
  // one rule is one line of the restore script: a newline would smuggle in another command (-F, COMMIT...)
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(spec)) fail(spec, 'control characters (newlines) are not allowed in a rule');
  const p: Parsing = { spec, tokens: tokenize(spec), version, i: 0, src: null, dst: null, inIface: null, outIface: null, proto: null, fragment: null, matches: [], target: null, current: undefined };
  let neg = false;
  for (p.i = 0; p.i < p.tokens.length; p.i++) {
    let t = p.tokens[p.i] as string;
    if (t === '!') {
      if (neg) fail(spec, 'double negation');
      neg = true;
      continue;
    }
    t = BASE_ALIASES[t] ?? t;
    const n = neg;
    neg = false;
    if (p.target && t.startsWith('-') && !['-s', '-d', '-i', '-o', '-p', '-f', '-m'].includes(t)) targetOption(p, t, n);
    else if (!baseOption(p, t, n)) matchOption(p, t, n);
  }
  if (neg) fail(spec, 'dangling !');
  const v6 = version === 6;
  const proto = p.proto && p.proto.name === 'all' && !p.proto.neg ? null : p.proto;
  const src = p.src && !p.src.neg && p.src.cidr.endsWith('/0') ? null : p.src;
  const dst = p.dst && !p.dst.neg && p.dst.cidr.endsWith('/0') ? null : p.dst;
  for (const m of p.matches) canonMatch(m, spec, v6);
  if (p.target) canonTarget(p.target, spec, v6, proto?.name);
  const rule = { src, dst, inIface: p.inIface, outIface: p.outIface, proto, fragment: p.fragment, matches: p.matches, target: p.target };
  const text = render(rule);
  return { ...rule, text, key: text };
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
