/**
 * A task registry whose modules are imported when a playbook turns out to use
 * them: start-up of `provision validate` or a run then costs the task types
 * the playbooks name, not all of them. Every name is a key from the start (the
 * playbook loader tells a task type from a typo by the keys); reading the
 * module of one not loaded yet is a bug and throws.
 */
import type { TaskModule } from '../contract/task.js';
import type { TaskRegistry } from '../core/playbook.js';
import { taskLoaders, type TaskName } from './catalog.js';

export class LazyTasks {
  private readonly modules = new Map<string, TaskModule>();
  /** Every task type by its key; a module is there once `load` brought it. */
  readonly registry: TaskRegistry;

  constructor() {
    const registry: Record<string, TaskModule> = {};
    for (const name of Object.keys(taskLoaders)) {
      Object.defineProperty(registry, name, {
        enumerable: true,
        get: () => {
          const module = this.modules.get(name);
          if (!module) throw new Error(`internal: task module ${name} read before it was loaded`);
          return module;
        },
      });
    }
    this.registry = Object.freeze(registry);
  }

  loaded(name: string): boolean {
    return this.modules.has(name);
  }

  /** Import these task types (names that are no task type are left to the playbook loader to report). */
  async load(names: Iterable<string>): Promise<void> {
    const wanted = [...new Set(names)].filter((n): n is TaskName => Object.prototype.hasOwnProperty.call(taskLoaders, n) && !this.modules.has(n));
    const modules = await Promise.all(wanted.map((n) => taskLoaders[n]() as Promise<TaskModule>));
    wanted.forEach((n, i) => this.modules.set(n, modules[i] as TaskModule));
  }
}
