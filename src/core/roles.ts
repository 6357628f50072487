/**
 * Roles in Ansible's standard layout, found where Ansible looks first:
 * `<playbook dir>/roles/NAME`, beside the role that depends on or includes
 * it, then `<playbook dir>/NAME` (or NAME as a path). A role directory holds
 * tasks/main.yml, handlers/main.yml, defaults/main.yml, vars/main.yml,
 * meta/main.yml (`dependencies:`, `allow_duplicates:`), and the files/ and
 * templates/ its tasks find a relative `src` in (`main` may be main.yml,
 * main.yaml, main, or a directory of files for defaults and vars).
 *
 * A role in `roles:` runs its dependencies first, once per play for the same
 * parameters unless `allow_duplicates`; its defaults and vars are seen by
 * every task of the play (import_role's too), include_role's only by its
 * tasks. A role's handlers join the play's, also under `ROLE : NAME`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ROLE_KEYWORDS } from '../schema/playbook.js';
import { describeType } from '../schema/validate.js';
import type { YamlPath } from '../schema/yaml.js';
import type { PlayItem, RoleScope, TaskDef } from './playbook.js';
import { inherit, isRecord, type Inherited, type LoadContext, type Source } from './playbook-task.js';
import type { TaskListLoader } from './playbook-tasks.js';
import { isTemplated } from './template.js';

export interface RoleRequest {
  name: string;
  /** Role parameters: `vars:` of the entry and its other keys. */
  params: Record<string, unknown>;
  /** include_role / import_role options: tasks_from, vars_from, defaults_from, handlers_from, allow_duplicates, public. */
  options: Record<string, unknown>;
}

type At = { src: Source; path: YamlPath };

/** `main` of a role directory (tasks/, handlers/, ...) or the file `from` names there. */
function roleFile(dir: string, sub: string, from = 'main'): string | undefined {
  for (const name of [from, `${from}.yml`, `${from}.yaml`, `${from}.json`]) {
    const p = join(dir, sub, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Loads roles for one play at a time; collects the play's role handlers and the defaults and vars it exports. */
export class RoleLoader {
  handlers: TaskDef[] = [];
  defaults: Record<string, unknown> = {};
  vars: Record<string, unknown> = {};
  private seen = new Set<string>();

  constructor(
    private readonly ctx: LoadContext,
    private readonly tasks: TaskListLoader,
  ) {}

  /** A new play: nothing collected yet. */
  startPlay(): void {
    this.handlers = [];
    this.defaults = {};
    this.vars = {};
    this.seen = new Set();
  }

  /** The directory of the playbook file of the play being loaded. */
  currentPlayDir = '';

  /** Where a role name is looked for (Ansible: roles/ beside the playbook, the role it is named in, the playbook's directory). */
  searchDirs(up: Inherited): string[] {
    return [...new Set([join(this.currentPlayDir, 'roles'), ...(up.role ? [up.role.path] : []), this.currentPlayDir])];
  }

  private find(at: At, name: string, up: Inherited): string | undefined {
    if (isTemplated(name)) {
      this.ctx.issue(at.src, at.path, `the role ${JSON.stringify(name)} is read when the playbook is loaded: a role name from variables needs include_role`);
      return undefined;
    }
    const dirs = this.searchDirs(up);
    const found = [...dirs.map((d) => join(d, name)), resolve(this.currentPlayDir, name)].find((p) => existsSync(p) && statSync(p).isDirectory());
    if (!found) this.ctx.issue(at.src, at.path, `role ${JSON.stringify(name)} not found (looked in ${dirs.join(', ')})`);
    return found;
  }

  /** The `roles:` section of a play. */
  fromPlay(src: Source, value: unknown, path: (string | number)[], up: Inherited, stack: readonly string[]): PlayItem[] {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      this.ctx.issue(src, path, `expected a list of roles, got ${describeType(value)}`);
      return [];
    }
    return value.flatMap((entry, i) => this.entry(src, entry, [...path, i], up, stack));
  }

  /** One entry of `roles:` or of `dependencies:`: a name, or a mapping with `role:` (or `name:`) and keywords; other keys are parameters. */
  private entry(src: Source, entry: unknown, path: (string | number)[], up: Inherited, stack: readonly string[]): PlayItem[] {
    if (typeof entry === 'string') return this.play({ src, path }, { name: entry, params: {}, options: {} }, up, stack);
    if (!isRecord(entry)) {
      this.ctx.issue(src, path, `expected a role name or a mapping with role:, got ${describeType(entry)}`);
      return [];
    }
    const name = entry.role ?? entry.name;
    if (typeof name !== 'string') {
      this.ctx.issue(src, path, 'a role entry needs role: NAME');
      return [];
    }
    const kw: Record<string, unknown> = {};
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'role' || k === 'name') continue;
      if ((ROLE_KEYWORDS as readonly string[]).includes(k)) kw[k] = v;
      else params[k] = v;
    }
    if (kw.vars !== undefined && !isRecord(kw.vars)) {
      this.ctx.issue(src, [...path, 'vars'], `expected a mapping of variables, got ${describeType(kw.vars)}`);
      return [];
    }
    const scope = inherit(up, { ...(kw as Parameters<typeof inherit>[1]), vars: {} });
    return this.play({ src, path: [...path, entry.role !== undefined ? 'role' : 'name'] }, { name, params: { ...params, ...(kw.vars as Record<string, unknown> | undefined) }, options: {} }, scope, stack);
  }

  /** A role of `roles:` (or a dependency): dependencies first, once per play for the same parameters, its variables exported to the play. */
  private play(at: At, req: RoleRequest, up: Inherited, stack: readonly string[]): PlayItem[] {
    const dir = this.find(at, req.name, up);
    if (!dir || this.recursive(at, dir, stack)) return [];
    const meta = this.meta(at, dir);
    const key = `${dir}\u0000${JSON.stringify(req.params)}`;
    if (this.seen.has(key) && meta.allowDuplicates !== true) return [];
    this.seen.add(key);
    return this.load(at, dir, req, up, stack, { exported: true, meta });
  }

  /** import_role: read now, its variables exported to the play. */
  imported(at: At, req: RoleRequest, up: Inherited, stack: readonly string[]): PlayItem[] {
    const dir = this.find(at, req.name, up);
    if (!dir) return [];
    return this.load(at, dir, req, up, stack, { exported: true, meta: this.meta(at, dir) });
  }

  /** include_role: one of the role directories its name can designate, its variables seen only by its tasks. */
  included(at: At, dir: string, options: Record<string, unknown>, up: Inherited, stack: readonly string[]): { file: string; items: PlayItem[] } | undefined {
    if (options.public === true) {
      this.ctx.issue(at.src, at.path, 'include_role with public: true is not supported: use import_role, whose defaults and vars the whole play sees');
      return undefined;
    }
    return { file: dir, items: this.load(at, dir, { name: basename(dir), params: {}, options }, up, stack, { exported: false, meta: this.meta(at, dir) }) };
  }

  private meta(at: At, dir: string): { dependencies: unknown[]; allowDuplicates?: boolean; at?: At } {
    const file = roleFile(dir, 'meta');
    if (existsSync(join(dir, 'meta', 'argument_specs.yml'))) this.ctx.warn(this.ctx.loc(at.src, at.path), `role ${basename(dir)}: meta/argument_specs.yml is not checked by provision`);
    if (!file) return { dependencies: [] };
    const src = this.ctx.read(file, at);
    const value = src?.doc.value;
    if (!src || value === null || value === undefined) return { dependencies: [] };
    if (!isRecord(value)) {
      this.ctx.issue(src, [], `expected a mapping (dependencies:, galaxy_info:...), got ${describeType(value)}`);
      return { dependencies: [] };
    }
    const deps = value.dependencies ?? [];
    if (!Array.isArray(deps)) this.ctx.issue(src, ['dependencies'], `expected a list of roles, got ${describeType(deps)}`);
    return { dependencies: Array.isArray(deps) ? deps : [], ...(typeof value.allow_duplicates === 'boolean' ? { allowDuplicates: value.allow_duplicates } : {}), at: { src, path: ['dependencies'] } };
  }

  /** Variables of defaults/ or vars/ (`main` or the `*_from` file; a directory of files is merged in name order). */
  private varsOf(at: At, dir: string, sub: 'defaults' | 'vars', from: unknown): Record<string, unknown> {
    const name = typeof from === 'string' ? from : 'main';
    const path = join(dir, sub, name);
    const files = existsSync(path) && statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)) : [roleFile(dir, sub, name)].filter((f): f is string => f !== undefined);
    if (files.length === 0 && typeof from === 'string') this.ctx.issue(at.src, at.path, `${sub}_from: ${sub}/${name} not found in role ${basename(dir)}`);
    let out: Record<string, unknown> = {};
    for (const f of files) {
      const src = this.ctx.read(f, at);
      const value = src?.doc.value;
      if (!src || value === null || value === undefined) continue;
      if (!isRecord(value)) this.ctx.issue(src, [], `expected a mapping of variables, got ${describeType(value)}`);
      else out = { ...out, ...value };
    }
    return out;
  }

  /** A role among the roles being loaded (a dependency loop): reported. */
  private recursive(at: At, dir: string, stack: readonly string[]): boolean {
    if (!stack.includes(dir)) return false;
    const chain = [...stack.slice(stack.indexOf(dir)), dir].filter((d) => !d.endsWith('.yml') && !d.endsWith('.yaml'));
    this.ctx.issue(at.src, at.path, `role ${basename(dir)} depends on itself (${chain.map((d) => basename(d)).join(' → ')})`);
    return true;
  }

  private load(at: At, dir: string, req: RoleRequest, up: Inherited, stack: readonly string[], o: { exported: boolean; meta: ReturnType<RoleLoader['meta']> }): PlayItem[] {
    if (this.recursive(at, dir, stack)) return [];
    const inner = [...stack, dir];
    const role: RoleScope = {
      name: basename(dir),
      path: dir,
      defaults: this.varsOf(at, dir, 'defaults', req.options.defaults_from),
      vars: this.varsOf(at, dir, 'vars', req.options.vars_from),
      params: req.params,
    };
    if (o.exported) {
      this.defaults = { ...this.defaults, ...role.defaults };
      this.vars = { ...this.vars, ...role.vars };
    }
    const scope: Inherited = { ...up, role, roleDirs: [dir, ...up.roleDirs] };
    const metaAt = o.meta.at;
    // dependencies find their files in this role's directory too, after their own (Ansible's dependency chain)
    const deps = metaAt ? o.meta.dependencies.flatMap((d, i) => this.entry(metaAt.src, d, [...metaAt.path, i], scope, inner)) : [];
    const tasksFile = roleFile(dir, 'tasks', typeof req.options.tasks_from === 'string' ? req.options.tasks_from : 'main');
    if (!tasksFile && typeof req.options.tasks_from === 'string') this.ctx.issue(at.src, at.path, `tasks_from: tasks/${req.options.tasks_from} not found in role ${role.name}`);
    const tasks = tasksFile ? (this.tasks.readTaskFile(at, tasksFile, scope, inner)?.items ?? []) : [];
    const handlersFile = roleFile(dir, 'handlers', typeof req.options.handlers_from === 'string' ? req.options.handlers_from : 'main');
    const hsrc = handlersFile ? this.ctx.read(handlersFile, at) : undefined;
    if (hsrc) {
      const handlers = this.tasks.handlers(hsrc, hsrc.doc.value, [], { ...scope, tags: [], when: [] });
      this.handlers.push(...handlers.map((h) => ({ ...h, listen: [...h.listen, `${role.name} : ${h.name}`] })));
    }
    return [...deps, ...tasks];
  }
}

