/** Regenerates the task reference block of docs/tasks.md from the task registry (`npm run docs`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registry } from '../src/tasks/index.js';
import { renderTaskReference, spliceReference } from '../src/schema/docs.js';

const reference = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'tasks.md');
writeFileSync(reference, spliceReference(readFileSync(reference, 'utf8'), renderTaskReference(registry)));
console.log(`updated the task reference in ${reference}`);
