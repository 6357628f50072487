/**
 * The library API with every task type loaded (src/api-core.ts with the full
 * registry): load and validate inventories and playbooks, run them, render reports.
 */
import { loadPlaybooksWith, planLoaded, provisionLoaded, type PlanOptions, type ProvisionOptions, type ProvisionResult, type RunPlan } from './api-core.js';
import type { Playbook } from './core/playbook.js';
import { registry } from './tasks/index.js';

export * from './api-core.js';
export { registry };

/** Load playbooks in order as one sequence of plays (each task keeps its own file for relative paths). */
export function loadPlaybooks(files: readonly string[]): Playbook {
  return loadPlaybooksWith(files, registry);
}

/** Load, validate and run, then write the reports: what `provision -i INV PLAYBOOK` does, minus the terminal. */
export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  return provisionLoaded(o, { playbook: loadPlaybooks(o.playbooks), registry });
}

/**
 * Load and check everything a run would, without contacting any host: what it
 * would select (`--list-hosts`, `--list-tasks`) and `provision validate`.
 * Without inventories, only what the playbooks alone can tell is checked.
 */
export function planRun(o: PlanOptions): RunPlan {
  return planLoaded(o, loadPlaybooks(o.playbooks));
}
