/**
 * A play's fact reads, ahead of its tasks. Before the first task runs on a
 * host, the facts every task will read are known from its arguments, except
 * where a task depends on a result registered during the play: so all of them
 * are read in one round trip, together with the host facts.
 *
 * Before the host facts are known, what a task reads may depend on the kind of
 * host (user `admin: true` reads the sudo or the wheel group, a service is
 * asked of systemd or of init scripts). Those reads are written for every class
 * of host the task tells apart (`family:init:container`, found by watching
 * which host facts its `facts()` and its `when:` look at) and the host runs the
 * ones of its own class (host.ts). Anything else is rendered with the best
 * guess at hand (another host of the run), and a read the guess got wrong is
 * simply read again once the facts are known: a value read ahead is a value
 * read from the host, so a wrong guess costs a round trip, never correctness.
 */
import type { HostFacts } from '../contract/host-facts.js';
import type { FactRequest } from '../contract/fact.js';
import type { TaskContext } from '../contract/task.js';
import { UNGATHERED, type FactRead, type HostSession } from './host.js';
import { loopItems, runAs, type HostBecome } from './pipeline.js';
import { searchDirsOf, type PlayDef, type TaskDef, type TaskRegistry } from './playbook.js';
import { dropOmitted, evalCondition, renderValue, templateNames } from './template.js';
import { templateStrings } from './varcheck.js';
import { factVars } from './vars.js';

export interface PrefetchEnv {
  readonly registry: TaskRegistry;
  readonly check: boolean;
  readonly hostBecome: HostBecome;
  /** The host's variables for these host facts (none: not gathered), with the results registered so far. */
  varsOf(facts: HostFacts | undefined): Record<string, unknown>;
}

type Dim = 'family' | 'init' | 'container';
const DIM_VALUES: Record<Dim, readonly string[]> = { family: ['debian', 'rhel', 'unknown'], init: ['systemd', 'sysv', 'none'], container: ['0', '1'] };
const DIMS: readonly Dim[] = ['family', 'init', 'container'];

/** Variables that carry host facts, and the class dimensions they tell apart. */
const FACT_NAME_DIMS: Record<string, readonly Dim[]> = {
  facts: DIMS,
  os_family: ['family'],
  ansible_os_family: ['family'],
  ansible_distribution: ['family'],
  ansible_distribution_version: ['family'],
  ansible_distribution_major_version: ['family'],
  ansible_service_mgr: ['init'],
  ansible_pkg_mgr: ['family'],
};
/** Every variable the host facts define (vars.ts factVars). */
const FACT_NAMES = new Set(Object.keys(factVars(UNGATHERED)));

/** The variables a task's when/loop/arguments name directly. */
function namesOf(task: TaskDef): Set<string> {
  const names = new Set<string>();
  const conditions = task.when === undefined ? [] : Array.isArray(task.when) ? task.when : [task.when];
  for (const c of conditions) if (typeof c === 'string') for (const n of templateNames(c, true).used) names.add(n);
  for (const t of templateStrings([task.args, task.loop])) for (const n of templateNames(t).used) names.add(n);
  return names;
}

/** The host facts `f` as one class of host, recording which class dimensions are looked at. */
function asClass(f: HostFacts, cls: Partial<Record<Dim, string>>, seen?: Set<Dim>): HostFacts {
  const base: HostFacts = {
    ...f,
    os: { ...f.os, ...(cls.family ? { family: cls.family as HostFacts['os']['family'] } : {}) },
    ...(cls.init ? { init: cls.init as HostFacts['init'] } : {}),
    ...(cls.container ? { container: cls.container === '1' } : {}),
  };
  if (!seen) return base;
  const os = new Proxy(base.os, { get: (t, k) => (k === 'family' && seen.add('family'), Reflect.get(t, k)) });
  return new Proxy(base, {
    get: (t, k) => {
      if (k === 'init' || k === 'container') seen.add(k);
      return k === 'os' ? os : Reflect.get(t, k);
    },
  });
}

/** Every combination of values of `dims` (the others left open). */
function combinations(dims: ReadonlySet<Dim>): Partial<Record<Dim, string>>[] {
  let out: Partial<Record<Dim, string>>[] = [{}];
  for (const d of DIMS) if (dims.has(d)) out = out.flatMap((c) => DIM_VALUES[d].map((v) => ({ ...c, [d]: v })));
  return out;
}

const pattern = (c: Partial<Record<Dim, string>>): string => DIMS.map((d) => c[d] ?? '*').join(':');

/** What one task will read on one host for one loop item: speculating over host classes, or for the facts known. */
function taskReads(task: TaskDef, play: PlayDef, vars: Record<string, unknown>, facts: HostFacts, speculate: boolean, env: Omit<PrefetchEnv, 'varsOf'>, usesFacts: ReadonlySet<Dim>): FactRead[] {
  const module = env.registry[task.module];
  if (!module || module.opaque) return [];
  const as = runAs(task, play, env.hostBecome);
  const parsed = module.schema.safeParse(dropOmitted(renderValue(task.args, vars)));
  if (!parsed.success) return [];
  const factsFor = (host: HostFacts): FactRequest[] => {
    const ctx: TaskContext = { host, check: env.check, become: as.become, vars, searchDirs: searchDirsOf(task) };
    return Object.values(module.facts(parsed.data, ctx) as Record<string, FactRequest | undefined>).filter((r): r is FactRequest => r !== undefined);
  };
  const whenHolds = (host: HostFacts) => task.when === undefined || evalCondition(task.when, usesFacts.size ? { ...vars, ...factVars(host) } : vars);
  if (!speculate) return whenHolds(facts) ? factsFor(facts).map((request) => ({ request, as })) : [];
  // the class dimensions this task tells apart: its when's fact variables, and what facts() looks at (per class, until no new one shows)
  const dims = new Set<Dim>(usesFacts);
  let byClass = new Map<string, FactRequest[]>();
  for (let grew = true; grew; ) {
    const before = dims.size;
    byClass = new Map();
    for (const c of combinations(dims)) {
      try {
        if (whenHolds(asClass(facts, c))) byClass.set(pattern(c), factsFor(asClass(facts, c, dims)));
      } catch {
        /* nothing to read ahead on this class: the task reports its own error when it runs */
      }
    }
    grew = dims.size > before;
  }
  const classesOf = new Map<string, { request: FactRequest; classes: string[] }>();
  for (const [cls, requests] of byClass) {
    for (const request of requests) {
      const e = classesOf.get(request.id) ?? { request, classes: [] };
      e.classes.push(cls);
      classesOf.set(request.id, e);
    }
  }
  const all = combinations(dims).length;
  return [...classesOf.values()].map((e) => ({ request: e.request, as, ...(e.classes.length < all ? { classes: e.classes } : {}) }));
}

/**
 * Every fact the tasks of `play` will read on a host whose facts are `facts`,
 * with `speculate`: for each class of host the facts may turn out to be.
 * Tasks that depend on a result registered in the play are left to read their
 * own; so is a task that cannot be rendered yet.
 */
export function plannedReads(play: PlayDef, tasks: readonly TaskDef[], env: PrefetchEnv, facts: HostFacts | undefined, speculate: boolean): FactRead[] {
  const registers = registersOf(play);
  const vars = env.varsOf(facts);
  const out: FactRead[] = [];
  for (const task of tasks) {
    try {
      const items = loopItems(task, vars);
      for (const item of items ?? [undefined]) out.push(...readsOf(task, play, items ? { ...vars, [task.loopVar]: item } : vars, facts ?? UNGATHERED, speculate, env, registers));
    } catch {
      /* cannot be rendered ahead: the task reads its own facts */
    }
  }
  return out;
}

const registersOf = (play: PlayDef): Set<string> => new Set(play.tasks.flatMap((t) => (t.register ? [t.register] : [])));

/** What one task item will read, none when it depends on a result registered in the play. */
function readsOf(task: TaskDef, play: PlayDef, vars: Record<string, unknown>, facts: HostFacts, speculate: boolean, env: Omit<PrefetchEnv, 'varsOf'>, registers: ReadonlySet<string>): FactRead[] {
  const names = namesOf(task);
  if ([...names].some((n) => registers.has(n))) return [];
  const usesFacts = new Set([...names].flatMap((n) => (FACT_NAMES.has(n) ? (FACT_NAME_DIMS[n] ?? DIMS) : [])));
  return taskReads(task, play, vars, facts, speculate, env, usesFacts);
}

/** Task items the reads ahead of an apply reach at most: what one more round trip's output may hold stays small. */
export const LOOKAHEAD = 4;

/** A task with the variables of one of its items. */
export interface TaskItem {
  readonly task: TaskDef;
  readonly vars: Record<string, unknown>;
}

/**
 * What the next task items (`next`, in the order they run) will read, for an
 * apply to read after its last step in the same round trip (pipeline.ts): the
 * values are then the host's state after the apply by construction, whatever
 * the apply changed. At most LOOKAHEAD items; it stops at the first item that
 * reads nothing or cannot be known yet (depends on a result registered in the
 * play, cannot be rendered, its `when` is false): such a task (wait_for,
 * pause, command) may wait for the host to change on its own or change it, and
 * what follows it reads its own facts when it runs.
 */
export function readsAhead(play: PlayDef, next: Iterable<TaskItem>, env: Omit<PrefetchEnv, 'varsOf'>, facts: HostFacts): FactRead[] {
  const registers = registersOf(play);
  const out: FactRead[] = [];
  let count = 0;
  try {
    for (const { task, vars } of next) {
      const reads = count++ < LOOKAHEAD ? readsOf(task, play, vars, facts, false, env, registers) : [];
      if (reads.length === 0) break;
      out.push(...reads);
    }
  } catch {
    /* the next item cannot be rendered yet: it reads its own facts */
  }
  return out;
}

/**
 * Check mode: what every later task item will read, rendered with the
 * variables known now, for the round trip a task needs anyway (its own read,
 * or a `check_mode: false` step). Nothing but such steps changes the host in
 * check mode, so values read now are the values the items would read later;
 * an item rendered differently later (a result registered meanwhile) simply
 * misses the cache and reads its own. Items that cannot be rendered yet are
 * passed over, not stopped at.
 */
export function readsAheadInCheck(play: PlayDef, next: Iterable<TaskItem>, env: Omit<PrefetchEnv, 'varsOf'>, facts: HostFacts): FactRead[] {
  const out: FactRead[] = [];
  for (const { task, vars } of next) {
    try {
      out.push(...readsOf(task, play, vars, facts, false, env, NO_REGISTERS));
    } catch {
      /* cannot be rendered yet: it reads its own facts when it runs */
    }
  }
  return out;
}

const NO_REGISTERS: ReadonlySet<string> = new Set();

/**
 * Read a play's facts ahead on one host, in one round trip, with the host facts
 * when they are still to be gathered (`gather`); `guess`: host facts to render
 * with until then. Once the facts are known, what the guess missed is read in
 * one more round trip (none when it missed nothing).
 */
export async function prefetchPlay(session: HostSession, play: PlayDef, tasks: readonly TaskDef[], env: PrefetchEnv, gather: boolean, guess: HostFacts): Promise<void> {
  const known = session.gatheredFacts;
  await session.read(plannedReads(play, tasks, env, gather ? guess : known, gather), { gather, lenient: true });
  if (gather) await session.read(plannedReads(play, tasks, env, session.facts, false), { lenient: true });
}

/**
 * Whether a play needs the host facts: always unless it says `gather_facts:
 * false`; then only when a task reads them (any task type but command/shell
 * plans with them), uses sudo, or names a fact variable.
 */
export function needsHostFacts(play: PlayDef, env: Pick<PrefetchEnv, 'registry' | 'hostBecome'>): boolean {
  if (play.gatherFacts) return true;
  return [...play.tasks, ...play.handlers].some(
    (t) => env.registry[t.module]?.opaque !== true || runAs(t, play, env.hostBecome).become || [...namesOf(t)].some((n) => FACT_NAMES.has(n)),
  );
}
