/**
 * Playbook loading: YAML → validated plays and tasks, with a source location on
 * each. Validation is done in steps for precise errors (not via zod union
 * errors): the play keys, then per task the common keys, then the single task
 * type key, then its arguments with that module's schema, at paths like
 * `[0].tasks[3].user.shell`.
 *
 * Task arguments are validated with `tolerateTemplates`: a string containing
 * `{{` is accepted anywhere (e.g. `port: "{{ ssh_port }}"`) and validated again
 * after rendering at run time; `args` stay raw (unrendered). Play keys and the
 * common task keys are not templated (booleans must be booleans).
 */
import { dirname, resolve } from 'node:path';
import { ValidationError, type SourceLocation, type ValidationIssue } from '../contract/errors.js';
import type { TaskModule } from '../contract/task.js';
import { loadYamlFile, parseYaml, type YamlDoc, type YamlPath } from '../schema/yaml.js';
import { checkWith, describeType, didYouMean, formatPath, sortIssues } from '../schema/validate.js';
import {
  handlerCommonSchema,
  HANDLER_KEYS,
  playLoadSchema,
  TASK_COMMON_KEYS,
  taskCommonSchema,
  UNSUPPORTED_PLAY_KEYS,
  UNSUPPORTED_TASK_KEYS,
  type Condition,
} from '../schema/playbook.js';

export type { Condition };
export type TaskRegistry = Readonly<Record<string, TaskModule>>;

export interface TaskDef {
  /** Given, or `<type> <short args>`. */
  name: string;
  module: string;
  /** Raw, unrendered arguments (`{}` when the key had no value). */
  args: unknown;
  when?: Condition;
  notify: string[];
  tags: string[];
  loop?: unknown;
  loopVar: string;
  loopLabel?: string;
  register?: string;
  ignoreErrors: boolean;
  become?: boolean;
  becomeUser?: string;
  checkMode?: boolean;
  changedWhen?: Condition;
  failedWhen?: Condition;
  timeoutMs?: number;
  noLog: boolean;
  location: SourceLocation;
  /** Handlers only: extra topics from `listen`. */
  listen: string[];
  /** Compliance controls the task enforces (`controls:`). */
  controls: ControlRef[];
}

/** A compliance control a task enforces; `subject` is the setting it covers when the playbook names one. */
export interface ControlRef {
  readonly id: string;
  readonly subject?: string;
}

export interface PlayDef {
  name: string;
  hosts: string;
  vars: Record<string, unknown>;
  /** Unset: the host's `become` / `ansible_become`, then `-b`, decide (see pipeline.ts runAs). */
  become?: boolean;
  becomeUser?: string;
  gatherFacts: boolean;
  tasks: TaskDef[];
  handlers: TaskDef[];
  serial?: (number | string)[];
  maxFailPercentage?: number;
  tags: string[];
  /** Commit-confirmed application of access-risky tasks (default true). */
  lockoutProtection: boolean;
  /** Seconds until an unconfirmed change is rolled back on the host (default 120). */
  rollbackTimeout: number;
  /** Skip the pre-flight refusal (default false). */
  allowLockout: boolean;
  location: SourceLocation;
  /** Where each play variable is defined (for errors about it). */
  varLocations: Record<string, SourceLocation>;
}

export interface Playbook {
  file: string;
  /** Directory relative paths in tasks (e.g. copy `src:`) resolve against. */
  dir: string;
  plays: PlayDef[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function list(v: string | string[] | undefined, splitCommas = false): string[] {
  if (v === undefined) return [];
  const items = Array.isArray(v) ? v : [v];
  return splitCommas ? items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : items;
}

/** `user name=deploy shell=/bin/bash`, short. */
export function defaultTaskName(module: string, args: unknown): string {
  let text = '';
  if (typeof args === 'string' || typeof args === 'number' || typeof args === 'boolean') text = String(args);
  else if (isRecord(args)) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(args)) {
      if (v === null || typeof v === 'object') continue;
      const s = String(v).replace(/\s+/g, ' ');
      parts.push(`${k}=${s.length > 30 ? `${s.slice(0, 27)}...` : s}`);
    }
    text = parts.join(' ');
  } else if (Array.isArray(args)) text = args.filter((a) => typeof a !== 'object').join(' ');
  const full = `${module} ${text}`.trim();
  return full.length > 70 ? `${full.slice(0, 67)}...` : full;
}

class Loader {
  readonly issues: ValidationIssue[] = [];
  constructor(
    readonly doc: YamlDoc,
    readonly registry: TaskRegistry,
  ) {}

  loc(path: YamlPath, key = false): SourceLocation {
    return this.doc.locate(path, { key }) ?? { file: this.doc.file, line: 1, column: 1 };
  }

  issue(path: YamlPath, message: string, key = false): void {
    // key errors name the mapping that holds the key, and point at the key itself
    this.issues.push({ path: formatPath(key ? path.slice(0, -1) : path), message, location: this.loc(path, key) });
  }

  get known(): string[] {
    return Object.keys(this.registry).sort();
  }

  hasModule(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.registry, key);
  }

  task(value: unknown, path: (string | number)[], handler: boolean): TaskDef | undefined {
    if (!isRecord(value)) {
      this.issue(path, `expected a ${handler ? 'handler' : 'task'} (a mapping with a task type key such as ${this.known.slice(0, 3).join(', ') || 'copy'}), got ${describeType(value)}`);
      return undefined;
    }
    const commonKeys = handler ? HANDLER_KEYS : TASK_COMMON_KEYS;
    const moduleKeys: string[] = [];
    const unknown: string[] = [];
    let unsupported = false;
    const common: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (commonKeys.includes(k)) common[k] = v;
      else if (this.hasModule(k)) moduleKeys.push(k);
      else if (Object.prototype.hasOwnProperty.call(UNSUPPORTED_TASK_KEYS, k)) {
        unsupported = true;
        this.issue([...path, k], UNSUPPORTED_TASK_KEYS[k] as string, true);
      } else unknown.push(k);
    }
    let ok = true;
    for (const k of unknown) {
      ok = false;
      const commonGuess = didYouMean(k, commonKeys);
      if (moduleKeys.length === 0 && !commonGuess) {
        const guess = didYouMean(k, this.known);
        this.issue(
          [...path, k],
          `unknown task type ${JSON.stringify(k)} (${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}known: ${this.known.join(', ')})`,
          true,
        );
      } else {
        const guess = commonGuess ?? didYouMean(k, this.known);
        this.issue(
          [...path, k],
          `unknown key ${JSON.stringify(k)} (${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}allowed: ${commonKeys.join(', ')}, and one task type)`,
          true,
        );
      }
    }
    if (unsupported) ok = false;
    if (moduleKeys.length === 0 && unknown.length === 0 && !unsupported) {
      ok = false;
      this.issue(path, `${handler ? 'handler' : 'task'} has no task type: add exactly one of ${this.known.join(', ')}`);
    }
    if (moduleKeys.length > 1) {
      ok = false;
      this.issue(
        [...path, moduleKeys[1] as string],
        `more than one task type in one task (${moduleKeys.map((k) => JSON.stringify(k)).join(', ')}): split it into separate tasks`,
        true,
      );
    }
    const c = checkWith(handler ? handlerCommonSchema : taskCommonSchema, this.doc, common, { basePath: path });
    if (!c.ok) {
      this.issues.push(...c.issues);
      ok = false;
    } else if (typeof c.data.loop === 'string' && !c.data.loop.includes('{{')) {
      this.issue([...path, 'loop'], `expected a list or a template string like "{{ items }}", got string ${JSON.stringify(c.data.loop)}`);
      ok = false;
    }
    const moduleName = moduleKeys[0];
    if (moduleName === undefined) return undefined;
    const mod = this.registry[moduleName] as TaskModule;
    const rawArgs = value[moduleName];
    const args = rawArgs === null || rawArgs === undefined ? {} : rawArgs;
    const a = checkWith(mod.schema, this.doc, args, { basePath: [...path, moduleName], tolerateTemplates: true });
    if (!a.ok) {
      this.issues.push(...a.issues);
      ok = false;
    }
    if (!ok || !c.ok) return undefined;
    const d = c.data as typeof c.data & { listen?: string | string[] };
    const def: TaskDef = {
      // a no_log task's default name must not show its arguments
      name: d.name ?? (d.no_log ? `${moduleName} (arguments hidden: no_log)` : defaultTaskName(moduleName, args)),
      module: moduleName,
      args,
      notify: list(d.notify),
      tags: list(d.tags, true),
      loopVar: d.loop_control?.loop_var ?? d.loop_var ?? 'item',
      ignoreErrors: d.ignore_errors ?? false,
      noLog: d.no_log ?? false,
      location: this.loc(path),
      listen: list(d.listen),
      controls:
        d.controls === undefined || typeof d.controls === 'string' || Array.isArray(d.controls)
          ? list(d.controls).map((id) => ({ id }))
          : Object.entries(d.controls).flatMap(([subject, ids]) => list(ids).map((id) => ({ id, subject }))),
    };
    if (d.when !== undefined) def.when = d.when;
    if (d.loop !== undefined) def.loop = d.loop;
    if (d.loop_control?.label !== undefined) def.loopLabel = d.loop_control.label;
    if (d.register !== undefined) def.register = d.register;
    if (d.become !== undefined) def.become = d.become;
    if (d.become_user !== undefined) def.becomeUser = d.become_user;
    if (d.check_mode !== undefined) def.checkMode = d.check_mode;
    if (d.changed_when !== undefined) def.changedWhen = d.changed_when;
    if (d.failed_when !== undefined) def.failedWhen = d.failed_when;
    if (d.timeout !== undefined) def.timeoutMs = Math.round(d.timeout * 1000);
    return def;
  }

  play(value: unknown, i: number): PlayDef | undefined {
    const path = [i];
    if (!isRecord(value)) {
      this.issue(path, `expected a play (a mapping with hosts: and tasks:), got ${describeType(value)}`);
      return undefined;
    }
    const keys: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (Object.prototype.hasOwnProperty.call(UNSUPPORTED_PLAY_KEYS, k)) this.issue([...path, k], UNSUPPORTED_PLAY_KEYS[k] as string, true);
      else keys[k] = v;
    }
    const p = checkWith(playLoadSchema, this.doc, keys, { basePath: path });
    if (!p.ok) this.issues.push(...p.issues);
    const rawTasks = Array.isArray(value.tasks) ? value.tasks : [];
    const rawHandlers = Array.isArray(value.handlers) ? value.handlers : [];
    const tasks = rawTasks.map((t, j) => this.task(t, [i, 'tasks', j], false));
    const handlers = rawHandlers.map((t, j) => this.task(t, [i, 'handlers', j], true));
    if (!p.ok) return undefined;
    const d = p.data;
    const okTasks = tasks.filter((t): t is TaskDef => t !== undefined);
    const okHandlers = handlers.filter((t): t is TaskDef => t !== undefined);
    // notify must name a handler (or a listen topic) of the same play
    const topics = new Set(okHandlers.flatMap((h) => [h.name, ...h.listen]));
    okTasks.forEach((t) => {
      for (const n of t.notify) {
        if (n.includes('{{') || topics.has(n)) continue;
        const guess = didYouMean(n, topics);
        const j = tasks.indexOf(t);
        this.issue(
          [i, 'tasks', j, 'notify'],
          `no handler named ${JSON.stringify(n)} in this play${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}${topics.size ? `; handlers: ${[...topics].join(', ')}` : ''}`,
        );
      }
    });
    const hosts = Array.isArray(d.hosts) ? d.hosts.join(',') : d.hosts;
    const play: PlayDef = {
      name: d.name ?? hosts,
      hosts,
      vars: d.vars ?? {},
      gatherFacts: d.gather_facts ?? true,
      tasks: okTasks,
      handlers: okHandlers,
      tags: list(d.tags, true),
      lockoutProtection: d.lockout_protection ?? true,
      rollbackTimeout: d.rollback_timeout ?? 120,
      allowLockout: d.allow_lockout ?? false,
      location: this.loc(path),
      varLocations: Object.fromEntries(Object.keys(d.vars ?? {}).map((k) => [k, this.loc([...path, 'vars', k], true)])),
    };
    if (d.become !== undefined) play.become = d.become;
    if (d.become_user !== undefined) play.becomeUser = d.become_user;
    if (d.serial !== undefined) play.serial = Array.isArray(d.serial) ? d.serial : [d.serial];
    if (d.max_fail_percentage !== undefined) play.maxFailPercentage = d.max_fail_percentage;
    return play;
  }
}

/** Validate an already-parsed playbook document. `dir` defaults to the file's directory. */
export function playbookFromDoc(doc: YamlDoc, registry: TaskRegistry, dir?: string): Playbook {
  const loader = new Loader(doc, registry);
  const value = doc.value;
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ValidationError([{ path: '', message: `${doc.file}: playbook is empty (expected a list of plays)` }]);
  }
  if (!Array.isArray(value)) {
    loader.issue([], `a playbook is a list of plays (- hosts: ...), got ${describeType(value)}`);
    throw new ValidationError(loader.issues);
  }
  const plays = value.map((p, i) => loader.play(p, i));
  if (loader.issues.length > 0) throw new ValidationError(sortIssues(loader.issues));
  return { file: doc.file, dir: dir ?? dirname(resolve(doc.file)), plays: plays as PlayDef[] };
}

/** Load and validate a playbook file against the task registry. */
export function loadPlaybook(path: string, registry: TaskRegistry): Playbook {
  const doc = loadYamlFile(path);
  return playbookFromDoc(doc, registry, dirname(resolve(path)));
}

/** Parse playbook YAML text (tests, stdin). */
export function parsePlaybook(text: string, file: string, registry: TaskRegistry, dir?: string): Playbook {
  return playbookFromDoc(parseYaml(text, file), registry, dir);
}
