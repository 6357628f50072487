/**
 * Jinja2-syntax templating (nunjucks, never `eval` of user input) with Ansible
 * semantics where they matter for playbooks:
 *
 * - strict undefined variables: `{{ admin_user }}` with no such variable is an
 *   error naming the variable, while `x is defined`, `x | default(...)` and
 *   `x.y is defined` (x undefined) stay legal, like Ansible's AnsibleUndefined;
 * - a string that is exactly one expression (`"{{ ports }}"`) renders to the
 *   NATIVE value (number, bool, list, object) instead of its string form;
 * - conditions (`when:` ...) are bare expressions, a list means AND, and an
 *   undefined variable used as a truth value is an error, not silently true;
 * - Ansible's common filters (`bool`, `quote`, `regex_replace`, `b64encode`, ...).
 *
 * How: expressions are parsed with nunjucks' own parser, the AST gets a few
 * wrapper calls (capture the value, check truth values), then nunjucks compiles
 * it. Variable lookups that miss return an `Undefined` sentinel instead of
 * JavaScript `undefined`; any use of the sentinel as a value throws.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { TemplateError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';

const require = createRequire(import.meta.url);

// ---- nunjucks internals (untyped in @types/nunjucks) -----------------------

interface NjNode {
  readonly typename: string;
  lineno: number;
  colno: number;
  [field: string]: unknown;
}
type NodeCtor = new (lineno: number, colno: number, ...fields: unknown[]) => NjNode;
interface NjNodes {
  [name: string]: NodeCtor;
}
interface NjCompiler {
  compile(node: NjNode): void;
  getCode(): string;
}
interface NjRuntime {
  contextOrFrameLookup(context: { env: unknown; lookup(name: string): unknown }, frame: unknown, name: string): unknown;
  memberLookup(obj: unknown, val: unknown): unknown;
}

const nj = nunjucks as unknown as {
  parser: { parse(src: string, extensions?: unknown[], opts?: object): NjNode };
  compiler: { Compiler: new (name: string, throwOnUndefined: boolean) => NjCompiler };
  nodes: NjNodes;
  runtime: NjRuntime;
};
const transformer = require('nunjucks/src/transformer.js') as {
  transform(ast: NjNode, asyncFilters: string[], name: string): NjNode;
};
const N = nj.nodes;

// ---- the Undefined sentinel -------------------------------------------------

let lastUndefinedUse: UndefinedUse | undefined;

/** Raised (inside nunjucks) when an undefined value is used; converted to TemplateError. */
class UndefinedUse extends Error {
  constructor(readonly variable: string) {
    super(`undefined variable "${variable}"`);
    this.name = 'UndefinedUse';
    // nunjucks re-wraps errors and does not always keep `cause`: remember the last one.
    lastUndefinedUse = this;
  }
}

/** What a lookup of a missing variable or attribute returns while rendering. */
export class Undefined {
  readonly #name: string;
  constructor(name: string) {
    this.#name = name;
  }
  get variableName(): string {
    return this.#name;
  }
  fail(): never {
    throw new UndefinedUse(this.#name);
  }
  [Symbol.toPrimitive](): never {
    return this.fail();
  }
  toString(): string {
    return this.fail();
  }
  toJSON(): never {
    return this.fail();
  }
}

const isUndef = (v: unknown): v is Undefined => v instanceof Undefined;

/** Throw if `v` is undefined; return it otherwise. */
function strict(v: unknown): unknown {
  if (isUndef(v)) v.fail();
  if (v === undefined) throw new UndefinedUse('(undefined value)');
  return v;
}

/** Python (Jinja) truthiness: empty lists and dicts are false. Undefined is an error. */
export function truthy(v: unknown): boolean {
  strict(v);
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.keys(v).length > 0;
  return Boolean(v);
}

// ---- the environment ----------------------------------------------------------

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

/** Depth of renders in progress through this module: the lookup hooks only act then. */
let rendering = 0;
let captured: { value: unknown } | undefined;

// Hook variable and attribute lookups. The hooks only change behaviour for
// templates of this environment while this module is rendering.
const runtime = nj.runtime;
const origContextLookup = runtime.contextOrFrameLookup;
const origMemberLookup = runtime.memberLookup;
runtime.contextOrFrameLookup = function (context, frame, name) {
  const v = origContextLookup(context, frame, name);
  if (v === undefined && rendering > 0 && context.env === env) return new Undefined(name);
  return v;
};
runtime.memberLookup = function (obj, val) {
  if (rendering === 0) return origMemberLookup(obj, val);
  if (isUndef(obj)) return obj; // Ansible: attributes of an undefined value are undefined too
  const v = origMemberLookup(obj, val);
  if (v === undefined && obj !== null && obj !== undefined) return new Undefined(String(val));
  return v;
};

const pyStr = (v: unknown): string => {
  strict(v);
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** Python `re` replacement syntax (`\1`, `\g<name>`) to JavaScript's (`$1`, `$<name>`). */
function pyReplacement(repl: string): string {
  return repl.replace(/\$/g, '$$$$').replace(/\\(?:(\d+)|g<(\w+)>|(\\))/g, (_m, num: string | undefined, name: string | undefined, bs: string | undefined) => {
    if (bs) return '\\';
    if (num !== undefined) return `$${num}`;
    if (/^\d+$/.test(name ?? '')) return `$${name}`;
    return `$<${name}>`;
  });
}

function regex(pattern: unknown, flags: string, ignorecase: unknown, multiline: unknown): RegExp {
  let f = flags;
  if (ignorecase === true) f += 'i';
  if (multiline === true) f += 'm';
  // Python's (?P<name>...) named groups.
  const src = pyStr(pattern).replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(src, f);
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(src)}: ${(err as Error).message}`);
  }
}

/** nunjucks passes `name=value` arguments as a trailing object marked `__keywords`. */
function splitKeywords(args: unknown[]): { args: unknown[]; kw: Record<string, unknown> } {
  const last = args[args.length - 1] as { __keywords?: boolean } | null | undefined;
  if (last !== null && typeof last === 'object' && last.__keywords === true) {
    return { args: args.slice(0, -1), kw: last as Record<string, unknown> };
  }
  return { args, kw: {} };
}

function toBool(v: unknown): boolean {
  strict(v);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  if (typeof v === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase());
  return false;
}

function asList(v: unknown, filter: string): unknown[] {
  strict(v);
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (v && typeof v === 'object') return Object.keys(v);
  throw new Error(`${filter}: expected a list, got ${typeof v}`);
}

const FILTERS: Record<string, (...args: never[]) => unknown> = {
  bool: toBool,
  int: (v: unknown, def: unknown = 0, base: unknown = 10) => {
    strict(v);
    if (typeof v === 'number') return Math.trunc(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    const s = pyStr(v).trim();
    const b = Number(base);
    const ok = b === 16 ? /^[-+]?(0x)?[0-9a-f]+$/i : b === 8 ? /^[-+]?(0o)?[0-7]+$/i : b === 2 ? /^[-+]?(0b)?[01]+$/i : /^[-+]?\d+(\.\d*)?$/;
    if (!ok.test(s)) return def;
    const n = Number.parseInt(s.replace(/^([-+]?)0[xob]/i, '$1'), b);
    return Number.isNaN(n) ? def : n;
  },
  float: (v: unknown, def: unknown = 0) => {
    const n = Number.parseFloat(pyStr(v));
    return Number.isNaN(n) ? def : n;
  },
  string: pyStr,
  quote: (v: unknown) => quote(typeof v === 'number' ? v : pyStr(v)),
  regex_replace: (v: unknown, ...rest: unknown[]) => {
    const { args, kw } = splitKeywords(rest);
    const [pattern, replacement = kw.replacement ?? '', ignorecase = kw.ignorecase, multiline = kw.multiline] = args;
    return pyStr(v).replace(regex(pattern ?? kw.pattern, 'g', ignorecase, multiline), pyReplacement(pyStr(replacement)));
  },
  regex_search: (v: unknown, ...rest: unknown[]) => {
    const { args, kw } = splitKeywords(rest);
    const [pattern, ...groups] = args;
    const m = regex(pattern ?? kw.pattern, '', kw.ignorecase, kw.multiline).exec(pyStr(v));
    if (!m) return null;
    if (groups.length === 0) return m[0];
    return groups.map((g) => {
      const spec = pyStr(g);
      const num = /^\\(\d+)$/.exec(spec);
      if (num) return m[Number(num[1])] ?? null;
      const named = /^\\g<(\w+)>$/.exec(spec);
      if (named) return m.groups?.[named[1] as string] ?? null;
      throw new Error(`regex_search: unknown group reference ${JSON.stringify(spec)}`);
    });
  },
  b64encode: (v: unknown) => Buffer.from(pyStr(v), 'utf8').toString('base64'),
  b64decode: (v: unknown) => Buffer.from(pyStr(v), 'base64').toString('utf8'),
  to_json: (v: unknown) => JSON.stringify(strict(v)),
  to_nice_json: (v: unknown, indent: unknown = 4) => JSON.stringify(strict(v), null, Number(indent)),
  from_json: (v: unknown) => {
    try {
      return JSON.parse(pyStr(v)) as unknown;
    } catch (err) {
      throw new Error(`from_json: ${(err as Error).message}`);
    }
  },
  basename: (v: unknown) => path.posix.basename(pyStr(v)),
  dirname: (v: unknown) => path.posix.dirname(pyStr(v)),
  mandatory: (v: unknown, msg?: unknown) => {
    if (isUndef(v) || v === undefined) {
      if (typeof msg === 'string') throw new Error(msg);
      return strict(v);
    }
    return v;
  },
  default: (v: unknown, def: unknown = '', boolean: unknown = false) => {
    if (isUndef(v) || v === undefined) return def;
    if (boolean === true && !truthy(v)) return def;
    return v;
  },
  ternary: (v: unknown, whenTrue: unknown, whenFalse: unknown, whenNone?: unknown) => {
    if (v === null && whenNone !== undefined) return whenNone;
    return truthy(v) ? whenTrue : whenFalse;
  },
  // Ansible's list and dict helpers, for building rule lists and settings from variables
  map: (v: unknown, ...rest: unknown[]) => {
    const { args, kw } = splitKeywords(rest);
    const items = asList(v, 'map');
    if (kw.attribute !== undefined) return items.map((i) => (i && typeof i === 'object' ? (i as Record<string, unknown>)[pyStr(kw.attribute)] : undefined));
    const [name, ...fargs] = args;
    const fn = FILTERS[pyStr(name)] as ((...a: unknown[]) => unknown) | undefined;
    if (!fn) throw new Error(`map: unknown filter ${JSON.stringify(name)}`);
    return items.map((i) => fn(i, ...fargs));
  },
  list: (v: unknown) => asList(v, 'list'),
  flatten: (v: unknown) => asList(v, 'flatten').flat(Number.POSITIVE_INFINITY),
  union: (v: unknown, other: unknown) => [...new Set([...asList(v, 'union'), ...asList(other, 'union')])],
  combine: (v: unknown, ...others: unknown[]) => {
    const isDict = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x) && !isUndef(x);
    if (!isDict(v)) throw new Error('combine: expected a mapping');
    return Object.assign({}, v, ...others.filter(isDict));
  },
  __pv_capture: (v: unknown) => {
    strict(v);
    captured = { value: v };
    return '';
  },
};
FILTERS.d = FILTERS.default as (typeof FILTERS)[string];

for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn as (...args: unknown[]) => unknown);

// Every other filter (nunjucks built-ins: upper, join, length, ...) refuses undefined input.
const LENIENT_FILTERS = new Set(['default', 'd', 'mandatory']);
{
  const filters = (env as unknown as { filters: Record<string, (...args: unknown[]) => unknown> }).filters;
  for (const [name, fn] of Object.entries(filters)) {
    if (LENIENT_FILTERS.has(name)) continue;
    filters[name] = function (this: unknown, ...args: unknown[]) {
      strict(args[0]);
      return fn.apply(this, args);
    };
  }
}

const addTest = (name: string, fn: (v: unknown) => boolean): void => {
  (env as unknown as { addTest(n: string, f: (v: unknown) => boolean): void }).addTest(name, fn);
};
addTest('defined', (v: unknown) => v !== undefined && !isUndef(v));
addTest('undefined', (v: unknown) => v === undefined || isUndef(v));
addTest('none', (v: unknown) => v === null);
addTest('truthy', (v: unknown) => truthy(v));
addTest('falsy', (v: unknown) => !truthy(v));
env.addGlobal('True', true);
env.addGlobal('False', false);
env.addGlobal('None', null);
env.addGlobal('__pv_bool', truthy);
env.addGlobal('__pv_strict', strict);

// ---- compilation ------------------------------------------------------------------

/** Wrap `node` in a call to the global function `fn`. */
function wrapCall(fn: string, node: NjNode): NjNode {
  const sym = new (N.Symbol as NodeCtor)(node.lineno, node.colno, fn);
  const args = new (N.NodeList as NodeCtor)(node.lineno, node.colno, [node]);
  return new (N.FunCall as NodeCtor)(node.lineno, node.colno, sym, args);
}

/** Make truth tests strict and Python-like (`not x`, `if x`, `x if c else y`, `for ... in x`). */
function strictify(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach(strictify);
    return;
  }
  const n = node as NjNode;
  if (typeof n.typename !== 'string') return;
  for (const [k, v] of Object.entries(n)) if (k !== 'typename' && typeof v === 'object') strictify(v);
  switch (n.typename) {
    case 'Not':
      n.target = wrapCall('__pv_bool', n.target as NjNode);
      break;
    case 'And':
    case 'Or':
      n.left = wrapCall('__pv_strict', n.left as NjNode);
      n.right = wrapCall('__pv_strict', n.right as NjNode);
      break;
    case 'If':
    case 'InlineIf':
      n.cond = wrapCall('__pv_bool', n.cond as NjNode);
      break;
    case 'For':
      n.arr = wrapCall('__pv_strict', n.arr as NjNode);
      break;
    default:
  }
}

interface Compiled {
  readonly template: nunjucks.Template;
  /** The source is exactly one `{{ expr }}`: render to its native value. */
  readonly native: boolean;
}

const cache = new Map<string, Compiled>();
const CACHE_MAX = 2000;

function compile(src: string): Compiled {
  const hit = cache.get(src);
  if (hit) return hit;
  let compiled: Compiled;
  try {
    const ast = nj.parser.parse(src, [], {});
    strictify(ast);
    const children = (ast.children as NjNode[]) ?? [];
    const only = children.length === 1 ? children[0] : undefined;
    const outChildren = only?.typename === 'Output' ? ((only.children as NjNode[]) ?? []) : [];
    const native = outChildren.length === 1 && outChildren[0]?.typename !== 'TemplateData';
    if (native) {
      const expr = outChildren[0] as NjNode;
      const name = new (N.Symbol as NodeCtor)(expr.lineno, expr.colno, '__pv_capture');
      const args = new (N.NodeList as NodeCtor)(expr.lineno, expr.colno, [expr]);
      outChildren[0] = new (N.Filter as NodeCtor)(expr.lineno, expr.colno, name, args);
    }
    const c = new nj.compiler.Compiler('template', true);
    c.compile(transformer.transform(ast, [], 'template'));
    // nunjucks compiles every template to a JavaScript function this way
    // (src/environment.js); the code is generated from the parsed AST.
    const props = new Function(c.getCode())() as object;
    const template = new nunjucks.Template({ type: 'code', obj: props } as unknown as string, env, 'template');
    compiled = { template, native };
  } catch (err) {
    throw new TemplateError(`syntax error in ${JSON.stringify(src)}: ${cleanMessage(err)}`, { cause: err });
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(src, compiled);
  return compiled;
}

function cleanMessage(err: unknown): string {
  let cause = (err as { cause?: unknown }).cause;
  while (cause instanceof Error && (cause as { cause?: unknown }).cause instanceof Error) cause = (cause as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  const msg = err instanceof Error ? err.message : String(err);
  // nunjucks: "(template) [Line 1, Column 3]\n  Error: message"
  return msg.replace(/^\((?:unknown path|template)\)(?: \[Line \d+, Column \d+\])?\s*/, '').replace(/^\w*Error: /, '').trim();
}

function undefinedCause(err: unknown): UndefinedUse | undefined {
  // nunjucks wraps errors (sometimes twice) in its own TemplateError with `cause`.
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UndefinedUse) return e;
  }
  if (lastUndefinedUse && err instanceof Error && err.message.includes(lastUndefinedUse.message)) return lastUndefinedUse;
  return undefined;
}

function run(src: string, vars: Record<string, unknown>, shown: string = src): unknown {
  const { template, native } = compile(src);
  const saved = captured;
  captured = undefined;
  lastUndefinedUse = undefined;
  rendering++;
  try {
    const out = template.render(vars);
    if (native) {
      const got = captured as { value: unknown } | undefined;
      if (!got) throw new TemplateError(`expression ${JSON.stringify(src)} produced no value`);
      return got.value;
    }
    return out;
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    const undef = undefinedCause(err);
    if (undef) throw new TemplateError(`undefined variable "${undef.variable}" in ${JSON.stringify(shown)}`, { cause: err });
    throw new TemplateError(`cannot render ${JSON.stringify(shown)}: ${cleanMessage(err)}`, { cause: err });
  } finally {
    rendering--;
    captured = saved;
  }
}

const TEMPLATE_MARK = /\{\{|\{%|\{#/;

/** True when `s` contains template syntax. */
export function isTemplated(s: string): boolean {
  return TEMPLATE_MARK.test(s);
}

/** Render one string: `"{{ x }}"` alone gives x's native value, anything else a string. */
export function renderString(src: string, vars: Record<string, unknown>): unknown {
  if (!isTemplated(src)) return src;
  return run(src, vars);
}

/**
 * Render every string inside `value` (objects and arrays are walked, keys are
 * kept). Non-string leaves are returned as they are.
 */
export function renderValue(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value === 'string') return renderString(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, vars);
    return out;
  }
  return value;
}

/**
 * Evaluate a `when:` / `changed_when:` / `failed_when:` condition: a bare
 * expression (`x is defined and x > 2`), a boolean, or a list of them (AND).
 * `{{ }}` around the expression is tolerated.
 */
export function evalCondition(cond: string | boolean | readonly (string | boolean)[], vars: Record<string, unknown>): boolean {
  if (typeof cond === 'boolean') return cond;
  if (Array.isArray(cond)) return cond.every((c) => evalCondition(c as string | boolean, vars));
  const text = (cond as string).trim();
  if (text === '') throw new TemplateError('empty condition');
  const inner = /^\{\{([\s\S]*)\}\}$/.exec(text);
  const expr = inner && !/\{\{|\}\}/.test(inner[1] as string) ? (inner[1] as string) : text;
  const value = run(`{{ ${expr} }}`, vars, text);
  if (typeof value === 'string') {
    // A condition that rendered to text (e.g. `{{ x }}` with x = "false").
    const s = value.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0', '', 'none'].includes(s)) return false;
  }
  try {
    return truthy(value);
  } catch (err) {
    const undef = undefinedCause(err);
    throw new TemplateError(`undefined variable "${undef?.variable ?? '?'}" in ${JSON.stringify(text)}`, { cause: err });
  }
}
