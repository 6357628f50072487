/**
 * Bounded fuzz (fast-check, fixed seed, ~5 s) of the two parsers every input
 * goes through: random YAML-ish text and random JSON structures thrown at
 * parsePlaybook and parseInventory. Only ValidationError may come out (never a
 * TypeError, RangeError or anything else that would be an "internal error"
 * with a stack trace), and nothing hangs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/contract/errors.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { registry } from '../../../src/tasks/index.js';

const SEED = 424242;
const BUDGET_MS = 1250; // per property: five properties, ~6 s in all

function onlyValidationErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof ValidationError)) {
      throw new Error(`not a ValidationError: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack ?? ''}`);
    }
    expect(err.message.length).toBeGreaterThan(0);
  }
}

const TOKENS = [
  '- ', '  ', '    ', '\n', ': ', ':', '-', '? ', '[', ']', '{', '}', ',', '&a ', '*a', '&b ', '*b', '<<: *a', '!!str ', '!!binary ', '!custom ',
  '|', '>', '|-', '"', "'", '#', '%YAML 1.2', '---', '...', '\t', 'hosts', 'tasks', 'handlers', 'vars', 'name', 'all', 'become', 'loop',
  'when', 'copy', 'command', 'shell', 'file', 'user', 'lineinfile', 'package', 'service', 'dest', 'content', 'mode', 'path', 'hosts:', 'tasks:',
  'children', 'port', 'host', 'user', 'identity_file', 'password_env', 'become_password_env', 'jump', 'web[1:3]', 'web[a:c]', '{{ x }}',
  '0644', '70000', '-1', 'true', 'no', 'null', '~', '1e999', '0x1F', '.nan', '😀', 'é', '\u0000', '\u0085', '\u2028', '\ufeff', '\r\n',
];
const yamlish = fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), { maxLength: 80 }).map((t) => t.join(''));

/** JSON-shaped values with the keys the schemas know, so validation goes deep. */
const KEYS = ['hosts', 'tasks', 'handlers', 'vars', 'name', 'become', 'become_user', 'loop', 'when', 'register', 'notify', 'tags', 'serial',
  'copy', 'command', 'shell', 'file', 'user', 'dest', 'content', 'mode', 'path', 'state', 'all', 'children', 'port', 'host', 'identity_file',
  'known_hosts_file', 'host_key_policy', 'password_env', 'jump', 'connection', 'web1', 'argv', 'cmd', 'groups', 'authorized_keys', '__proto__', 'constructor'];
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(...KEYS)),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('tree'), { maxKeys: 5 }),
  ),
}));

const opts = (seed: number) => ({ seed, interruptAfterTimeLimit: BUDGET_MS, numRuns: 100_000, markInterruptAsFailure: false });

describe('parser fuzz: only ValidationError comes out', () => {
  it('parsePlaybook on YAML-ish text', () => {
    fc.assert(fc.property(yamlish, (text) => onlyValidationErrors(() => parsePlaybook(text, 'fuzz.yaml', registry, '/tmp'))), opts(SEED));
  }, 30_000);

  it('parseInventory on YAML-ish text', () => {
    fc.assert(fc.property(yamlish, (text) => onlyValidationErrors(() => parseInventory(text, 'fuzz.yaml', { env: {} }))), opts(SEED + 1));
  }, 30_000);

  it('parsePlaybook on random JSON structures (as YAML flow text)', () => {
    fc.assert(
      fc.property(fc.oneof(tree, fc.array(fc.dictionary(fc.constantFrom(...KEYS), tree, { maxKeys: 6 }), { maxLength: 3 })), (value) =>
        onlyValidationErrors(() => parsePlaybook(JSON.stringify(value) ?? 'null', 'fuzz.json', registry, '/tmp')),
      ),
      opts(SEED + 2),
    );
  }, 30_000);

  it('parseInventory on INI-ish text', () => {
    const INI = ['[web]', '[web:vars]', '[web:children]', '[a:b]', '[', ']', '\n', ' ', '=', 'h1', 'web[1:3]', 'x[a:c]', 'h:22', ':', '#', ';', '"', "'", '\\',
      'ansible_port=', 'ansible_become=', 'ansible_ssh_common_args=', '-o ', 'ProxyCommand=x', '-J b', 'True', 'None', '[1, 2]', "{'a': 1}", '((((', '1_0', '0x', '.5j', "b'x'", 'f"x"', '{{ x }}'];
    const iniish = fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...INI) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), { maxLength: 80 }).map((t) => t.join(''));
    fc.assert(fc.property(iniish, (text) => onlyValidationErrors(() => parseInventory(text, 'fuzz.ini', { env: {}, format: 'ini' }))), opts(SEED + 4));
    onlyValidationErrors(() => parseInventory(`h1 deep=${'['.repeat(5000)}${']'.repeat(5000)} v=${'('.repeat(300)}1${')'.repeat(300)}\n`, 'deep.ini', { env: {}, format: 'ini' }));
    onlyValidationErrors(() => parseInventory(`x${'[1:2]'.repeat(5000)}\n`, 'ranges.ini', { env: {}, format: 'ini' }));
  }, 30_000);

  it('parseInventory on random JSON structures', () => {
    fc.assert(
      fc.property(tree, (value) => onlyValidationErrors(() => parseInventory(JSON.stringify(value) ?? 'null', 'fuzz.json', { env: {} }))),
      opts(SEED + 3),
    );
  }, 30_000);
});
