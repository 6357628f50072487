/**
 * The library API the CLI is a thin layer over: load and validate inventories
 * and playbooks, run them, render reports.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from './contract/errors.js';
import { loadInventory, type Inventory } from './core/inventory.js';
import { loadPlaybook, type Playbook } from './core/playbook.js';
import { run, type RunEvents, type RunOptions, type RunSummary } from './core/runner.js';
import { registry } from './tasks/index.js';

export { registry };

/** Load one or more inventories (files or comma lists); later sources win for the same host. */
export function loadInventories(sources: readonly string[], env: NodeJS.ProcessEnv = process.env): Inventory {
  const merged: Inventory = { hosts: new Map(), groups: new Map(), secrets: [] };
  for (const source of sources) {
    const inv = loadInventory(source, { env });
    for (const [name, spec] of inv.hosts) merged.hosts.set(name, spec);
    for (const [group, members] of inv.groups) {
      const set = merged.groups.get(group) ?? new Set<string>();
      for (const m of members) set.add(m);
      merged.groups.set(group, set);
    }
    merged.secrets.push(...inv.secrets);
  }
  return merged;
}

/** Load playbooks in order as one sequence of plays (each task keeps its own file for relative paths). */
export function loadPlaybooks(files: readonly string[]): Playbook {
  const books = files.map((f) => loadPlaybook(f, registry));
  return { file: files.join(', '), dir: books[0]?.dir ?? process.cwd(), plays: books.flatMap((b) => b.plays) };
}

/**
 * `-e` values: `key=value` (value parsed as YAML scalar), `@file.yaml|json`, or
 * an inline YAML/JSON mapping.
 */
export function parseExtraVars(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    let value: unknown;
    if (item.startsWith('@')) value = parseYaml(readFileSync(item.slice(1), 'utf8'));
    else if (/^\s*[{]/.test(item)) value = parseYaml(item);
    else {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new ValidationError([{ path: '-e', message: `expected key=value, @file or a mapping, got "${item}"` }]);
      value = { [item.slice(0, eq)]: parseYaml(item.slice(eq + 1)) ?? '' };
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new ValidationError([{ path: '-e', message: `"${item}" must give a mapping of variables` }]);
    }
    Object.assign(out, value);
  }
  return out;
}

export interface ProvisionOptions extends Omit<RunOptions, 'inventory' | 'playbook' | 'registry'> {
  inventory: readonly string[];
  playbooks: readonly string[];
}

/** Load, validate and run: what `provision -i INV PLAYBOOK` does, minus the terminal. */
export async function provision(o: ProvisionOptions): Promise<RunSummary> {
  const playbook = loadPlaybooks(o.playbooks);
  const inventory = loadInventories(o.inventory);
  return run({ ...o, inventory, playbook, registry });
}

/** Fan one event stream out to several subscribers. */
export function fanOut(...subscribers: RunEvents[]): RunEvents {
  return {
    playStart: (...a) => subscribers.forEach((s) => s.playStart?.(...a)),
    taskStart: (...a) => subscribers.forEach((s) => s.taskStart?.(...a)),
    taskEnd: (...a) => subscribers.forEach((s) => s.taskEnd?.(...a)),
    hostUnreachable: (...a) => subscribers.forEach((s) => s.hostUnreachable?.(...a)),
    runEnd: (...a) => subscribers.forEach((s) => s.runEnd?.(...a)),
  };
}
