/**
 * The library API the CLI is a thin layer over: load and validate inventories
 * and playbooks, run them, render reports. Here the task registry is a
 * parameter: src/api.ts binds the full one, the CLI one that loads the task
 * modules its playbooks use (loadPlaybooksLazily), which keeps its start-up short.
 */
import { dirname, resolve } from 'node:path';
import { ValidationError, formatIssue } from './contract/errors.js';
import { readHostFacts, runAdhoc, type AdhocOptions, type FactsReport } from './core/adhoc.js';
import { loadInventorySources, type Inventory, type InventoryWarning, type LoadInventoryOptions } from './core/inventory.js';
import { createLogger, logEvents } from './core/log.js';
import { loadPlaybook, type Playbook, type TaskDef, type TaskRegistry } from './core/playbook.js';
import type { PendingTasks } from './core/playbook-task.js';
import type { RunEvents, RunSummary } from './core/results.js';
import { run, type RunOptions } from './core/runner.js';
import { unansweredPrompt } from './core/prompts.js';
import { Secrets } from './core/secrets.js';
import { patternWarnings, selectPlays } from './core/selection.js';
import { checkVariables } from './core/varcheck.js';
import { checkReportTargets, writeReports, type ReportTarget } from './reporters/index.js';
import { loadYamlFile, parseYaml } from './schema/yaml.js';
import { LazyTasks } from './tasks/lazy.js';

/**
 * Load one or more inventories (files, directories, comma lists) into one, as
 * Ansible does with several `-i`; later sources win for the same variable.
 * `options.playbookDirs`: directories whose group_vars/ and host_vars/ count too.
 */
export function loadInventories(sources: readonly string[], env: NodeJS.ProcessEnv = process.env, options: Omit<LoadInventoryOptions, 'env'> = {}): Inventory {
  return loadInventorySources(sources, { ...options, env });
}

/** An inventory warning as one line: `hosts:3:1 not used by provision: ansible_python_interpreter`. */
export function formatInventoryWarning(w: InventoryWarning): string {
  return w.location ? `${w.location.file}:${w.location.line}:${w.location.column} ${w.message}` : w.message;
}

/** The directories of the playbooks, whose group_vars/ and host_vars/ Ansible reads too. */
function playbookDirs(playbooks: readonly string[]): string[] {
  return [...new Set(playbooks.map((p) => dirname(resolve(p))))];
}

/** Load playbooks in order as one sequence of plays (each task keeps its own file for relative paths). */
export function loadPlaybooksWith(files: readonly string[], registry: TaskRegistry, pending?: PendingTasks): Playbook {
  const books = files.map((f) => loadPlaybook(f, registry, pending));
  return { file: files.join(', '), dir: books[0]?.dir ?? process.cwd(), plays: books.flatMap((b) => b.plays), warnings: books.flatMap((b) => b.warnings) };
}

/** Playbooks with the registry of the task types they use: what a run or a plan needs. */
export interface LoadedPlaybooks {
  playbook: Playbook;
  registry: TaskRegistry;
}

/**
 * loadPlaybooksWith, importing only the task modules the playbooks use: a
 * pass that names the task types met (their arguments unchecked), their
 * import, and the pass that checks everything. The result, errors and
 * warnings are those of a load with every task type.
 */
export async function loadPlaybooksLazily(files: readonly string[]): Promise<LoadedPlaybooks> {
  const tasks = new LazyTasks();
  for (;;) {
    const needed = new Set<string>();
    try {
      const playbook = loadPlaybooksWith(files, tasks.registry, { loaded: (n) => tasks.loaded(n), needed });
      if (needed.size === 0) return { playbook, registry: tasks.registry };
    } catch (err) {
      // the errors of a pass that did not check every task's arguments are not all of them
      if (needed.size === 0) throw err;
    }
    await tasks.load(needed);
    const unknown = [...needed].filter((n) => !tasks.loaded(n));
    if (unknown.length > 0) throw new Error(`internal: no task module to load for ${unknown.join(', ')}`);
  }
}

/**
 * `-e` values: `key=value` (value parsed as YAML scalar), `@file.yaml|json`, or
 * an inline YAML/JSON mapping.
 */
/** A `key=value` value: a YAML scalar (`22`, `true`, `[a, b]`), or the text itself when it is not valid YAML. */
function scalar(text: string): unknown {
  try {
    return parseYaml(text, '-e').value ?? '';
  } catch {
    return text;
  }
}

export function parseExtraVars(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    let value: unknown;
    if (item.startsWith('@')) value = loadYamlFile(item.slice(1), item.slice(1)).value;
    else if (/^\s*[{[]/.test(item)) value = parseYaml(item, `-e '${item}'`).value;
    else {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new ValidationError([{ path: '-e', message: `expected key=value, @file or a mapping, got "${item}"` }]);
      value = { [item.slice(0, eq)]: scalar(item.slice(eq + 1)) };
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new ValidationError([{ path: '-e', message: `"${item}" must give a mapping of variables` }]);
    }
    Object.assign(out, value);
  }
  return out;
}

export interface ProvisionOptions extends Omit<RunOptions, 'inventory' | 'playbook' | 'registry'> {
  /** Inventory files or comma lists; later sources win for the same host. */
  inventory: readonly string[];
  playbooks: readonly string[];
  /** Where `*_env` inventory variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Reports written when the run ends (`--report FORMAT=FILE`). */
  reports?: readonly ReportTarget[];
  /** Structured JSON logs (pino), masked like every other output. */
  log?: { level?: string; file?: string };
}

export interface ProvisionResult extends RunSummary {
  /** Reports that could not be written (the run's exit code stands). */
  reportErrors: string[];
}

/** Validate and run loaded playbooks, then write the reports: what `provision -i INV PLAYBOOK` does, minus the terminal. */
export async function provisionLoaded(o: ProvisionOptions, { playbook, registry }: LoadedPlaybooks): Promise<ProvisionResult> {
  const inventory = loadInventories(o.inventory, o.env, { playbookDirs: playbookDirs(o.playbooks), ...(o.hostKeyPolicy ? { hostKeyPolicy: o.hostKeyPolicy } : {}) });
  checkReportTargets(o.reports ?? []);
  const secrets = o.secrets ?? new Secrets();
  const log = o.log?.level !== undefined || o.log?.file !== undefined ? await createLogger({ secrets, ...o.log }) : undefined;
  try {
    const events = log ? fanOut(o.events ?? {}, logEvents(log)) : o.events;
    secrets.add(...inventory.secrets);
    for (const w of inventory.warnings) events?.warning?.(secrets.mask(formatInventoryWarning(w)));
    const summary = await run({ ...o, inventory, playbook, registry, secrets, ...(events ? { events } : {}) });
    const reportErrors = await writeReports(o.reports ?? [], summary, { playbooks: [...o.playbooks], inventory: [...o.inventory], ...(o.shard ? { shard: o.shard } : {}) });
    return { ...summary, reportErrors };
  } finally {
    log?.flush();
  }
}

export type PlanOptions = Pick<ProvisionOptions, 'playbooks' | 'env' | 'limit' | 'shard' | 'extraVars' | 'hostKeyPolicy'> & { inventory?: readonly string[] };

export interface RunPlan {
  plays: { name: string; hosts: string[]; tasks: TaskDef[] }[];
  warnings: string[];
}

/**
 * Check everything a run of loaded playbooks would, without contacting any
 * host: what it would select (`--list-hosts`, `--list-tasks`) and `provision
 * validate`. Without inventories, only what the playbooks alone can tell is checked.
 */
export function planLoaded(o: PlanOptions, playbook: Playbook): RunPlan {
  const withInventory = o.inventory !== undefined && o.inventory.length > 0;
  const inventory = loadInventories(o.inventory ?? [], o.env, { playbookDirs: playbookDirs(o.playbooks), ...(o.hostKeyPolicy ? { hostKeyPolicy: o.hostKeyPolicy } : {}) });
  const secrets = new Secrets();
  secrets.add(...inventory.secrets);
  const selection = selectPlays(playbook, inventory, o);
  const issues = checkVariables({ playbook, inventory, extraVars: o.extraVars ?? {}, hostsOf: (play) => selection.find((p) => p.play === play)?.hosts ?? [] });
  // without an inventory its variables are unknown: an undefined name may still come from there
  const errors = withInventory ? issues : issues.filter((i) => !i.message.startsWith('undefined variable'));
  if (errors.length > 0) throw new ValidationError(errors);
  const notDefinedHere = withInventory ? [] : issues.filter((i) => i.message.startsWith('undefined variable')).map((i) => `${formatIssue(i)} (unless the inventory defines it)`);
  return {
    plays: selection.map(({ play, hosts }) => ({ name: play.name, hosts, tasks: play.tasks })),
    warnings: [
      ...inventory.warnings.map((w) => secrets.mask(formatInventoryWarning(w))),
      ...(withInventory ? patternWarnings(playbook, inventory, o) : []),
      ...notDefinedHere,
      ...playbook.plays.flatMap((play) => play.prompts.flatMap((p) => {
        const missing = unansweredPrompt(p, o.extraVars ?? {});
        return missing ? [formatIssue({ path: '', message: `${missing} (a run is refused without it)`, location: p.location })] : [];
      })),
    ],
  };
}

export interface AdhocApiOptions extends Omit<AdhocOptions, 'inventory'> {
  /** Inventory files or comma lists; later sources win for the same host. */
  inventory: readonly string[];
  /** Where `*_env` inventory variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface ExecOptions extends AdhocApiOptions {
  /** A shell command line, run by /bin/sh on each host (with sudo when become). */
  command: string;
  /** Reports written at the end (`--report FORMAT=FILE`): the schema of a run's, results carry stdout and stderr. */
  reports?: readonly ReportTarget[];
}

/**
 * One command on every host `pattern` selects, in parallel: what
 * `provision exec -i INV PATTERN -- COMMAND` does, minus the terminal. A
 * RunSummary like a run's: a result per reached host (`changed` with exit 0,
 * `failed` otherwise, rc/stdout/stderr), exit code 0 / 2 (a command failed) /
 * 4 (unreachable) / 130.
 */
export async function execAdhoc(o: ExecOptions): Promise<ProvisionResult> {
  const inventory = adhocInventory(o);
  checkReportTargets(o.reports ?? []);
  const summary = await runAdhoc({ ...o, inventory });
  const reportErrors = await writeReports(o.reports ?? [], summary, { playbooks: [], inventory: [...o.inventory], command: o.command, ...(o.shard ? { shard: o.shard } : {}) });
  return { ...summary, reportErrors };
}

/** The inventory of an ad-hoc command, its warnings told through the command's events. */
function adhocInventory(o: AdhocApiOptions): Inventory {
  const inventory = loadInventories(o.inventory, o.env, o.hostKeyPolicy ? { hostKeyPolicy: o.hostKeyPolicy } : {});
  for (const w of inventory.warnings) o.events?.warning?.(formatInventoryWarning(w));
  return inventory;
}

/**
 * The facts playbooks see, for every host `pattern` selects, read in one round
 * trip per host: what `provision facts -i INV PATTERN --json` prints.
 */
export async function gatherFacts(o: AdhocApiOptions): Promise<FactsReport> {
  return readHostFacts({ ...o, inventory: adhocInventory(o) });
}

/** Fan one event stream out to several subscribers. */
export function fanOut(...subscribers: RunEvents[]): RunEvents {
  return {
    playStart: (...a) => subscribers.forEach((s) => s.playStart?.(...a)),
    taskStart: (...a) => subscribers.forEach((s) => s.taskStart?.(...a)),
    taskEnd: (...a) => subscribers.forEach((s) => s.taskEnd?.(...a)),
    hostUnreachable: (...a) => subscribers.forEach((s) => s.hostUnreachable?.(...a)),
    warning: (...a) => subscribers.forEach((s) => s.warning?.(...a)),
    runEnd: (...a) => subscribers.forEach((s) => s.runEnd?.(...a)),
  };
}
