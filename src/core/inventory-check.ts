/**
 * Type checks of connection variables wherever they are written (INI lines,
 * group_vars/host_vars files), with the same schema and messages as the YAML
 * inventory: `hosts:3:27 web.hosts.h1.ansible_port: must be a port number`.
 */
import type { SourceLocation } from '../contract/errors.js';
import { varsSchema } from '../schema/inventory.js';
import { checkWith } from '../schema/validate.js';
import type { YamlDoc, YamlPath } from '../schema/yaml.js';
import type { InventoryBuilder } from './inventory-model.js';

/** Check `vars` (a flat mapping); `locate(key)` says where each key's value is written. */
export function checkVarsTypes(
  vars: Record<string, unknown>,
  locate: (key: string) => SourceLocation | undefined,
  basePath: readonly (string | number)[],
  b: InventoryBuilder,
): void {
  const doc: YamlDoc = {
    value: vars,
    file: '',
    locate: (path: YamlPath) => locate(String(path[basePath.length] ?? '')),
  };
  const r = checkWith(varsSchema, doc, vars, { basePath, tolerateTemplates: true });
  if (!r.ok) b.issues.push(...r.issues);
}

/** The problem with a connection variable's rendered value, if any (`must be at most 65535, got 70000`). */
export function renderedValueProblem(name: string, value: unknown): string | undefined {
  const doc: YamlDoc = { value: { [name]: value }, file: '', locate: () => undefined };
  const r = checkWith(varsSchema, doc, { [name]: value });
  return r.ok ? undefined : r.issues.map((i) => i.message).join('; ');
}
