/**
 * Loading stays linear and small (issue 11: a 10 MB playbook under 300 MB): a
 * child process parses a generated 9.8 MB playbook (about 90,000 tasks) and reports
 * how much its peak RSS grew while parsing. js-yaml 5's event list took 196 MiB
 * here (measured with the loader of c70232b); the listener-built index takes 86 MiB. Memory, not time:
 * the figure does not depend on the machine's load. Times are `npm run bench:load`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'provision-yaml-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('parsing a 9.8 MB playbook grows peak RSS by less than 125 MiB, and still locates deep inside it', () => {
  const yamlTs = fileURLToPath(new URL('../../../src/schema/yaml.ts', import.meta.url));
  const script = join(dir, 'probe.mts');
  writeFileSync(
    script,
    `import { parseYaml } from ${JSON.stringify(yamlTs)};
const parts = ['- hosts: all\\n  tasks:\\n'];
let size = 0;
for (let i = 0; size < 9.8 * 1024 * 1024; i++) {
  const t = \`    - name: config file number \${i} for the application\\n      copy:\\n        dest: "{{ root }}/conf.d/\${i}.conf"\\n        content: "setting_\${i}=value \${i}"\\n        mode: "0644"\\n\`;
  size += t.length;
  parts.push(t);
}
const text = parts.join('');
const before = process.resourceUsage().maxRSS;
const doc = parseYaml(text, 'big.yaml', { yaml11: 'booleans' });
console.log(JSON.stringify({ bytes: text.length, growthMiB: (process.resourceUsage().maxRSS - before) / 1024, at: doc.locate([0, 'tasks', 50000, 'copy', 'mode']) }));
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { bytes: number; growthMiB: number; at: { line: number; column: number } };
  expect(out.bytes).toBeGreaterThan(9.8 * 1024 * 1024);
  expect(out.at).toMatchObject({ line: 7 + 5 * 50000, column: 15 });
  expect(out.growthMiB).toBeLessThan(125);
}, 60_000);
