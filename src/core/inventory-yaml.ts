/**
 * Ansible's YAML inventory layout, read the way ansible-core 2.14's `yaml`
 * plugin reads it (plugins/inventory/yaml.py): top-level keys are groups; each
 * group may have `hosts` (host pattern → vars), `children` (group → same
 * shape) and `vars`, in the order written. A string where a mapping is expected
 * (`hosts: web1`) means that one name, as in Ansible.
 */
import type { YamlDoc, YamlPath } from '../schema/yaml.js';
import { inventorySchema, type GroupInput } from '../schema/inventory.js';
import { formatPath, validateWith } from '../schema/validate.js';
import { ValidationError } from '../contract/errors.js';
import { expandHostPattern, HostPatternError, type InventoryBuilder, type Origin } from './inventory-model.js';

function asMapping<T>(v: Record<string, T> | string | null | undefined): Record<string, T | null> {
  if (typeof v === 'string') return { [v]: null };
  return v ?? {};
}

/** Read a parsed YAML inventory into the builder (validated first; errors carry file:line:col). */
export function readYamlInventory(doc: YamlDoc, b: InventoryBuilder): void {
  const value = doc.value;
  if (value === null || value === undefined) {
    throw new ValidationError([{ path: '', message: `${doc.file}: inventory is empty` }]);
  }
  if (typeof value === 'object' && !Array.isArray(value) && typeof (value as Record<string, unknown>).plugin === 'string') {
    const location = doc.locate(['plugin']);
    throw new ValidationError([
      {
        path: 'plugin',
        message: `inventory plugin configuration (plugin: ${String((value as Record<string, unknown>).plugin)}) is not supported: provision reads static inventories only`,
        ...(location ? { location } : {}),
      },
    ]);
  }
  // a `{{ }}` value is checked once rendered (inventory-connection.ts)
  const data = validateWith(inventorySchema, doc, { tolerateTemplates: true });
  const origin = (path: YamlPath, key = false): Origin => {
    const location = doc.locate(path, { key });
    return location ? { location, path: formatPath(path) } : { path: formatPath(path) };
  };

  const walk = (name: string, input: GroupInput | null, path: YamlPath): void => {
    b.group(name, origin(path, true));
    if (!input) return;
    for (const section of Object.keys(input)) {
      if (section === 'vars') {
        for (const [k, v] of Object.entries(asMapping(input.vars))) b.setGroupVar(name, k, v, origin([...path, 'vars', k]));
      } else if (section === 'children') {
        for (const [child, childInput] of Object.entries(asMapping(input.children))) {
          const childPath = [...path, 'children', child];
          if (child === 'all') {
            const o = origin(childPath, true);
            b.issue('group "all" cannot be a child group', o.location, o.path);
            continue;
          }
          walk(child, childInput, childPath);
          b.addChild(name, child, origin(childPath, true));
        }
      } else if (section === 'hosts') {
        for (const [pattern, vars] of Object.entries(asMapping(input.hosts))) {
          const hostPath = [...path, 'hosts', pattern];
          let expanded: { names: string[]; port?: number };
          try {
            expanded = expandHostPattern(pattern);
          } catch (err) {
            const o = origin(hostPath, true);
            b.issue(`invalid host pattern "${pattern}": ${err instanceof HostPatternError ? err.message : String(err)}`, o.location, o.path);
            continue;
          }
          if (expanded.names.length === 0) b.warn(`host range "${pattern}" names no hosts`, doc.locate(hostPath, { key: true }));
          for (const host of expanded.names) {
            b.addHost(host, name, expanded.port, origin(hostPath, true));
            for (const [k, v] of Object.entries(vars ?? {})) b.setHostVar(host, k, v, origin([...hostPath, k]));
          }
        }
      }
    }
  };
  for (const [name, group] of Object.entries(data)) walk(name, group, [name]);
}
