/**
 * The playbook model and its loading: YAML → validated plays, each with the
 * tree of what it runs (tasks, blocks, includes, handler flushes) and a source
 * location on everything, so every error says `file:line:col`.
 *
 * Loading is split by what it reads: playbook-plays.ts (plays, vars_files,
 * pre_tasks/roles/tasks/post_tasks, import_playbook), playbook-tasks.ts (task
 * lists: blocks, imports and includes of task files and roles, what a block
 * passes down to its tasks), playbook-task.ts (one task: its keywords, its
 * task type under any of Ansible's spellings, its arguments), roles.ts (the
 * role layout). Everything is read and validated before any host is
 * contacted; a task file an include names with a template is validated for
 * every file the template can name.
 *
 * Task arguments are validated with `tolerateTemplates`: a string containing
 * `{{` is accepted anywhere (e.g. `port: "{{ ssh_port }}"`) and validated again
 * after rendering at run time; `args` stay raw (unrendered). Play keys and the
 * common task keys are not templated (booleans must be booleans).
 */
import { dirname, join } from 'node:path';
import type { SourceLocation } from '../contract/errors.js';
import type { TaskModule } from '../contract/task.js';
import type { Condition } from '../schema/playbook.js';
import type { CryptAlgo } from './crypt.js';
import type { LoopLookup } from './loops.js';
import { loadPlaybookFile, loadPlaybookText } from './playbook-plays.js';
import type { PendingTasks } from './playbook-task.js';

export type { Condition };
export type TaskRegistry = Readonly<Record<string, TaskModule>>;

/** The role a task comes from: its directory and the variables it brings. */
export interface RoleScope {
  name: string;
  /** The role's directory. */
  path: string;
  /** defaults/main.yml: the lowest precedence of all. */
  defaults: Record<string, unknown>;
  /** vars/main.yml: above play vars. */
  vars: Record<string, unknown>;
  /** `roles: [{ role: x, vars: {...}, y: 1 }]`, include_role's `vars:`: above registered results and set_fact. */
  params: Record<string, unknown>;
}

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
  /** The loop was written `with_<lookup>`: its items are built as that lookup builds them (loops.ts). */
  loopWith?: LoopLookup;
  loopVar: string;
  loopLabel?: string;
  register?: string;
  ignoreErrors: boolean;
  become?: boolean;
  becomeUser?: string;
  /** The login user for this task (`remote_user`), where the inventory does not name one. */
  remoteUser?: string;
  checkMode?: boolean;
  changedWhen?: Condition;
  failedWhen?: Condition;
  /** `until`, `retries`, `delay`: run again until the condition holds over the result (pipeline.ts). */
  until?: { condition: Condition; retries?: number; delaySec?: number };
  timeoutMs?: number;
  noLog: boolean;
  location: SourceLocation;
  /** Handlers only: extra topics from `listen`. */
  listen: string[];
  /** Compliance controls the task enforces (`controls:`). */
  controls: ControlRef[];
  /** The task's own scope: its blocks', its import's and its own `vars:` (innermost wins). */
  vars?: Record<string, unknown>;
  role?: RoleScope;
  /**
   * Where a relative `src` is looked for, first match wins, as Ansible does:
   * the role's directory, the task file's, the playbook's; in each one its
   * `files/` (or `templates/`) first. Unset: the task file's directory.
   */
  searchPath?: string[];
}

/** A compliance control a task enforces; `subject` is the setting it covers when the playbook names one. */
export interface ControlRef {
  readonly id: string;
  readonly subject?: string;
}

/** `block:` with its `rescue:` and `always:` sections (what the block passes down is already in its tasks). */
export interface BlockDef {
  kind: 'block';
  name?: string;
  block: PlayItem[];
  rescue: PlayItem[];
  always: PlayItem[];
  location: SourceLocation;
}

/**
 * `include_tasks` / `include_role` (and a legacy `include:` that Ansible runs
 * dynamically): its own `when`, loop and tags are evaluated when the run
 * reaches it, once per loop item; its tasks were loaded and validated with
 * the playbook.
 */
export interface IncludeDef {
  kind: 'include';
  name: string;
  /** The file or role name as written (may be a template). */
  target: string;
  when?: Condition;
  loop?: unknown;
  loopWith?: LoopLookup;
  loopVar: string;
  loopLabel?: string;
  tags: string[];
  /** The include's scope for its own `when` and loop: the enclosing blocks' vars and its own `vars:`. */
  vars?: Record<string, unknown>;
  role?: RoleScope;
  /** Every file (a role: directory) the target can name, absolute, with its tasks; one entry when the target is not a template. */
  choices: { file: string; items: PlayItem[] }[];
  /** Directories a rendered relative target is looked for in, in order. */
  dirs: string[];
  location: SourceLocation;
}

/** Where the notified handlers run: after pre_tasks, after roles and tasks, after post_tasks (Ansible's implicit flushes). */
export interface FlushDef {
  kind: 'flush';
}

export type PlayItem = TaskDef | BlockDef | IncludeDef | FlushDef;

export const isTask = (item: PlayItem): item is TaskDef => !('kind' in item);

/** A `vars_files` entry named with a template: resolved per host when the play starts. */
export interface VarsFileRef {
  /** The names, first found wins (a list entry), as written. */
  names: string[];
  dir: string;
  /** Every file the names can designate, absolute, with its variables. */
  files: Record<string, Record<string, unknown>>;
  location: SourceLocation;
}

/** A `vars_prompt` entry: its value comes from -e, else `default` (provision never prompts). */
export interface VarsPrompt {
  name: string;
  default?: unknown;
  /** Masked in every output (Ansible's `private`, default true). */
  private: boolean;
  encrypt?: CryptAlgo;
  salt?: string;
  saltSize?: number;
  location: SourceLocation;
}

export interface PlayDef {
  name: string;
  hosts: string;
  vars: Record<string, unknown>;
  /** `vars_prompt`: set above `vars` when the run starts (prompts.ts). */
  prompts: VarsPrompt[];
  /** Variables of the play's `vars_files` whose names are not templates, merged in order (above `vars`). */
  varsFilesVars: Record<string, unknown>;
  /** `vars_files` entries named with a template. */
  varsFiles: VarsFileRef[];
  /** Unset: the host's `become` / `ansible_become`, then `-b`, decide (see pipeline.ts runAs). */
  become?: boolean;
  becomeUser?: string;
  /** The login user for the play's hosts, where the inventory does not name one. */
  remoteUser?: string;
  gatherFacts: boolean;
  /** What the play runs, in order: pre_tasks, roles, tasks, post_tasks, with handler flushes between. */
  body: PlayItem[];
  /** Every task `body` can run (inside blocks and includes too), in order: for listing and checking. */
  tasks: TaskDef[];
  /** The play's handlers, then its roles'. */
  handlers: TaskDef[];
  /** Defaults and vars of the play's roles (Ansible shows them to every task of the play). */
  roleDefaults: Record<string, unknown>;
  roleVars: Record<string, unknown>;
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
  /** The directory of the playbook given on the command line (`playbook_dir`). */
  playbookDir: string;
}

export interface Playbook {
  file: string;
  /** Directory relative paths in tasks (e.g. copy `src:`) resolve against. */
  dir: string;
  plays: PlayDef[];
  /** What is read but does not act as in Ansible, with its location. */
  warnings: string[];
}

/** Every task of a tree, in order (blocks: block, rescue, always; includes: every file they can name). */
export function flatTasks(items: readonly PlayItem[]): TaskDef[] {
  return items.flatMap((item): TaskDef[] => {
    if (isTask(item)) return [item];
    if (item.kind === 'block') return flatTasks([...item.block, ...item.rescue, ...item.always]);
    if (item.kind === 'include') return item.choices.flatMap((c) => flatTasks(c.items));
    return [];
  });
}

/** Every include of a tree, in order (nested ones too). */
export function flatIncludes(items: readonly PlayItem[]): IncludeDef[] {
  return items.flatMap((item): IncludeDef[] => {
    if (isTask(item) || item.kind === 'flush') return [];
    if (item.kind === 'block') return flatIncludes([...item.block, ...item.rescue, ...item.always]);
    return [item, ...item.choices.flatMap((c) => flatIncludes(c.items))];
  });
}

/** The local directories a task's relative files are looked for in, by kind (the TaskContext's `searchDirs`). */
export function searchDirsOf(task: Pick<TaskDef, 'searchPath' | 'location'>): { files: string[]; templates: string[]; vars: string[] } {
  const path = task.searchPath ?? [dirname(task.location.file)];
  const under = (kind: string) => path.flatMap((d) => [join(d, kind), d]);
  return { files: under('files'), templates: under('templates'), vars: under('vars') };
}

/** `user name=deploy shell=/bin/bash`, short. */
export function defaultTaskName(module: string, args: unknown): string {
  let text = '';
  if (typeof args === 'string' || typeof args === 'number' || typeof args === 'boolean') text = String(args);
  else if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
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

/** Load and validate a playbook file against the task registry (with what it imports and includes). */
export function loadPlaybook(path: string, registry: TaskRegistry, pending?: PendingTasks): Playbook {
  return loadPlaybookFile(path, registry, pending);
}

/** Parse playbook YAML text (tests, stdin); `dir` (default: the file's directory) is where relative files are found. */
export function parsePlaybook(text: string, file: string, registry: TaskRegistry, dir?: string): Playbook {
  return loadPlaybookText(text, file, registry, dir);
}
