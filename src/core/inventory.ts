/**
 * Inventory loading: Ansible's YAML inventory layout (or a comma list on the
 * command line) → hosts with merged variables and a resolved ConnectionSpec.
 *
 * Variable precedence (Ansible semantics, lowest first):
 *   `all` group vars < parent group vars < child group vars < host vars.
 * Groups are ordered by depth (distance from `all`, the longest path when a
 * group has several parents), then `ansible_group_priority` (default 1), then
 * name: for sibling groups at the same depth the alphabetically later group
 * wins, like Ansible. Merging is shallow (Ansible's `hash_behaviour=replace`).
 * A group or host listed several times is merged (later definitions win).
 *
 * A native connection variable and its Ansible alias (`user`/`ansible_user`)
 * are one setting: the one defined at the more specific layer wins; on the same
 * layer the native name wins. Likewise `password_env` beats `password` on the
 * same layer. `*_env` names are resolved from the environment at load time.
 *
 * Comma lists (`web1,db1:2222,deploy@10.0.0.5,` or `localhost,`): a host named
 * `localhost` gets `connection: local`; entries may be `user@host:port`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import { parseYaml, loadYamlFile, type YamlDoc, type YamlPath } from '../schema/yaml.js';
import { formatPath, validateWith } from '../schema/validate.js';
import { inventorySchema, JUMP_STRING_RE, type GroupInput } from '../schema/inventory.js';

export interface JumpSpec {
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
}

export interface ConnectionSpec {
  connection: 'ssh' | 'local';
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
  passphrase?: string;
  password?: string;
  /** Set only where the inventory says (`become` / `ansible_become`). */
  become?: boolean;
  becomeUser?: string;
  becomePassword?: string;
  knownHostsFile?: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  jump: JumpSpec[];
  connectTimeoutMs: number;
  /** Host-side sshd port → port to dial from the control node (NAT / port forwarding). */
  portMap: Record<number, number>;
}

export interface HostSpec {
  name: string;
  /** Groups the host belongs to, incl. ancestors and `all`, in precedence order (`all` first). */
  groups: string[];
  /** Merged variables, raw (unrendered), incl. connection variables. */
  vars: Record<string, unknown>;
  connection: ConnectionSpec;
}

export interface Inventory {
  /** In inventory order (first appearance). */
  hosts: Map<string, HostSpec>;
  /** Group → host names, incl. hosts of descendant groups. Always has `all` and `ungrouped`. */
  groups: Map<string, Set<string>>;
  /** Every password/passphrase value, for masking in output. */
  secrets: string[];
  /** The inventory file, or undefined for a comma list. */
  file?: string;
}

export interface LoadInventoryOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface VarOrigin {
  rank: number;
  path: YamlPath;
}

interface GroupNode {
  name: string;
  parents: Set<string>;
  children: Set<string>;
  hosts: string[];
  vars: Record<string, unknown>;
  origins: Map<string, YamlPath>;
}

interface HostNode {
  name: string;
  groups: Set<string>;
  vars: Record<string, unknown>;
  origins: Map<string, YamlPath>;
}

function newGroup(name: string): GroupNode {
  return { name, parents: new Set(), children: new Set(), hosts: [], vars: {}, origins: new Map() };
}

/** `web[01:03].example.com` → web01..web03 (Ansible host ranges; numeric or single letters, optional step). */
export function expandHostRange(name: string): string[] {
  const m = /^(.*?)\[([0-9]+|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\](.*)$/.exec(name);
  if (!m) return [name];
  const [, pre = '', from = '', to = '', stepText, post = ''] = m;
  const step = stepText ? Number(stepText) : 1;
  if (step < 1) return [name];
  const out: string[] = [];
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const a = Number(from);
    const b = Number(to);
    if (b < a || (b - a) / step > 10_000) return [name];
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    for (let i = a; i <= b; i += step) for (const rest of expandHostRange(post)) out.push(`${pre}${String(i).padStart(width, '0')}${rest}`);
    return out;
  }
  if (/^[a-zA-Z]$/.test(from) && /^[a-zA-Z]$/.test(to)) {
    const a = from.charCodeAt(0);
    const b = to.charCodeAt(0);
    if (b < a) return [name];
    for (let i = a; i <= b; i += step) for (const rest of expandHostRange(post)) out.push(`${pre}${String.fromCharCode(i)}${rest}`);
    return out;
  }
  return [name];
}

/** `host:port` inventory keys (one colon only, so IPv6 addresses stay intact). */
function splitHostKey(key: string): { name: string; port?: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(key);
  if (m) return { name: m[1] as string, port: Number(m[2]) };
  return { name: key };
}

/** Parse `user@host:port` (user and port optional; `[v6]:port`). */
export function parseHostString(s: string): { user?: string; host: string; port?: number } | undefined {
  const m = JUMP_STRING_RE.exec(s.trim());
  if (!m) return undefined;
  const host = (m[2] as string).replace(/^\[(.*)\]$/, '$1');
  const out: { user?: string; host: string; port?: number } = { host };
  if (m[1]) out.user = m[1];
  if (m[3]) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return undefined;
    out.port = port;
  }
  return out;
}

class Builder {
  readonly groups = new Map<string, GroupNode>();
  readonly hosts = new Map<string, HostNode>();
  readonly issues: ValidationIssue[] = [];

  constructor(readonly doc: YamlDoc | undefined) {
    this.group('all');
    this.group('ungrouped');
  }

  group(name: string): GroupNode {
    let g = this.groups.get(name);
    if (!g) {
      g = newGroup(name);
      this.groups.set(name, g);
    }
    return g;
  }

  issue(path: YamlPath, message: string, key = false): void {
    const location = this.doc?.locate(path, { key });
    const shown = formatPath(key ? path.slice(0, -1) : path);
    this.issues.push(location ? { path: shown, message, location } : { path: shown, message });
  }

  addHost(name: string, group: GroupNode, vars: Record<string, unknown> | null | undefined, path: YamlPath, extra?: Record<string, unknown>): void {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, groups: new Set(), vars: {}, origins: new Map() };
      this.hosts.set(name, h);
    }
    h.groups.add(group.name);
    if (!group.hosts.includes(name)) group.hosts.push(name);
    for (const [k, v] of Object.entries(extra ?? {})) {
      h.vars[k] = v;
      h.origins.set(k, path);
    }
    for (const [k, v] of Object.entries(vars ?? {})) {
      h.vars[k] = v;
      h.origins.set(k, [...path, k]);
    }
  }

  walkGroup(name: string, input: GroupInput | null, path: YamlPath, parent: string | undefined): void {
    if (name === 'all' && parent !== undefined) {
      this.issue(path, 'group "all" cannot be a child group', true);
      return;
    }
    const g = this.group(name);
    if (parent !== undefined) {
      g.parents.add(parent);
      this.group(parent).children.add(name);
    }
    if (!input) return;
    for (const [k, v] of Object.entries(input.vars ?? {})) {
      g.vars[k] = v;
      g.origins.set(k, [...path, 'vars', k]);
    }
    for (const [key, vars] of Object.entries(input.hosts ?? {})) {
      const { name: base, port } = splitHostKey(key);
      for (const hostName of expandHostRange(base)) {
        this.addHost(hostName, g, vars, [...path, 'hosts', key], port !== undefined ? { port } : undefined);
      }
    }
    for (const [child, childInput] of Object.entries(input.children ?? {})) {
      this.walkGroup(child, childInput, [...path, 'children', child], name);
    }
  }
}

/** Depth from `all` (longest path), detecting cycles. */
function groupDepths(b: Builder): Map<string, number> {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string, trail: string[]): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (name === 'all') {
      depth.set(name, 0);
      return 0;
    }
    if (visiting.has(name)) {
      throw new ValidationError([{ path: '', message: `group cycle: ${[...trail, name].join(' → ')}` }]);
    }
    visiting.add(name);
    const g = b.groups.get(name) as GroupNode;
    const parents = g.parents.size > 0 ? [...g.parents] : ['all'];
    const d = 1 + Math.max(...parents.map((p) => visit(p, [...trail, name])));
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const name of b.groups.keys()) visit(name, []);
  return depth;
}

function ancestors(b: Builder, group: string, out: Set<string>): void {
  if (out.has(group)) return;
  out.add(group);
  const g = b.groups.get(group);
  for (const p of g?.parents ?? []) ancestors(b, p, out);
}

function expandPath(p: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? homedir();
  if (p === '~') return home;
  if (p.startsWith('~/')) return resolve(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

interface Resolver {
  vars: Record<string, unknown>;
  origins: Map<string, VarOrigin>;
}

/** The highest-ranked defined variable among `names` (earlier names win ties). */
function pick(r: Resolver, names: readonly string[]): { name: string; value: unknown; path: YamlPath } | undefined {
  let best: { name: string; value: unknown; path: YamlPath; rank: number } | undefined;
  for (const name of names) {
    const o = r.origins.get(name);
    if (!o || r.vars[name] === undefined || r.vars[name] === null) continue;
    if (!best || o.rank > best.rank) best = { name, value: r.vars[name], path: o.path, rank: o.rank };
  }
  return best;
}

function buildConnection(
  hostName: string,
  r: Resolver,
  ctx: { baseDir: string; env: NodeJS.ProcessEnv; issue: (path: YamlPath, message: string) => void; secrets: Set<string> },
): ConnectionSpec {
  const str = (names: readonly string[]): { value: string; path: YamlPath } | undefined => {
    const p = pick(r, names);
    return p ? { value: String(p.value), path: p.path } : undefined;
  };
  const secret = (envNames: readonly string[], plainNames: readonly string[], label: string): string | undefined => {
    const p = pick(r, [...envNames, ...plainNames]);
    if (!p) return undefined;
    let value: string | undefined;
    if (envNames.includes(p.name)) {
      const varName = String(p.value);
      value = ctx.env[varName];
      if (value === undefined) {
        ctx.issue(p.path, `environment variable ${varName} is not set (${label} for host ${hostName})`);
        return undefined;
      }
    } else {
      value = String(p.value);
    }
    if (value !== '') ctx.secrets.add(value);
    return value;
  };

  const conn = str(['connection', 'ansible_connection'])?.value;
  const connection: 'ssh' | 'local' = conn === 'local' ? 'local' : 'ssh';
  const port = pick(r, ['port', 'ansible_port']);
  const user = str(['user', 'ansible_user']);
  const identity = str(['identity_file', 'ansible_ssh_private_key_file']);
  const become = pick(r, ['become', 'ansible_become']);
  const knownHosts = str(['known_hosts_file']);
  const timeout = pick(r, ['connect_timeout']);
  const spec: ConnectionSpec = {
    connection,
    host: str(['host', 'ansible_host'])?.value ?? hostName,
    port: typeof port?.value === 'number' ? port.value : 22,
    hostKeyPolicy: r.vars.host_key_policy === 'accept-new' ? 'accept-new' : 'strict',
    jump: [],
    connectTimeoutMs: typeof timeout?.value === 'number' ? Math.round(timeout.value * 1000) : DEFAULT_CONNECT_TIMEOUT_MS,
    portMap: Object.fromEntries(Object.entries((pick(r, ['port_map'])?.value ?? {}) as Record<string, number>).map(([k, v]) => [Number(k), v])),
  };
  if (typeof become?.value === 'boolean') spec.become = become.value;
  const becomeUser = str(['become_user', 'ansible_become_user']);
  if (becomeUser) spec.becomeUser = becomeUser.value;
  if (user) spec.user = user.value;
  if (identity) spec.identityFile = expandPath(identity.value, ctx.baseDir, ctx.env);
  if (knownHosts) spec.knownHostsFile = expandPath(knownHosts.value, ctx.baseDir, ctx.env);
  const passphrase = secret(['passphrase_env'], [], 'key passphrase');
  if (passphrase !== undefined) spec.passphrase = passphrase;
  const password = secret(['password_env'], ['password', 'ansible_password'], 'SSH password');
  if (password !== undefined) spec.password = password;
  const becomePassword = secret(['become_password_env'], ['become_password', 'ansible_become_password'], 'sudo password');
  if (becomePassword !== undefined) spec.becomePassword = becomePassword;

  const jump = pick(r, ['jump']);
  if (jump) {
    const hops: unknown[] = typeof jump.value === 'string' ? jump.value.split(',').map((s) => s.trim()).filter(Boolean) : (jump.value as unknown[]);
    hops.forEach((hop, i) => {
      const hopPath = typeof jump.value === 'string' ? jump.path : [...jump.path, i];
      if (typeof hop === 'string') {
        const parsed = parseHostString(hop);
        if (!parsed) {
          ctx.issue(hopPath, `invalid jump host ${JSON.stringify(hop)}: expected user@host:port (user and port optional)`);
          return;
        }
        const j: JumpSpec = { host: parsed.host, port: parsed.port ?? 22 };
        if (parsed.user) j.user = parsed.user;
        spec.jump.push(j);
      } else if (hop && typeof hop === 'object') {
        const o = hop as { host: string; port?: number; user?: string; identity_file?: string };
        const j: JumpSpec = { host: o.host, port: o.port ?? 22 };
        if (o.user) j.user = o.user;
        if (o.identity_file) j.identityFile = expandPath(o.identity_file, ctx.baseDir, ctx.env);
        spec.jump.push(j);
      }
    });
  }
  return spec;
}

function finish(b: Builder, baseDir: string, env: NodeJS.ProcessEnv, file: string | undefined): Inventory {
  // `ungrouped`: hosts whose only group is `all`.
  const ungrouped = b.group('ungrouped');
  for (const h of b.hosts.values()) {
    if ([...h.groups].every((g) => g === 'all')) {
      h.groups.add('ungrouped');
      if (!ungrouped.hosts.includes(h.name)) ungrouped.hosts.push(h.name);
    }
  }
  const depth = groupDepths(b);
  const priority = (g: GroupNode): number => (typeof g.vars.ansible_group_priority === 'number' ? g.vars.ansible_group_priority : 1);

  const secrets = new Set<string>();
  const hosts = new Map<string, HostSpec>();
  const issue = (path: YamlPath, message: string): void => b.issue(path, message);
  for (const h of b.hosts.values()) {
    const all = new Set<string>();
    for (const g of h.groups) ancestors(b, g, all);
    all.add('all');
    const ordered = [...all]
      .map((n) => b.groups.get(n) as GroupNode)
      .sort((x, y) => (depth.get(x.name) ?? 0) - (depth.get(y.name) ?? 0) || priority(x) - priority(y) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    const r: Resolver = { vars: {}, origins: new Map() };
    let rank = 0;
    for (const g of ordered) {
      rank++;
      for (const [k, v] of Object.entries(g.vars)) {
        r.vars[k] = v;
        r.origins.set(k, { rank, path: g.origins.get(k) ?? [] });
      }
    }
    rank++;
    for (const [k, v] of Object.entries(h.vars)) {
      r.vars[k] = v;
      r.origins.set(k, { rank, path: h.origins.get(k) ?? [] });
    }
    const connection = buildConnection(h.name, r, { baseDir, env, issue, secrets });
    hosts.set(h.name, { name: h.name, groups: ordered.map((g) => g.name), vars: r.vars, connection });
  }
  if (b.issues.length > 0) {
    const seen = new Set<string>();
    throw new ValidationError(
      b.issues.filter((i) => {
        const k = `${i.location?.line}:${i.location?.column}:${i.message.replace(/ for host .*\)$/, '')}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }),
    );
  }

  const groups = new Map<string, Set<string>>();
  const order = [...hosts.keys()];
  const members = (name: string, acc: Set<string>, seen: Set<string>): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const g = b.groups.get(name) as GroupNode;
    for (const h of g.hosts) acc.add(h);
    for (const c of g.children) members(c, acc, seen);
  };
  for (const name of b.groups.keys()) {
    const acc = new Set<string>();
    if (name === 'all') for (const h of order) acc.add(h);
    else members(name, acc, new Set());
    groups.set(name, new Set(order.filter((h) => acc.has(h))));
  }
  const inv: Inventory = { hosts, groups, secrets: [...secrets] };
  if (file) inv.file = file;
  return inv;
}

/** Build an inventory from an already-parsed YAML document. */
export function inventoryFromDoc(doc: YamlDoc, options: LoadInventoryOptions & { baseDir?: string } = {}): Inventory {
  const env = options.env ?? process.env;
  if (doc.value === null || doc.value === undefined) {
    throw new ValidationError([{ path: '', message: `${doc.file}: inventory is empty` }]);
  }
  const data = validateWith(inventorySchema, doc);
  const b = new Builder(doc);
  for (const [name, group] of Object.entries(data)) b.walkGroup(name, group, [name], name === 'all' ? undefined : 'all');
  return finish(b, options.baseDir ?? dirname(resolve(options.cwd ?? process.cwd(), doc.file)), env, doc.file);
}

/** Inventory from a comma list: `web1.example.com,deploy@db1:2222,localhost,`. */
export function inventoryFromList(list: string, options: LoadInventoryOptions = {}): Inventory {
  const env = options.env ?? process.env;
  const b = new Builder(undefined);
  const all = b.group('all');
  const entries = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new ValidationError([{ path: '', message: `inventory list ${JSON.stringify(list)} names no hosts` }]);
  for (const entry of entries) {
    const parsed = parseHostString(entry);
    if (!parsed) {
      throw new ValidationError([{ path: '', message: `inventory list: invalid host ${JSON.stringify(entry)} (expected host, host:port or user@host:port)` }]);
    }
    const vars: Record<string, unknown> = {};
    if (parsed.user) vars.user = parsed.user;
    if (parsed.port !== undefined) vars.port = parsed.port;
    if (parsed.host === 'localhost') vars.connection = 'local';
    let name = parsed.host;
    if (b.hosts.has(name) && parsed.port !== undefined) name = `${parsed.host}:${parsed.port}`;
    if (name !== parsed.host) vars.host = parsed.host;
    b.addHost(name, all, vars, []);
  }
  return finish(b, options.cwd ?? process.cwd(), env, undefined);
}

/**
 * Load an inventory from a YAML file, or from a comma list when `source`
 * contains a comma and is not an existing file.
 */
export function loadInventory(source: string, options: LoadInventoryOptions = {}): Inventory {
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, source);
  if (source.includes(',') && !existsSync(path)) return inventoryFromList(source, options);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new ValidationError([{ path: '', message: `${source}: inventory directories are not supported; pass a YAML file` }]);
  }
  let doc: YamlDoc;
  try {
    doc = loadYamlFile(path, source);
  } catch (err) {
    if (err instanceof ValidationError && !existsSync(path)) {
      throw new ValidationError([{ path: '', message: `${source}: inventory file not found (a host list needs a comma: "${source},")` }]);
    }
    if (err instanceof ValidationError && looksLikeIni(path)) {
      throw new ValidationError([
        ...err.issues,
        { path: '', message: `${source}: looks like an INI inventory; only the YAML inventory layout is supported` },
      ]);
    }
    throw err;
  }
  return inventoryFromDoc(doc, { ...options, baseDir: dirname(path) });
}

function looksLikeIni(path: string): boolean {
  try {
    return /^\s*\[[A-Za-z0-9_:-]+\]\s*$/m.test(readFileSync(path, 'utf8').slice(0, 65536));
  } catch {
    return false;
  }
}

/** Parse inventory YAML text (tests, stdin). */
export function parseInventory(text: string, file: string, options: LoadInventoryOptions = {}): Inventory {
  return inventoryFromDoc(parseYaml(text, file), { ...options, baseDir: options.cwd ?? process.cwd() });
}

