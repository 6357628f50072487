/**
 * The canonical form of a parsed rule's matches and target, as the iptables
 * extensions' save functions print them (option order, defaults dropped,
 * aliases resolved), and the rule rendered back to iptables-save text.
 */
import { fail, saveString } from './tokens.js';
import { flagList, icmpType, limitRate, LOG_LEVELS, portRange, rangeText, REJECT_ALIASES_4, REJECT_ALIASES_6, stateList } from './names.js';
import type { Match, Opt, Rule } from './rules.js';

/** Options whose canonical order inside their match is fixed by the extension's save function. */
const SAVE_ORDER: Record<string, readonly string[]> = {
  tcp: ['--sport', '--dport', '--tcp-option', '--tcp-flags'],
  udp: ['--sport', '--dport'],
  udplite: ['--sport', '--dport'],
  limit: ['--limit', '--limit-burst'],
  recent: ['--set', '--rcheck', '--update', '--remove', '--seconds', '--reap', '--hitcount', '--rttl', '--name', '--mask', '--rsource', '--rdest'],
};
const LOG_ORDER = ['--log-prefix', '--log-level', '--log-tcp-sequence', '--log-tcp-options', '--log-ip-options', '--log-uid', '--log-macdecode'];

/** A match's options in canonical form and order (mutates `m.opts`). */
export function canonMatch(m: Match, spec: string, v6: boolean): void {
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

/** LOG and REJECT options in canonical form (mutates `t.opts`). */
export function canonTarget(t: { name: string; opts: Opt[] }, spec: string, v6: boolean, proto: string | undefined): void {
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

/** The rule as iptables-save prints it (without `-A CHAIN`). */
export function render(r: Omit<Rule, 'text' | 'key'>): string {
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
