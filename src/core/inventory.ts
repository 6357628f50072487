/**
 * Inventory loading, the way Ansible (ansible-core 2.14) loads inventories:
 * sources (`-i`) are read in order into one inventory; a source is a YAML
 * file, an INI file, a directory of such files, or a comma list on the command
 * line. Then `group_vars/` and `host_vars/` beside each source and beside each
 * playbook, then every host's variables are merged and its connection resolved.
 *
 * Variable precedence (Ansible's, lowest first):
 *   1. `all` vars of the inventory files
 *   2. the other groups' vars of the inventory files, groups ordered by depth
 *      (longest path from `all`), then `ansible_group_priority` (default 1),
 *      then name: siblings at the same depth merge alphabetically, later wins
 *   3. group_vars/all beside the inventory, 4. beside the playbook
 *   5. group_vars/<group> beside the inventory, 6. beside the playbook (same group order)
 *   7. host vars of the inventory files
 *   8. host_vars/<host> beside the inventory, 9. beside the playbook
 * Merging is shallow (Ansible's `hash_behaviour=replace`). How connection
 * variables and their Ansible spellings resolve: inventory-connection.ts;
 * the reference: docs/inventory.md.
 *
 * Comma lists (`web1,db1:2222,deploy@10.0.0.5,` or `localhost,`): a host named
 * `localhost` gets `connection: local`; entries may be `user@host:port`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import { MAX_YAML_BYTES, parseYaml, type YamlDoc } from '../schema/yaml.js';
import { buildConnection, parseHostString, type ConnectionSpec, type HostResolver } from './inventory-connection.js';
import { inventoryDirFiles, vaultAt, VarsDir } from './inventory-dir.js';
import { readIniInventory } from './inventory-ini.js';
import { expandHostPattern, InventoryBuilder, type GroupNode, type HostNode, type InventoryWarning, type VarsLayer } from './inventory-model.js';
import { readYamlInventory } from './inventory-yaml.js';
import { readSshConfig, type SshConfig } from './ssh-config.js';

export { DEFAULT_CONNECT_TIMEOUT_MS, parseHostString, type ConnectionSpec, type JumpSpec } from './inventory-connection.js';
export type { InventoryWarning } from './inventory-model.js';

export interface HostSpec {
  name: string;
  /** Groups the host belongs to, incl. ancestors and `all`, in precedence order (`all` first). */
  groups: string[];
  /** Merged variables, raw (unrendered), incl. connection variables. */
  vars: Record<string, unknown>;
  connection: ConnectionSpec;
}

/** One group as the inventory writes it. */
export interface GroupInfo {
  /** Direct hosts, in the order they were added. */
  hosts: string[];
  /** Child groups, in the order they were added. */
  children: string[];
  parents: string[];
  /** Variables set on the group in the inventory files (not group_vars/). */
  vars: Record<string, unknown>;
}

export interface Inventory {
  /** In inventory order (first appearance). */
  hosts: Map<string, HostSpec>;
  /** Group → host names, incl. hosts of descendant groups. Always has `all` and `ungrouped`. */
  groups: Map<string, Set<string>>;
  /** Each group's direct hosts and children (Ansible's structure). */
  groupTree: Map<string, GroupInfo>;
  /** Every password/passphrase value, for masking in output. */
  secrets: string[];
  /** What was read but not used, or used differently than written (`not used by provision: ansible_python_interpreter`). */
  warnings: InventoryWarning[];
  /** The first inventory file or directory, or undefined for comma lists. */
  file?: string;
}

export interface LoadInventoryOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directories of the playbooks: their group_vars/ and host_vars/ count too, over the inventory's. */
  playbookDirs?: readonly string[];
  /** OpenSSH client config to read (default `$HOME/.ssh/config`, HOME from `env`); `false`: none. */
  sshConfig?: string | false;
  /** The run's host key policy (`--host-key-policy`): it decides over the inventory's and ssh's settings. */
  hostKeyPolicy?: 'strict' | 'accept-new';
}

/** `web[01:03].example.com` → web01..web03 (Ansible host ranges: numbers or letters, optional step). */
export function expandHostRange(name: string): string[] {
  try {
    return expandHostPattern(name).names;
  } catch {
    return [name];
  }
}

const YAML_EXTS = ['.yml', '.yaml', '.json'];

/** The first significant line looks like YAML (`---`, `key:`), not like INI. */
function looksLikeYaml(text: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    return line === '---' || /^[^\s=[\]#;'"]+:(\s+[^=]*)?$/.test(line) || /^["'][^"']*["']\s*:/.test(line);
  }
  return false;
}

function vaultIssue(text: string, shown: string): ValidationIssue | undefined {
  const at = vaultAt(text);
  if (!at) return undefined;
  const what = at.line === 1 && at.column === 1 && text.startsWith('$ANSIBLE_VAULT;') ? 'ansible-vault encrypted inventories are' : 'ansible-vault encrypted values are';
  return { path: '', message: `${what} not supported: give secrets through *_env variables`, location: { file: shown, ...at } };
}

class Loader {
  readonly b = new InventoryBuilder();
  /** Directories whose group_vars/ and host_vars/ are the inventory's, in source order. */
  readonly inventoryDirs: string[] = [];
  firstFile?: string;
  private readonly fatal: ValidationIssue[] = [];

  constructor(
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  display(p: string): string {
    const rel = relative(this.cwd, p);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  }

  fail(issues: readonly ValidationIssue[]): void {
    this.fatal.push(...issues);
  }

  source(source: string): void {
    const path = resolve(this.cwd, source);
    if (source.includes(',') && !existsSync(path)) {
      this.list(source);
      return;
    }
    if (!existsSync(path)) {
      this.fail([{ path: '', message: `${source}: inventory file not found (a host list needs a comma: "${source},")` }]);
      return;
    }
    this.firstFile ??= source;
    if (statSync(path).isDirectory()) {
      this.inventoryDirs.push(path);
      const files = inventoryDirFiles(path, (m) => this.b.warn(m), (p) => this.display(p));
      for (const f of files) this.file(f, this.display(f));
      return;
    }
    this.inventoryDirs.push(dirname(path));
    this.file(path, source);
  }

  /** One inventory file: YAML or INI, chosen as Ansible chooses (extension, then content). */
  file(path: string, shown: string): void {
    let bytes: Buffer;
    try {
      const st = statSync(path);
      if (!st.isFile()) return this.fail([{ path: '', message: `${shown}: not a regular file` }]);
      if (st.size > MAX_YAML_BYTES) return this.fail([{ path: '', message: `${shown}: file is larger than ${MAX_YAML_BYTES} bytes (${st.size})` }]);
      bytes = readFileSync(path);
    } catch (err) {
      return this.fail([{ path: '', message: `${shown}: cannot read file: ${(err as Error).message}` }]);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return this.fail([{ path: '', message: `${shown}: not UTF-8 text (an inventory is a YAML or INI text file)` }]);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.includes('\u0000')) return this.fail([{ path: '', message: `${shown}: binary data (an inventory is a YAML or INI text file)`, location: { file: shown, line: 1, column: 1 } }]);
    const vault = vaultIssue(text, shown);
    if (vault) return this.fail([vault]);
    if (text.startsWith('#!')) {
      return this.fail([{ path: '', message: 'dynamic inventory scripts are not supported: provision reads static YAML and INI inventories', location: { file: shown, line: 1, column: 1 } }]);
    }
    const ext = extname(path);
    const base = dirname(path);
    if (ext === '.toml') return this.fail([{ path: '', message: `${shown}: TOML inventories are not supported: use the YAML or INI format` }]);
    if (YAML_EXTS.includes(ext)) return this.yaml(() => parseYaml(text, shown, { yaml11: true }), base);
    if (ext === '') {
      // Ansible tries the YAML plugin on files without an extension, then the INI one
      let doc: YamlDoc | undefined;
      let yamlError: ValidationError | undefined;
      try {
        doc = parseYaml(text, shown, { yaml11: true });
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        yamlError = err;
      }
      const v = doc?.value;
      const mapping = v !== null && typeof v === 'object' && !Array.isArray(v);
      const groupsLike = mapping && Object.values(v as object).some((g) => g === null || (typeof g === 'object' && !Array.isArray(g)));
      if (doc && mapping && groupsLike) return this.yaml(() => doc as YamlDoc, base);
      if (yamlError && looksLikeYaml(text)) return this.fail(yamlError.issues);
    }
    this.ini(text, shown, base);
  }

  private yaml(parse: () => YamlDoc, baseDir: string): void {
    try {
      const doc = parse();
      readYamlInventory(doc, this.b);
      this.tagBaseDir(baseDir);
    } catch (err) {
      if (err instanceof ValidationError) this.fail(err.issues);
      else throw err;
    }
  }

  private ini(text: string, shown: string, baseDir: string): void {
    readIniInventory(text, shown, this.b);
    this.tagBaseDir(baseDir);
  }

  /** Relative paths in values set by the file just read are relative to its directory. */
  private tagBaseDir(dir: string): void {
    const tag = (l: VarsLayer): void => {
      for (const o of l.origins.values()) o.baseDir ??= dir;
    };
    for (const g of this.b.groups.values()) tag(g);
    for (const h of this.b.hosts.values()) tag(h);
  }

  list(list: string): void {
    const entries = list.split(',').map((s) => s.trim()).filter(Boolean);
    if (entries.length === 0) return this.fail([{ path: '', message: `inventory list ${JSON.stringify(list)} names no hosts` }]);
    for (const entry of entries) {
      const parsed = parseHostString(entry);
      if (!parsed) {
        this.fail([{ path: '', message: `inventory list: invalid host ${JSON.stringify(entry)} (expected host, host:port or user@host:port)` }]);
        continue;
      }
      const vars: Record<string, unknown> = {};
      if (parsed.user) vars.user = parsed.user;
      if (parsed.port !== undefined) vars.port = parsed.port;
      if (parsed.host === 'localhost') vars.connection = 'local';
      let name = parsed.host;
      if (this.b.hosts.has(name) && parsed.port !== undefined) name = `${parsed.host}:${parsed.port}`;
      if (name !== parsed.host) vars.host = parsed.host;
      const origin = { path: `-i ${entry}`, baseDir: this.cwd };
      this.b.addHost(name, 'ungrouped', undefined, origin);
      for (const [k, v] of Object.entries(vars)) this.b.setHostVar(name, k, v, origin);
    }
  }

  /** Sources that could not be read stop here, with everything else found so far. */
  throwIfFatal(): void {
    if (this.fatal.length > 0) throw new ValidationError(dedupeIssues([...this.fatal, ...this.b.issues]));
  }
}

function sortGroups(groups: GroupNode[], depth: Map<string, number>): GroupNode[] {
  return groups.sort(
    (x, y) => (depth.get(x.name) ?? 0) - (depth.get(y.name) ?? 0) || x.priority - y.priority || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
  );
}

/** Each problem once (a group's bad value is every member host's), files in the order met, top to bottom. */
function dedupeIssues(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  const fileOrder = new Map<string, number>();
  for (const i of issues) if (!fileOrder.has(i.location?.file ?? '')) fileOrder.set(i.location?.file ?? '', fileOrder.size);
  return issues
    .filter((i) => {
      const k = `${i.location?.file}:${i.location?.line}:${i.location?.column}:${i.message.replace(/ for host .*\)$/, '')}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map((issue, n) => ({ issue, n }))
    .sort(
      (a, b) =>
        (fileOrder.get(a.issue.location?.file ?? '') ?? 0) - (fileOrder.get(b.issue.location?.file ?? '') ?? 0) ||
        (a.issue.location?.line ?? 0) - (b.issue.location?.line ?? 0) ||
        (a.issue.location?.column ?? 0) - (b.issue.location?.column ?? 0) ||
        a.n - b.n,
    )
    .map(({ issue }) => issue);
}

/** Each group's hosts, its descendants' included, in inventory order (`all` has every host). */
function groupMembership(b: InventoryBuilder): Map<string, Set<string>> {
  const members = (name: string, acc: Set<string>, seen: Set<string>): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const g = b.groups.get(name) as GroupNode;
    for (const h of g.hosts) acc.add(h);
    for (const c of g.children) members(c, acc, seen);
  };
  const order = [...b.hosts.keys()];
  const groups = new Map<string, Set<string>>();
  for (const name of b.groups.keys()) {
    const acc = new Set<string>();
    if (name === 'all') for (const h of order) acc.add(h);
    else members(name, acc, new Set());
    groups.set(name, new Set(order.filter((h) => acc.has(h))));
  }
  return groups;
}

/** Where group_vars/ and host_vars/ are read: beside the inventory sources, then beside the playbooks. */
interface VarsDirs {
  inventory: VarsDir[];
  playbook: VarsDir[];
}

/** A host's groups below `all`, in precedence order: by depth, then priority, then name. */
function orderedGroups(b: InventoryBuilder, h: HostNode, depth: Map<string, number>): GroupNode[] {
  const ancestry = new Set<string>();
  for (const g of h.groups) {
    ancestry.add(g);
    b.ancestors(g, ancestry);
  }
  ancestry.delete('all');
  return sortGroups([...ancestry].map((n) => b.groups.get(n) as GroupNode), depth);
}

/** A host's variable layers, lowest precedence first (the order in this file's header). */
function hostLayers(b: InventoryBuilder, h: HostNode, ordered: GroupNode[], dirs: VarsDirs): VarsLayer[] {
  const layers: VarsLayer[] = [b.group('all'), ...ordered];
  for (const vd of dirs.inventory) layers.push(...vd.layers('group_vars', 'all'));
  for (const vd of dirs.playbook) layers.push(...vd.layers('group_vars', 'all'));
  for (const vd of dirs.inventory) for (const g of ordered) layers.push(...vd.layers('group_vars', g.name));
  for (const vd of dirs.playbook) for (const g of ordered) layers.push(...vd.layers('group_vars', g.name));
  layers.push(h);
  for (const vd of dirs.inventory) layers.push(...vd.layers('host_vars', h.name));
  for (const vd of dirs.playbook) layers.push(...vd.layers('host_vars', h.name));
  return layers;
}

/** The layers merged (shallow, later wins), each variable with the rank and origin of the layer that set it. */
function mergeLayers(layers: VarsLayer[]): HostResolver {
  const r: HostResolver = { vars: {}, origins: new Map() };
  layers.forEach((layer, rank) => {
    for (const [k, v] of Object.entries(layer.vars)) {
      r.vars[k] = v;
      r.origins.set(k, { rank, origin: layer.origins.get(k) ?? { path: k } });
    }
  });
  return r;
}

/** ~/.ssh/config, read when the first ssh host needs it (its warnings then apply). */
function lazySshConfig(b: InventoryBuilder, options: LoadInventoryOptions, home: string): () => SshConfig | undefined {
  let sshConfig: SshConfig | undefined | null = null;
  return () => {
    if (sshConfig === null) {
      sshConfig = options.sshConfig === false ? undefined : readSshConfig(options.sshConfig ?? resolve(home, '.ssh', 'config'), { home });
      for (const w of sshConfig?.warnings ?? []) b.warn(w.message, w.location);
    }
    return sshConfig;
  };
}

/** Vars files beside the inventory for groups or hosts it does not have: a likely typo. */
function warnUnmatchedVarsFiles(b: InventoryBuilder, invDirs: VarsDir[]): void {
  for (const vd of invDirs) {
    for (const { name, location } of vd.names('group_vars')) {
      if (!b.groups.has(name)) b.warn(`group_vars for "${name}", a group this inventory does not have: not used`, location);
    }
    for (const { name, location } of vd.names('host_vars')) {
      if (!b.hosts.has(name)) b.warn(`host_vars for "${name}", a host this inventory does not have: not used`, location);
    }
  }
}

function groupTreeOf(b: InventoryBuilder): Map<string, GroupInfo> {
  const groupTree = new Map<string, GroupInfo>();
  for (const g of b.groups.values()) groupTree.set(g.name, { hosts: [...g.hosts], children: [...g.children], parents: [...g.parents], vars: { ...g.vars } });
  return groupTree;
}

/** Every host's variables merged and its connection resolved; any problem found on the way stops here. */
function finish(loader: Loader, options: LoadInventoryOptions): Inventory {
  const { b, cwd, env } = loader;
  b.reconcile();
  loader.throwIfFatal();
  const depth = b.depths();
  const home = env.HOME ?? homedir();
  const files = new Map<string, VarsLayer | undefined>();
  const display = (p: string): string => loader.display(p);
  const dirs: VarsDirs = {
    inventory: loader.inventoryDirs.map((d) => new VarsDir(d, b, display, files)),
    playbook: (options.playbookDirs ?? []).map((d) => new VarsDir(resolve(cwd, d), b, display, files)),
  };
  const readConfig = lazySshConfig(b, options, home);
  const secrets = new Set<string>();
  const warnedVars = new Set<string>();
  const groups = groupMembership(b);
  // group membership for templates in connection settings (`groups`, `group_names`)
  const groupsOf = Object.fromEntries([...groups].map(([name, hosts]) => [name, [...hosts]]));
  const hosts = new Map<string, HostSpec>();
  for (const h of b.hosts.values()) {
    const ordered = orderedGroups(b, h, depth);
    const r = mergeLayers(hostLayers(b, h, ordered, dirs));
    const groupNames = ['all', ...ordered.map((g) => g.name)];
    const connection = buildConnection(h.name, r, {
      env,
      home,
      cwd,
      b,
      secrets,
      get sshConfig() {
        return readConfig();
      },
      ...(options.hostKeyPolicy ? { hostKeyPolicy: options.hostKeyPolicy } : {}),
      warnedVars,
      magic: { inventory_hostname: h.name, group_names: groupNames.filter((g) => g !== 'all'), groups: groupsOf },
    });
    hosts.set(h.name, { name: h.name, groups: groupNames, vars: r.vars, connection });
  }
  warnUnmatchedVarsFiles(b, dirs.inventory);
  if (b.issues.length > 0) throw new ValidationError(dedupeIssues(b.issues));
  const inv: Inventory = { hosts, groups, groupTree: groupTreeOf(b), secrets: [...secrets], warnings: [...b.warnings] };
  if (loader.firstFile) inv.file = loader.firstFile;
  return inv;
}

/**
 * Load inventory sources (files, directories, comma lists) into one
 * inventory, as Ansible does with several `-i`: a host in several sources is
 * one host, in all their groups, with later sources' variables winning.
 */
export function loadInventorySources(sources: readonly string[], options: LoadInventoryOptions = {}): Inventory {
  const loader = new Loader(options.cwd ?? process.cwd(), options.env ?? process.env);
  for (const s of sources) loader.source(s);
  return finish(loader, options);
}

/** Load one inventory source: a YAML or INI file, a directory, or a comma list. */
export function loadInventory(source: string, options: LoadInventoryOptions = {}): Inventory {
  return loadInventorySources([source], options);
}

/** Build an inventory from an already-parsed YAML document. */
export function inventoryFromDoc(doc: YamlDoc, options: LoadInventoryOptions & { baseDir?: string } = {}): Inventory {
  const loader = new Loader(options.cwd ?? process.cwd(), options.env ?? process.env);
  const baseDir = options.baseDir ?? dirname(resolve(loader.cwd, doc.file));
  try {
    readYamlInventory(doc, loader.b);
  } catch (err) {
    if (err instanceof ValidationError) loader.fail(err.issues);
    else throw err;
  }
  for (const l of [...loader.b.groups.values(), ...loader.b.hosts.values()]) for (const o of l.origins.values()) o.baseDir ??= baseDir;
  loader.firstFile = doc.file;
  return finish(loader, { sshConfig: false, ...options });
}

/** Inventory from a comma list: `web1.example.com,deploy@db1:2222,localhost,`. */
export function inventoryFromList(list: string, options: LoadInventoryOptions = {}): Inventory {
  const loader = new Loader(options.cwd ?? process.cwd(), options.env ?? process.env);
  loader.list(list);
  return finish(loader, options);
}

/** Parse inventory text (tests, stdin): YAML, or INI with `format: 'ini'`. No ssh config unless given. */
export function parseInventory(text: string, file: string, options: LoadInventoryOptions & { format?: 'yaml' | 'ini' } = {}): Inventory {
  const loader = new Loader(options.cwd ?? process.cwd(), options.env ?? process.env);
  const baseDir = options.cwd ?? process.cwd();
  if (options.format === 'ini') {
    readIniInventory(text, file, loader.b);
    for (const l of [...loader.b.groups.values(), ...loader.b.hosts.values()]) for (const o of l.origins.values()) o.baseDir ??= baseDir;
    return finish(loader, { sshConfig: false, ...options });
  }
  return inventoryFromDoc(parseYaml(text, file, { yaml11: true }), { sshConfig: false, ...options, baseDir });
}

