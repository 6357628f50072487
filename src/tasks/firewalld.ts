/**
 * `firewalld` (ansible.posix.firewalld): one service, port, rich rule,
 * source or interface enabled or disabled in a zone (the default zone
 * unless `zone:`), in the running firewall (`immediate`), the permanent
 * configuration (`permanent`), or both. As in Ansible, `permanent: false`
 * (the default) means the running firewall only, and `immediate` defaults to
 * true then. Compared with what `firewall-cmd --list-all-zones` (and
 * `--permanent`) says, so a second run is ok.
 *
 * firewalld not running: a runtime change is refused; the permanent
 * configuration is changed with firewall-offline-cmd only with `offline:
 * true` (then, as in Ansible, `immediate` is ignored, and the summary says
 * so).
 *
 * Every change carries `risk: 'access'` (commit-confirmed; each step records
 * its undo); the lockout pre-flight refuses a change after which the zone our
 * SSH connection lands in (by source, by interface, else the default zone)
 * would not let a new connection in, now or after the next reload.
 *
 * ufw active: refused, naming it. Our `iptables` task refuses while
 * firewalld runs unless `firewall_manager: iptables`, which stops it.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, type Plan, type Step, type TaskContext } from '../contract/task.js';
import { onRollback } from '../core/guard.js';
import { firewallManagers, type FirewallManagers } from '../facts/firewall-managers.js';
import { firewalldState, type FirewalldConfig, type FirewalldState, type FirewalldZone } from '../facts/firewalld.js';
import { normaliseAddress } from './lib/firewall-access.js';
import { firewalldBlocksSsh, sameRich } from './lib/firewalld.js';
import { SERVICE_TIMEOUT_MS } from './lib/services.js';

const UNSUPPORTED: Record<string, string> = {
  port_forward: 'port forwarding is not supported',
  icmp_block: 'ICMP blocks are not supported',
  icmp_block_inversion: 'ICMP block inversion is not supported',
  masquerade: 'masquerading is not supported',
  target: "a zone's target is not supported",
  forward: 'intra-zone forwarding is not supported',
  protocol: 'protocols are not supported (give port: PORT/PROTO)',
  timeout: 'timed rules are not supported: a change that undoes itself is not idempotent',
};

/** The five things the task can enable, the zone key firewall-cmd calls them by, and their list in the zone. */
const ITEMS = {
  service: { flag: 'service', list: 'services' },
  port: { flag: 'port', list: 'ports' },
  rich_rule: { flag: 'rich-rule', list: 'richRules' },
  source: { flag: 'source', list: 'sources' },
  interface: { flag: 'interface', list: 'interfaces' },
} as const;
type ItemKind = keyof typeof ITEMS;

const token = z.string().regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only');

const argsSchema = z
  .object({
    service: token.optional().describe('A firewalld service (firewall-cmd --get-services), e.g. http'),
    port: z
      .string()
      .regex(/^\d+(-\d+)?\/(tcp|udp|sctp|dccp)$/, 'PORT/PROTOCOL or FROM-TO/PROTOCOL, e.g. 8080/tcp')
      .optional(),
    rich_rule: z
      .string()
      .min(1)
      .refine((r) => !/[\x00-\x1f]/.test(r), { message: 'one line' })
      .optional()
      .describe('A rich rule; compared word by word, whatever the order and quoting'),
    source: token.optional().describe('An address or network bound to the zone'),
    interface: token.optional().describe('An interface bound to the zone (moved from another zone)'),
    zone: token.optional().describe('Default: the default zone'),
    permanent: z.boolean().default(false).describe('Change the permanent configuration'),
    immediate: z.boolean().optional().describe('Change the running firewall (default: true unless permanent)'),
    state: z.enum(['enabled', 'disabled', 'present', 'absent']).describe('enabled or disabled'),
    offline: z.boolean().default(false).describe('firewalld not running: change the permanent configuration with firewall-offline-cmd'),
    ...Object.fromEntries(Object.keys(UNSUPPORTED).map((k) => [k, z.unknown().optional()])),
  })
  .strict()
  .superRefine((a, c) => {
    for (const [k, why] of Object.entries(UNSUPPORTED)) {
      if ((a as Record<string, unknown>)[k] !== undefined) c.addIssue({ code: 'custom', path: [k], message: `${k} is not supported: ${why}` });
    }
    const given = (Object.keys(ITEMS) as ItemKind[]).filter((k) => a[k] !== undefined);
    if (given.length !== 1) c.addIssue({ code: 'custom', path: [given[1] ?? 'service'], message: `give exactly one of ${Object.keys(ITEMS).join(', ')}${given.length ? ` (got ${given.join(', ')})` : ''}` });
    if (a.state === 'present' || a.state === 'absent') c.addIssue({ code: 'custom', path: ['state'], message: `state ${a.state} creates or removes zones, which is not supported: use enabled or disabled` });
    if (a.permanent === false && a.immediate === false) c.addIssue({ code: 'custom', path: ['immediate'], message: 'permanent: false and immediate: false change nothing' });
  });

type Args = z.output<typeof argsSchema>;

interface Item {
  readonly kind: ItemKind;
  readonly value: string;
}

function itemOf(a: Args): Item {
  const kind = (Object.keys(ITEMS) as ItemKind[]).find((k) => a[k] !== undefined) as ItemKind;
  const raw = a[kind] as string;
  return { kind, value: kind === 'source' ? normaliseAddress(raw) : raw };
}

const has = (zn: FirewalldZone, it: Item): boolean => {
  const list = zn[ITEMS[it.kind].list];
  return it.kind === 'rich_rule' ? list.some((r) => sameRich(r, it.value)) : it.kind === 'source' ? list.some((s) => normaliseAddress(s) === it.value) : list.includes(it.value);
};

/** The configuration with the item enabled in (or removed from) the zone; a source or interface leaves any other zone. */
export function withItem(c: FirewalldConfig, zone: string, it: Item, on: boolean): FirewalldConfig {
  const key = ITEMS[it.kind].list;
  const moves = it.kind === 'source' || it.kind === 'interface';
  const zones = Object.fromEntries(
    Object.entries(c.zones).map(([name, zn]) => {
      const rest = zn[key].filter((x) => !(it.kind === 'rich_rule' ? sameRich(x, it.value) : it.kind === 'source' ? normaliseAddress(x) === it.value : x === it.value));
      if (name === zone) return [name, { ...zn, [key]: on ? (has(zn, it) ? zn[key] : [...zn[key], it.value]) : rest }];
      return [name, moves && on ? { ...zn, [key]: rest } : zn];
    }),
  );
  return { ...c, zones };
}

interface Layer {
  readonly name: 'runtime' | 'permanent';
  readonly config: FirewalldConfig;
  /** firewall-cmd, firewall-cmd --permanent, or firewall-offline-cmd. */
  readonly tool: string;
}

/** The configurations the task changes, refusing what cannot be done on this host. */
function layers(a: Args, f: FirewalldState, ctx: TaskContext): { layers: Layer[]; note: string } {
  const immediate = a.immediate ?? !a.permanent;
  const out: Layer[] = [];
  let note = '';
  if (!f.running) {
    if (!a.offline) {
      throw new TaskError(
        `firewalld is not running on ${ctx.host.hostname || 'the host'}: ${immediate ? 'the running firewall (immediate) cannot be changed; start it first (service: name=firewalld state=started), or ' : ''}set permanent: true and offline: true to change the permanent configuration with firewall-offline-cmd`,
      );
    }
    if (!a.permanent) throw new TaskError('firewalld is not running and permanent is false: offline: true changes only the permanent configuration; set permanent: true');
    if (immediate) note = ' (firewalld is not running: immediate ignored, as offline: true says)';
  } else if (immediate && f.runtime) out.push({ name: 'runtime', config: f.runtime, tool: 'firewall-cmd' });
  if (a.permanent && f.permanent) out.push({ name: 'permanent', config: f.permanent, tool: f.running ? 'firewall-cmd --permanent' : 'firewall-offline-cmd' });
  return { layers: out, note };
}

const PATH = 'PATH="$PATH:/usr/sbin:/sbin"';

function stepFor(l: Layer, zone: string, it: Item, on: boolean): Step {
  const verb = (add: boolean) => (add ? ((it.kind === 'source' || it.kind === 'interface') ? 'change' : 'add') : 'remove');
  const cmd = (add: boolean) => `${PATH}; ${l.tool} --zone=${quote(zone)} --${verb(add)}-${ITEMS[it.kind].flag}=${quote(it.value)} >/dev/null`;
  return { command: `${cmd(on)} && ${onRollback(cmd(!on))}`, timeoutMs: SERVICE_TIMEOUT_MS };
}

interface FirewalldPlan {
  readonly zone: string;
  readonly item: Item;
  /** Each changed layer, with its configuration after the change. */
  readonly changes: readonly { layer: Layer; after: FirewalldConfig }[];
  readonly note: string;
}

/** Pure: what changes in which layer. */
export function planFirewalld(a: Args, f: FirewalldState, ctx: TaskContext): FirewalldPlan {
  const it = itemOf(a);
  const on = a.state === 'enabled';
  const { layers: ls, note } = layers(a, f, ctx);
  const zone = a.zone ?? (f.runtime ?? f.permanent)?.defaultZone ?? 'public';
  const changes = ls.flatMap((layer) => {
    const zn = layer.config.zones[zone];
    if (!zn) throw new TaskError(`firewalld: zone ${zone} does not exist (${layer.name}; zones: ${Object.keys(layer.config.zones).join(', ')})`);
    return has(zn, it) === on ? [] : [{ layer, after: withItem(layer.config, zone, it, on) }];
  });
  return { zone, item: it, changes, note };
}

const refuseWithUfw = (m: FirewallManagers): void => {
  if (m.ufw.active) throw new TaskError('firewalld: ufw is active on this host and manages the firewall too: their rules would both filter. Disable ufw first (ufw: state=disabled), or manage the firewall with the ufw task');
};

export const firewalld = defineTask({
  name: 'firewalld',
  description: 'Enable or disable a service, port, rich rule, source or interface in a firewalld zone, runtime and/or permanent (ansible.posix.firewalld); lockout pre-flight for the zone our SSH connection lands in',
  example:
    '- name: Open HTTP now and after reboots\n  firewalld: { service: http, permanent: true, immediate: true, state: enabled }\n- name: A port in another zone\n  firewalld: { port: 8443/tcp, zone: internal, permanent: true, state: enabled }',
  schema: argsSchema,
  facts: (_a, ctx) => ({ fw: firewalldState(), managers: firewallManagers(ctx.host.init) }),
  plan(a, f, ctx): Plan {
    const it = itemOf(a);
    const label = `${a.state === 'enabled' ? 'enable' : 'disable'} ${it.kind.replace('_', ' ')} ${it.value}`;
    if (!f.fw.installed) {
      if (ctx.check) return change(`${label} (firewalld is not installed yet)`, []);
      throw new TaskError(`firewalld is not installed on ${ctx.host.hostname || 'the host'}: install the firewalld package first`);
    }
    refuseWithUfw(f.managers);
    const p = planFirewalld(a, f.fw, ctx);
    const where = `in zone ${p.zone}`;
    if (p.changes.length === 0) return ok(`${it.kind.replace('_', ' ')} ${it.value} ${a.state} ${where}${p.note}`);
    const after: FirewalldState = { ...f.fw, ...Object.fromEntries(p.changes.map((c) => [c.layer.name, c.after])) };
    return change(
      `${label} ${where} (${p.changes.map((c) => c.layer.name).join(' and ')})${p.note}`,
      p.changes.map((c) => stepFor(c.layer, p.zone, p.item, a.state === 'enabled')),
      { predictions: [{ request: firewalldState(), value: after }], risk: 'access' },
    );
  },
  lockout(a, f, access, ctx) {
    if (!f.fw.installed) return undefined;
    let p: FirewalldPlan;
    try {
      p = planFirewalld(a, f.fw, ctx);
    } catch {
      return undefined; // the plan itself fails with a clearer message
    }
    const conn = { clientIp: access.clientIp, serverPort: access.serverPort, ...(ctx.host.ssh?.serverIp ? { serverIp: ctx.host.ssh.serverIp } : {}) };
    for (const c of p.changes) {
      const why = firewalldBlocksSsh(c.after, conn, f.fw.addresses);
      // a verdict the host already has (we are connected through it all the same) is not this task's doing
      if (why !== undefined && why !== firewalldBlocksSsh(c.layer.config, conn, f.fw.addresses)) {
        return `${why}${c.layer.name === 'permanent' ? ' (permanent configuration: after the next reload or reboot)' : ''}`;
      }
    }
    return undefined;
  },
});
