/**
 * Owned chains: the table model the planner works on, the diff of the
 * chains a task owns against the host's, and the one
 * `iptables-restore --noflush` transaction that applies it (per changed
 * chain: policy, flush, rules; nothing else is flushed).
 */
import type { IptablesTable } from '../../../facts/iptables.js';
import type { IpVersion } from './addresses.js';
import { parseRule, ruleKey } from './rules.js';

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

/** The model of a table as the iptables_save fact read it. */
export function tableModel(t: IptablesTable): TableModel {
  const rules = new Map<string, string[]>();
  for (const c of t.chains) rules.set(c.name, []);
  for (const r of t.rules) {
    if (!rules.has(r.chain)) rules.set(r.chain, []);
    rules.get(r.chain)!.push(r.spec);
  }
  return { name: t.name, chains: t.chains, rules };
}

/** `:CHAIN POLICY` and `-A CHAIN rule` lines of some chains of a table (for a diff). */
export function chainLines(m: TableModel, chains: readonly string[]): string {
  const out: string[] = [];
  for (const name of chains) {
    const c = m.chains.find((x) => x.name === name);
    if (!c) continue;
    out.push(`:${name} ${c.policy ?? '-'}`);
    for (const spec of m.rules.get(name) ?? []) out.push(`-A ${name} ${spec}`.trimEnd());
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** Built-in chains in their order, then user chains by name: how iptables-save lists them. */
export function sortChains<T extends { name: string }>(chains: T[], builtins: readonly string[]): T[] {
  const b = builtins.map((n) => chains.find((c) => c.name === n)).filter((c): c is T => c !== undefined);
  const user = chains.filter((c) => !builtins.includes(c.name)).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return [...b, ...user];
}

/** The chains a task owns in one table: exactly these rules (and policy, for built-ins). */
export interface OwnedChains {
  readonly table: string;
  readonly version: IpVersion;
  readonly chains: Readonly<Record<string, { readonly policy?: string; readonly rules: readonly string[] }>>;
  /** Keep rules that jump to existing chains the task does not own (fail2ban, Docker), at the top. */
  readonly keepForeignJumps: boolean;
  /** Built-in chains of the table (they have a policy). */
  readonly builtins: readonly string[];
  /** Chains of a firewall manager the task takes over (ufw's): jumps to them are not kept. */
  readonly released?: (chain: string) => boolean;
}

export interface ChainsDiff {
  readonly next: TableModel;
  /** iptables-restore --noflush input; empty when nothing changes. */
  readonly script: string;
  /** The owned chains that change. */
  readonly changed: readonly string[];
}

/** Rules of `name` that jump to a chain that exists and that the task does not own, and are not wanted anyway. */
function foreignJumps(current: TableModel, name: string, o: OwnedChains, desiredKeys: ReadonlySet<string>): string[] {
  if (!o.keepForeignJumps) return [];
  const owned = Object.keys(o.chains);
  return (current.rules.get(name) ?? []).filter((s) => {
    let r;
    try {
      r = parseRule(s, o.version);
    } catch {
      return false;
    }
    const t = r.target?.name;
    return t !== undefined && current.chains.some((c) => c.name === t) && !owned.includes(t) && !o.released?.(t) && !desiredKeys.has(r.key);
  });
}

/** Pure: the table once the owned chains are as wanted, and the restore transaction that gets it there. */
export function diffOwnedChains(current: TableModel, o: OwnedChains): ChainsDiff {
  const v = o.version;
  const exists = (name: string) => current.chains.some((c) => c.name === name);
  const rulesNext = new Map<string, string[]>([...current.rules].map(([k, r]) => [k, [...r]]));
  const chainsNext = current.chains.map((c) => ({ ...c }));
  const changed: string[] = [];
  const heads: string[] = [];
  const body: string[] = [];
  for (const [name, spec] of Object.entries(o.chains)) {
    const builtin = o.builtins.includes(name);
    const desired = spec.rules.map((r) => parseRule(r, v));
    const have = current.rules.get(name) ?? [];
    const final = [...foreignJumps(current, name, o, new Set(desired.map((r) => r.key))), ...desired.map((r) => r.text)];
    const policyNow = current.chains.find((c) => c.name === name)?.policy;
    const policy = builtin ? (spec.policy ?? policyNow ?? 'ACCEPT') : null;
    const same =
      exists(name) &&
      policy === (builtin ? policyNow : null) &&
      have.length === final.length &&
      have.every((s, i) => ruleKey(s, v) === ruleKey(final[i] as string, v));
    if (!exists(name)) chainsNext.push({ name, policy });
    else chainsNext.find((c) => c.name === name)!.policy = policy;
    rulesNext.set(name, final);
    if (same) continue;
    changed.push(name);
    heads.push(`:${name} ${builtin ? policy : '-'} [0:0]`);
    body.push(`-F ${name}`, ...final.map((r) => `-A ${name} ${r}`));
  }
  return {
    next: { name: o.table, chains: sortChains(chainsNext, o.builtins), rules: rulesNext },
    script: changed.length ? `${[`*${o.table}`, ...heads, ...body, 'COMMIT'].join('\n')}\n` : '',
    changed,
  };
}
