/**
 * One task of a playbook, task file or role: which task type it names (our
 * short names, Ansible's collection-qualified ones, the legacy `action:`),
 * its arguments in any of Ansible's spellings (a mapping, `key=value` text,
 * the free form of command/shell, `args:`), its keywords (`with_<lookup>`
 * included) and what the enclosing blocks, imports and roles pass down to it.
 */
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { SourceLocation, ValidationIssue } from '../contract/errors.js';
import type { TaskModule } from '../contract/task.js';
import {
  handlerCommonSchema,
  HANDLER_KEYS,
  TASK_COMMON_KEYS,
  taskCommonSchema,
  UNSUPPORTED_TASK_KEYS,
  type Condition,
} from '../schema/playbook.js';
import { checkWith, didYouMean, formatPath } from '../schema/validate.js';
import { loadYamlFile, type YamlDoc, type YamlPath } from '../schema/yaml.js';
import { ansibleBoolean, ArgsSyntaxError, collectionError, FREE_FORM_OPTIONS, parseKeyValues, shortName, splitArgs, unqualified } from './ansible-syntax.js';
import { LOOP_LOOKUPS, type LoopLookup } from './loops.js';
import { defaultTaskName, searchDirsOf, type RoleScope, type TaskDef, type TaskRegistry } from './playbook.js';
import { filesNamed } from './local-files.js';
import { isTemplated } from './template.js';

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A YAML file being read, and the directory it is in. */
export interface Source {
  readonly doc: YamlDoc;
  readonly dir: string;
}

/** Keys that load other task files or roles: the task-list loader handles them (playbook-tasks.ts). */
export const INCLUDE_ACTIONS = ['include_tasks', 'import_tasks', 'include_role', 'import_role', 'include'] as const;
export type IncludeAction = (typeof INCLUDE_ACTIONS)[number];

/**
 * Task types whose text argument is a free form (Ansible's RAW_PARAM_MODULES
 * among ours): the words that are not `key=value` go to `key`; `options` (for
 * a command line) are the only words read as `key=value`.
 */
const FREE_FORM: Readonly<Record<string, { key: string; options?: readonly string[] }>> = {
  command: { key: 'cmd', options: FREE_FORM_OPTIONS },
  shell: { key: 'cmd', options: FREE_FORM_OPTIONS },
  script: { key: 'cmd', options: FREE_FORM_OPTIONS },
  include_vars: { key: 'file' },
  meta: { key: 'action' },
};

/**
 * A load pass over a registry whose task modules are imported on demand: a
 * task whose module is not loaded yet has its arguments unchecked in this
 * pass, its type named in `needed`, for the caller to load and load again.
 */
export interface PendingTasks {
  loaded(name: string): boolean;
  readonly needed: Set<string>;
}

/** State shared by everything one playbook load reads: the registry, the issues found, the warnings. */
export class LoadContext {
  readonly issues: ValidationIssue[] = [];
  readonly warnings: string[] = [];
  /** Every `notify:` read since the play started, where it is written: checked against the play's handlers. */
  notifies: { topic: string; src: Source; path: YamlPath }[] = [];
  private readonly docs = new Map<string, YamlDoc | null>();

  constructor(
    readonly registry: TaskRegistry,
    /** The directory of the playbook given on the command line. */
    readonly playbookDir: string,
    /** A registry whose modules load on demand: what this pass found it lacks (see loadPlaybookLazily). */
    readonly pending?: PendingTasks,
  ) {}

  loc(src: Source, path: YamlPath, key = false): SourceLocation {
    return src.doc.locate(path, { key }) ?? { file: src.doc.file, line: 1, column: 1 };
  }

  /** Key errors name the mapping that holds the key, and point at the key itself. */
  issue(src: Source, path: YamlPath, message: string, key = false): void {
    this.issues.push({ path: formatPath(key ? path.slice(0, -1) : path), message, location: this.loc(src, path, key) });
  }

  warn(location: SourceLocation, message: string): void {
    this.warnings.push(`${location.file}:${location.line}:${location.column} ${message}`);
  }

  hasModule(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.registry, name);
  }

  get known(): string[] {
    return Object.keys(this.registry).sort();
  }

  /** A YAML file of the playbook's (task file, vars file, role file), parsed once; undefined (and an issue) when it cannot be read. */
  read(file: string, at: { src: Source; path: YamlPath }): Source | undefined {
    let doc = this.docs.get(file);
    if (doc === undefined) {
      try {
        doc = loadYamlFile(file, file, { yaml11: 'booleans' });
      } catch (err) {
        const issues = (err as { issues?: ValidationIssue[] }).issues;
        if (issues) this.issues.push(...issues);
        else this.issue(at.src, at.path, `cannot read ${file}: ${(err as Error).message}`);
        doc = null;
      }
      this.docs.set(file, doc);
    }
    return doc === null ? undefined : { doc, dir: dirname(file) };
  }
}

/** What blocks, imports, roles and the play pass down to the tasks under them. */
export interface Inherited {
  /** Conditions that must all hold (the enclosing blocks' and imports' `when`). */
  when: string[];
  tags: string[];
  vars: Record<string, unknown>;
  become?: boolean;
  becomeUser?: string;
  remoteUser?: string;
  ignoreErrors?: boolean;
  noLog?: boolean;
  checkMode?: boolean;
  timeoutMs?: number;
  role?: RoleScope;
  /** The directories of the roles the tasks come from (innermost first). */
  roleDirs: string[];
}

export const NOTHING_INHERITED: Inherited = { when: [], tags: [], vars: {}, roleDirs: [] };

export function list(v: string | string[] | undefined, splitCommas = false): string[] {
  if (v === undefined) return [];
  const items = Array.isArray(v) ? v : [v];
  return splitCommas ? items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : items;
}

/** A condition as a list of expressions to AND with others (`true` drops out, `false` stays false). */
export function conditionList(c: Condition | undefined): string[] {
  if (c === undefined || c === true) return [];
  if (c === false) return ['False'];
  return Array.isArray(c) ? c : [c];
}

/** The keywords common to tasks, blocks and includes, merged over what is inherited. */
export function inherit(parent: Inherited, own: { when?: Condition; tags?: string | string[]; vars?: Record<string, unknown>; become?: boolean; become_user?: string; remote_user?: string; ignore_errors?: boolean; no_log?: boolean; check_mode?: boolean; timeout?: number }): Inherited {
  return {
    ...parent,
    when: [...parent.when, ...conditionList(own.when)],
    tags: [...new Set([...parent.tags, ...list(own.tags, true)])],
    vars: { ...parent.vars, ...own.vars },
    ...(own.become !== undefined ? { become: own.become } : {}),
    ...(own.become_user !== undefined ? { becomeUser: own.become_user } : {}),
    ...(own.remote_user !== undefined ? { remoteUser: own.remote_user } : {}),
    ...(own.ignore_errors !== undefined ? { ignoreErrors: own.ignore_errors } : {}),
    ...(own.no_log !== undefined ? { noLog: own.no_log } : {}),
    ...(own.check_mode !== undefined ? { checkMode: own.check_mode } : {}),
    ...(own.timeout !== undefined ? { timeoutMs: Math.round(own.timeout * 1000) } : {}),
  };
}

export type TaskShape = { kind: 'block' } | { kind: 'include'; action: IncludeAction; key: string } | { kind: 'task'; action: string; key: string };

const withKey = (k: string): string | undefined => (k.startsWith('with_') ? k.slice(5) : undefined);

/** The task type a task mapping names, each key checked; undefined when a problem was reported. */
export function taskShape(ctx: LoadContext, src: Source, value: Record<string, unknown>, path: YamlPath, handler: boolean): TaskShape | undefined {
  if ('block' in value && !handler) return { kind: 'block' };
  const keywords = handler ? HANDLER_KEYS : TASK_COMMON_KEYS;
  const known = (n: string): boolean => ctx.hasModule(n) || (INCLUDE_ACTIONS as readonly string[]).includes(n);
  const actions: { key: string; action: string }[] = [];
  const unknown: string[] = [];
  let refused = false;
  for (const k of Object.keys(value)) {
    const lookup = withKey(k);
    if (keywords.includes(k) || k === 'action' || (lookup !== undefined && (LOOP_LOOKUPS as readonly string[]).includes(lookup))) continue;
    if (Object.prototype.hasOwnProperty.call(UNSUPPORTED_TASK_KEYS, k)) {
      ctx.issue(src, [...path, k], UNSUPPORTED_TASK_KEYS[k] as string, true);
      refused = true;
    } else if (lookup !== undefined) {
      ctx.issue(src, [...path, k], `${k} is not supported (a loop over the ${lookup} lookup): supported are ${LOOP_LOOKUPS.map((l) => `with_${l}`).join(', ')}, and loop:`, true);
      refused = true;
    } else if (collectionError(k, known) !== undefined) {
      ctx.issue(src, [...path, k], collectionError(k, known) as string, true);
      refused = true;
    } else if (known(shortName(k, known))) actions.push({ key: k, action: shortName(k, known) });
    else unknown.push(k);
  }
  if (typeof value.action === 'string' || isRecord(value.action)) {
    const word = typeof value.action === 'string' ? (value.action.trim().split(/\s+/)[0] ?? '') : String(value.action.module ?? '');
    if (known(shortName(word, known))) actions.push({ key: 'action', action: shortName(word, known) });
    else unknown.push('action');
  }
  for (const k of unknown) reportUnknown(ctx, src, path, k, keywords, actions.length > 0, k === 'action' ? value.action : undefined);
  if (refused || unknown.length > 0) return undefined;
  if (actions.length === 0) {
    ctx.issue(src, path, `${handler ? 'handler' : 'task'} has no task type: add exactly one of ${ctx.known.join(', ')}`);
    return undefined;
  }
  if (actions.length > 1) {
    ctx.issue(src, [...path, (actions[1] as { key: string }).key], `more than one task type in one task (${actions.map((a) => JSON.stringify(a.key)).join(', ')}): split it into separate tasks`, true);
    return undefined;
  }
  const { key, action } = actions[0] as { key: string; action: string };
  if (handler && (INCLUDE_ACTIONS as readonly string[]).includes(action)) {
    ctx.issue(src, [...path, key], `${action} in handlers is not supported: put the tasks in the handler list`, true);
    return undefined;
  }
  return (INCLUDE_ACTIONS as readonly string[]).includes(action) ? { kind: 'include', action: action as IncludeAction, key } : { kind: 'task', action, key };
}

/** Ansible modules the real playbooks we measured use and provision has not: the native way to do the same. */
const NATIVE_WAY: Readonly<Record<string, string>> = {
  blockinfile: 'write the whole file with copy or template, or each line with lineinfile',
  replace: 'use lineinfile with regexp (one line), or template for the whole file',
  pause: 'a run never waits for input: for a delay, command: sleep N',
  dpkg_selections: 'use command: apt-mark hold NAME',
  fetch: 'provision copies nothing from hosts to this machine: register command: cat FILE and use its stdout',
};

function reportUnknown(ctx: LoadContext, src: Source, path: YamlPath, k: string, keywords: readonly string[], hasAction: boolean, actionValue: unknown): void {
  if (k === 'action') {
    ctx.issue(src, [...path, k], `action names no known task type (${JSON.stringify(actionValue)}; known: ${ctx.known.join(', ')})`, true);
    return;
  }
  const commonGuess = didYouMean(k, keywords);
  const short = unqualified(k);
  if (!hasAction && !commonGuess) {
    const native = NATIVE_WAY[short];
    if (native !== undefined) {
      ctx.issue(src, [...path, k], `${k} is not supported: ${native}`, true);
      return;
    }
    const guess = didYouMean(short, ctx.known);
    const qualified = short !== k ? ` (provision has no task type ${JSON.stringify(short)})` : '';
    ctx.issue(src, [...path, k], `unknown task type ${JSON.stringify(k)}${qualified} (${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}known: ${ctx.known.join(', ')})`, true);
    return;
  }
  const guess = commonGuess ?? didYouMean(k, ctx.known);
  ctx.issue(src, [...path, k], `unknown key ${JSON.stringify(k)} (${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}allowed: ${keywords.join(', ')}, and one task type)`, true);
}

/**
 * The arguments as a mapping where Ansible would make one: `key=value` text
 * split, the free form of command/shell (`ls creates=/x`), `args:` under them.
 * Text that is only a free form stays text (the task type's short form).
 */
export function normalizeArgs(action: string, raw: unknown, extra: Record<string, unknown> | undefined): { args: unknown; fromText: boolean } | { error: string } {
  let args = raw === null || raw === undefined ? {} : raw;
  let fromText = false;
  if (typeof args === 'string') {
    const free = FREE_FORM[action];
    let parsed;
    try {
      parsed = parseKeyValues(args, free?.options !== undefined);
    } catch (err) {
      if (err instanceof ArgsSyntaxError) return { error: err.message };
      throw err;
    }
    const { options, raw: words } = parsed;
    if (Object.keys(options).length > 0) {
      fromText = true;
      if (words === undefined) args = options;
      else if (free) args = { [free.key]: words, ...options };
      else return { error: extraParams(action, words) };
    } else if (free && words !== undefined) args = words;
  }
  if (extra !== undefined) {
    const free = FREE_FORM[action];
    if (typeof args === 'string' && free) args = { [free.key]: args };
    if (!isRecord(args)) return { error: 'args: needs the arguments of the task type as a mapping' };
    args = { ...extra, ...args };
  }
  return { args, fromText };
}

function extraParams(action: string, words: string): string {
  return /\{\{/.test(words)
    ? `arguments given as one template (${JSON.stringify(words)}) are not supported: write the arguments of ${action} as a mapping`
    : `${action} does not take free-form words (${JSON.stringify(words)}): write its arguments as key=value or as a mapping`;
}

/**
 * `key=value` values are text, as in Ansible; where the task type wants a
 * boolean or a number, convert them as Ansible's argument spec does
 * (`update_cache=yes`, `port=22`).
 */
export function coerceText(schema: z.ZodType, args: Record<string, unknown>): Record<string, unknown> {
  const out = { ...args };
  for (let pass = 0; pass < 3; pass++) {
    const r = schema.safeParse(out);
    if (r.success) break;
    let changed = false;
    for (const issue of r.error.issues) {
      const key = issue.path[0];
      const value = typeof key === 'string' && issue.path.length === 1 ? out[key] : undefined;
      if (typeof value !== 'string' || issue.code !== 'invalid_type') continue;
      const b = ansibleBoolean(value);
      if (issue.expected === 'boolean' && b !== undefined) out[key as string] = b;
      else if ((issue.expected === 'number' || issue.expected === 'int') && /^-?\d+(\.\d+)?$/.test(value.trim())) out[key as string] = Number(value);
      else continue;
      changed = true;
    }
    if (!changed) break;
  }
  return out;
}

/** The loop of a task or include: `loop:` or one `with_<lookup>:`. */
export function loopOf(ctx: LoadContext, src: Source, value: Record<string, unknown>, path: YamlPath): { loop?: unknown; loopWith?: LoopLookup } | undefined {
  const withs = Object.keys(value).filter((k) => withKey(k) !== undefined);
  if (withs.length + (value.loop !== undefined ? 1 : 0) > 1) {
    ctx.issue(src, [...path, withs[withs.length - 1] as string], `one loop per task: ${[...(value.loop !== undefined ? ['loop'] : []), ...withs].join(', ')} given`, true);
    return undefined;
  }
  const w = withs[0];
  if (w === undefined) return value.loop !== undefined ? { loop: value.loop } : {};
  return { loop: value[w], loopWith: withKey(w) as LoopLookup };
}

/** Build one task (not a block or an include) from its mapping; undefined when a problem was reported. */
export function taskDef(ctx: LoadContext, src: Source, value: Record<string, unknown>, path: (string | number)[], shape: Extract<TaskShape, { kind: 'task' }>, up: Inherited, handler: boolean): TaskDef | undefined {
  const common: Record<string, unknown> = {};
  const keywords = handler ? HANDLER_KEYS : TASK_COMMON_KEYS;
  for (const [k, v] of Object.entries(value)) if (keywords.includes(k)) common[k] = v;
  const c = checkWith(handler ? handlerCommonSchema : taskCommonSchema, src.doc, common, { basePath: path });
  let ok = c.ok;
  if (!c.ok) ctx.issues.push(...c.issues);
  const loop = loopOf(ctx, src, value, path);
  if (!loop) ok = false;
  else if (c.ok && loop.loopWith === undefined && typeof loop.loop === 'string' && !loop.loop.includes('{{')) {
    ctx.issue(src, [...path, 'loop'], `expected a list or a template string like "{{ items }}", got string ${JSON.stringify(loop.loop)}`);
    ok = false;
  }
  const args = taskArgs(ctx, src, value, path, shape);
  if (!ok || !c.ok || !loop || args === undefined) return undefined;
  const d = c.data as typeof c.data & { listen?: string | string[] };
  const scope = inherit(up, d);
  const own = d.when;
  const def: TaskDef = {
    // a no_log task's default name must not show its arguments
    name: d.name ?? (scope.noLog ? `${shape.action} (arguments hidden: no_log)` : defaultTaskName(shape.action, args)),
    module: shape.action,
    args,
    notify: list(d.notify),
    tags: scope.tags,
    loopVar: d.loop_control?.loop_var ?? d.loop_var ?? 'item',
    ignoreErrors: scope.ignoreErrors ?? false,
    noLog: scope.noLog ?? false,
    location: ctx.loc(src, path),
    listen: list(d.listen),
    controls:
      d.controls === undefined || typeof d.controls === 'string' || Array.isArray(d.controls)
        ? list(d.controls).map((id) => ({ id }))
        : Object.entries(d.controls).flatMap(([subject, ids]) => list(ids).map((id) => ({ id, subject }))),
  };
  if (up.when.length > 0 ? scope.when.length > 0 : own !== undefined) def.when = up.when.length > 0 ? scope.when : (own as Condition);
  if (loop.loop !== undefined) def.loop = loop.loop;
  if (loop.loopWith !== undefined) def.loopWith = loop.loopWith;
  if (d.loop_control?.label !== undefined) def.loopLabel = d.loop_control.label;
  if (d.register !== undefined) def.register = d.register;
  if (scope.become !== undefined) def.become = scope.become;
  if (scope.becomeUser !== undefined) def.becomeUser = scope.becomeUser;
  if (scope.remoteUser !== undefined) def.remoteUser = scope.remoteUser;
  if (scope.checkMode !== undefined) def.checkMode = scope.checkMode;
  if (d.changed_when !== undefined) def.changedWhen = d.changed_when;
  if (d.failed_when !== undefined) def.failedWhen = d.failed_when;
  if (d.until !== undefined) def.until = { condition: d.until, ...(d.retries !== undefined ? { retries: d.retries } : {}), ...(d.delay !== undefined ? { delaySec: d.delay } : {}) };
  else if (d.retries !== undefined || d.delay !== undefined) {
    ctx.issue(src, [...path, d.retries !== undefined ? 'retries' : 'delay'], `${d.retries !== undefined ? 'retries' : 'delay'} without until: give the condition to retry until (until: result is succeeded)`);
    return undefined;
  }
  if (scope.timeoutMs !== undefined) def.timeoutMs = scope.timeoutMs;
  if (Object.keys(scope.vars).length > 0) def.vars = scope.vars;
  if (scope.role) def.role = scope.role;
  for (const topic of def.notify) ctx.notifies.push({ topic, src, path: [...path, 'notify'] });
  if (def.module === 'include_vars') checkVarsFileArg(ctx, src, [...path, shape.key], def);
  const searchPath = [...new Set([...scope.roleDirs, src.dir, ctx.playbookDir])];
  if (searchPath.length > 1 || searchPath[0] !== dirname(resolve(def.location.file))) def.searchPath = searchPath;
  return def;
}

/** The task type's arguments, validated (templates tolerated), in the spelling the task type reads. */
function taskArgs(ctx: LoadContext, src: Source, value: Record<string, unknown>, path: (string | number)[], shape: Extract<TaskShape, { kind: 'task' }>): unknown {
  let raw = value[shape.key];
  if (shape.key === 'action') {
    // `action: copy src=a dest=b` or `action: { module: copy, src: a }`
    if (typeof raw === 'string') raw = splitArgs(raw).slice(1).join(' ');
    else if (isRecord(raw)) raw = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'module'));
  }
  const extra = value.args;
  const n = normalizeArgs(shape.action, raw, isRecord(extra) ? extra : undefined);
  if ('error' in n) {
    ctx.issue(src, [...path, shape.key], n.error);
    return undefined;
  }
  if (ctx.pending && !ctx.pending.loaded(shape.action)) {
    ctx.pending.needed.add(shape.action);
    return n.args;
  }
  const mod = ctx.registry[shape.action] as TaskModule;
  const args = n.fromText && isRecord(n.args) ? coerceText(mod.schema, n.args) : n.args;
  const a = checkWith(mod.schema, src.doc, args, { basePath: [...path, shape.key], tolerateTemplates: true });
  if (!a.ok) {
    ctx.issues.push(...a.issues);
    return undefined;
  }
  return args;
}


/** include_vars: its file must exist now (a name with a template: some file must match it), and hold a mapping. */
function checkVarsFileArg(ctx: LoadContext, src: Source, path: YamlPath, task: TaskDef): void {
  const file = typeof task.args === 'string' ? task.args : isRecord(task.args) ? task.args.file : undefined;
  if (typeof file !== 'string') return;
  const dirs = searchDirsOf(task).vars;
  const found = filesNamed(file, dirs);
  if (found.length === 0) {
    ctx.issue(src, path, `include_vars: ${JSON.stringify(file)} not found${isTemplated(file) ? ' for any value of its variables' : ''} (looked in ${dirs.join(', ')})`);
    return;
  }
  for (const f of found) {
    const vars = ctx.read(f, { src, path });
    if (vars && vars.doc.value !== null && !isRecord(vars.doc.value)) ctx.issue(vars, [], `a vars file holds a mapping of variables, got ${typeof vars.doc.value}`);
  }
}
