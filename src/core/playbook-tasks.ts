/**
 * Lists of tasks, as Ansible's load_list_of_tasks reads them: a block passes
 * its `when`, `tags`, `vars`, `become`... down to its tasks (rescue and always
 * too); `import_tasks`, `import_role` and a static legacy `include:` put the
 * file's tasks in place, passing their keywords down like a block;
 * `include_tasks`, `include_role` and a dynamic `include:` become an include
 * whose own `when`, loop and tags are evaluated when the run reaches it, and
 * whose tasks inherit only its `vars:` (Ansible's semantics, measured against
 * ansible-core 2.14). Every file an include can name is read and validated
 * now, with its own locations in errors.
 */
import { join } from 'node:path';
import { BLOCK_KEYS, blockKeywordsSchema, includeKeywordsSchema, INCLUDE_KEYS, type Condition } from '../schema/playbook.js';
import { checkWith, describeType } from '../schema/validate.js';
import type { YamlPath } from '../schema/yaml.js';
import { parseKeyValues } from './ansible-syntax.js';
import type { BlockDef, IncludeDef, PlayItem, TaskDef } from './playbook.js';
import { inherit, isRecord, loopOf, taskDef, taskShape, type IncludeAction, type Inherited, type LoadContext, type Source, type TaskShape } from './playbook-task.js';
import type { RoleLoader } from './roles.js';
import { filesNamed } from './local-files.js';
import { isTemplated } from './template.js';

/** The name an include or import gives: its free-form text, `file:`/`name:`, and (legacy `include:`) its `k=v` parameters. */
function includeTarget(action: IncludeAction, raw: unknown, args: Record<string, unknown>): { target?: string; params: Record<string, unknown>; options: Record<string, unknown> } {
  const role = action === 'include_role' || action === 'import_role';
  if (typeof raw === 'string') {
    if (role) return { target: raw, params: {}, options: {} };
    const { options, raw: words } = parseKeyValues(raw);
    // legacy `include: file.yml a=1` passes a=1 to the tasks as variables
    return action === 'include' ? { ...(words !== undefined ? { target: words } : {}), params: options, options: {} } : { ...(words !== undefined ? { target: words } : {}), params: {}, options };
  }
  const opts = { ...args, ...(isRecord(raw) ? raw : {}) };
  const key = role ? 'name' : 'file';
  const { [key]: target, ...options } = opts;
  return { ...(typeof target === 'string' ? { target } : {}), params: {}, options };
}

const ROLE_OPTIONS = ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'allow_duplicates', 'public'];

export class TaskListLoader {
  roles!: RoleLoader;

  constructor(readonly ctx: LoadContext) {}

  /** A list of tasks (a task file, a section of a play or of a block). */
  list(src: Source, value: unknown, path: (string | number)[], up: Inherited, stack: readonly string[]): PlayItem[] {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      this.ctx.issue(src, path, `expected a list of tasks, got ${describeType(value)}`);
      return [];
    }
    return value.flatMap((v, i) => this.item(src, v, [...path, i], up, stack));
  }

  /** Handlers: tasks only (a block or an include in handlers is refused, as in Ansible). */
  handlers(src: Source, value: unknown, path: (string | number)[], up: Inherited): TaskDef[] {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      this.ctx.issue(src, path, `expected a list of handlers, got ${describeType(value)}`);
      return [];
    }
    return value.flatMap((v, i) => {
      const p = [...path, i];
      if (!isRecord(v)) {
        this.ctx.issue(src, p, `expected a handler (a mapping with a task type key), got ${describeType(v)}`);
        return [];
      }
      if ('block' in v) {
        this.ctx.issue(src, [...p, 'block'], 'a block as a handler is not supported (as in Ansible): write the handler as one task', true);
        return [];
      }
      const shape = taskShape(this.ctx, src, v, p, true);
      const t = shape?.kind === 'task' ? taskDef(this.ctx, src, v, p, shape, up, true) : undefined;
      return t ? [t] : [];
    });
  }

  private item(src: Source, value: unknown, path: (string | number)[], up: Inherited, stack: readonly string[]): PlayItem[] {
    if (!isRecord(value)) {
      this.ctx.issue(src, path, `expected a task (a mapping with a task type key such as ${this.ctx.known.slice(0, 3).join(', ') || 'copy'}), got ${describeType(value)}`);
      return [];
    }
    const shape = taskShape(this.ctx, src, value, path, false);
    if (!shape) return [];
    if (shape.kind === 'block') return this.block(src, value, path, up, stack);
    if (shape.kind === 'include') return this.include(src, value, path, shape, up, stack);
    const t = taskDef(this.ctx, src, value, path, shape, up, false);
    return t ? [t] : [];
  }

  private block(src: Source, value: Record<string, unknown>, path: (string | number)[], up: Inherited, stack: readonly string[]): PlayItem[] {
    const keys = Object.fromEntries(Object.entries(value).filter(([k]) => !['block', 'rescue', 'always'].includes(k)));
    const c = checkWith(blockKeywordsSchema, src.doc, keys, { basePath: path });
    if (!c.ok) {
      this.ctx.issues.push(...c.issues.map((i) => (i.message.startsWith('unknown key') ? { ...i, message: `${i.message.replace(/ \(.*$/, '')} on a block (allowed: ${BLOCK_KEYS.join(', ')})` } : i)));
      return [];
    }
    const scope = inherit(up, c.data);
    const block: BlockDef = {
      kind: 'block',
      block: this.list(src, value.block, [...path, 'block'], scope, stack),
      rescue: this.list(src, value.rescue, [...path, 'rescue'], scope, stack),
      always: this.list(src, value.always, [...path, 'always'], scope, stack),
      location: this.ctx.loc(src, path),
    };
    if (c.data.name !== undefined) block.name = c.data.name;
    return [block];
  }

  private include(src: Source, value: Record<string, unknown>, path: (string | number)[], shape: Extract<TaskShape, { kind: 'include' }>, up: Inherited, stack: readonly string[]): PlayItem[] {
    const keys = Object.fromEntries(Object.entries(value).filter(([k]) => k !== shape.key && !k.startsWith('with_')));
    const c = checkWith(includeKeywordsSchema, src.doc, keys, { basePath: path });
    const loop = loopOf(this.ctx, src, value, path);
    if (!c.ok) {
      this.ctx.issues.push(...c.issues.map((i) => (i.message.startsWith('unknown key') ? { ...i, message: `${i.message.replace(/ \(.*$/, '')} on ${shape.action} (allowed: ${INCLUDE_KEYS.join(', ')})` } : i)));
      return [];
    }
    if (!loop) return [];
    const d = c.data;
    const t = includeTarget(shape.action, value[shape.key], isRecord(d.args) ? d.args : {});
    const at = { src, path: [...path, shape.key] as YamlPath };
    if (t.target === undefined) {
      this.ctx.issue(src, at.path, `${shape.action} needs the ${shape.action.endsWith('role') ? 'role name (name:)' : 'file to read (file:)'}`);
      return [];
    }
    const role = shape.action === 'include_role' || shape.action === 'import_role';
    const bad = Object.keys(t.options).filter((k) => !(role ? ROLE_OPTIONS : []).includes(k));
    if (bad.length > 0) {
      this.ctx.issue(src, at.path, `${shape.action} does not take ${bad.join(', ')} (${role ? `allowed: name, ${ROLE_OPTIONS.join(', ')}` : 'only the file name'})`);
      return [];
    }
    const dynamic = shape.action === 'include_tasks' || shape.action === 'include_role' || (shape.action === 'include' && (isTemplated(t.target) || loop.loop !== undefined));
    const vars = { ...t.params, ...d.vars };
    if (!dynamic) {
      if (loop.loop !== undefined) {
        this.ctx.issue(src, [...path, 'loop'], `${shape.action} cannot loop (it is read when the playbook is loaded): use ${role ? 'include_role' : 'include_tasks'}`);
        return [];
      }
      const scope = inherit(up, { ...d, vars });
      return role ? this.roles.imported(at, { name: t.target, params: {}, options: t.options }, scope, stack) : this.taskFile(at, t.target, scope, stack)?.items ?? [];
    }
    return this.dynamic(at, shape.action, t.target, t.options, { when: d.when, tags: d.tags, vars, name: d.name, loopVar: d.loop_control?.loop_var ?? d.loop_var ?? 'item', label: d.loop_control?.label }, loop, up, stack);
  }

  /** The directories a task file named in `src` is looked for in: the including file's, then the play's (a role: its tasks/). */
  private taskDirs(src: Source, up: Inherited): string[] {
    return [...new Set(up.role ? [src.dir, join(up.role.path, 'tasks')] : [src.dir, this.ctx.playbookDir])];
  }

  /** Read a task file (import_tasks, a static include), its errors located in it. */
  private taskFile(at: { src: Source; path: YamlPath }, target: string, scope: Inherited, stack: readonly string[]): { file: string; items: PlayItem[] } | undefined {
    const dirs = this.taskDirs(at.src, scope);
    if (isTemplated(target)) {
      this.ctx.issue(at.src, at.path, `import_tasks reads its file when the playbook is loaded: a name from variables (${JSON.stringify(target)}) needs include_tasks`);
      return undefined;
    }
    const [file] = filesNamed(target, dirs);
    if (file === undefined) {
      this.ctx.issue(at.src, at.path, `task file ${JSON.stringify(target)} not found (looked in ${dirs.join(', ')})`);
      return undefined;
    }
    return this.readTaskFile(at, file, scope, stack);
  }

  readTaskFile(at: { src: Source; path: YamlPath }, file: string, scope: Inherited, stack: readonly string[]): { file: string; items: PlayItem[] } | undefined {
    if (stack.includes(file)) {
      this.ctx.issue(at.src, at.path, `${file} includes itself (${[...stack.slice(stack.indexOf(file)), file].join(' → ')})`);
      return undefined;
    }
    const src = this.ctx.read(file, at);
    if (!src) return undefined;
    if (src.doc.value === null) this.ctx.warn(this.ctx.loc(at.src, at.path), `${file} is empty: no tasks`);
    return { file, items: this.list(src, src.doc.value, [], scope, [...stack, file]) };
  }

  private dynamic(
    at: { src: Source; path: YamlPath },
    action: IncludeAction,
    target: string,
    options: Record<string, unknown>,
    own: { when?: Condition | undefined; tags?: string | string[] | undefined; vars: Record<string, unknown>; name?: string | undefined; loopVar: string; label?: string | undefined },
    loop: { loop?: unknown; loopWith?: IncludeDef['loopWith'] },
    up: Inherited,
    stack: readonly string[],
  ): PlayItem[] {
    const role = action === 'include_role';
    const self = inherit(up, { when: own.when, tags: own.tags, vars: own.vars });
    // the included tasks get the include's vars, not its when or tags (those are the include's own)
    const children = inherit(up, { vars: own.vars });
    const dirs = role ? this.roles.searchDirs(up) : this.taskDirs(at.src, up);
    const files = filesNamed(target, dirs, role ? 'dir' : 'file');
    if (files.length === 0) {
      this.ctx.issue(at.src, at.path, `${role ? 'role' : 'task file'} ${JSON.stringify(target)} not found${isTemplated(target) ? ' for any value of its variables' : ''} (looked in ${dirs.join(', ')})`);
      return [];
    }
    const choices: IncludeDef['choices'] = [];
    for (const file of files) {
      const loaded = role ? this.roles.included(at, file, options, children, stack) : this.readTaskFile(at, file, children, stack);
      if (loaded) choices.push(loaded);
    }
    const node: IncludeDef = { kind: 'include', name: own.name ?? `${action} ${target}`, target, loopVar: own.loopVar, tags: self.tags, choices, dirs, location: this.ctx.loc(at.src, at.path.slice(0, -1)) };
    if (self.when.length > 0) node.when = self.when;
    if (loop.loop !== undefined) node.loop = loop.loop;
    if (loop.loopWith !== undefined) node.loopWith = loop.loopWith;
    if (own.label !== undefined) node.loopLabel = own.label;
    if (Object.keys(self.vars).length > 0) node.vars = self.vars;
    if (up.role) node.role = up.role;
    return [node];
  }
}

