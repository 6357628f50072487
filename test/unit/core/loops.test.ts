/**
 * `with_<lookup>` loops, measured against Ansible: every task of
 * test/fixtures/ansible-loops/cases.yml is loaded by our loader and its items
 * built by our lookups; expected.json holds the items ansible-core 2.14 built
 * for the same tasks (oracle.sh).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lookupItems } from '../../../src/core/loops.js';
import { loadPlaybook } from '../../../src/core/playbook.js';
import { loopItems } from '../../../src/core/pipeline.js';
import { registry } from '../../../src/tasks/index.js';

const dir = new URL('../../fixtures/ansible-loops/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as Record<string, unknown[]>;
const play = loadPlaybook(fileURLToPath(new URL('cases.yml', dir)), registry).plays[0]!;

describe('with_<lookup> loops build the items Ansible builds', () => {
  it.each(play.tasks.map((t) => [t.name, t] as const))('%s', (name, task) => {
    expect(task.loopWith).toBeDefined();
    expect(JSON.parse(JSON.stringify(loopItems(task, play.vars)))).toEqual(expected[name]);
  });

  it('refuses what a lookup cannot use, naming the loop', () => {
    expect(() => lookupItems('dict', ['a'])).toThrow('with_dict: expects a mapping');
    expect(() => lookupItems('sequence', 'start=1')).toThrow('with_sequence: give count or end');
    expect(() => lookupItems('sequence', 'end=1 stride=-1 start=3 format=%d%d')).toThrow('bad format string');
    expect(() => lookupItems('subelements', [[{ name: 'a' }], 'keys'])).toThrow("could not find 'keys' key");
  });
});
