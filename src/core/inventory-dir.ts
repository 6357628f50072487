/**
 * Files around an inventory, found the way ansible-core 2.14 finds them:
 *
 * - an inventory directory (`-i inventories/prod/`) is read file by file in
 *   sorted order, subdirectories recursively (inventory/manager.py); hidden
 *   entries, `group_vars`, `host_vars`, `vars_plugins` and files ending in
 *   `.orig .ini .cfg .retry .pyc .pyo .swp .bak ~ .rpm .md .txt .rst` are
 *   skipped (Ansible's INVENTORY_IGNORE_EXTS: yes, `.ini` files in an inventory
 *   directory are not read; we say so in a warning);
 * - `group_vars/NAME` and `host_vars/NAME` (vars/host_group_vars.py and
 *   DataLoader.find_vars_files): the first of `NAME` (a file or a directory),
 *   `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; a directory is read
 *   recursively in sorted order (files with no extension or one of those
 *   three, subdirectories without a dot in their name; hidden files and
 *   `~` backups skipped). Files are YAML (JSON is YAML), read as PyYAML reads
 *   them; an empty file sets nothing.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ValidationError, type SourceLocation } from '../contract/errors.js';
import { varsSchema } from '../schema/inventory.js';
import { checkWith, formatPath } from '../schema/validate.js';
import { MAX_YAML_BYTES, parseYaml } from '../schema/yaml.js';
import { newLayer, type InventoryBuilder, type VarsLayer } from './inventory-model.js';

const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const IGNORED_NAMES = /^\.|^host_vars$|^group_vars$|^vars_plugins$/;
export const VARS_EXTENSIONS = ['.yml', '.yaml', '.json'];

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Python's sorted() of names: by code point. */
function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The inventory files of a directory source, in Ansible's order. */
export function inventoryDirFiles(dir: string, warn: (message: string) => void, display: (p: string) => string): string[] {
  const out: string[] = [];
  for (const name of sortedNames(dir)) {
    const full = join(dir, name);
    if (IGNORED_NAMES.test(name)) continue;
    const ext = IGNORED_EXTS.find((e) => name.endsWith(e));
    if (ext) {
      if ((ext === '.ini' || ext === '.cfg') && !isDir(full)) {
        warn(`${display(full)} is not read: Ansible skips ${ext} files in an inventory directory (pass the file itself with -i, or rename it)`);
      }
      continue;
    }
    if (isDir(full)) out.push(...inventoryDirFiles(full, warn, display));
    else out.push(full);
  }
  return out;
}

/** Files of a vars directory (`group_vars/web/`), recursively, in Ansible's order. */
function varsDirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of sortedNames(dir)) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const full = join(dir, name);
    const ext = extname(name);
    if (isDir(full)) {
      if (!ext) out.push(...varsDirFiles(full));
    } else if (!ext || VARS_EXTENSIONS.includes(ext)) out.push(full);
  }
  return out;
}

/** Where an ansible-vault encrypted file or value starts, if anywhere. */
export function vaultAt(text: string): { line: number; column: number } | undefined {
  if (text.startsWith('$ANSIBLE_VAULT;')) return { line: 1, column: 1 };
  const m = /(^|[\s:,[{-])!vault\b/m.exec(text);
  if (!m) return undefined;
  const offset = m.index + (m[1] as string).length;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Read one vars file (YAML 1.1 like Ansible) into a layer; problems go to the builder. */
export function readVarsFile(path: string, shown: string, b: InventoryBuilder): VarsLayer | undefined {
  let text: string;
  try {
    if (statSync(path).size > MAX_YAML_BYTES) {
      b.issue(`${shown}: file is larger than ${MAX_YAML_BYTES} bytes`);
      return undefined;
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    b.issue(`${shown}: cannot read: ${(err as Error).message}`);
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const vault = vaultAt(text);
  if (vault) {
    b.issue('ansible-vault encrypted content is not supported: give secrets through *_env variables', { file: shown, ...vault });
    return undefined;
  }
  let doc;
  try {
    doc = parseYaml(text, shown, { yaml11: true });
  } catch (err) {
    if (err instanceof ValidationError) {
      b.issues.push(...err.issues);
      return undefined;
    }
    throw err;
  }
  const value = doc.value;
  if (value === null || value === undefined || value === '') return undefined; // Ansible ignores empty files
  if (typeof value !== 'object' || Array.isArray(value)) {
    const location = doc.locate([]);
    b.issue(`a vars file holds a mapping of variables, got ${Array.isArray(value) ? 'a list' : typeof value}`, location);
    return undefined;
  }
  const r = checkWith(varsSchema, doc, value, { tolerateTemplates: true });
  if (!r.ok) b.issues.push(...r.issues);
  const layer = newLayer();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    layer.vars[k] = v;
    const location = doc.locate([k]);
    layer.origins.set(k, location ? { location, path: `${formatPath([k])}` } : { path: `${shown}: ${k}` });
  }
  return layer;
}

/**
 * group_vars/ and host_vars/ of one directory (beside an inventory source or a
 * playbook), loaded on demand and cached per file.
 */
export class VarsDir {
  private readonly cache = new Map<string, VarsLayer[]>();
  readonly exists: boolean;

  constructor(
    readonly dir: string,
    private readonly b: InventoryBuilder,
    private readonly display: (p: string) => string,
    private readonly files: Map<string, VarsLayer | undefined>,
  ) {
    this.exists = existsSync(dir);
    for (const kind of ['group_vars', 'host_vars']) {
      const p = join(dir, kind);
      if (existsSync(p) && !isDir(p)) b.warn(`${display(p)} is not a directory: not read`);
    }
  }

  /** The layers (one per file, lowest first) for a group or host name. */
  layers(kind: 'group_vars' | 'host_vars', name: string): VarsLayer[] {
    const key = `${kind}/${name}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out: VarsLayer[] = [];
    this.cache.set(key, out);
    const base = join(this.dir, kind);
    // names like /path/to/chroot are not looked up (Ansible)
    if (!this.exists || name.startsWith('/') || !isDir(base)) return out;
    const candidates = ['', ...VARS_EXTENSIONS].map((ext) => join(base, `${name}${ext}`));
    const found = candidates.findIndex((p) => existsSync(p));
    if (found < 0) return out;
    const chosen = candidates[found] as string;
    for (const other of candidates.slice(found + 1)) {
      if (existsSync(other)) this.b.warn(`${this.display(other)} is not read: ${this.display(chosen)} comes first (Ansible reads only the first of ${name}, ${name}.yml, ${name}.yaml, ${name}.json)`);
    }
    for (const file of isDir(chosen) ? varsDirFiles(chosen) : [chosen]) {
      let real = file;
      try {
        real = realpathSync(file);
      } catch {
        /* keep the path */
      }
      if (!this.files.has(real)) {
        const layer = readVarsFile(file, this.display(file), this.b);
        // relative paths in a vars file are relative to the directory its group_vars/host_vars is in
        if (layer) for (const o of layer.origins.values()) o.baseDir = this.dir;
        this.files.set(real, layer);
      }
      const layer = this.files.get(real);
      if (layer) out.push(layer);
    }
    return out;
  }

  /** Names under group_vars/ (or host_vars/) that could be read, with where they are. */
  names(kind: 'group_vars' | 'host_vars'): { name: string; location: SourceLocation }[] {
    const base = join(this.dir, kind);
    if (!this.exists || !isDir(base)) return [];
    const out: { name: string; location: SourceLocation }[] = [];
    for (const entry of sortedNames(base)) {
      if (entry.startsWith('.') || entry.endsWith('~')) continue;
      const ext = extname(entry);
      const full = join(base, entry);
      let name: string | undefined;
      if (ext && VARS_EXTENSIONS.includes(ext)) name = entry.slice(0, -ext.length);
      else if (!ext || isDir(full)) name = entry;
      if (name !== undefined) out.push({ name, location: { file: this.display(full), line: 1, column: 1 } });
    }
    return out;
  }
}
