import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, ok } from '../../../src/contract/task.js';
import { DOCS_BEGIN, DOCS_END, renderTaskDoc, renderTaskReference, spliceReference } from '../../../src/schema/docs.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { registry } from '../../../src/tasks/index.js';

/** The examples are parsed as if they lived here, beside the local files they name (include_vars's vars/). */
const exampleDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/task-examples');

describe('task reference', () => {
  it('renders arguments with type, default, required and description', () => {
    const t = defineTask({
      name: 'demo',
      description: 'A demo task.',
      example: '- demo: { path: /x }',
      schema: z.union([
        z.string(),
        z.strictObject({
          path: z.string().describe('Where | what.'),
          state: z.enum(['present', 'absent']).default('present').describe('Wanted state.'),
          tags: z.array(z.string()).optional(),
        }),
      ]),
      facts: () => ({}),
      plan: () => ok('fine'),
    });
    expect(renderTaskDoc(t)).toBe(
      [
        '### `demo`',
        '',
        'A demo task.',
        '',
        'Short form: `demo: <string>`.',
        '',
        '| argument | type | default | description |',
        '|---|---|---|---|',
        '| `path` | string | **required** | Where \\| what. |',
        '| `state` | `present` \\| `absent` | `"present"` | Wanted state. |',
        '| `tags` | list of string |  |  |',
        '',
        '```yaml',
        '- demo: { path: /x }',
        '```',
        '',
      ].join('\n'),
    );
  });

  it('docs/tasks.md carries the current reference of every task type (run npm run docs), and the README names each', () => {
    const reference = readFileSync(new URL('../../../docs/tasks.md', import.meta.url), 'utf8');
    expect(reference).toContain(DOCS_BEGIN);
    expect(reference).toContain(DOCS_END);
    expect(spliceReference(reference, renderTaskReference(registry))).toBe(reference);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Task types'), readme.indexOf('\n## ', readme.indexOf('## Task types') + 1));
    for (const name of Object.keys(registry)) {
      expect(reference).toContain(`### \`${name}\``);
      expect(section, `README's task types section names ${name}`).toContain(`\`${name}\``);
    }
  });

  it('every task type has an example, and every example is a valid playbook', () => {
    for (const module of Object.values(registry)) {
      expect(module.example, `${module.name} has no example`).toBeTruthy();
      const tasks = module.example!.replace(/^/gm, '    ');
      const handlers = tasks.includes('notify: reload nginx') ? '  handlers:\n    - name: reload nginx\n      service: { name: nginx, state: reloaded }\n' : '';
      expect(() => parsePlaybook(`- hosts: all\n  tasks:\n${tasks}\n${handlers}`, join(exampleDir, `${module.name}-example.yaml`), registry)).not.toThrow();
    }
  });
});
