/**
 * `ufw` (community.general.ufw): ufw's state, default policies, logging, and
 * one rule per task. Rules are compared with what ufw stores (its tuples, per
 * address family), so a second run reports ok. In one task, as Ansible: a
 * reset first, then the rule, the default policy, the logging level, and last
 * enabling, disabling or reloading (ufw is enabled with its rules in place).
 *
 * Every change carries `risk: 'access'` (commit-confirmed; each step records
 * its undo for the rollback), and the lockout pre-flight refuses a change
 * after which ufw, active, would not let a new SSH connection of ours in
 * (its rules in order, then the default incoming policy).
 *
 * firewalld running: enabling ufw is refused, naming it (two managers would
 * rewrite each other's rules). Our `iptables` task refuses while ufw is
 * active unless `firewall_manager: iptables` (which disables ufw): a host's
 * firewall is managed by one of ufw, firewalld or iptables.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan, type Step, type TaskContext } from '../contract/task.js';
import { onRollback } from '../core/guard.js';
import { firewallManagers, type FirewallManagers } from '../facts/firewall-managers.js';
import { ufwState, type UfwDirection, type UfwPolicy, type UfwRule, type UfwState } from '../facts/ufw.js';
import { aliasedOptional } from './lib/args.js';
import { SERVICE_TIMEOUT_MS } from './lib/services.js';
import { normaliseAddress } from './lib/firewall-access.js';
import { presence, ruleWords, ufwBlocksSsh, withRule } from './lib/ufw.js';

const UNSUPPORTED: Record<string, string> = {
  insert: 'rules are appended in ufw order; to order them, give them in the order wanted',
  insert_relative_to: 'rules are appended in ufw order',
  log: 'per-rule logging is not supported; use logging: for ufw-wide logging',
  route: 'routed (forwarding) rules are not supported',
  interface_in: 'give interface: with direction: in',
  interface_out: 'give interface: with direction: out',
};

/** The arguments, aliases resolved. */
export interface UfwArgs {
  readonly state: 'enabled' | 'disabled' | 'reloaded' | 'reset' | undefined;
  readonly policy: UfwPolicy | undefined;
  readonly direction: 'in' | 'incoming' | 'out' | 'outgoing' | 'routed' | undefined;
  readonly logging: string | undefined;
  readonly rule: UfwRule['action'] | undefined;
  readonly fromIp: string | undefined;
  readonly fromPort: string | undefined;
  readonly toIp: string | undefined;
  readonly toPort: string | undefined;
  readonly proto: string | undefined;
  readonly app: string | undefined;
  readonly iface: string | undefined;
  readonly delete: boolean;
  readonly comment: string | undefined;
}

const word = z.string().min(1).regex(/^[^\s'"\\]+$/, 'one word without quotes or spaces');
const port = z.union([z.number().int().min(1).max(65535).transform(String), z.string().regex(/^\d+([:,]\d+)*$/, 'a port, a range 1000:2000 or a list 80,443')]);

const argsSchema = z
  .object({
    state: z.enum(['enabled', 'disabled', 'reloaded', 'reset']).optional().describe('enabled/disabled (ufw enable/disable); reloaded and reset always change'),
    default: z.enum(['allow', 'deny', 'reject']).optional().describe('Default policy for direction (default incoming)'),
    policy: z.enum(['allow', 'deny', 'reject']).optional().describe('Alias of default'),
    direction: z.enum(['in', 'incoming', 'out', 'outgoing', 'routed']).optional().describe('Of the default policy (incoming, outgoing, routed) or of the rule (in, out; default in)'),
    logging: z
      .union([z.boolean().transform((b) => (b ? 'on' : 'off')), z.enum(['on', 'off', 'low', 'medium', 'high', 'full'])])
      .optional()
      .describe('ufw logging level; on keeps the current level (low when off)'),
    rule: z.enum(['allow', 'deny', 'reject', 'limit']).optional().describe('Add (or with delete: remove) this rule'),
    from_ip: word.optional(),
    from: word.optional().describe('Alias of from_ip'),
    src: word.optional().describe('Alias of from_ip'),
    from_port: port.optional(),
    to_ip: word.optional(),
    to: word.optional().describe('Alias of to_ip'),
    dest: word.optional().describe('Alias of to_ip'),
    to_port: port.optional(),
    port: port.optional().describe('Alias of to_port'),
    proto: z.enum(['any', 'tcp', 'udp', 'ipv6', 'esp', 'ah', 'gre', 'igmp']).optional(),
    protocol: z.enum(['any', 'tcp', 'udp', 'ipv6', 'esp', 'ah', 'gre', 'igmp']).optional().describe('Alias of proto'),
    name: z.string().min(1).optional().describe('Application profile (ufw app list), e.g. OpenSSH'),
    app: z.string().min(1).optional().describe('Alias of name'),
    interface: word.optional().describe('Interface of the rule (in or out per direction)'),
    if: word.optional().describe('Alias of interface'),
    delete: z.boolean().default(false).describe('Remove the rule instead of adding it'),
    comment: z.string().min(1).optional().describe('Comment stored with the rule'),
    ...Object.fromEntries(Object.keys(UNSUPPORTED).map((k) => [k, z.unknown().optional()])),
  })
  .strict()
  .transform((a, c): UfwArgs => {
    for (const [k, why] of Object.entries(UNSUPPORTED)) {
      if ((a as Record<string, unknown>)[k] !== undefined) c.addIssue({ code: 'custom', path: [k], message: `${k} is not supported: ${why}` });
    }
    const policy = aliasedOptional({ default: a.default, policy: a.policy }, ['default', 'policy'], c);
    const r: UfwArgs = {
      state: a.state,
      policy,
      direction: a.direction,
      logging: a.logging,
      rule: a.rule,
      fromIp: aliasedOptional({ from_ip: a.from_ip, from: a.from, src: a.src }, ['from_ip', 'from', 'src'], c),
      fromPort: a.from_port,
      toIp: aliasedOptional({ to_ip: a.to_ip, to: a.to, dest: a.dest }, ['to_ip', 'to', 'dest'], c),
      toPort: aliasedOptional({ to_port: a.to_port, port: a.port }, ['to_port', 'port'], c),
      proto: aliasedOptional({ proto: a.proto, protocol: a.protocol }, ['proto', 'protocol'], c),
      app: aliasedOptional({ name: a.name, app: a.app }, ['name', 'app'], c),
      iface: aliasedOptional({ interface: a.interface, if: a.if }, ['interface', 'if'], c),
      delete: a.delete,
      comment: a.comment,
    };
    validateCombination(r, c);
    return r;
  });

type Args = UfwArgs;

/** What Ansible's module refuses, and what would be silently ignored here. */
function validateCombination(a: UfwArgs, c: z.RefinementCtx): void {
  const issue = (path: string, message: string) => c.addIssue({ code: 'custom', path: [path], message });
  if (a.state === undefined && a.policy === undefined && a.rule === undefined && a.logging === undefined) issue('rule', 'give at least one of state, default (policy), rule, logging');
  const ruleKeys = { from_ip: a.fromIp, from_port: a.fromPort, to_ip: a.toIp, to_port: a.toPort, proto: a.proto, name: a.app, interface: a.iface, comment: a.comment };
  if (a.rule === undefined) {
    for (const [k, v] of Object.entries(ruleKeys)) if (v !== undefined) issue(k, `${k} is a rule parameter: give rule: too`);
    if (a.delete) issue('delete', 'delete removes a rule: give rule: too');
  }
  if (a.app !== undefined && (a.toPort !== undefined || a.proto !== undefined)) issue('name', 'an application profile brings its own ports and protocol: do not give to_port or proto with name');
  if (a.direction === 'routed' && a.rule !== undefined) issue('direction', 'routed (forwarding) rules are not supported');
  if (a.policy === undefined && a.rule === undefined && a.direction !== undefined) issue('direction', 'direction applies to default (policy) or to rule');
  if (a.policy !== undefined && a.rule !== undefined && a.direction !== undefined) issue('direction', 'one direction for both default and rule is ambiguous: use two tasks');
  if ((a.fromPort !== undefined || a.toPort !== undefined) && /[:,]/.test(`${a.fromPort ?? ''}${a.toPort ?? ''}`) && (a.proto === undefined || a.proto === 'any')) {
    issue('proto', 'a port range or list needs proto tcp or udp (ufw refuses it otherwise)');
  }
}

const PATH = 'PATH="$PATH:/usr/sbin:/sbin"';
const policyDirection = (d: Args['direction']): UfwDirection => (d === 'outgoing' || d === 'out' ? 'outgoing' : d === 'routed' ? 'routed' : 'incoming');

/** The rule as ufw stores it (addresses normalised, `any` for what is not given). */
export function wantedRule(a: Args): UfwRule | undefined {
  if (a.rule === undefined) return undefined;
  return {
    action: a.rule,
    proto: a.proto ?? 'any',
    dport: a.toPort ?? 'any',
    dst: normaliseAddress(a.toIp ?? 'any'),
    sport: a.fromPort ?? 'any',
    src: normaliseAddress(a.fromIp ?? 'any'),
    dapp: a.app ?? '',
    sapp: '',
    direction: a.direction === 'out' || a.direction === 'outgoing' ? 'out' : 'in',
    iface: a.iface ?? '',
    comment: a.comment ?? '',
  };
}

interface UfwPlan {
  readonly next: UfwState;
  readonly steps: readonly Step[];
  readonly what: readonly string[];
}

/** A step that records its undo for the armed rollback. */
const ufwStep = (words: string, undo?: string): Step => ({
  command: `${PATH}; ufw ${words} >/dev/null${undo ? ` && ${onRollback(`${PATH}; ufw ${undo}`)}` : ''}`,
  timeoutMs: SERVICE_TIMEOUT_MS,
});

/** Pure: the steps and the state ufw is left in, in Ansible's order of effect. */
export function planUfw(a: Args, cur: UfwState): UfwPlan {
  let next = cur;
  const steps: Step[] = [];
  const what: string[] = [];
  if (a.state === 'reset') {
    steps.push(ufwStep('--force reset'));
    what.push('reset ufw');
    next = { ...next, active: false, rules: { v4: [], v6: [] } };
  }
  const want = wantedRule(a);
  if (want) {
    const where = presence(next, want);
    const words = ruleWords(want);
    if (a.delete ? where !== 'absent' : where !== 'present') {
      steps.push(a.delete ? ufwStep(`delete ${words}`, words) : ufwStep(words, `delete ${words}`));
      what.push(`${a.delete ? 'delete' : 'add'} ufw rule "${words.replace(/'/g, '')}"`);
      next = { ...next, rules: withRule(next, want, a.delete) };
    }
  }
  if (a.policy !== undefined) {
    const dir = policyDirection(a.direction);
    const old = next.defaults[dir];
    if (old !== a.policy) {
      steps.push(ufwStep(`default ${a.policy} ${dir}`, `default ${old} ${dir}`));
      what.push(`ufw default ${a.policy} (${dir}), was ${old}`);
      next = { ...next, defaults: { ...next.defaults, [dir]: a.policy } };
    }
  }
  if (a.logging !== undefined) {
    const level = a.logging === 'on' ? (next.logging === 'off' ? 'low' : next.logging) : a.logging;
    if (level !== next.logging) {
      steps.push(ufwStep(`logging ${a.logging}`, `logging ${next.logging}`));
      what.push(`ufw logging ${level}, was ${next.logging}`);
      next = { ...next, logging: level };
    }
  }
  if ((a.state === 'enabled' && !next.active) || (a.state === 'disabled' && next.active)) {
    const on = a.state === 'enabled';
    steps.push(ufwStep(`--force ${on ? 'enable' : 'disable'}`, `--force ${on ? 'disable' : 'enable'}`));
    what.push(`${on ? 'enable' : 'disable'} ufw`);
    next = { ...next, active: on };
  } else if (a.state === 'reloaded') {
    steps.push(ufwStep('reload'));
    what.push('reload ufw');
  }
  return { next, steps, what };
}

/** The managers fact once ufw is left in `next` (a later iptables task sees ufw active or not). */
const managersAfter = (m: FirewallManagers, next: UfwState): FirewallManagers => ({ ...m, ufw: { ...m.ufw, installed: true, active: next.active, enabled: next.active } });

function refuseConflicts(a: Args, f: { ufw: UfwState; managers: FirewallManagers }, ctx: TaskContext): void {
  if (!f.ufw.installed && !ctx.check) throw new TaskError(`ufw is not installed on ${ctx.host.hostname || 'the host'}: install the ufw package first`);
  if (a.state === 'enabled' && f.managers.firewalld.active === true) {
    throw new TaskError('ufw: firewalld is running on this host and manages the firewall: enabling ufw too would have both rewrite the rules. Stop and disable firewalld first (service: name=firewalld state=stopped enabled=false), or manage the firewall with the firewalld task');
  }
}

export const ufw = defineTask({
  name: 'ufw',
  description: 'ufw state, default policies, logging and rules (community.general.ufw); lockout pre-flight: refuses a change after which active ufw would not let a new SSH connection in',
  example:
    '- name: Allow SSH first\n  ufw: { rule: allow, port: 22, proto: tcp }\n- name: Allow HTTPS from the LAN\n  ufw: { rule: allow, port: 443, proto: tcp, from_ip: 10.0.0.0/8, comment: web }\n- name: Deny the rest, and enable\n  ufw: { state: enabled, policy: deny, direction: incoming }',
  schema: argsSchema,
  facts: (_a, ctx) => ({ ufw: ufwState(), managers: firewallManagers(ctx.host.init) }),
  plan(a, f, ctx): Plan {
    refuseConflicts(a, f, ctx);
    const p = planUfw(a, f.ufw);
    if (a.state === 'reloaded' && !f.ufw.active && p.steps.length === 1) return ok('ufw is not enabled: nothing to reload');
    if (p.steps.length === 0) return ok(`ufw as wanted${f.ufw.active ? ' (active)' : ' (inactive)'}`);
    return change(p.what.join('; '), p.steps, {
      predictions: [
        { request: ufwState(), value: p.next },
        { request: firewallManagers(ctx.host.init), value: managersAfter(f.managers, p.next) },
      ],
      risk: 'access',
    });
  },
  lockout(a, f, access, ctx) {
    const conn = { clientIp: access.clientIp, serverPort: access.serverPort, ...(ctx.host.ssh?.serverIp ? { serverIp: ctx.host.ssh.serverIp } : {}) };
    const blocked = (s: UfwState) => (s.active ? ufwBlocksSsh(s.rules, s.defaults.incoming, s.apps, conn) : undefined);
    const next = planUfw(a, f.ufw).next;
    const why = blocked(next);
    // a verdict the host already has (we are connected through it all the same) is not this task's doing
    return why !== undefined && why !== blocked(f.ufw) ? why : undefined;
  },
});
