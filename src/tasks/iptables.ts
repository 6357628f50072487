/**
 * `iptables`: the rules of whole chains (or one rule) of one table, for IPv4
 * or IPv6 (one task per family: `ip_version: 4|6`).
 *
 * Chains mode (`chains:`): the task OWNS the listed chains. Each owned chain
 * ends up with exactly the given rules (and policy, for built-ins). Rules are
 * written in iptables-save syntax without `-A CHAIN` and compared in the form
 * iptables-save prints them (lib/iptables.ts canonicalises: `-m tcp`, `/32`,
 * state order, ICMP numbers, ...), so a second run reports ok.
 *   - Chains not listed are never touched (DOCKER, f2b-sshd, ...).
 *   - Rules in an owned chain that jump to a chain this task does not own and
 *     that exists on the host (`-j f2b-sshd`, `-j DOCKER-USER`) are kept, at
 *     the top of the chain in their current order (where fail2ban and Docker
 *     insert them), unless `keep_foreign_jumps: false`. Docker's other rules in
 *     FORWARD (`-o docker0 -j ACCEPT`, ...) are not jumps: owning FORWARD
 *     removes them.
 *   - Applied in ONE `iptables-restore --noflush` transaction: per owned chain
 *     set the policy, flush, add the rules. Nothing else is flushed.
 *
 * Single-rule mode (`rule:` + `chain:`): ensure one rule is present (inserted
 * at `position`, 1-based, `before_last` or `append`) or absent (every copy).
 * An existing rule is ok wherever it is.
 *
 * Every change carries `risk: 'access'`; `lockout` simulates a NEW SSH
 * connection (and our replies) through the planned table and refuses rulesets
 * that would cut it.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type AccessInfo, type Diff, type Plan, type TaskContext } from '../contract/task.js';
import {
  BUILTIN_CHAINS,
  iptablesSave,
  renderSave,
  tableOf,
  tools,
  type IptablesSave,
  type IptablesTable,
} from '../facts/iptables.js';
import { chainLines, diffOwnedChains, ipVersionOf, parseRule, ruleKey, sshBlocked, tableModel, type IpVersion, type TableModel } from './lib/iptables.js';

const CHAIN_NAME = /^[A-Za-z0-9_.+-]{1,28}$/;

/** One rule: a newline would add lines of its own to the iptables-restore input. */
const ruleText = z
  .string()
  .min(1)
  .refine((r) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(r), { message: 'must be one line without control characters: a newline would inject iptables-restore lines' });

const chainSchema = z
  .object({
    policy: z.enum(['ACCEPT', 'DROP']).optional().describe('Policy of a built-in chain'),
    rules: z
      .preprocess(
        // an item may be a list (a template that renders to several rules): flattened in place
        (v) => (Array.isArray(v) ? v.flat(Number.POSITIVE_INFINITY) : v),
        z.array(ruleText),
      )
      .default([])
      .describe('Rules in iptables-save syntax without -A CHAIN, e.g. "-i lo -j ACCEPT"; an item that is a list is spliced in'),
  })
  .strict();

const argsSchema = z
  .object({
    ip_version: z.union([z.literal(4), z.literal(6)]).default(4).describe('4 (iptables) or 6 (ip6tables)'),
    table: z.enum(['filter', 'nat', 'mangle', 'raw', 'security']).default('filter'),
    chains: z
      .record(z.string().regex(CHAIN_NAME, 'chain names are 1-28 letters, digits, _ . + -'), chainSchema)
      .optional()
      .describe('Chains this task owns: exactly these rules, in this order'),
    keep_foreign_jumps: z
      .boolean()
      .default(true)
      .describe('Keep rules in owned chains that jump to chains this task does not own (fail2ban, Docker), at the top'),
    rule: ruleText.optional().describe('Single-rule mode: one rule in iptables-save syntax'),
    chain: z.string().regex(CHAIN_NAME).optional().describe('Single-rule mode: the chain'),
    position: z
      .union([z.number().int().min(1), z.enum(['before_last', 'append'])])
      .default('append')
      .describe('Single-rule mode: where to add a missing rule (1-based index, before_last, append)'),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict()
  .superRefine((a, c) => {
    if ((a.chains === undefined) === (a.rule === undefined)) c.addIssue({ code: 'custom', message: 'give exactly one of chains or rule' });
    if (a.rule !== undefined && a.chain === undefined) c.addIssue({ code: 'custom', path: ['chain'], message: 'rule needs chain' });
    if (a.chains !== undefined && a.chain !== undefined) c.addIssue({ code: 'custom', path: ['chain'], message: 'chain is for single-rule mode (rule:)' });
    if (a.chains) {
      const builtins = BUILTIN_CHAINS[a.table] ?? [];
      for (const [name, spec] of Object.entries(a.chains)) {
        if (spec.policy !== undefined && !builtins.includes(name)) {
          c.addIssue({ code: 'custom', path: ['chains', name, 'policy'], message: `only built-in chains of ${a.table} (${builtins.join(', ')}) have a policy` });
        }
      }
    }
  });

export type IptablesArgs = z.output<typeof argsSchema>;

const label = (a: IptablesArgs) => `${tools(a.ip_version).bin} ${a.table}`;

export interface TablePlan {
  readonly current: TableModel;
  readonly next: TableModel;
  /** iptables-restore --noflush input; empty when nothing changes. */
  readonly script: string;
  /** Chains shown in the diff. */
  readonly shown: readonly string[];
  readonly summary: string;
  readonly okReason: string;
}

/** Pure: compare the wanted chains/rule with the host's table and build the restore script. */
export function planTable(a: IptablesArgs, save: IptablesSave): TablePlan {
  const current = tableModel(tableOf(save, a.table));
  return a.chains ? planChains(a, a.chains, current) : planRule(a, current);
}

/** Chains mode: the owned chains exactly as listed. */
function planChains(a: IptablesArgs, chains: NonNullable<IptablesArgs['chains']>, current: TableModel): TablePlan {
  const v = a.ip_version as IpVersion;
  const owned = Object.keys(chains);
  const diff = diffOwnedChains(current, { table: a.table, version: v, chains, keepForeignJumps: a.keep_foreign_jumps, builtins: BUILTIN_CHAINS[a.table] ?? [] });
  // a rule jumping to a user chain that neither exists nor is owned would make the restore fail: say so now
  for (const [name, spec] of Object.entries(chains)) {
    for (const r of spec.rules) {
      const t = parseRule(r, v).target;
      if (t && /[a-z]/.test(t.name) && !current.chains.some((c) => c.name === t.name) && !owned.includes(t.name)) {
        throw new TaskError(`${label(a)} chain ${name}: rule ${JSON.stringify(r)} jumps to chain ${t.name}, which does not exist and is not in chains:`);
      }
    }
  }
  const changed = diff.changed;
  return {
    current,
    next: diff.next,
    script: diff.script,
    shown: changed,
    summary: `set ${label(a)} chain${changed.length > 1 ? 's' : ''} ${changed.join(', ')}`,
    okReason: `${label(a)}: chain${owned.length > 1 ? 's' : ''} ${owned.join(', ')} as wanted`,
  };
}

/** Single-rule mode: one rule present (inserted at `position`) or absent (every copy). */
function planRule(a: IptablesArgs, current: TableModel): TablePlan {
  const v = a.ip_version as IpVersion;
  const chain = a.chain as string;
  const r = parseRule(a.rule as string, v);
  const unchanged = (okReason: string): TablePlan => ({ current, next: current, script: '', shown: [], summary: '', okReason });
  if (!current.chains.some((c) => c.name === chain)) {
    if (a.state === 'absent') return unchanged(`${label(a)}: chain ${chain} does not exist, so the rule is absent`);
    throw new TaskError(`${label(a)}: chain ${chain} does not exist (create it with chains: { ${chain}: { rules: [...] } })`);
  }
  const have = current.rules.get(chain) ?? [];
  const hits = have.map((s, i) => (ruleKey(s, v) === r.key ? i : -1)).filter((i) => i >= 0);
  const withRules = (list: string[]): TableModel => ({ name: a.table, chains: current.chains, rules: new Map([...current.rules, [chain, list]]) });
  if (a.state === 'present') {
    if (hits.length) return unchanged(`${label(a)}: rule is in ${chain} (position ${(hits[0] as number) + 1})`);
    const n = have.length;
    const index = a.position === 'append' ? n : a.position === 'before_last' ? Math.max(0, n - 1) : Math.min(a.position - 1, n);
    const line = index >= n ? `-A ${chain} ${r.text}` : `-I ${chain} ${index + 1} ${r.text}`;
    return {
      current,
      next: withRules([...have.slice(0, index), r.text, ...have.slice(index)]),
      script: `*${a.table}\n${line}\nCOMMIT\n`,
      shown: [chain],
      summary: `add rule to ${label(a)} ${chain} at position ${index + 1}: ${r.text}`,
      okReason: '',
    };
  }
  if (!hits.length) return unchanged(`${label(a)}: rule is not in ${chain}`);
  return {
    current,
    next: withRules(have.filter((_, i) => !hits.includes(i))),
    // delete each copy by the host's own text of it
    script: `*${a.table}\n${hits.map((i) => `-D ${chain} ${have[i]}`).join('\n')}\nCOMMIT\n`,
    shown: [chain],
    summary: `remove rule from ${label(a)} ${chain}${hits.length > 1 ? ` (${hits.length} copies)` : ''}: ${r.text}`,
    okReason: '',
  };
}

/** The save fact as it will read once the plan is applied (other tables unchanged). */
export function predictSave(save: IptablesSave, next: TableModel): IptablesSave {
  const table: IptablesTable = {
    name: next.name,
    chains: next.chains,
    rules: next.chains.flatMap((c) => (next.rules.get(c.name) ?? []).map((spec) => ({ chain: c.name, spec }))),
  };
  const tables = { ...save.tables, [next.name]: table };
  const order = Object.keys(tables).sort();
  return { ...save, available: true, tables, raw: renderSave(order.map((n) => tables[n] as IptablesTable)) };
}

/** Why applying would cut a new SSH connection from `access`, or undefined. */
export function lockoutReason(a: IptablesArgs, next: TableModel, access: AccessInfo, serverIp: string | undefined): string | undefined {
  const version = ipVersionOf(access.clientIp);
  // our connection does not cross this family's rules
  if (version === undefined || version !== a.ip_version) return undefined;
  const server = serverIp && ipVersionOf(serverIp) === version ? serverIp : undefined;
  const why = sshBlocked([next], { clientIp: access.clientIp, ...(server ? { serverIp: server } : {}), serverPort: access.serverPort, version });
  return why ? `${label(a)}: ${why.replace(/^\w+ (rule|policy)/, '$1')}` : undefined;
}

function diffFor(a: IptablesArgs, p: TablePlan): Diff {
  return { label: `${label(a)}`, before: chainLines(p.current, p.shown), after: chainLines(p.next, p.shown) };
}

export const iptables = defineTask({
  name: 'iptables',
  description: 'Own whole iptables/ip6tables chains (policy + rules, one atomic iptables-restore) or ensure one rule; lockout pre-flight',
  example: "- name: IPv4 INPUT with default drop\n  iptables:\n    ip_version: 4\n    chains:\n      INPUT:\n        policy: DROP\n        rules:\n          - -i lo -j ACCEPT\n          - -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n          - -p tcp -m tcp --dport 2222 -m conntrack --ctstate NEW -j ACCEPT\n- name: Allow HTTPS before the final rule of a chain someone else owns\n  iptables: { chain: INPUT, rule: \"-p tcp -m tcp --dport 443 -j ACCEPT\", position: before_last }",
  schema: argsSchema,
  facts: (a) => ({ save: iptablesSave(a.ip_version as IpVersion) }),
  plan(a, f, ctx: TaskContext): Plan {
    const save = f.save;
    if (!save.available && !ctx.check) {
      throw new TaskError(`${tools(a.ip_version).save} is not installed on ${ctx.host.hostname || 'the host'}: install the iptables package first`);
    }
    const p = planTable(a, save);
    if (!p.script) return ok(p.okReason);
    const t = tools(a.ip_version);
    // iptables-nft warns when iptables-legacy tables exist too: their rules still filter and are not managed here
    const note = save.legacyTablesPresent ? ' (note: iptables-legacy tables are also present; they are not managed by this task)' : '';
    return change(p.summary + note, [{ command: `PATH="$PATH:/usr/sbin:/sbin" ${t.restore} --noflush`, stdin: p.script }], {
      diffs: [diffFor(a, p)],
      predictions: [{ request: iptablesSave(a.ip_version as IpVersion), value: predictSave(save, p.next) }],
      risk: 'access',
    });
  },
  lockout(a, f, access, ctx) {
    let p: TablePlan;
    try {
      p = planTable(a, f.save);
    } catch {
      return undefined; // the plan itself fails with a clearer message
    }
    if (!p.script) return undefined;
    return lockoutReason(a, p.next, access, ctx.host.ssh?.serverIp);
  },
});
