/**
 * The committed JSON Schemas (schema/*.json, used by editors) must match what
 * `npm run schema` generates from the code. Regenerate with `npm run schema`.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskModule } from '../../../src/contract/task.js';
import { inventoryJsonSchema } from '../../../src/schema/inventory.js';
import { buildPlaybookSchema, playbookJsonSchema } from '../../../src/schema/playbook.js';
import { fakeRegistry } from './registry.fixture.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const committed = (name: string): unknown => JSON.parse(readFileSync(resolve(root, 'schema', name), 'utf8'));

let registry: Readonly<Record<string, TaskModule>> | undefined;
let importError = '';
try {
  // Path in a variable: the registry module is written separately and may not exist yet.
  const path = '../../../src/tasks/index.js';
  registry = ((await import(/* @vite-ignore */ path)) as { registry: Readonly<Record<string, TaskModule>> }).registry;
} catch (err) {
  importError = err instanceof Error ? err.message : String(err);
}

describe('JSON Schemas', () => {
  it('schema/inventory.json is up to date (npm run schema)', () => {
    expect(committed('inventory.json')).toEqual(JSON.parse(JSON.stringify(inventoryJsonSchema())));
  });

  it.skipIf(registry === undefined)(`schema/playbook.json is up to date (npm run schema)${importError ? ` [skipped: src/tasks/index.ts not importable: ${importError.split('\n')[0]}]` : ''}`, () => {
    expect(committed('playbook.json')).toEqual(JSON.parse(JSON.stringify(playbookJsonSchema(registry as Readonly<Record<string, TaskModule>>))));
  });

  it('the playbook schema has one task variant per task type, each requiring its key', () => {
    const schema = playbookJsonSchema(fakeRegistry) as { $defs?: Record<string, unknown> };
    const text = JSON.stringify(schema);
    for (const name of Object.keys(fakeRegistry)) expect(text).toContain(`"required":["${name}"]`);
    expect(text).toContain('"description":"Handler name, referenced by `notify`."');
    // the zod schema behind it accepts a valid playbook and rejects two task keys
    const zs = buildPlaybookSchema(fakeRegistry);
    expect(zs.safeParse([{ hosts: 'all', tasks: [{ user: { name: 'x' } }] }]).success).toBe(true);
    expect(zs.safeParse([{ hosts: 'all', tasks: [{ user: { name: 'x' }, command: 'ls' }] }]).success).toBe(false);
  });
});
