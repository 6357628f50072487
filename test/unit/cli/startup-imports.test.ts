/**
 * Start-up cost: `provision validate` imports what the playbook needs and no
 * more, and a run loads the diff package and builds a grapheme segmenter only
 * when it has a diff or a non-ASCII text to measure. The CLI runs in a child
 * process with a trace preloaded (test/fixtures/startup/trace-imports.mjs),
 * which lists every module loaded, ES or CommonJS, and counts the
 * Intl.Segmenter objects made; the assertions read that, not our code.
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

const tmpFile = (text: string): string => {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
};

/** The CLI with these arguments under the trace: its output, the modules it loaded (paths relative to the repository) and the segmenters it made. */
function traced(args: string[]): { stdout: string; stderr: string; modules: string[]; segmenters: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/startup/trace-imports.mjs', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const modules = [...r.stderr.matchAll(/^loaded: (.*)$/gm)].map((m) => (m[1] as string).replace(/^file:\/\//, '').replace(ROOT, ''));
  const counted = /^segmenters: (\d+)$/m.exec(r.stderr);
  expect(counted, r.stderr).not.toBeNull();
  return { stdout: r.stdout, stderr: r.stderr, modules, segmenters: Number(counted?.[1]) };
}

/** The modules `provision validate` loads for this playbook. */
function modulesLoadedValidating(playbook: string): string[] {
  const r = traced(['validate', tmpFile(playbook)]);
  expect(r.stdout, r.stderr).toContain('valid:');
  return r.modules;
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

describe('provision run at start-up', () => {
  // local connections only: the host is this machine, nothing is changed (check mode)
  const inventory = (host: string) => tmpFile(`all:\n  hosts:\n    ${JSON.stringify(host)}: { connection: local }\n`);
  const play = tmpFile(`- hosts: all\n  gather_facts: false\n  tasks:\n    - name: a file that is not there\n      copy: { dest: ${JSON.stringify(join(dir, 'absent', 'f'))}, content: "a\\n" }\n`);

  it('loads no diff package and builds no segmenter when there is no diff to show and all text is ASCII', () => {
    const r = traced(['run', '--check', '-i', inventory('plain'), play]);
    expect(r.stdout, r.stderr).toMatch(/1 host drifted/);
    expect(loads(r.modules, /node_modules\/diff\//)).toEqual([]);
    expect(r.segmenters).toBe(0);
  }, 180_000);

  it('loads the diff package for --diff, and builds one segmenter for a host name that is not ASCII', () => {
    const r = traced(['run', '--check', '--diff', '-i', inventory('hôte-é'), play]);
    expect(r.stdout, r.stderr).toContain('+a');
    expect(loads(r.modules, /node_modules\/diff\//).length).toBeGreaterThan(0);
    expect(r.segmenters).toBe(1);
  }, 180_000);
});
