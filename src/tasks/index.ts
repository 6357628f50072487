/**
 * The full task registry, every task type loaded: for the library API,
 * `npm run schema` and `npm run docs`. Task types are listed in
 * src/tasks/catalog.ts (one line each); the CLI loads only the ones its
 * playbooks use (src/tasks/lazy.ts).
 */
import { taskLoaders, type TaskName } from './catalog.js';

type Loaded = { readonly [K in TaskName]: Awaited<ReturnType<(typeof taskLoaders)[K]>> };

const names = Object.keys(taskLoaders) as TaskName[];
const modules = await Promise.all(names.map((n) => taskLoaders[n]()));

export const registry = Object.fromEntries(names.map((n, i) => [n, modules[i]])) as Loaded;

export type { TaskName } from './catalog.js';
