import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../../src/contract/errors.js';
import { loadYamlFile, MAX_YAML_BYTES, parseYaml } from '../../../src/schema/yaml.js';

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('parseYaml', () => {
  it('returns the value and locates paths, keys and missing paths', () => {
    const doc = parseYaml('- name: x\n  tasks:\n    - user:\n        name: bob\n        shell: 3\n    - ping:\n', 'p.yaml');
    expect(doc.value).toEqual([{ name: 'x', tasks: [{ user: { name: 'bob', shell: 3 } }, { ping: null }] }]);
    expect(doc.locate([0, 'tasks', 0, 'user', 'shell'])).toEqual({ file: 'p.yaml', line: 5, column: 16 });
    expect(doc.locate([0, 'tasks', 0, 'user', 'shell'], { key: true })).toEqual({ file: 'p.yaml', line: 5, column: 9 });
    // empty value: the key
    expect(doc.locate([0, 'tasks', 1, 'ping'])).toEqual({ file: 'p.yaml', line: 6, column: 7 });
    // missing: nearest parent
    expect(doc.locate([0, 'tasks', 0, 'user', 'nope'])).toEqual({ file: 'p.yaml', line: 4, column: 9 });
    expect(doc.locate([])).toEqual({ file: 'p.yaml', line: 1, column: 1 });
  });

  it('reports a syntax error with file:line:col', () => {
    const err = errorOf(() => parseYaml('a:\n  - b: 1\n   c: 2\n', 'bad.yaml'));
    expect(err.issues[0]?.location).toEqual({ file: 'bad.yaml', line: 3, column: 1 });
    expect(err.message).toMatch(/^bad\.yaml:3:1 YAML syntax error: /);
  });

  it('rejects duplicate keys at the duplicate', () => {
    const err = errorOf(() => parseYaml('hosts: a\nport: 1\nhosts: b\n', 'dup.yaml'));
    expect(err.message).toBe('dup.yaml:3:1 duplicate key "hosts"');
  });

  it('rejects an alias bomb quickly', () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = 'a';
    for (let i = 0; i < 9; i++) {
      text += `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = `b${i}`;
    }
    const t0 = Date.now();
    const err = errorOf(() => parseYaml(text, 'bomb.yaml'));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err.message).toBe('bomb.yaml: aliases expand to more than 100000 extra nodes: refusing a possible alias bomb');
  });

  it('refuses an alias inside the node its anchor names, at the alias', () => {
    expect(errorOf(() => parseYaml('- hosts: all\n  vars: &v\n    a: 1\n    self: *v\n', 'r.yaml')).message).toBe(
      'r.yaml:4:11 the alias *v refers to a node that contains it: a recursive structure cannot be used',
    );
  });

  it('locates inside an aliased node', () => {
    const doc = parseYaml('base: &b\n  port: 22\nweb: *b\n', 'a.yaml');
    expect(doc.locate(['web', 'port'])).toEqual({ file: 'a.yaml', line: 2, column: 9 });
  });

  it('still allows ordinary aliases and merge keys', () => {
    const doc = parseYaml('d: &d {x: 1}\ne:\n  <<: *d\n  y: 2\n', 'm.yaml');
    expect(doc.value).toEqual({ d: { x: 1 }, e: { x: 1, y: 2 } });
  });

  it('rejects absurd nesting without a stack overflow', () => {
    expect(errorOf(() => parseYaml('['.repeat(100_000), 'deep.yaml')).message).toBe('deep.yaml:1:201 nesting deeper than 100 levels');
    let block = '';
    for (let i = 0; i < 150; i++) block += `${' '.repeat(i)}k:\n`;
    expect(errorOf(() => parseYaml(block, 'deep2.yaml')).message).toBe('deep2.yaml:100:100 nesting deeper than 100 levels');
  });

  it('rejects multiple documents', () => {
    expect(errorOf(() => parseYaml('a: 1\n---\nb: 2\n', 'm.yaml')).message).toBe(
      'm.yaml:2:1 YAML syntax error: more than one document (---) in one file is not supported',
    );
  });

  it('reads a flow mapping closed at its sequence indentation, as PyYAML does (a real playbook of the corpus)', () => {
    // the shape of geerlingguy's nodejs provisioning playbook: js-yaml 5 refused it ("deficient indentation")
    const text = '- hosts: all\n  tasks:\n  - command: "rpm -Uvh {{ item.href }}"\n    with_items:\n    - {\n      href: "http://a/b.rpm",\n      creates: "/etc/yum.repos.d/epel.repo"\n    }\n';
    const doc = parseYaml(text, 'n.yaml', { yaml11: 'booleans' });
    expect(doc.value).toEqual([{ hosts: 'all', tasks: [{ command: 'rpm -Uvh {{ item.href }}', with_items: [{ href: 'http://a/b.rpm', creates: '/etc/yum.repos.d/epel.repo' }] }] }]);
    expect(doc.locate([0, 'tasks', 0, 'with_items', 0, 'creates'])).toEqual({ file: 'n.yaml', line: 7, column: 16 });
  });

  it('indexes a large document with exact positions deep inside it', () => {
    const tasks = Array.from({ length: 2000 }, (_, i) => `    - name: t${i}\n      copy: { dest: "/d/${i}", mode: "0644" }\n`).join('');
    const doc = parseYaml(`- hosts: all\n  tasks:\n${tasks}`, 'big.yaml');
    expect(doc.locate([0, 'tasks', 1999, 'copy', 'mode'])).toEqual({ file: 'big.yaml', line: 4 + 2 * 1999, column: 38 });
    expect(doc.locate([0, 'tasks', 1999, 'copy', 'mode'], { key: true })).toEqual({ file: 'big.yaml', line: 4 + 2 * 1999, column: 32 });
  });

  it('treats yes/no as strings (YAML 1.2) and an empty file as null', () => {
    expect(parseYaml('a: yes\n', 'y.yaml').value).toEqual({ a: 'yes' });
    expect(parseYaml('', 'e.yaml').value).toBeNull();
  });
});

describe('loadYamlFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provision-yaml-'));

  it('reports a missing file without a stack trace', () => {
    const err = errorOf(() => loadYamlFile(join(dir, 'nope.yaml'), 'nope.yaml'));
    expect(err.message).toBe('nope.yaml: file not found');
  });

  it('refuses files over the size cap before parsing', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`);
    expect(errorOf(() => loadYamlFile(big, 'big.yaml')).message).toMatch(/^big\.yaml: file is larger than 10485760 bytes/);
  });

  it('strips a BOM', () => {
    const f = join(dir, 'bom.yaml');
    writeFileSync(f, '\ufeffa: 1\n');
    expect(loadYamlFile(f).value).toEqual({ a: 1 });
  });
});
