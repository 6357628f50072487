import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../../../src/contract/errors.js';
import { checkWith, didYouMean, formatPath, validateWith } from '../../../src/schema/validate.js';
import { parseYaml } from '../../../src/schema/yaml.js';

const schema = z.array(
  z.strictObject({
    name: z.string(),
    port: z.number().int().min(1).max(65535).optional(),
    mode: z.enum(['ssh', 'local']).optional(),
    lit: z.literal('x').optional(),
    when: z.union([z.string(), z.boolean(), z.array(z.string())]).optional(),
    flag: z.boolean().optional(),
    user: z.strictObject({ shell: z.string(), groups: z.array(z.string()).optional() }).optional(),
  }),
);

const lines = (issues: ValidationIssue[]): string[] =>
  issues.map((i) => `${i.location?.line}:${i.location?.column} ${i.path}: ${i.message}`);

function fails(text: string, options = {}): string[] {
  const r = checkWith(schema, parseYaml(text, 'p.yaml'), undefined, options);
  if (r.ok) throw new Error('expected issues');
  return lines(r.issues);
}

describe('validateWith', () => {
  it('formats type errors with location and path', () => {
    expect(fails('- name: 3\n')).toEqual(['1:9 [0].name: expected string, got number']);
    expect(fails('- name: a\n  user:\n    shell: 3\n')).toEqual(['3:12 [0].user.shell: expected string, got number']);
  });

  it('throws a ValidationError formatted file:line:col path: message', () => {
    const doc = parseYaml('- name: a\n  user:\n    shell: [1]\n', 'pb.yaml');
    try {
      validateWith(schema, doc);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toBe('pb.yaml:3:12 [0].user.shell: expected string, got list');
    }
  });

  it('lists allowed values of enums and literals, with a suggestion', () => {
    expect(fails('- name: a\n  mode: sssh\n')).toEqual(['2:9 [0].mode: expected one of "ssh", "local", got "sssh" (did you mean "ssh"?)']);
    expect(fails('- name: a\n  lit: y\n')).toEqual(['2:8 [0].lit: expected "x", got "y"']);
  });

  it('names unknown keys, suggests the closest and lists the allowed ones, pointing at the key', () => {
    expect(fails('- name: a\n  user:\n    shel: x\n')).toEqual([
      '3:5 [0].user: unknown key "shel" (did you mean "shell"? allowed: shell, groups)',
      '3:5 [0].user.shell: required (expected string)',
    ]);
  });

  it('spells out numeric bounds and integers', () => {
    expect(fails('- name: a\n  port: 0\n')).toEqual(['2:9 [0].port: must be at least 1, got 0']);
    expect(fails('- name: a\n  port: 70000\n')).toEqual(['2:9 [0].port: must be at most 65535, got 70000']);
    expect(fails('- name: a\n  port: 1.5\n')).toEqual(['2:9 [0].port: expected integer, got 1.5']);
  });

  it('explains unions and reports the branch that nearly matched', () => {
    expect(fails('- name: a\n  when: 4\n')).toEqual(['2:9 [0].when: expected string, boolean or list, got number']);
    expect(fails('- name: a\n  when: [x, 1]\n')).toEqual(['2:13 [0].when[1]: expected string, got number']);
  });

  it('hints at YAML 1.2 booleans', () => {
    expect(fails('- name: a\n  flag: yes\n')).toEqual(['2:9 [0].flag: expected boolean, got string "yes" (YAML 1.2: write true or false, unquoted)']);
  });

  it('missing required keys point at the enclosing mapping', () => {
    expect(fails('- port: 22\n')).toEqual(['1:3 [0].name: required (expected string)']);
  });

  it('tolerateTemplates drops issues on template strings only', () => {
    const doc = parseYaml('- name: a\n  port: "{{ p }}"\n', 'p.yaml');
    const r = checkWith(schema, doc, undefined, { tolerateTemplates: true });
    expect(r).toEqual({ ok: true, tolerated: true, data: [{ name: 'a', port: '{{ p }}' }] });
    expect(fails('- name: a\n  port: "{{ p }}"\n')).toEqual(['2:9 [0].port: expected number, got string "{{ p }}"']);
    expect(fails('- name: a\n  port: "22"\n', { tolerateTemplates: true })).toEqual(['2:9 [0].port: expected number, got string "22"']);
  });

  it('basePath prefixes paths and locations for part-validation', () => {
    const doc = parseYaml('top:\n  inner:\n    n: x\n', 'b.yaml');
    const r = checkWith(z.strictObject({ n: z.number() }), doc, { n: 'x' }, { basePath: ['top', 'inner'] });
    expect(r.ok ? [] : lines(r.issues)).toEqual(['3:8 top.inner.n: expected number, got string "x"']);
  });
});

describe('helpers', () => {
  it('formatPath brackets indexes, dots keys, quotes odd keys', () => {
    expect(formatPath([0, 'tasks', 3, 'user', 'shell'])).toBe('[0].tasks[3].user.shell');
    expect(formatPath(['all', 'hosts', 'web1.example.com', 'port'])).toBe('all.hosts["web1.example.com"].port');
  });
  it('didYouMean finds close names and refuses far ones', () => {
    expect(didYouMean('shel', ['name', 'shell'])).toBe('shell');
    expect(didYouMean('childs', ['hosts', 'children', 'vars'])).toBe('children');
    expect(didYouMean('zzzzzz', ['name', 'shell'])).toBeUndefined();
  });
});
