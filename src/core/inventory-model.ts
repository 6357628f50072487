/**
 * The inventory as Ansible builds it while reading its sources (ansible-core
 * 2.14 `inventory/data.py`, `inventory/group.py`), before variables are
 * resolved: groups with their parents, children and direct hosts in the order
 * they were added, hosts with their direct groups, and the variables each
 * source sets, each with where it was set (for messages).
 *
 * Source readers (YAML, INI, directories) call the same few operations Ansible's
 * plugins call: add a group, add a host to a group (a port given with the host
 * sets `ansible_port` when the host is first seen), add a child group, set a
 * variable on a group or a host.
 */
import type { SourceLocation, ValidationIssue } from '../contract/errors.js';

/** Where a variable (or a group, or a host) was written. */
export interface Origin {
  location?: SourceLocation;
  /** Field path for messages, e.g. `web.hosts.h1.ansible_port`. */
  path: string;
  /** Directory relative paths in the value are relative to (the inventory's, or the playbook's for its group_vars). */
  baseDir?: string;
}

export interface InventoryWarning {
  message: string;
  location?: SourceLocation;
}

/** Variables set by one source (an inventory file's group or host, a group_vars file). */
export interface VarsLayer {
  vars: Record<string, unknown>;
  origins: Map<string, Origin>;
}

export interface GroupNode extends VarsLayer {
  name: string;
  parents: string[];
  /** Child groups in the order they were added (Ansible's child_groups). */
  children: string[];
  /** Direct hosts in the order they were added. */
  hosts: string[];
  /** `ansible_group_priority` (default 1): not a variable, an ordering key. */
  priority: number;
  /** Where the group was first written. */
  origin?: Origin;
}

export interface HostNode extends VarsLayer {
  name: string;
  /** Direct groups, in the order the host was added to them. */
  groups: string[];
  origin?: Origin;
}

export function newLayer(): VarsLayer {
  return { vars: {}, origins: new Map() };
}

/** Hosts one range may expand to before we refuse it. */
export const MAX_RANGE_HOSTS = 100_000;

export class InventoryBuilder {
  readonly groups = new Map<string, GroupNode>();
  readonly hosts = new Map<string, HostNode>();
  readonly issues: ValidationIssue[] = [];
  readonly warnings: InventoryWarning[] = [];
  private readonly warned = new Set<string>();

  constructor() {
    this.group('all');
    this.group('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  group(name: string, origin?: Origin): GroupNode {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, parents: [], children: [], hosts: [], priority: 1, vars: {}, origins: new Map(), ...(origin ? { origin } : {}) };
      this.groups.set(name, g);
    }
    return g;
  }

  issue(message: string, location?: SourceLocation, path = ''): void {
    this.issues.push(location ? { path, message, location } : { path, message });
  }

  /** A warning, once per message and place. */
  warn(message: string, location?: SourceLocation): void {
    const key = `${location?.file}:${location?.line}:${location?.column}:${message}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warnings.push(location ? { message, location } : { message });
  }

  /** Ansible's add_child: no duplicates, no loops (a loop is refused). */
  addChild(parent: string, child: string, origin?: Origin): boolean {
    const p = this.group(parent);
    const c = this.group(child);
    if (p.children.includes(child)) return false;
    if (parent === child || this.ancestors(parent).has(child)) {
      this.issue(`adding group "${child}" as a child of "${parent}" makes a loop of groups`, origin?.location, origin?.path ?? '');
      return false;
    }
    p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
    return true;
  }

  /** Ansible's add_host: the port given with the host name counts only when the host is new. */
  addHost(name: string, group: string, port: number | undefined, origin: Origin): HostNode {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, groups: [], vars: {}, origins: new Map(), origin };
      this.hosts.set(name, h);
      if (port !== undefined) {
        h.vars.ansible_port = port;
        h.origins.set('ansible_port', origin);
      }
    }
    const g = this.group(group);
    if (!g.hosts.includes(name)) {
      g.hosts.push(name);
      h.groups.push(group);
    }
    return h;
  }

  setHostVar(host: string, key: string, value: unknown, origin: Origin): void {
    const h = this.hosts.get(host);
    if (!h) return;
    h.vars[key] = value;
    h.origins.set(key, origin);
  }

  setGroupVar(group: string, key: string, value: unknown, origin: Origin): void {
    const g = this.group(group);
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : Number.parseInt(String(value), 10);
      if (Number.isInteger(n)) g.priority = n;
      return;
    }
    g.vars[key] = value;
    g.origins.set(key, origin);
  }

  ancestors(group: string, out = new Set<string>()): Set<string> {
    for (const p of this.groups.get(group)?.parents ?? []) {
      if (out.has(p)) continue;
      out.add(p);
      this.ancestors(p, out);
    }
    return out;
  }

  /**
   * Ansible's reconcile_inventory, run once every source is read: groups
   * without a parent become children of `all`; a host in `ungrouped` that is
   * also in another group leaves it; a host in no group (or only `all`) joins it.
   */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    }
    const ungrouped = this.group('ungrouped');
    for (const h of this.hosts.values()) {
      if (h.groups.includes('ungrouped')) {
        if (h.groups.some((g) => g !== 'all' && g !== 'ungrouped')) {
          h.groups = h.groups.filter((g) => g !== 'ungrouped');
          ungrouped.hosts = ungrouped.hosts.filter((n) => n !== h.name);
        }
      } else if (!h.groups.some((g) => g !== 'all')) {
        ungrouped.hosts.push(h.name);
        h.groups.push('ungrouped');
      }
    }
  }

  /** Depth of every group: the longest path from `all` (Ansible's Group.depth). */
  depths(): Map<string, number> {
    const depth = new Map<string, number>();
    const visit = (name: string, trail: Set<string>): number => {
      const known = depth.get(name);
      if (known !== undefined) return known;
      if (name === 'all' || trail.has(name)) return 0;
      trail.add(name);
      const parents = this.groups.get(name)?.parents ?? [];
      const d = 1 + Math.max(0, ...parents.map((p) => visit(p, trail)));
      trail.delete(name);
      depth.set(name, d);
      return d;
    };
    depth.set('all', 0);
    for (const name of this.groups.keys()) visit(name, new Set());
    return depth;
  }
}

// ---------------------------------------------------------------------------
// Host patterns: `web[01:20].example.com:2222` (parsing/utils/addresses.py and
// plugins/inventory/__init__.py of ansible-core)

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV6_C = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const IPV4_C = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${ALNUM_RANGE})(?:[\p{L}\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;

const ADDRESS = {
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(String.raw`^(?:${IPV4_C}\.){3}${IPV4_C}$`, 'iu'),
  ipv6: new RegExp(
    '^(?:' +
      [
        String.raw`(?:${IPV6_C}:){7}${IPV6_C}`,
        String.raw`(?:${IPV6_C}:){1,6}:`,
        String.raw`(?:${IPV6_C}:)(?::${IPV6_C}){1,6}`,
        String.raw`(?:${IPV6_C}:){2}(?::${IPV6_C}){1,5}`,
        String.raw`(?:${IPV6_C}:){3}(?::${IPV6_C}){1,4}`,
        String.raw`(?:${IPV6_C}:){4}(?::${IPV6_C}){1,3}`,
        String.raw`(?:${IPV6_C}:){5}(?::${IPV6_C}){1,2}`,
        String.raw`(?:${IPV6_C}:){6}(?::${IPV6_C})`,
        String.raw`:(?::${IPV6_C}){1,6}`,
        String.raw`${IPV6_C}?::`,
        String.raw`(?:0:){6}(?:${IPV6_C}\.){3}${IPV6_C}`,
        String.raw`::(?:ffff:)?(?:${IPV6_C}\.){3}${IPV6_C}`,
        String.raw`(?:0:){5}ffff:(?:${IPV6_C}\.){3}${IPV6_C}`,
      ].join('|') +
      ')$',
    'iu',
  ),
  hostname: new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu'),
};

/**
 * ADDRESS.hostname for text in plain ASCII without ranges, which most names are:
 * the same answer without compiling the Unicode, case-folding pattern (a few ms of
 * every run's start).
 */
const ASCII_LABEL = String.raw`[A-Za-z0-9_][A-Za-z0-9_-]*(?<![_-])`;
const ASCII_HOSTNAME = new RegExp(String.raw`^${ASCII_LABEL}(?:\.${ASCII_LABEL})*$`);
const PLAIN_ASCII = /^[\x20-\x5a\x5c-\x7e]*$/; // printable ASCII without '['

export function isHostname(text: string): boolean {
  return PLAIN_ASCII.test(text) ? ASCII_HOSTNAME.test(text) : ADDRESS.hostname.test(text);
}
export const HOSTNAME_RE = ADDRESS.hostname;

/**
 * Ansible's parse_address(pattern, allow_ranges=True): the host part and the
 * port, or undefined when the text is not a host (then Ansible keeps the whole
 * text as the name, with no port).
 */
function parseAddress(pattern: string): { host: string; port?: number } | undefined {
  let address = pattern;
  let port: number | undefined;
  for (const re of [ADDRESS.bracketedHostport, ADDRESS.hostport]) {
    const m = re.exec(address);
    if (m) {
      address = m[1] as string;
      port = Number(m[2]);
    }
  }
  // every IPv6 form has a ':'
  if (!ADDRESS.ipv4.test(address) && !(address.includes(':') && ADDRESS.ipv6.test(address)) && !isHostname(address)) return undefined;
  return port === undefined ? { host: address } : { host: address, port };
}

export class HostPatternError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The values of the first `[begin:end(:step)]` of a name, and the text around it (Ansible's expand_hostname_range). */
function firstRange(line: string): { head: string; tail: string; values: string[] } {
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  if (close < 0) throw new HostPatternError(`host range in "${line}" has no closing ]`);
  const head = line.slice(0, open);
  const nrange = line.slice(open + 1, close);
  const tail = line.slice(close + 1);
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostPatternError('host range must be begin:end or begin:end:step');
  const beg = bounds[0] || '0';
  const end = bounds[1] as string;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostPatternError('host range must specify end value');
  if (!/^[0-9]+$/.test(stepText) || Number(stepText) === 0) throw new HostPatternError(`host range step must be a positive integer, got "${stepText}"`);
  const step = Number(stepText);
  let fill = (x: string | number): string => String(x);
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) throw new HostPatternError('host range must specify equal-length begin and end formats');
    fill = (x) => String(x).padStart(beg.length, '0');
  }
  const values: string[] = [];
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostPatternError('host range must have begin <= end');
    for (let i = ib; i <= ie; i += step) values.push(LETTERS[i] as string);
  } else {
    if (!/^[0-9]+$/.test(beg) || !/^[0-9]+$/.test(end)) throw new HostPatternError(`host range [${nrange}] must be numbers or single letters`);
    const a = Number(beg);
    const b = Number(end);
    if ((b - a) / step >= MAX_RANGE_HOSTS) throw new HostPatternError(`host range expands to more than ${MAX_RANGE_HOSTS} hosts`);
    for (let i = a; i <= b; i += step) values.push(fill(i));
  }
  return { head, tail, values };
}

/** Ansible's expand_hostname_range: `db[01:10:3]-[a:c]` → db01-a, db01-b, … (in Ansible's order). */
export function expandHostnameRange(line: string): string[] {
  // every range is in the name as written (range values hold no brackets): count before expanding
  const parts: string[][] = [];
  let rest = line;
  let count = 1;
  while (rest.includes('[')) {
    const { head, tail, values } = firstRange(rest);
    parts.push([head], values);
    count *= values.length;
    if (count > MAX_RANGE_HOSTS) throw new HostPatternError(`host range expands to more than ${MAX_RANGE_HOSTS} hosts`);
    if (count * line.length > 64 * MAX_RANGE_HOSTS) throw new HostPatternError(`host range expands to ${count} names of ${line.length} characters: too much`);
    rest = tail;
  }
  parts.push([rest]);
  let names = [''];
  for (const values of parts) names = names.flatMap((n) => values.map((v) => n + v));
  return names;
}

/**
 * A host key of an inventory (`web[1:3]`, `db1:2222`, `[::1]:22`) → host
 * names and the port. Throws HostPatternError with Ansible's reasons.
 */
export function expandHostPattern(pattern: string): { names: string[]; port?: number } {
  const parsed = parseAddress(pattern);
  const host = parsed?.host ?? pattern;
  const names = host.includes('[') ? expandHostnameRange(host) : [host];
  return parsed?.port !== undefined ? { names, port: parsed.port } : { names };
}
