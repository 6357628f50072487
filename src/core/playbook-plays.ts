/**
 * Plays: their keys, `vars_files` (relative to the playbook, a list entry
 * meaning "the first of these that exists"), what they run in Ansible's order
 * (pre_tasks, handlers, roles, tasks, handlers, post_tasks, handlers), their
 * handlers (the play's, then its roles'), and `import_playbook` (or a legacy
 * play-level `include:`), whose `when` applies to every task of the imported
 * plays and whose `vars` override theirs.
 */
import { dirname, resolve } from 'node:path';
import { ValidationError } from '../contract/errors.js';
import { importPlaybookSchema, PLAY_LIST_KEYS, playLoadSchema, UNSUPPORTED_PLAY_KEYS } from '../schema/playbook.js';
import { checkWith, describeType, didYouMean, sortIssues } from '../schema/validate.js';
import { loadYamlFile, parseYaml, type YamlDoc } from '../schema/yaml.js';
import { flatTasks, type PlayDef, type Playbook, type PlayItem, type TaskRegistry, type VarsFileRef } from './playbook.js';
import { conditionList, inherit, isRecord, LoadContext, list, NOTHING_INHERITED, type Inherited, type PendingTasks, type Source } from './playbook-task.js';
import { filesNamed } from './local-files.js';
import { TaskListLoader } from './playbook-tasks.js';
import { RoleLoader } from './roles.js';
import { isTemplated } from './template.js';

/** What an import_playbook passes to the plays it imports. */
interface Imported {
  when: string[];
  vars: Record<string, unknown>;
  tags: string[];
}

class PlaybookLoader {
  readonly tasks: TaskListLoader;
  readonly roles: RoleLoader;

  constructor(readonly ctx: LoadContext) {
    this.tasks = new TaskListLoader(ctx);
    this.roles = new RoleLoader(ctx, this.tasks);
    this.tasks.roles = this.roles;
  }

  /** A playbook file: its plays and those it imports, in order. */
  file(src: Source, imported: Imported, stack: readonly string[]): PlayDef[] {
    const value = src.doc.value;
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
      this.ctx.issues.push({ path: '', message: `${src.doc.file}: playbook is empty (expected a list of plays)` });
      return [];
    }
    if (!Array.isArray(value)) {
      this.ctx.issue(src, [], `a playbook is a list of plays (- hosts: ...), got ${describeType(value)}`);
      return [];
    }
    return value.flatMap((p, i) => {
      if (isRecord(p) && ('import_playbook' in p || ('include' in p && !('hosts' in p)))) return this.importPlaybook(src, p, i, imported, stack);
      const play = this.play(src, p, i, imported);
      return play ? [play] : [];
    });
  }

  private importPlaybook(src: Source, value: Record<string, unknown>, i: number, imported: Imported, stack: readonly string[]): PlayDef[] {
    const c = checkWith(importPlaybookSchema, src.doc, value, { basePath: [i] });
    if (!c.ok) {
      this.ctx.issues.push(...c.issues);
      return [];
    }
    const key = c.data.import_playbook !== undefined ? 'import_playbook' : 'include';
    const name = (c.data.import_playbook ?? c.data.include) as string;
    if (isTemplated(name)) {
      this.ctx.issue(src, [i, key], `${key} reads its playbook when the playbook is loaded: a name from variables (${JSON.stringify(name)}) is not supported`);
      return [];
    }
    const file = resolve(src.dir, name);
    if (stack.includes(file)) {
      this.ctx.issue(src, [i, key], `${file} imports itself (${[...stack.slice(stack.indexOf(file)), file].join(' → ')})`);
      return [];
    }
    const inner = this.ctx.read(file, { src, path: [i, key] });
    if (!inner) return [];
    return this.file(inner, { when: [...imported.when, ...conditionList(c.data.when)], vars: { ...imported.vars, ...c.data.vars }, tags: [...imported.tags, ...list(c.data.tags, true)] }, [...stack, file]);
  }

  /** `vars_files`: static names are read now; a name with a template is resolved per host when the play starts. */
  private varsFiles(src: Source, value: unknown, i: number): { vars: Record<string, unknown>; refs: VarsFileRef[] } {
    let vars: Record<string, unknown> = {};
    const refs: VarsFileRef[] = [];
    if (!Array.isArray(value)) return { vars, refs };
    value.forEach((entry, j) => {
      const names = (Array.isArray(entry) ? entry : [entry]) as string[];
      const at = { src, path: [i, 'vars_files', j] };
      const read = (file: string): Record<string, unknown> | undefined => {
        const f = this.ctx.read(file, at);
        const v = f?.doc.value;
        if (!f || v === null || v === undefined) return f ? {} : undefined;
        if (isRecord(v)) return v;
        this.ctx.issue(f, [], `a vars file holds a mapping of variables, got ${describeType(v)}`);
        return undefined;
      };
      if (names.some(isTemplated)) {
        const files: Record<string, Record<string, unknown>> = {};
        for (const n of names) for (const f of filesNamed(n, [src.dir])) files[f] ??= read(f) ?? {};
        if (Object.keys(files).length === 0) this.ctx.issue(src, at.path, `vars_files: no file matches ${names.map((n) => JSON.stringify(n)).join(' or ')} for any value of its variables (looked in ${src.dir})`);
        refs.push({ names, dir: src.dir, files, location: this.ctx.loc(src, at.path) });
        return;
      }
      const file = names.map((n) => filesNamed(n, [src.dir])[0]).find((f) => f !== undefined);
      if (file === undefined) {
        this.ctx.issue(src, at.path, `vars_files: ${names.map((n) => JSON.stringify(n)).join(', ')} not found (looked in ${src.dir})`);
        return;
      }
      vars = { ...vars, ...read(file) };
    });
    return { vars, refs };
  }

  private play(src: Source, value: unknown, i: number, imported: Imported): PlayDef | undefined {
    const path = [i];
    if (!isRecord(value)) {
      this.ctx.issue(src, path, `expected a play (a mapping with hosts: and tasks:), got ${describeType(value)}`);
      return undefined;
    }
    const keys: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (Object.prototype.hasOwnProperty.call(UNSUPPORTED_PLAY_KEYS, k)) this.ctx.issue(src, [...path, k], UNSUPPORTED_PLAY_KEYS[k] as string, true);
      else keys[k] = v;
    }
    const p = checkWith(playLoadSchema, src.doc, keys, { basePath: path });
    if (!p.ok) this.ctx.issues.push(...p.issues);
    const d = p.ok ? p.data : undefined;
    const files = this.varsFiles(src, value.vars_files, i);
    this.roles.startPlay();
    this.ctx.notifies = [];
    this.roles.currentPlayDir = src.dir;
    const up: Inherited = inherit(NOTHING_INHERITED, { when: imported.when, tags: [...imported.tags, ...list(d?.tags as string | string[] | undefined, true)] });
    const section = (k: (typeof PLAY_LIST_KEYS)[number]): PlayItem[] => (k === 'roles' ? this.roles.fromPlay(src, value.roles, [i, 'roles'], up, [src.doc.file]) : this.tasks.list(src, value[k], [i, k], up, [src.doc.file]));
    const body: PlayItem[] = [...section('pre_tasks'), { kind: 'flush' }, ...section('roles'), ...section('tasks'), { kind: 'flush' }, ...section('post_tasks'), { kind: 'flush' }];
    const handlers = [...this.tasks.handlers(src, value.handlers, [i, 'handlers'], inherit(NOTHING_INHERITED, { tags: up.tags })), ...this.roles.handlers];
    if (!d) return undefined;
    const tasks = flatTasks(body);
    this.checkNotify(handlers.map((h) => h.name).concat(handlers.flatMap((h) => h.listen)));
    const hosts = Array.isArray(d.hosts) ? d.hosts.join(',') : d.hosts;
    const vars = { ...d.vars, ...imported.vars };
    const play: PlayDef = {
      name: d.name ?? hosts,
      hosts,
      vars,
      prompts: (d.vars_prompt ?? []).map((q, j) => ({
        name: q.name,
        ...(q.default !== undefined ? { default: q.default } : {}),
        private: q.private ?? true,
        ...(q.encrypt ? { encrypt: q.encrypt } : {}),
        ...(q.salt !== undefined ? { salt: q.salt } : {}),
        ...(q.salt_size !== undefined ? { saltSize: q.salt_size } : {}),
        location: this.ctx.loc(src, [...path, 'vars_prompt', j]),
      })),
      varsFilesVars: files.vars,
      varsFiles: files.refs,
      gatherFacts: d.gather_facts ?? true,
      body,
      tasks,
      handlers,
      roleDefaults: this.roles.defaults,
      roleVars: this.roles.vars,
      tags: up.tags,
      lockoutProtection: d.lockout_protection ?? true,
      rollbackTimeout: d.rollback_timeout ?? 120,
      allowLockout: d.allow_lockout ?? false,
      location: this.ctx.loc(src, path),
      varLocations: Object.fromEntries(Object.keys(d.vars ?? {}).map((k) => [k, this.ctx.loc(src, [...path, 'vars', k], true)])),
      playbookDir: this.ctx.playbookDir,
    };
    if (d.become !== undefined) play.become = d.become;
    if (d.become_user !== undefined) play.becomeUser = d.become_user;
    if (d.remote_user !== undefined) play.remoteUser = d.remote_user;
    if (d.serial !== undefined) play.serial = Array.isArray(d.serial) ? d.serial : [d.serial];
    if (d.max_fail_percentage !== undefined) play.maxFailPercentage = d.max_fail_percentage;
    return play;
  }

  /** notify must name a handler (or a listen topic) of the same play. */
  private checkNotify(topics: readonly string[]): void {
    const known = new Set(topics);
    for (const { topic, src, path } of this.ctx.notifies) {
      if (topic.includes('{{') || known.has(topic)) continue;
      const guess = didYouMean(topic, known);
      this.ctx.issue(src, path, `no handler named ${JSON.stringify(topic)} in this play${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}${known.size ? `; handlers: ${[...known].join(', ')}` : ''}`);
    }
  }
}

function load(doc: YamlDoc, registry: TaskRegistry, dir: string, pending?: PendingTasks): Playbook {
  const ctx = new LoadContext(registry, dir, pending);
  const loader = new PlaybookLoader(ctx);
  const plays = loader.file({ doc, dir }, { when: [], vars: {}, tags: [] }, [resolve(dir, doc.file)]);
  // by file, then top to bottom
  if (ctx.issues.length > 0) throw new ValidationError(sortIssues(ctx.issues).sort((a, b) => (a.location?.file ?? '').localeCompare(b.location?.file ?? '')));
  return { file: doc.file, dir, plays, warnings: ctx.warnings };
}

export function loadPlaybookFile(path: string, registry: TaskRegistry, pending?: PendingTasks): Playbook {
  return load(loadYamlFile(path, path, { yaml11: 'booleans' }), registry, dirname(resolve(path)), pending);
}

export function loadPlaybookText(text: string, file: string, registry: TaskRegistry, dir?: string): Playbook {
  return load(parseYaml(text, file, { yaml11: 'booleans' }), registry, dir ?? dirname(resolve(file)));
}
