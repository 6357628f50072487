/**
 * What can be known about variables before any host is contacted:
 *
 * - a variable defined through itself (`a: "{{ b }}"`, `b: "{{ a }}"`) can
 *   never render: refused with the place it is defined;
 * - a variable a task uses that nothing defines (no inventory, play, extra,
 *   registered or loop variable, no fact or magic variable) would fail on every
 *   host: refused with the task's location, unless the task guards it
 *   (`x is defined`, `x | default(...)`).
 *
 * Templates are read, not rendered (`templateNames`).
 */
import type { SourceLocation, ValidationIssue } from '../contract/errors.js';
import type { Inventory } from './inventory.js';
import { flatIncludes, searchDirsOf, type IncludeDef, type PlayDef, type Playbook, type TaskDef } from './playbook.js';
import { filesNamed } from './local-files.js';
import { isTemplated, templateNames, type TemplateNames } from './template.js';
import { readVarsFile } from './local-files.js';
import { RUNTIME_VAR_NAMES } from './vars.js';

/** Names a registered result has, for changed_when/failed_when without the register name. */
const RESULT_NAMES = ['changed', 'failed', 'skipped', 'msg', 'rc', 'stdout', 'stdout_lines', 'stderr', 'results'];

class NameCache {
  private readonly cache = new Map<string, TemplateNames>();
  of(text: string, condition = false): TemplateNames {
    const key = `${condition ? 'c' : 't'}:${text}`;
    let hit = this.cache.get(key);
    if (!hit) {
      hit = templateNames(text, condition);
      this.cache.set(key, hit);
    }
    return hit;
  }
}

/** Every template string inside a value (keys are not templated). */
export function templateStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (isTemplated(value)) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) templateStrings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) templateStrings(v, out);
  return out;
}

/** A cycle among `vars` (name → the names its value uses), as the names along it, or undefined. */
function findCycle(vars: Record<string, unknown>, names: NameCache): string[] | undefined {
  const edges = new Map<string, string[]>();
  for (const [k, v] of Object.entries(vars)) {
    const used = templateStrings(v).flatMap((t) => [...names.of(t).used]);
    edges.set(
      k,
      used.filter((u) => Object.prototype.hasOwnProperty.call(vars, u)),
    );
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of edges.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

export interface VarCheckInput {
  playbook: Playbook;
  inventory: Inventory;
  extraVars: Record<string, unknown>;
  /** Hosts each play runs on (its vars are checked with theirs). */
  hostsOf: (play: PlayDef) => readonly string[];
}

function recursionIssues(i: VarCheckInput, names: NameCache): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const play of i.playbook.plays) {
    // the inventory's variables of each host, then the play's, then -e: as a task sees them
    const scopes = i.hostsOf(play).map((h) => i.inventory.hosts.get(h)?.vars ?? {});
    for (const hostVars of scopes.length > 0 ? scopes : [{}]) {
      const cycle = findCycle({ ...play.roleDefaults, ...hostVars, ...play.vars, ...play.varsFilesVars, ...play.roleVars, ...i.extraVars }, names);
      if (!cycle) continue;
      const key = [...cycle].sort().join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      const inPlay = cycle.find((n) => play.varLocations[n]);
      const location: SourceLocation | undefined = inPlay ? play.varLocations[inPlay] : undefined;
      if (inPlay) {
        // start the cycle at the variable the location points to
        const at = cycle.indexOf(inPlay);
        cycle.splice(0, cycle.length, ...cycle.slice(at, -1), ...cycle.slice(0, at), inPlay);
      }
      issues.push({
        ...(location ? { location } : {}),
        path: location ? `vars.${inPlay}` : 'vars',
        message: `variable ${JSON.stringify(cycle[0])} is defined through itself (${cycle.join(' → ')}): it can never be rendered`,
      });
    }
  }
  return issues;
}

/** The names a control task sets on the host: set_fact's keys, the variables of include_vars' file (every file its name can stand for). */
function definedBy(task: TaskDef): string[] {
  const args = task.args;
  if (task.module === 'set_fact' && args && typeof args === 'object') return Object.keys(args);
  if (task.module !== 'include_vars') return [];
  const a = typeof args === 'string' ? { file: args } : (args as { file?: unknown; name?: unknown });
  if (typeof a.name === 'string') return [a.name];
  if (typeof a.file !== 'string') return [];
  return filesNamed(a.file, searchDirsOf(task).vars).flatMap((f) => {
    try {
      return Object.keys(readVarsFile(f));
    } catch {
      return []; // the run reports it
    }
  });
}

/** Every name a play can give a variable before or while its tasks run. */
function playNames(play: PlayDef, includes: readonly IncludeDef[]): string[] {
  const tasks = [...play.tasks, ...play.handlers];
  return [
    ...Object.keys(play.vars),
    ...play.prompts.map((p) => p.name),
    ...Object.keys(play.varsFilesVars),
    ...play.varsFiles.flatMap((r) => Object.values(r.files).flatMap((v) => Object.keys(v))),
    ...Object.keys(play.roleDefaults),
    ...Object.keys(play.roleVars),
    ...tasks.flatMap((t) => [...(t.register ? [t.register] : []), ...Object.keys(t.vars ?? {}), ...definedBy(t)]),
    ...tasks.flatMap((t) => (t.role ? [...Object.keys(t.role.defaults), ...Object.keys(t.role.vars), ...Object.keys(t.role.params)] : [])),
    ...includes.flatMap((inc) => [...(inc.loop !== undefined ? [inc.loopVar] : []), ...Object.keys(inc.vars ?? {})]),
  ];
}

const conds = (c: TaskDef['when']): string[] => (c === undefined || typeof c === 'boolean' ? [] : Array.isArray(c) ? c.filter((x): x is string => typeof x === 'string') : [c]);

function undefinedIssues(i: VarCheckInput, names: NameCache): ValidationIssue[] {
  const known = new Set<string>([...RUNTIME_VAR_NAMES, ...Object.keys(i.extraVars)]);
  for (const h of i.inventory.hosts.values()) for (const k of Object.keys(h.vars)) known.add(k);
  const includes = new Map(i.playbook.plays.map((p) => [p, flatIncludes(p.body)]));
  for (const play of i.playbook.plays) for (const n of playNames(play, includes.get(play) ?? [])) known.add(n);
  const issues: ValidationIssue[] = [];
  const check = (at: { location: SourceLocation; module?: string }, texts: string[], condition: boolean, extra: readonly string[] = []): void => {
    for (const text of texts) {
      const n = names.of(text, condition);
      for (const name of n.used) {
        if (known.has(name) || n.guarded.has(name) || extra.includes(name)) continue;
        issues.push({ location: at.location, path: at.module ?? 'include', message: `undefined variable ${JSON.stringify(name)} in ${JSON.stringify(text)}: no inventory, play, extra (-e), registered or loop variable has that name` });
      }
    }
  };
  for (const play of i.playbook.plays) {
    for (const task of [...play.tasks, ...play.handlers]) {
      const loopVars = task.loop !== undefined ? [task.loopVar] : [];
      check(task, templateStrings(task.args), false, loopVars);
      // assert's `that` holds bare expressions, like when:
      if (task.module === 'assert' && task.args && typeof task.args === 'object') check(task, conds((task.args as { that?: TaskDef['when'] }).that), true, loopVars);
      check(task, conds(task.when), true, loopVars);
      check(task, templateStrings(task.loop), false);
      check(task, templateStrings(task.vars), false, loopVars);
      const result = [...loopVars, ...RESULT_NAMES, ...(task.register ? [task.register] : [])];
      check(task, [...conds(task.changedWhen), ...conds(task.failedWhen), ...conds(task.until?.condition)], true, [...result, 'attempts']);
    }
    for (const inc of includes.get(play) ?? []) {
      const loopVars = inc.loop !== undefined ? [inc.loopVar] : [];
      check(inc, conds(inc.when), true);
      check(inc, templateStrings(inc.loop), false);
      check(inc, [inc.target], false, loopVars);
    }
  }
  return issues;
}

/** Every problem with variables that can be found before running. */
export function checkVariables(i: VarCheckInput): ValidationIssue[] {
  const names = new NameCache();
  return [...recursionIssues(i, names), ...undefinedIssues(i, names)];
}
