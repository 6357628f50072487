/**
 * Start-up cost: `provision validate` imports what the playbook needs and no
 * more. The CLI runs in a child process with a module trace preloaded
 * (test/fixtures/startup/trace-imports.mjs), which lists every module loaded,
 * ES or CommonJS; the assertions read that list, not our code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'provision-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules `provision validate` loads for this playbook (paths relative to the repository). */
function modulesLoadedValidating(playbook: string): string[] {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, playbook);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/startup/trace-imports.mjs', 'src/cli/main.ts', 'validate', file], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect(r.stdout, r.stderr).toContain('valid:');
  return [...r.stderr.matchAll(/^loaded: (.*)$/gm)].map((m) => (m[1] as string).replace(/^file:\/\//, '').replace(ROOT, ''));
}

const loads = (modules: string[], pattern: RegExp) => modules.filter((m) => pattern.test(m));

describe('provision validate at start-up', () => {
  it('loads the task modules the playbook uses, and no template engine, yaml package, ssh2, pino or report renderer', () => {
    const modules = modulesLoadedValidating('- hosts: all\n  tasks:\n    - name: a directory\n      file: { path: /srv/app, state: directory }\n');
    // the trace sees our modules and CommonJS packages at all
    expect(loads(modules, /^src\/tasks\/file\.ts$/)).toHaveLength(1);
    expect(loads(modules, /node_modules\/js-yaml\//).length).toBeGreaterThan(0);
    // task types the playbook does not name
    expect(loads(modules, /^src\/tasks\/(copy|sshd_config|iptables|apt|user|template)\.ts$/)).toEqual([]);
    expect(loads(modules, /node_modules\/(nunjucks|yaml|ssh2|pino)\//)).toEqual([]);
    expect(loads(modules, /^src\/reporters\/(json|junit|sarif|markdown|html|human|progress|adhoc|diff)\.ts$/)).toEqual([]);
    expect(loads(modules, /^src\/connections\/ssh\.ts$/)).toEqual([]);
  }, 180_000);

  it('loads nunjucks once the playbook has a template, and the module of each task type it names', () => {
    const modules = modulesLoadedValidating('- hosts: all\n  vars: { d: /srv }\n  tasks:\n    - file: { path: "{{ d }}/app", state: directory }\n    - copy: { dest: /srv/app/a, content: a }\n');
    expect(loads(modules, /node_modules\/nunjucks\//).length).toBeGreaterThan(0);
    expect(loads(modules, /^src\/tasks\/(file|copy)\.ts$/).sort()).toEqual(['src/tasks/copy.ts', 'src/tasks/file.ts']);
  }, 180_000);
});
