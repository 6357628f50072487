/**
 * Our templating against Ansible's own (ansible-core's Templar as installed,
 * jinja2_native off): every case of test/fixtures/template-oracle/cases.yaml, as recorded by
 * oracle.py in expected.json. Nothing here is compared with our own output:
 * the expected values come from Ansible, the templates are the YAML text a
 * playbook author writes, read with our YAML loader like a playbook.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError } from '../../../src/contract/errors.js';
import { parseYaml } from '../../../src/schema/yaml.js';
import { OMIT, evalCondition, renderValue } from '../../../src/core/template.js';

interface Case {
  id: string;
  kind: 'template' | 'condition';
  source: string;
  vars?: Record<string, unknown>;
  type?: string;
  value?: unknown;
  error?: string;
  message?: string;
}
interface Oracle {
  omit_token: string;
  env: Record<string, string>;
  vars: Record<string, unknown>;
  cases: Case[];
}

const dir = new URL('../../fixtures/template-oracle/', import.meta.url);
const oracle = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as Oracle;
const casesYaml = parseYaml(readFileSync(new URL('cases.yaml', dir), 'utf8'), 'cases.yaml').value as {
  cases: { id: string; template?: string; condition?: string }[];
};

/**
 * Where we deliberately do not do what Ansible does: the template fails with a
 * TemplateError whose message names the filter, test or construct (matched
 * here), never a silently different answer.
 */
const REFUSED: Record<string, RegExp> = {
  // nunjucks' lexer reads neither; Jinja2 does (1000.0 and 1000)
  'float-literal-exponent': /not supported: the number literal 1e3/,
  'int-literal-underscore': /not supported: the number literal 1_000/,
  // PyYAML's double-quoted and multi-line scalars and its line folding are not reproduced
  'to-yaml-multiline': /not supported: to_yaml\/to_nice_yaml of the string/,
  'to-yaml-tab': /not supported: to_yaml\/to_nice_yaml of the string/,
  'to-yaml-long-line': /not supported: to_yaml\/to_nice_yaml of a value whose YAML line would pass 80 columns/,
  // Python ints beyond 2**53 and sets have no exact JavaScript value
  'int-big-power': /not supported: integer arithmetic beyond 2\*\*53/,
  'int-big-power-in-text': /not supported: integer arithmetic beyond 2\*\*53/,
  'int-power-20': /not supported: integer arithmetic beyond 2\*\*53/,
  'float-large-in-text': /not supported: integer arithmetic beyond 2\*\*53/,
  'int-filter-big': /not supported: int of "99999999999999999999"/,
  'literal-eval-set': /not supported: a set literal/,
  // dictionary keys are strings here (a JSON object); {port: 'x'} has the int key 22 in Jinja2
  'dict-variable-key': /not supported: a dictionary key of type int/,
  // a JavaScript object would put "9" before "10"; Python keeps the order written
  'dict-number-like-keys-reordered': /not supported: a mapping whose number-like keys \(10, 9\) would lose their order/,
  'items2dict-number-like-keys': /not supported: a mapping whose number-like keys/,
  'combine-number-like-key': /not supported: a mapping whose number-like keys/,
  // nunjucks cannot assign to an attribute
  'namespace-counter': /not supported: \{% set x\.attr = \.\.\. %\}/,
  // lookups other than env would run on the control machine (pipe, file, template, ...)
  'lookup-pipe': /not supported: the lookup plugin "pipe"/,
  'password-hash-bcrypt': /not supported: password_hash with bcrypt/,
  'for-inline-if': /not supported: \{% for \.\.\. in \.\.\. if \.\.\. %\}/,
  // a filter this tool does not have is named, never ignored
  'strftime-unsupported': /not supported: the filter "strftime"/,
};

/** Ansible's omit placeholder (fixed by the oracle) stands for our OMIT. */
function withOmit(v: unknown): unknown {
  if (typeof v === 'string') return v.split(oracle.omit_token).join(OMIT);
  if (Array.isArray(v)) return v.map(withOmit);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withOmit(x)]));
  return v;
}

function jsType(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'dict';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'str' : typeof v;
}
/** Python's type as JSON can carry it: tuples are lists, and JSON cannot tell 2.0 from 2. */
function expectedJsType(c: Case): string {
  if (c.type === 'tuple') return 'list';
  if (c.type === 'float' && Number.isInteger(c.value)) return 'int';
  return c.type as string;
}

/**
 * The one deliberate difference: a template that is one expression whose value
 * is not a string keeps that value (the number 22, True, a tuple as a list),
 * where Ansible hands the module its text ("22", "True", "(1, 2)", "" for None)
 * and the module's argument spec converts it back. Our task schemas validate
 * the value itself.
 */
function keptValue(c: Case, got: unknown): boolean {
  if (c.kind !== 'template' || c.type !== 'str' || typeof got === 'string') return false;
  // JSON cannot tell the float 3.0 from the int 3: Python prints the float as "3.0"
  if (typeof got === 'number' && typeof c.value === 'string' && /^-?\d+\.0$/.test(c.value)) return Number(c.value) === got;
  return pyText(got) === c.value;
}

/** Python's str() of a value as Jinja2 prints it in text (None as nothing, in a template's output). */
function pyText(v: unknown): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `(${v.map((x) => (typeof x === 'string' ? `'${x}'` : pyText(x))).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (typeof v === 'number' && !Number.isInteger(v)) return String(v);
  return String(v);
}

function run(c: Case): unknown {
  const vars = { ...oracle.vars, ...(c.vars ?? {}) };
  return c.kind === 'template' ? renderValue(c.source, vars) : evalCondition(c.source, vars);
}

const savedEnv: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [k, v] of Object.entries(oracle.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('the oracle file', () => {
  it('holds the cases of cases.yaml, in order, with Ansible results', () => {
    expect(oracle.cases.map((c) => c.id)).toEqual(casesYaml.cases.map((c) => c.id));
    expect(oracle.cases.length).toBeGreaterThan(400);
  });
  it('every refusal names a case that exists', () => {
    const ids = new Set(oracle.cases.map((c) => c.id));
    for (const id of Object.keys(REFUSED)) expect(ids.has(id), id).toBe(true);
  });
});

describe('templates agree with Ansible (ansible-core Templar, as installed)', () => {
  casesYaml.cases.forEach((yamlCase, i) => {
    const c = oracle.cases[i] as Case;
    it(`${c.id}: ${c.source.replace(/\n/g, '\\n')}`, () => {
      // Our YAML loader hands the template engine the same text as Ansible's.
      expect(yamlCase.template ?? yamlCase.condition).toBe(c.source);
      const refusal = REFUSED[c.id];
      if (refusal) {
        expect(() => run(c)).toThrow(TemplateError);
        expect(() => run(c)).toThrow(refusal);
        return;
      }
      if (c.error !== undefined) {
        expect(() => run(c), `Ansible: ${c.error}: ${c.message}`).toThrow(TemplateError);
        return;
      }
      const got = run(c);
      if (keptValue(c, got)) return;
      const want = withOmit(c.value);
      expect(jsType(got)).toBe(expectedJsType(c));
      // Key order included (a dict's order reaches config files).
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    });
  });
});
