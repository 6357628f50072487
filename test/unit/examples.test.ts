/**
 * The examples a user starts with: the inventory and the playbooks validate with
 * `provision validate` (the CLI, as a user runs it), and the CI audit job is a
 * valid GitHub Actions workflow that audits read-only and writes reports.
 * test/integration/examples.test.ts converges them on a real host.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadInventories } from '../../src/api.js';
import { run, type Io } from '../../src/cli/program.js';
import { workflowErrors } from './ci/_workflow.js';

const root = new URL('../../', import.meta.url);
const path = (rel: string): string => new URL(rel, root).pathname;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: {}, onInterrupt: () => () => {} };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

describe('examples/', () => {
  it('the inventory and the playbooks validate', async () => {
    for (const playbook of ['examples/day-one.yaml', 'examples/local-audit.yaml', 'playbooks/harden.yaml']) {
      const t = io();
      expect(await run(['validate', '-i', path('examples/inventory.yaml'), path(playbook)], t.io), t.err()).toBe(0);
      expect(t.out()).toMatch(/^valid: /);
    }
  });

  it("group_vars/ beside the inventory counts: the day-one playbook's deploy_keys come from group_vars/all.yaml", async () => {
    const inv = loadInventories([path('examples/inventory.yaml')]);
    for (const host of inv.hosts.values()) expect(host.vars.deploy_keys, host.name).toEqual([expect.stringMatching(/^ssh-ed25519 /)]);
  });

  it('the inventory is in the Ansible layout and puts its hosts in groups', async () => {
    const t = io();
    expect(await run(['-i', path('examples/inventory.yaml'), '--list-hosts', path('examples/day-one.yaml')], t.io)).toBe(0);
    expect(t.out()).toBe('play Day one (3 hosts)\n  web1.example.com\n  web2.example.com\n  db1\n');
  });

  it('the CI audit job is a valid GitHub Actions workflow that audits with --check and writes reports', async () => {
    const content = readFileSync(path('examples/ci-audit.yml'), 'utf8');
    expect(await workflowErrors('ci-audit.yml', content)).toEqual([]);
    const wf = parse(content) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const audit = wf.jobs.audit!.steps.map((s) => s.run ?? '').find((r) => r.includes('npx provision'))!;
    expect(audit).toMatch(/--check/);
    expect(audit).toMatch(/--report json=\S+/);
    expect(audit).toMatch(/--report junit=\S+/);
    // the files it audits exist and validate
    const inventory = /-i (\S+)/.exec(audit)![1]!;
    const playbooks = [...audit.matchAll(/(?:^|\s)([\w/.-]+\.yaml)(?=\s|$)/g)].map((m) => m[1]!).filter((f) => f !== inventory);
    expect(playbooks).toEqual(['examples/day-one.yaml', 'playbooks/harden.yaml']);
    const t = io();
    expect(await run(['validate', '-i', path(inventory), ...playbooks.map(path)], t.io), t.err()).toBe(0);
  });

  it('docs/ci.md: the sharded audit is a valid GitHub Actions workflow whose provision commands parse (--shard K/N, report merge)', async () => {
    const doc = readFileSync(path('docs/ci.md'), 'utf8');
    const content = /```yaml\n(name: audit[\s\S]*?)```/.exec(doc)![1]!;
    expect(await workflowErrors('ci.md', content)).toEqual([]);
    const wf = parse(content) as { jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; steps: { run?: string }[] }> };
    const shards = wf.jobs.audit!.strategy!.matrix.shard;
    const audit = wf.jobs.audit!.steps.map((s) => s.run ?? '').find((r) => r.includes('npx provision'))!;
    // every shard of the matrix selects a valid slice of N = the matrix size
    expect(audit).toContain(`--shard \${{ matrix.shard }}/${shards.length}`);
    const merge = wf.jobs.report!.steps.map((s) => s.run ?? '').find((r) => r.includes('report merge'))!;
    expect(merge).toMatch(/^npx provision report merge audit\.json audit-\*\.json( --report (junit|html|markdown)=\S+)+;/);
  });
});
