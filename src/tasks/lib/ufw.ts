/**
 * Pure ufw rule handling for the `ufw` task: the rule a task asks for in the
 * form ufw stores it (its `### tuple ###` line, see facts/ufw.ts), whether the
 * host has it, the `ufw` command words that add or delete it, and what a new
 * SSH connection of ours meets once ufw runs with a given ruleset.
 *
 * ufw evaluates a new incoming connection through ufw-before-input (loopback,
 * established, ICMP, DHCP: never a new TCP connection to sshd), then the user
 * rules of its address family in order (first match wins; `limit` accepts
 * below its rate), then the default incoming policy.
 */
import { quote } from '../../contract/quote.js';
import type { UfwPolicy, UfwRule, UfwState } from '../../facts/ufw.js';
import { addressMatches, all, portMatches, tcpMatches, type SshConn, type Tri } from './firewall-access.js';
import { ipVersionOf } from './iptables.js';

export type Family = 'v4' | 'v6';

/** The families a rule lives in: those of its addresses, or both (v6 only when ufw has IPV6=yes). */
export function familiesOf(r: UfwRule, ipv6: boolean): Family[] {
  const v = [r.src, r.dst].map((a) => (a === 'any' ? undefined : ipVersionOf(a.replace(/\/.*$/, '')))).find((x) => x !== undefined);
  if (v === 4) return ['v4'];
  if (v === 6) return ['v6'];
  return ipv6 ? ['v4', 'v6'] : ['v4'];
}

/**
 * The host's rule is the wanted one: same action, addresses, ports, direction
 * and interface; an application rule by its profile name (ufw fills in the
 * profile's ports); the comment only when the task gives one.
 */
export function sameRule(have: UfwRule, want: UfwRule): boolean {
  const app = want.dapp !== '' || want.sapp !== '';
  return (
    have.action === want.action &&
    have.direction === want.direction &&
    have.iface === want.iface &&
    have.src === want.src &&
    have.dst === want.dst &&
    have.dapp === want.dapp &&
    have.sapp === want.sapp &&
    (app || (have.proto === want.proto && have.dport === want.dport && have.sport === want.sport)) &&
    (want.comment === '' || have.comment === want.comment)
  );
}

/** Where the rule is: in every family it lives in (present), in none (absent), or partly. */
export function presence(state: UfwState, want: UfwRule): 'present' | 'absent' | 'partial' {
  const fams = familiesOf(want, state.ipv6);
  const hits = fams.filter((f) => state.rules[f].some((r) => sameRule(r, want)));
  return hits.length === fams.length ? 'present' : hits.length === 0 ? 'absent' : 'partial';
}

/** The rules with `want` appended (where missing) or removed, per family. */
export function withRule(state: UfwState, want: UfwRule, remove: boolean): UfwState['rules'] {
  const fams = familiesOf(want, state.ipv6);
  const next = (f: Family): readonly UfwRule[] => {
    const list = state.rules[f];
    if (!fams.includes(f)) return list;
    if (remove) return list.filter((r) => !sameRule(r, want));
    return list.some((r) => sameRule(r, want)) ? list : [...list, want];
  };
  return { v4: next('v4'), v6: next('v6') };
}

/** The words after `ufw` for the rule: `allow in on eth0 from any port 53 to 10.0.0.1 port 22 proto tcp comment 'x'`. */
export function ruleWords(r: UfwRule): string {
  const w: string[] = [r.action, r.direction];
  if (r.iface) w.push('on', quote(r.iface));
  w.push('from', quote(r.src));
  if (r.sport !== 'any') w.push('port', quote(r.sport));
  w.push('to', quote(r.dst));
  if (r.dapp) w.push('app', quote(r.dapp));
  else {
    if (r.dport !== 'any') w.push('port', quote(r.dport));
    if (r.proto !== 'any') w.push('proto', quote(r.proto));
  }
  if (r.comment) w.push('comment', quote(r.comment));
  return w.join(' ');
}

/** Does the rule match our SSH connection? An application rule by its profile's ports (maybe when the profile is unknown). */
function ruleMatchesSsh(r: UfwRule, conn: SshConn, apps: UfwState['apps']): Tri {
  if (r.direction !== 'in') return 'no';
  let port: Tri;
  if (r.dapp) {
    const specs = apps[r.dapp];
    port = !specs
      ? 'maybe'
      : specs.some((s) => {
            const [ports = '', proto = 'any'] = s.split('/');
            return tcpMatches(proto) === 'yes' && portMatches(ports, conn.serverPort) === 'yes';
          })
        ? 'yes'
        : 'no';
  } else port = all(tcpMatches(r.proto), portMatches(r.dport, conn.serverPort));
  return all(
    port,
    addressMatches(r.src, conn.clientIp),
    addressMatches(r.dst, conn.serverIp),
    r.sport === 'any' ? 'yes' : 'maybe',
    r.iface === '' ? 'yes' : 'maybe',
  );
}

/** One line for a rule in a message: `deny in from 10.0.0.0/8 to any port 22 proto tcp`. */
export const ruleText = (r: UfwRule): string => ruleWords({ ...r, comment: '' }).replace(/'/g, '');

/** Why a new SSH connection would be cut with ufw active, these rules and this default incoming policy; undefined when it gets in. */
export function ufwBlocksSsh(rules: UfwState['rules'], incoming: UfwPolicy, apps: UfwState['apps'], conn: SshConn): string | undefined {
  const family: Family = ipVersionOf(conn.clientIp) === 6 ? 'v6' : 'v4';
  const what = `a new SSH connection (tcp/${conn.serverPort} from ${conn.clientIp})`;
  for (const r of rules[family]) {
    const m = ruleMatchesSsh(r, conn, apps);
    if (m === 'no') continue;
    if (r.action === 'allow' || r.action === 'limit') {
      if (m === 'yes') return undefined;
      continue; // an allow that may not apply proves nothing
    }
    return `ufw rule "${ruleText(r)}" ${m === 'yes' ? 'blocks' : 'may block'} ${what}`;
  }
  if (incoming === 'allow') return undefined;
  return `ufw default ${incoming} (incoming) and no ufw rule allows ${what}`;
}
