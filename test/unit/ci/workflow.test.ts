/**
 * .github/workflows/ci.yml: valid for GitHub Actions (checked offline by
 * @actions/workflow-parser, the parser and schema GitHub's own Actions language
 * services use), and its integration matrix names only images docker/build.sh
 * can build, each once.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workflowErrors } from './_workflow.js';

const root = new URL('../../../', import.meta.url);
const read = (rel: string): string => readFileSync(new URL(rel, root), 'utf8');
const WORKFLOW = '.github/workflows/ci.yml';

/** Image names docker/build.sh builds: its `known_images` list, each one matched by a `case` arm of build_image. */
function buildShImages(): string[] {
  const script = read('docker/build.sh');
  const known = /^known_images="([^"]+)"$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
  const body = /^build_image\(\) \{[\s\S]*?^\s+case "\$name" in\n([\s\S]*?)^\s+esac$/m.exec(script)?.[1] ?? '';
  const arms = [...body.matchAll(/^\s+([a-z0-9*|-]+)\)/gm)]
    .flatMap((m) => (m[1] as string).split('|'))
    .map((glob) => new RegExp(`^${glob.replace(/\*/g, '[a-z0-9]*')}$`));
  expect(arms.length).toBeGreaterThan(0);
  for (const name of known) expect(arms.some((re) => re.test(name)), `build.sh has no case arm for ${name}`).toBe(true);
  return known;
}

describe('CI workflow', () => {
  it('is a valid GitHub Actions workflow', async () => {
    expect(await workflowErrors(WORKFLOW, read(WORKFLOW))).toEqual([]);
  });

  it('the validator rejects what GitHub would reject (bad key, bad expression, unknown job in needs)', async () => {
    const bad = ['on: push', 'jobs:', '  a:', '    runs-on: ubuntu-24.04', '    needs: nosuch', '    steps:', '      - run: echo ${{ matrix.x }}', '        runn: x'].join('\n');
    expect((await workflowErrors('bad.yml', bad)).join('\n')).toMatch(/Unexpected value 'runn'/);
    const badNeeds = ['on: push', 'jobs:', '  a:', '    runs-on: ubuntu-24.04', '    steps:', '      - run: echo hi', '  b:', '    runs-on: ubuntu-24.04', '    needs: nosuch', '    steps:', '      - run: echo hi'].join('\n');
    expect((await workflowErrors('bad.yml', badNeeds)).join('\n')).toMatch(/depends on unknown job 'nosuch'/);
    const badExpr = ['on: push', 'jobs:', '  a:', '    runs-on: ubuntu-24.04', '    steps:', '      - run: echo ${{ foo( }}'].join('\n');
    expect(await workflowErrors('bad.yml', badExpr)).not.toEqual([]);
  });

  it('runs unit tests and the typecheck on every push and pull request', () => {
    const wf = parse(read(WORKFLOW)) as { on: Record<string, unknown>; jobs: Record<string, { steps: { run?: string }[] }> };
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    const runs = wf.jobs.unit?.steps.map((s) => s.run).filter(Boolean);
    expect(runs).toEqual(expect.arrayContaining(['npm run typecheck', 'npm run test:unit']));
  });

  it('the integration matrix names images docker/build.sh builds, each once, and builds then tests the one it names', () => {
    const wf = parse(read(WORKFLOW)) as {
      jobs: { integration: { strategy: { matrix: { image: string[] } }; env: Record<string, string>; steps: { run?: string }[] } };
    };
    const job = wf.jobs.integration;
    const matrix = job.strategy.matrix.image;
    const known = buildShImages();
    expect(matrix.filter((name) => !known.includes(name))).toEqual([]);
    expect(new Set(matrix).size).toBe(matrix.length);
    expect(matrix).toEqual(expect.arrayContaining(['debian12', 'debian12-systemd', 'ubuntu2204', 'ubuntu2404', 'rocky9']));
    expect(job.env.PROVISION_TEST_IMAGES).toBe('${{ matrix.image }}');
    expect(job.env.TESTCONTAINERS_RYUK_DISABLED).toBe('true');
    const runs = job.steps.map((s) => s.run ?? '');
    expect(runs.some((r) => r.includes('bash docker/build.sh'))).toBe(true);
    expect(runs).toContain('npm run test:integration');
  });

  it('every image build.sh knows is one the integration fleet knows (and the other way round)', () => {
    const fleet = read('test/integration/fleet.ts');
    const list = /export const KNOWN_IMAGES = \[([\s\S]*?)\] as const;/.exec(fleet)?.[1] ?? '';
    const fleetNames = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
    const known = buildShImages();
    // fleet.ts lists the images suites run by default or by name; the Debian -systemd variants of 11/13 are built on demand only
    expect(fleetNames.filter((n) => !known.includes(n))).toEqual([]);
    expect(known.filter((n) => !fleetNames.includes(n)).sort()).toEqual(['debian11-systemd', 'debian13-systemd']);
  });
});
