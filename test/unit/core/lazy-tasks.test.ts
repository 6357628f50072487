/**
 * The CLI loads playbooks with only the task modules they use
 * (loadPlaybooksLazily): two passes over an on-demand registry. On every
 * playbook of the repository, the good and the broken ones, it must give what
 * a load with every task type gives: the same plays, warnings and errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlaybooks, loadPlaybooksLazily } from '../../../src/api.js';
import { LazyTasks } from '../../../src/tasks/lazy.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Files whose top level is a list of plays. */
const PLAYBOOKS = ['examples', 'playbooks', 'bench/provision', 'test/fixtures/playbooks', 'test/fixtures/bad-input']
  .flatMap(yamlFiles)
  .filter((f) => /^- (name|hosts|import_playbook)\b/m.test(readFileSync(join(ROOT, f), 'utf8')));

function outcome(load: () => unknown): unknown {
  try {
    return { ok: load() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function outcomeAsync(load: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await load() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('loading playbooks with the task modules they use', () => {
  it('covers valid and invalid playbooks', () => {
    expect(PLAYBOOKS.length).toBeGreaterThan(15);
    expect(PLAYBOOKS.filter((f) => 'error' in (outcome(() => loadPlaybooks([join(ROOT, f)])) as object)).length).toBeGreaterThan(5);
  });

  it.each(PLAYBOOKS)('%s: the same plays, warnings and errors as with every task type', async (f) => {
    const file = join(ROOT, f);
    const full = outcome(() => loadPlaybooks([file]));
    const lazy = await outcomeAsync(async () => (await loadPlaybooksLazily([file])).playbook);
    expect(lazy).toEqual(full);
  });

  it('an on-demand registry names every task type, and refuses to hand out a module not loaded', async () => {
    const tasks = new LazyTasks();
    expect(Object.keys(tasks.registry)).toContain('sshd_config');
    expect(() => tasks.registry.copy).toThrow(/copy read before it was loaded/);
    await tasks.load(['copy', 'no_such_task']);
    expect(tasks.registry.copy?.name).toBe('copy');
    expect(tasks.loaded('no_such_task')).toBe(false);
  });
});
