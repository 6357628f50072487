/**
 * One play on one host: the walk through what the play runs, in order —
 * tasks (every loop item through the pipeline), blocks (a failure in `block`
 * runs `rescue` with `ansible_failed_task`/`ansible_failed_result`, and the
 * host goes on when rescue succeeds; `always` runs in every case), includes
 * (their `when` and loop evaluated once per run of the include, the file
 * chosen by rendering its name), handler flushes (implicit ones and
 * `meta: flush_handlers`), and the control tasks' requests: variables the
 * host keeps (set_fact, include_vars), `meta: end_host` and `end_play`.
 */
import { errorMessage } from '../contract/errors.js';
import type { HostRecap } from './results.js';
import type { HostSession } from './host.js';
import type { HostSpec } from './inventory.js';
import { codeOf, loopItems, registeredValue, runTaskItem, type PipelineEnv } from './pipeline.js';
import { isTask, type BlockDef, type IncludeDef, type PlayDef, type PlayItem, type RoleScope, type TaskDef } from './playbook.js';
import type { RunEvents, TaskResult } from './results.js';
import { hideOutput, itemLabel } from './result-view.js';
import { matchesTags } from './selection.js';
import { readsAhead, readsAheadInCheck, type TaskItem } from './prefetch.js';
import { evalCondition, renderString, renderValue } from './template.js';
import { resolve } from 'node:path';

/** A host during the run. */
export interface HostState {
  spec: HostSpec;
  /** Sessions by login user ('' for the inventory's). */
  sessions: Map<string, HostSession>;
  unreachable: boolean;
  /** Failed in an earlier play: out of the rest of the run, like Ansible. */
  failed: boolean;
  /** Set on the host during the run and kept across plays: registered results, set_fact, include_vars. */
  hostFacts: Record<string, unknown>;
  /** Variables of the running play's vars_files named with templates, as resolved for this host. */
  playFiles: Record<string, unknown>;
  recap: HostRecap;
}

/** The scope of what is running: variables the walk adds (an include's loop item, rescue's failure), and whether a failure is rescued. */
export interface WalkScope {
  dynamic: Record<string, unknown>;
  rescued: boolean;
}

/** What running a play on one host needs from the run. */
export interface PlayRun {
  readonly events: RunEvents;
  readonly tags: readonly string[] | undefined;
  readonly skipTags: readonly string[] | undefined;
  interrupted(): boolean;
  /** meta: end_play was reached on some host of this play. */
  playEnded(play: PlayDef): boolean;
  endPlay(play: PlayDef): void;
  /** Records a result; with the task, its compliance controls as the result leaves them. */
  record(state: HostState, result: TaskResult, task?: TaskDef): void;
  markUnreachable(state: HostState, err: unknown): void;
  /** The session for a task (its login user); undefined when the host cannot be reached. */
  session(state: HostState, play: PlayDef, task?: TaskDef): Promise<HostSession | undefined>;
  varsOf(play: PlayDef, state: HostState, session: HostSession, scope: { vars?: Record<string, unknown>; role?: RoleScope } | undefined, dynamic: Record<string, unknown>): Record<string, unknown>;
  pipelineEnv(state: HostState, session: HostSession): PipelineEnv;
}

type Flow = 'next' | 'failed' | 'end';

export class HostPlay {
  private readonly notified = new Set<TaskDef>();
  private hostEnded = false;
  private failure: { task: Record<string, unknown>; result: unknown } | undefined;
  private index = 0;
  private readonly total: number;

  constructor(
    private readonly run: PlayRun,
    private readonly play: PlayDef,
    private readonly state: HostState,
  ) {
    this.total = play.tasks.filter((t) => this.selected(t)).length;
  }

  /** Runs the play; the host is marked failed when a failure was not rescued or ignored. */
  async execute(): Promise<void> {
    if ((await this.walk(this.play.body, { dynamic: {}, rescued: false })) === 'failed') this.state.failed = true;
  }

  private selected(item: Pick<TaskDef, 'tags'>): boolean {
    return matchesTags(item, this.play, this.run.tags, this.run.skipTags);
  }

  private get stopped(): boolean {
    return this.run.interrupted() || this.state.unreachable || this.hostEnded || this.run.playEnded(this.play);
  }

  private async walk(items: readonly PlayItem[], scope: WalkScope): Promise<Flow> {
    for (const item of items) {
      if (this.stopped) return 'end';
      let flow: Flow;
      if (isTask(item)) flow = this.selected(item) ? await this.task(item, scope, false) : 'next';
      else if (item.kind === 'block') flow = await this.block(item, scope);
      else if (item.kind === 'include') flow = this.selected(item) ? await this.include(item, scope) : 'next';
      else flow = await this.flush();
      if (flow !== 'next') return flow;
    }
    return 'next';
  }

  private async block(b: BlockDef, scope: WalkScope): Promise<Flow> {
    let flow = await this.walk(b.block, { ...scope, rescued: scope.rescued || b.rescue.length > 0 });
    if (flow === 'failed' && b.rescue.length > 0 && this.failure) {
      const { task, result } = this.failure;
      flow = await this.walk(b.rescue, { ...scope, dynamic: { ...scope.dynamic, ansible_failed_task: task, ansible_failed_result: result } });
    }
    if (flow === 'end') return 'end';
    const always = await this.walk(b.always, scope);
    return always === 'next' ? flow : always;
  }

  private async include(inc: IncludeDef, scope: WalkScope): Promise<Flow> {
    const session = await this.run.session(this.state, this.play);
    if (!session) return 'end';
    const base = { host: this.state.spec.name, play: this.play.name, task: inc.name, module: 'include', location: `${inc.location.file}:${inc.location.line}`, ignored: false, handler: false, diffs: [], durationMs: 0 };
    let items: unknown[] | undefined;
    let vars: Record<string, unknown>;
    try {
      vars = this.run.varsOf(this.play, this.state, session, inc, scope.dynamic);
      if (inc.when !== undefined && !evalCondition(inc.when, vars)) {
        this.run.record(this.state, { ...base, status: 'skipped', message: 'condition is false (when)' });
        return 'next';
      }
      items = loopItems(inc, vars);
    } catch (err) {
      return this.failed(base, err, scope);
    }
    for (const item of items ?? [undefined]) {
      const dynamic = items ? { ...scope.dynamic, [inc.loopVar]: item } : scope.dynamic;
      let file: { file: string; items: PlayItem[] } | undefined;
      try {
        const target = String(renderString(inc.target, { ...vars, ...dynamic }));
        const paths = inc.dirs.map((d) => resolve(d, target));
        file = inc.choices.find((c) => paths.includes(c.file));
        if (!file) throw new Error(`${target} is not one of the files checked when the playbook was loaded (${inc.choices.map((c) => c.file).join(', ')})`);
      } catch (err) {
        return this.failed(base, err, scope);
      }
      const flow = await this.walk(file.items, { ...scope, dynamic });
      if (flow !== 'next') return flow;
    }
    return 'next';
  }

  /** A failure of the walk itself (an include's condition, loop or file) or of a task's variables: recorded like a task's, with the task's controls. */
  private failed(base: Omit<TaskResult, 'status' | 'message'>, err: unknown, scope: WalkScope, task?: TaskDef): Flow {
    const result: TaskResult = { ...base, status: 'failed', message: errorMessage(err), code: codeOf(err) };
    this.failure = { task: { name: base.task, action: base.module }, result: { failed: true, msg: result.message } };
    this.run.record(this.state, scope.rescued ? rescuedView(result) : result, task);
    return 'failed';
  }

  /** The notified handlers, in the order they are written; each runs once per notification. */
  private async flush(): Promise<Flow> {
    for (const h of this.play.handlers) {
      if (this.stopped) return 'end';
      if (!this.notified.delete(h)) continue;
      const flow = await this.task(h, { dynamic: {}, rescued: false }, true);
      if (flow !== 'next') return flow;
    }
    return 'next';
  }

  private notify(topic: string): void {
    for (const h of this.play.handlers) if (h.name === topic || h.listen.includes(topic)) this.notified.add(h);
  }

  /**
   * The task items after item `i` of `task`, in the order they run when
   * nothing skips, fails or includes: the rest of its loop, then the play's
   * next tasks (rendered lazily, as far as the reads ahead go). `passOver`: a
   * task whose items cannot be known yet is left out instead of ending the list.
   */
  private *itemsAfter(task: TaskDef, items: unknown[] | undefined, i: number, vars: Record<string, unknown>, session: HostSession, scope: WalkScope, passOver = false): Generator<TaskItem> {
    for (const item of items?.slice(i + 1) ?? []) yield { task, vars: { ...vars, [task.loopVar]: item } };
    const tasks = this.play.tasks;
    const at = tasks.indexOf(task);
    for (const next of at < 0 ? [] : tasks.slice(at + 1)) {
      if (!this.selected(next)) continue;
      let v: Record<string, unknown>;
      let nextItems: unknown[] | undefined;
      try {
        v = this.run.varsOf(this.play, this.state, session, next, scope.dynamic);
        nextItems = loopItems(next, v);
      } catch (err) {
        if (passOver) continue;
        throw err;
      }
      for (const item of nextItems ?? [undefined]) yield { task: next, vars: nextItems ? { ...v, [next.loopVar]: item } : v };
    }
  }

  /** One task, all its loop items. */
  private async task(task: TaskDef, scope: WalkScope, handler: boolean): Promise<Flow> {
    const session = await this.run.session(this.state, this.play, task);
    if (!session) return 'end';
    const state = this.state;
    if (!handler) this.run.events.taskStart?.(state.spec.name, task, this.index++, this.total);
    const base = { host: state.spec.name, play: this.play.name, module: task.module, location: `${task.location.file}:${task.location.line}`, ignored: false, handler, diffs: [] };
    let vars: Record<string, unknown>;
    let items: unknown[] | undefined;
    try {
      vars = this.run.varsOf(this.play, state, session, task, scope.dynamic);
      items = loopItems(task, vars);
    } catch (err) {
      if (task.ignoreErrors) {
        this.run.record(state, { ...base, task: task.name, status: 'failed', message: errorMessage(err), durationMs: 0, code: codeOf(err), ignored: true }, task);
        return 'next';
      }
      return this.failed({ ...base, task: task.name, durationMs: 0 }, err, scope, task);
    }
    const env = this.run.pipelineEnv(state, session);
    const perItem: Record<string, unknown>[] = [];
    let flow: Flow = 'next';
    for (const [i, item] of (items ?? [undefined]).entries()) {
      const itemVars = items ? { ...vars, [task.loopVar]: item } : vars;
      // reads ahead: in check mode every later item (nothing but a check_mode: false step changes the host there),
      // in an apply the next few; none for a handler, as what runs after it depends on what was notified
      const ahead = () =>
        env.check ? readsAheadInCheck(this.play, this.itemsAfter(task, items, i, vars, session, scope, true), env, session.facts) : readsAhead(this.play, this.itemsAfter(task, items, i, vars, session, scope), env, session.facts);
      const itemEnv = handler ? env : { ...env, readsAhead: ahead };
      const outcome = await runTaskItem(task, this.play, itemVars, itemEnv);
      const shown = items ? itemLabel(task, item, itemVars) : undefined;
      let result: TaskResult = { ...base, task: shown === undefined ? task.name : `${task.name} (${shown.text})`, ...outcome.result, ...(shown ? { item: shown.item } : {}) };
      if (result.status === 'failed' && task.ignoreErrors) result.ignored = true;
      else if (result.status === 'failed' && scope.rescued) result = rescuedView(result);
      this.run.record(state, task.noLog ? hideOutput(result) : result, task);
      if (outcome.unreachable) {
        this.run.markUnreachable(state, outcome.unreachable);
        return 'end';
      }
      perItem.push(outcome.registered);
      // a fact set by one item is seen by the next, as in Ansible
      if (outcome.control?.facts) {
        Object.assign(state.hostFacts, outcome.control.facts);
        Object.assign(vars, outcome.control.facts);
      }
      if (result.status === 'failed' && !task.ignoreErrors) {
        this.failure = { task: { name: task.name, action: task.module, args: task.noLog ? {} : task.args }, result: outcome.registered };
        flow = 'failed';
        break;
      }
      const meta = outcome.control?.meta;
      if (meta === 'flush_handlers') flow = await this.flush();
      else if (meta === 'end_host') this.hostEnded = true;
      else if (meta === 'end_play') this.run.endPlay(this.play);
      if (meta === 'end_host' || meta === 'end_play') flow = 'end';
      if (flow !== 'next') break;
    }
    if (task.register) state.hostFacts[task.register] = registeredValue(items, perItem);
    if (perItem.some((r) => r.changed === true)) for (const n of task.notify) this.notify(n.includes('{{') ? String(renderValue(n, vars)) : n);
    return flow;
  }
}

/** A failure inside a block whose `rescue` will run: counted as handled, like Ansible's "rescued". */
function rescuedView(r: TaskResult): TaskResult {
  return { ...r, ignored: true, message: `rescued: ${r.message}` };
}
