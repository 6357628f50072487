/**
 * Regenerates the JSON Schemas editors use for completion and checking
 * (`# yaml-language-server: $schema=../schema/playbook.json`):
 *   schema/playbook.json  from the task registry's zod schemas
 *   schema/inventory.json from the inventory schema
 * Run `npm run schema` after changing a task module; a unit test fails when the
 * committed files are stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registry } from '../src/tasks/index.js';
import { inventoryJsonSchema } from '../src/schema/inventory.js';
import { playbookJsonSchema } from '../src/schema/playbook.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const write = (name: string, schema: unknown): void => {
  const path = resolve(root, 'schema', name);
  writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${path}`);
};
write('playbook.json', playbookJsonSchema(registry));
write('inventory.json', inventoryJsonSchema());
