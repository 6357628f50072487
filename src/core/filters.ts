/**
 * The filters, tests, globals and value access of the template engine, with the
 * semantics of Jinja2 3.1 and ansible-core 2.14 (checked case by case against
 * Ansible itself: test/fixtures/template-oracle). Only what is listed here
 * exists: a filter or test that is not here fails with a TemplateError naming
 * it, so a template never silently gets a different answer than in Ansible.
 */
import { createHash, randomBytes } from 'node:crypto';
import { yamlPackage } from '../schema/yaml.js';
import {
  PyError,
  PyFloat,
  Unsupported,
  isFloat,
  isInt,
  isNumber,
  isPlainObject,
  isTuple,
  jsonDumps,
  jsonLoads,
  num,
  orderedDict,
  percentFormat,
  pyCmp,
  pyCompare,
  pyEq,
  pyFloat,
  pyIn,
  pyRepr,
  pyStr,
  pyTruthy,
  strFormat,
  tuple,
  typeName,
} from './pyvalues.js';
import { CRYPT_ALGOS, md5Crypt, randomSalt, shaCrypt, type CryptAlgo } from './crypt.js';
import { pyYamlDump } from './pyyaml.js';
import { pyCompile, pyEscape, pyFindall, pyGroup, pyMatch, pySearch, pySub } from './pyre.js';

// ---- undefined ---------------------------------------------------------------------

let lastUndefinedUse: UndefinedUse | undefined;
export const takeLastUndefinedUse = (): UndefinedUse | undefined => lastUndefinedUse;
export const resetLastUndefinedUse = (): void => {
  lastUndefinedUse = undefined;
};

/** Raised (inside nunjucks) when an undefined value is used; converted to TemplateError. */
export class UndefinedUse extends Error {
  constructor(
    readonly variable: string,
    readonly hint?: string,
  ) {
    super(hint ?? `undefined variable "${variable}"`);
    this.name = 'UndefinedUse';
    // nunjucks re-wraps errors and does not always keep `cause`: remember the last one.
    lastUndefinedUse = this;
  }
}

/** What a lookup of a missing variable or attribute returns while rendering. */
export class Undefined {
  readonly #name: string;
  readonly #hint: string | undefined;
  constructor(name: string, hint?: string) {
    this.#name = name;
    this.#hint = hint;
  }
  get variableName(): string {
    return this.#name;
  }
  fail(): never {
    throw new UndefinedUse(this.#name, this.#hint);
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

export const isUndef = (v: unknown): v is Undefined => v instanceof Undefined;

/** Throw if `v` is undefined; return it otherwise. */
export function strict<T>(v: T): T {
  if (isUndef(v)) v.fail();
  if (v === undefined) throw new UndefinedUse('(undefined value)');
  return v;
}

/** Throw if an undefined value hides anywhere inside `v` (Ansible's _fail_on_undefined). */
export function strictDeep(v: unknown): unknown {
  strict(v);
  if (Array.isArray(v)) v.forEach(strictDeep);
  else if (isPlainObject(v)) Object.values(v).forEach(strictDeep);
  return v;
}

/** Python truthiness; using an undefined value is an error (Ansible's StrictUndefined). */
export function truthy(v: unknown): boolean {
  return pyTruthy(strict(v));
}

/** str() with undefined values refused. */
export function str(v: unknown): string {
  return pyStr(strictDeep(v));
}

// ---- omit -------------------------------------------------------------------------

/**
 * `{{ x | default(omit) }}` renders to this string, like Ansible's
 * `__omit_place_holder__<sha1>` (random per process, so it cannot collide with
 * data). The task-argument layer drops every mapping key whose value is
 * exactly OMIT, recursively, before the task sees its arguments: see
 * `dropOmitted`.
 */
export const OMIT = `__omit_place_holder__${randomBytes(20).toString('hex')}`;

/**
 * Ansible's remove_omit: keys whose value is OMIT disappear from mappings, at
 * any depth (mappings inside lists too); a list item that is OMIT stays, as in
 * Ansible. For the runner, after rendering a task's arguments:
 * `args = dropOmitted(renderValue(task.args, vars))`.
 */
export function dropOmitted<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => dropOmitted(v)) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== OMIT) out[k] = dropOmitted(v);
    return out as T;
  }
  return value;
}

// ---- access ----------------------------------------------------------------------

const STR_METHODS = new Set(['split', 'rsplit', 'startswith', 'endswith', 'upper', 'lower', 'strip', 'lstrip', 'rstrip', 'replace', 'join', 'format', 'find', 'count', 'capitalize', 'title', 'splitlines', 'isdigit', 'isalpha', 'isalnum', 'isspace', 'islower', 'isupper']);
const ALL_STR_METHODS = new Set([...STR_METHODS, 'casefold', 'center', 'encode', 'expandtabs', 'format_map', 'index', 'isascii', 'isdecimal', 'isidentifier', 'isnumeric', 'isprintable', 'istitle', 'ljust', 'maketrans', 'partition', 'removeprefix', 'removesuffix', 'rfind', 'rindex', 'rjust', 'rpartition', 'swapcase', 'translate', 'zfill']);
const DICT_METHODS = new Set(['keys', 'values', 'items', 'get']);
const ALL_DICT_METHODS = new Set([...DICT_METHODS, 'clear', 'copy', 'fromkeys', 'pop', 'popitem', 'setdefault', 'update']);
const LIST_METHODS = new Set(['index', 'count']);
const ALL_LIST_METHODS = new Set([...LIST_METHODS, 'append', 'clear', 'copy', 'extend', 'insert', 'pop', 'remove', 'reverse', 'sort']);

const PY_WHITESPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === null || chars === undefined ? PY_WHITESPACE : str(chars);
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  if (left) while (a < b && set.includes(cs[a] as string)) a++;
  if (right) while (b > a && set.includes(cs[b - 1] as string)) b--;
  return cs.slice(a, b).join('');
}

function pySplit(s: string, sep: unknown, maxsplit: unknown): string[] {
  let max = maxsplit === undefined || maxsplit === null ? -1 : num(maxsplit as number);
  if (sep === null || sep === undefined) {
    const out: string[] = [];
    let i = 0;
    const cs = [...s];
    const ws = (c: string | undefined) => c !== undefined && PY_WHITESPACE.includes(c);
    while (i < cs.length) {
      while (i < cs.length && ws(cs[i])) i++;
      if (i >= cs.length) break;
      if (max === 0) {
        out.push(pyStrip(cs.slice(i).join(''), null, false, true));
        break;
      }
      let j = i;
      while (j < cs.length && !ws(cs[j])) j++;
      out.push(cs.slice(i, j).join(''));
      max--;
      i = j;
    }
    return out;
  }
  const d = str(sep);
  if (d === '') throw new PyError('ValueError', 'empty separator');
  const out: string[] = [];
  let rest = s;
  while (max !== 0) {
    const k = rest.indexOf(d);
    if (k < 0) break;
    out.push(rest.slice(0, k));
    rest = rest.slice(k + d.length);
    max--;
  }
  out.push(rest);
  return out;
}

function pyReplace(s: string, old: string, neu: string, count: unknown): string {
  if (count === null || count === undefined || num(count as number) < 0) return s.split(old).join(neu);
  let n = num(count as number);
  if (old === '') {
    const cs = [...s];
    let out = '';
    for (let i = 0; i <= cs.length; i++) {
      if (n > 0) {
        out += neu;
        n--;
      }
      out += cs[i] ?? '';
    }
    return out;
  }
  let out = '';
  let rest = s;
  while (n > 0) {
    const k = rest.indexOf(old);
    if (k < 0) break;
    out += rest.slice(0, k) + neu;
    rest = rest.slice(k + old.length);
    n--;
  }
  return out + rest;
}

function capitalize(s: string): string {
  const cs = [...s];
  if (cs.length === 0) return s;
  return (cs[0] as string).toUpperCase() + cs.slice(1).join('').toLowerCase();
}

function splitlines(s: string): string[] {
  const parts = s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function method(name: string, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const f = (...args: unknown[]) => {
    const { args: a, kw } = splitKeywords(args);
    if (Object.keys(kw).length > 0 && name !== 'format') throw new Unsupported(`keyword arguments to .${name}()`);
    return fn(...a, ...(name === 'format' ? [kw] : []));
  };
  return f;
}

function strMethod(s: string, name: string): unknown {
  switch (name) {
    case 'split':
      return method(name, (sep, max) => pySplit(s, sep, max));
    case 'rsplit':
      return method(name, (sep, max) => {
        if (max !== undefined && max !== null && num(max as number) >= 0) throw new Unsupported('.rsplit() with maxsplit');
        return pySplit(s, sep, -1);
      });
    case 'startswith':
    case 'endswith':
      return method(name, (x) => {
        const opts = isTuple(x) ? (x as unknown[]) : [x];
        return opts.some((o) => (name === 'startswith' ? s.startsWith(str(o)) : s.endsWith(str(o))));
      });
    case 'upper':
      return method(name, () => s.toUpperCase());
    case 'lower':
      return method(name, () => s.toLowerCase());
    case 'strip':
      return method(name, (c) => pyStrip(s, c, true, true));
    case 'lstrip':
      return method(name, (c) => pyStrip(s, c, true, false));
    case 'rstrip':
      return method(name, (c) => pyStrip(s, c, false, true));
    case 'replace':
      return method(name, (o, n, c) => pyReplace(s, str(o), str(n), c));
    case 'join':
      return method(name, (items) => iterate(items, 'join').map((x) => {
        if (typeof x !== 'string') throw new PyError('TypeError', `sequence item: expected str instance, ${typeName(x)} found`);
        return x;
      }).join(s));
    case 'format':
      return method(name, (...a) => strFormat(s, a.slice(0, -1), a[a.length - 1] as Record<string, unknown>));
    case 'find':
      return method(name, (x) => {
        const k = s.indexOf(str(x));
        return k < 0 ? -1 : [...s.slice(0, k)].length;
      });
    case 'count':
      return method(name, (x) => {
        const d = str(x);
        return d === '' ? [...s].length + 1 : s.split(d).length - 1;
      });
    case 'capitalize':
      return method(name, () => capitalize(s));
    case 'title':
      return method(name, () => s.replace(/[\p{L}\p{N}']+/gu, (w) => capitalize(w)));
    case 'splitlines':
      return method(name, () => splitlines(s));
    case 'isdigit':
      return method(name, () => s !== '' && /^\p{Nd}+$/u.test(s));
    case 'isalpha':
      return method(name, () => s !== '' && /^\p{L}+$/u.test(s));
    case 'isalnum':
      return method(name, () => s !== '' && /^[\p{L}\p{N}]+$/u.test(s));
    case 'isspace':
      return method(name, () => s !== '' && [...s].every((c) => PY_WHITESPACE.includes(c)));
    case 'islower':
      return method(name, () => /\p{Ll}/u.test(s) && !/[\p{Lu}\p{Lt}]/u.test(s));
    case 'isupper':
      return method(name, () => /\p{Lu}/u.test(s) && !/[\p{Ll}\p{Lt}]/u.test(s));
    default:
      throw new Unsupported(`the string method .${name}()`);
  }
}

function dictMethod(d: Record<string, unknown>, name: string): unknown {
  switch (name) {
    case 'keys':
      return method(name, () => Object.keys(d));
    case 'values':
      return method(name, () => Object.values(d));
    case 'items':
      return method(name, () => Object.entries(d).map(([k, v]) => tuple([k, v])));
    case 'get':
      return method(name, (k, def = null) => (typeof k === 'string' && Object.prototype.hasOwnProperty.call(d, k) ? d[k] : def));
    default:
      throw new Unsupported(`the dict method .${name}()`);
  }
}

function listMethod(l: unknown[], name: string): unknown {
  switch (name) {
    case 'index':
      return method(name, (x) => {
        const k = l.findIndex((y) => pyEq(y, x));
        if (k < 0) throw new PyError('ValueError', `${pyRepr(x)} is not in list`);
        return k;
      });
    case 'count':
      return method(name, (x) => l.filter((y) => pyEq(y, x)).length);
    default:
      throw new Unsupported(`the list method .${name}()`);
  }
}

const describe = (v: unknown): string => `'${typeName(v) === 'dict' ? 'dict object' : typeName(v) === 'list' ? 'list object' : `${typeName(v)} object`}'`;

/** Jinja's `obj[key]` (subscript: item first, then attribute). */
export function getitem(obj: unknown, key: unknown): unknown {
  if (isUndef(obj)) return obj;
  strict(key);
  if (isPlainObject(obj)) {
    if (typeof key === 'string' && Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
    if (typeof key === 'string' && ALL_DICT_METHODS.has(key)) return getattr(obj, key);
    return new Undefined(pyStr(key), `${describe(obj)} has no attribute ${pyRepr(key)}`);
  }
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (isNumber(key) && isInt(num(key))) {
      const seq = typeof obj === 'string' ? [...obj] : obj;
      let k = num(key);
      if (k < 0) k += seq.length;
      if (k >= 0 && k < seq.length) return seq[k];
      return new Undefined(pyStr(key), `${describe(obj)} has no element ${pyStr(key)}`);
    }
    if (typeof key === 'string') return getattr(obj, key);
    return new Undefined(pyStr(key), `${describe(obj)} has no element ${pyRepr(key)}`);
  }
  if (obj === null || obj === undefined) return new Undefined(pyStr(key), `'None' has no attribute ${pyRepr(key)}`);
  return new Undefined(pyStr(key), `${describe(obj)} has no attribute ${pyRepr(key)}`);
}

/** Jinja's `obj.name` (attribute first: a dict's methods win over its keys, as in Jinja). */
export function getattr(obj: unknown, name: string): unknown {
  if (isUndef(obj)) return obj;
  if (typeof obj === 'string') {
    if (STR_METHODS.has(name)) return strMethod(obj, name);
    if (ALL_STR_METHODS.has(name)) throw new Unsupported(`the string method .${name}()`);
  } else if (isPlainObject(obj)) {
    if (DICT_METHODS.has(name)) return dictMethod(obj, name);
    if (ALL_DICT_METHODS.has(name)) throw new Unsupported(`the dict method .${name}()`);
    if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
  } else if (Array.isArray(obj)) {
    if (LIST_METHODS.has(name)) return listMethod(obj, name);
    if (ALL_LIST_METHODS.has(name)) throw new Unsupported(`the list method .${name}()`);
    if (/^\d+$/.test(name)) return getitem(obj, Number(name));
  }
  return new Undefined(name, `${describe(obj)} has no attribute '${name}'`);
}

/** Jinja's make_attrgetter: 'a.b.0' walks items. */
function attrgetter(attribute: unknown, dflt?: unknown): (item: unknown) => unknown {
  const parts = typeof attribute === 'string' ? attribute.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [attribute];
  return (item) => {
    let v = item;
    for (const p of parts) v = getitem(v, p);
    if (dflt !== undefined && isUndef(v)) return dflt;
    return v;
  };
}

/** Python slicing: seq[start:stop:step]. */
export function slice(seq: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  strict(seq);
  const chars = typeof seq === 'string' ? [...seq] : Array.isArray(seq) ? seq : undefined;
  if (!chars) throw new PyError('TypeError', `'${typeName(seq)}' object is not subscriptable`);
  const n = chars.length;
  const st = step === null || step === undefined ? 1 : num(step as number);
  if (st === 0) throw new PyError('ValueError', 'slice step cannot be zero');
  const norm = (v: unknown, dflt: number, lo: number, hi: number): number => {
    if (v === null || v === undefined) return dflt;
    let k = num(v as number);
    if (k < 0) k += n;
    return Math.min(Math.max(k, lo), hi);
  };
  const out: unknown[] = [];
  if (st > 0) {
    const a = norm(start, 0, 0, n);
    const b = norm(stop, n, 0, n);
    for (let i = a; i < b; i += st) out.push(chars[i]);
  } else {
    const a = norm(start, n - 1, -1, n - 1);
    const b = norm(stop, -1, -1, n - 1);
    for (let i = a; i > b; i += st) out.push(chars[i]);
  }
  return typeof seq === 'string' ? out.join('') : isTuple(seq) ? tuple(out) : out;
}

// ---- arguments -----------------------------------------------------------------------

/** nunjucks passes `name=value` arguments as a trailing object marked `__keywords`. */
export function splitKeywords(args: unknown[]): { args: unknown[]; kw: Record<string, unknown> } {
  const last = args[args.length - 1] as { __keywords?: boolean } | null | undefined;
  if (last !== null && typeof last === 'object' && !Array.isArray(last) && last.__keywords === true) {
    const kw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(last)) if (k !== '__keywords') kw[k] = v;
    return { args: args.slice(0, -1), kw };
  }
  return { args, kw: {} };
}

/** Bind positional and keyword arguments to a Python signature (`[name, default]`, a default of REQUIRED means required). */
const REQUIRED = Symbol('required');
function bind(fn: string, args: unknown[], kw: Record<string, unknown>, spec: [string, unknown][]): Record<string, unknown> {
  if (args.length > spec.length) throw new PyError('TypeError', `${fn}() takes at most ${spec.length} arguments after the value (${args.length} given)`);
  const out: Record<string, unknown> = {};
  spec.forEach(([name, dflt], i) => {
    if (i < args.length) {
      if (name in kw) throw new PyError('TypeError', `${fn}() got multiple values for argument '${name}'`);
      out[name] = args[i];
    } else if (name in kw) out[name] = kw[name];
    else if (dflt === REQUIRED) throw new PyError('TypeError', `${fn}() missing required argument '${name}'`);
    else out[name] = dflt;
  });
  for (const k of Object.keys(kw)) if (!spec.some(([n]) => n === k)) throw new PyError('TypeError', `${fn}() got an unexpected keyword argument '${k}'`);
  return out;
}

/** Iterating a value like Python: lists, strings (characters), dicts (keys). */
export function iterate(v: unknown, what: string): unknown[] {
  strict(v);
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isPlainObject(v)) return Object.keys(v);
  throw new PyError('TypeError', `${what}: '${typeName(v)}' object is not iterable`);
}

const isSequence = (v: unknown): v is unknown[] => Array.isArray(v);

function unique(items: unknown[], caseSensitive: boolean, attribute?: unknown): unknown[] {
  const key = attribute === undefined || attribute === null ? (x: unknown) => x : attrgetter(attribute);
  const norm = (x: unknown) => {
    const k = key(x);
    return !caseSensitive && typeof k === 'string' ? k.toLowerCase() : k;
  };
  const out: unknown[] = [];
  const seen: unknown[] = [];
  for (const x of items) {
    const k = norm(x);
    if (!seen.some((s) => pyEq(s, k))) {
      seen.push(k);
      out.push(x);
    }
  }
  return out;
}

function listsOnly(fn: string, a: unknown, b: unknown): [unknown[], unknown[]] {
  strict(a);
  strict(b);
  if (!isSequence(a) || !isSequence(b)) throw new Unsupported(`${fn} of ${typeName(a)} and ${typeName(b)} (Ansible answers with a set)`);
  return [a, b];
}

function sortKey(caseSensitive: boolean, attribute: unknown): (x: unknown) => unknown {
  const get = attribute === undefined || attribute === null ? (x: unknown) => x : attrgetter(attribute);
  return (x) => {
    const k = strict(get(x));
    return !caseSensitive && typeof k === 'string' ? k.toLowerCase() : k;
  };
}

function pySort(items: unknown[], key: (x: unknown) => unknown, reverse: boolean): unknown[] {
  const keyed = items.map((x, i) => ({ x, k: key(x), i }));
  keyed.sort((p, q) => {
    const c = reverse ? pyCmp(q.k, p.k) : pyCmp(p.k, q.k);
    return c !== 0 ? c : p.i - q.i;
  });
  return keyed.map((e) => e.x);
}

function flatten(items: unknown[], levels: number | null, skipNulls: boolean): unknown[] {
  const out: unknown[] = [];
  for (const e of items) {
    if (skipNulls && (e === null || e === 'None' || e === 'null')) continue;
    if (isSequence(e)) {
      if (levels === null) out.push(...flatten(e, null, skipNulls));
      else if (levels >= 1) out.push(...flatten(e, levels - 1, skipNulls));
      else out.push(e);
    } else out.push(e);
  }
  return out;
}

function mergeHash(x: Record<string, unknown>, y: Record<string, unknown>, recursive: boolean, listMerge: string): Record<string, unknown> {
  if (Object.keys(x).length === 0 || pyEq(x, y)) return { ...y };
  const out = { ...x };
  // Python: x's keys keep their places, y's new keys follow
  orderedDict([...Object.keys(x), ...Object.keys(y)].map((k) => [k, null] as [string, unknown]));
  if (!recursive && listMerge === 'replace') return Object.assign(out, y);
  for (const [k, yv] of Object.entries(y)) {
    if (!(k in out)) {
      out[k] = yv;
      continue;
    }
    const xv = out[k];
    if (isPlainObject(xv) && isPlainObject(yv)) {
      out[k] = recursive ? mergeHash(xv, yv, recursive, listMerge) : yv;
      continue;
    }
    if (Array.isArray(xv) && Array.isArray(yv)) {
      if (listMerge === 'replace') out[k] = yv;
      else if (listMerge === 'append') out[k] = [...xv, ...yv];
      else if (listMerge === 'prepend') out[k] = [...yv, ...xv];
      else if (listMerge === 'append_rp') out[k] = [...xv.filter((z) => !yv.some((w) => pyEq(w, z))), ...yv];
      else if (listMerge === 'prepend_rp') out[k] = [...yv, ...xv.filter((z) => !yv.some((w) => pyEq(w, z)))];
      // 'keep': x's list stays
      continue;
    }
    out[k] = yv;
  }
  return out;
}

function shlexQuote(s: string): string {
  if (s === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(s) && /^[\x00-\x7f]*$/.test(s)) return s;
  if (!/[^A-Za-z0-9_@%+=:,./-]/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

function posixBasename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
function posixDirname(p: string): string {
  const head = p.slice(0, p.lastIndexOf('/') + 1);
  if (head && head !== '/'.repeat(head.length)) return head.replace(/\/+$/, '');
  return head;
}

function b64decode(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9+/=]/g, '');
  const data = clean.replace(/=/g, '');
  if (data.length % 4 === 1) throw new PyError('binascii.Error', `Invalid base64-encoded string: number of data characters (${data.length}) cannot be 1 more than a multiple of 4`);
  const firstPad = clean.indexOf('=');
  const needed = (4 - (data.length % 4)) % 4;
  if (needed > 0 && (firstPad < 0 || clean.length - firstPad < needed)) throw new PyError('binascii.Error', 'Incorrect padding');
  const bytes = Buffer.from(data, 'base64');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Unsupported('b64decode of data that is not UTF-8 text');
  }
}

/** Python's distutils LooseVersion, as Ansible's `version` test uses by default. */
function looseVersion(v: string): unknown[] {
  return v
    .split(/(\d+|[a-z]+|\.)/)
    .filter((x) => x !== '' && x !== '.')
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}
function strictVersion(v: string): unknown[] {
  const m = /^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$/.exec(v);
  if (!m) throw new PyError('ValueError', `invalid version number '${v}'`);
  const rel = [Number(m[1]), Number(m[2]), m[4] === undefined ? 0 : Number(m[4])];
  // no prerelease sorts after any prerelease
  const pre = m[5] === undefined ? tuple(['~', 0]) : tuple([m[5][0] as string, Number(m[6])]);
  return [tuple(rel), pre];
}

function versionCompare(value: unknown, version: unknown, operator: unknown = 'eq', strictArg: unknown = null, versionType: unknown = null): boolean {
  const ops: Record<string, string> = { '==': 'eq', '=': 'eq', eq: 'eq', '<': 'lt', lt: 'lt', '<=': 'le', le: 'le', '>': 'gt', gt: 'gt', '>=': 'ge', ge: 'ge', '!=': 'ne', '<>': 'ne', ne: 'ne' };
  if (strictArg !== null && versionType !== null) throw new PyError('AnsibleFilterError', "Cannot specify both 'strict' and 'version_type'");
  if (!pyTruthy(value)) throw new PyError('AnsibleFilterError', 'Input version value cannot be empty');
  if (!pyTruthy(version)) throw new PyError('AnsibleFilterError', 'Version parameter to compare against cannot be empty');
  let parse = looseVersion;
  if (pyTruthy(strictArg)) parse = strictVersion;
  else if (versionType !== null) {
    if (versionType === 'loose') parse = looseVersion;
    else if (versionType === 'strict') parse = strictVersion;
    else throw new Unsupported(`the version test's version_type=${pyStr(versionType)}`);
  }
  const op = ops[str(operator)];
  if (!op) throw new PyError('AnsibleFilterError', `Invalid operator type (${pyStr(operator)})`);
  let c: number;
  try {
    c = pyCmp(parse(str(value)), parse(str(version)));
  } catch (err) {
    throw new PyError('AnsibleFilterError', `Version comparison failed: ${(err as Error).message}`);
  }
  return { eq: c === 0, ne: c !== 0, lt: c < 0, le: c <= 0, gt: c > 0, ge: c >= 0 }[op] as boolean;
}

function resultDict(test: string, v: unknown): Record<string, unknown> {
  strict(v);
  if (!isPlainObject(v)) throw new PyError('AnsibleFilterError', `The '${test}' test expects a dictionary`);
  return v;
}
const changed = (v: unknown): unknown => {
  const r = resultDict('changed', v);
  if (!('changed' in r)) {
    const results = r.results;
    if (Array.isArray(results) && isPlainObject(results[0])) return results.some((x) => isPlainObject(x) && pyTruthy(x.changed ?? false));
    return false;
  }
  return r.changed;
};
const failed = (v: unknown): unknown => resultDict('failed', v).failed ?? false;
const skipped = (v: unknown): unknown => resultDict('skipped', v).skipped ?? false;
const unreachable = (v: unknown): unknown => resultDict('unreachable', v).unreachable ?? false;

function regexTest(value: unknown, pattern: unknown, ignorecase: unknown, multiline: unknown, kind: 'match' | 'search'): boolean {
  const rx = pyCompile(str(pattern), pyTruthy(ignorecase), pyTruthy(multiline));
  const s = str(value);
  return (kind === 'match' ? pyMatch(rx, s) : pySearch(rx, s)) !== undefined;
}

type TestFn = (value: unknown, args: unknown[], kw: Record<string, unknown>) => unknown;
const t1 = (fn: (v: unknown) => unknown): TestFn => (v, args, kw) => {
  if (args.length > 0 || Object.keys(kw).length > 0) throw new PyError('TypeError', 'the test takes no arguments');
  return fn(v);
};
const t2 = (fn: (v: unknown, o: unknown) => unknown): TestFn => (v, args, kw) => {
  const p = bind('test', args, kw, [['other', REQUIRED]]);
  return fn(v, p.other);
};

export const TESTS: Record<string, TestFn> = {
  defined: t1((v) => !isUndef(v) && v !== undefined),
  undefined: t1((v) => isUndef(v) || v === undefined),
  none: t1((v) => strict(v) === null),
  string: t1((v) => typeof strict(v) === 'string'),
  number: t1((v) => isNumber(strict(v))),
  integer: t1((v) => isInt(strict(v)) && !(v instanceof PyFloat)),
  float: t1((v) => isFloat(strict(v))),
  boolean: t1((v) => typeof strict(v) === 'boolean'),
  true: t1((v) => strict(v) === true),
  false: t1((v) => strict(v) === false),
  mapping: t1((v) => isPlainObject(strict(v))),
  iterable: t1((v) => {
    strict(v);
    return typeof v === 'string' || Array.isArray(v) || isPlainObject(v);
  }),
  sequence: t1((v) => {
    strict(v);
    return typeof v === 'string' || Array.isArray(v) || isPlainObject(v);
  }),
  even: t1((v) => num(strict(v) as number) % 2 === 0),
  odd: t1((v) => Math.abs(num(strict(v) as number) % 2) === 1),
  divisibleby: t2((v, n) => num(strict(v) as number) % num(strict(n) as number) === 0),
  lower: t1((v) => {
    const s = str(v);
    return s === s.toLowerCase();
  }),
  upper: t1((v) => {
    const s = str(v);
    return s === s.toUpperCase();
  }),
  in: t2((v, seq) => pyIn(strict(v), strict(seq))),
  eq: t2((v, o) => pyCompare('==', strict(v), strict(o))),
  ne: t2((v, o) => pyCompare('!=', strict(v), strict(o))),
  lt: t2((v, o) => pyCompare('<', strict(v), strict(o))),
  le: t2((v, o) => pyCompare('<=', strict(v), strict(o))),
  gt: t2((v, o) => pyCompare('>', strict(v), strict(o))),
  ge: t2((v, o) => pyCompare('>=', strict(v), strict(o))),
  match: (v, args, kw) => {
    const p = bind('match', args, kw, [['pattern', ''], ['ignorecase', false], ['multiline', false]]);
    return regexTest(v, p.pattern, p.ignorecase, p.multiline, 'match');
  },
  search: (v, args, kw) => {
    const p = bind('search', args, kw, [['pattern', ''], ['ignorecase', false], ['multiline', false]]);
    return regexTest(v, p.pattern, p.ignorecase, p.multiline, 'search');
  },
  regex: (v, args, kw) => {
    const p = bind('regex', args, kw, [['pattern', ''], ['ignorecase', false], ['multiline', false], ['match_type', 'search']]);
    if (p.match_type !== 'search' && p.match_type !== 'match') throw new Unsupported(`the regex test's match_type=${pyStr(p.match_type)}`);
    return regexTest(v, p.pattern, p.ignorecase, p.multiline, p.match_type);
  },
  contains: t2((seq, v) => pyIn(strict(v), strict(seq))),
  subset: t2((a, b) => iterate(a, 'subset').every((x) => iterate(b, 'subset').some((y) => pyEq(x, y)))),
  superset: t2((a, b) => iterate(b, 'superset').every((x) => iterate(a, 'superset').some((y) => pyEq(x, y)))),
  any: t1((v) => iterate(v, 'any').some((x) => truthy(x))),
  all: t1((v) => iterate(v, 'all').every((x) => truthy(x))),
  truthy: (v, args, kw) => {
    const p = bind('truthy', args, kw, [['convert_bool', false]]);
    if (pyTruthy(p.convert_bool)) throw new Unsupported('the truthy test with convert_bool');
    return truthy(v);
  },
  falsy: (v, args, kw) => {
    const p = bind('falsy', args, kw, [['convert_bool', false]]);
    if (pyTruthy(p.convert_bool)) throw new Unsupported('the falsy test with convert_bool');
    return !truthy(v);
  },
  version: (v, args, kw) => {
    const p = bind('version', args, kw, [['version', REQUIRED], ['operator', 'eq'], ['strict', null], ['version_type', null]]);
    return versionCompare(strict(v), p.version, p.operator, p.strict, p.version_type);
  },
  changed: t1(changed),
  failed: t1(failed),
  succeeded: t1((v) => !pyTruthy(failed(v))),
  skipped: t1(skipped),
  reachable: t1((v) => !pyTruthy(unreachable(v))),
  unreachable: t1(unreachable),
};
TESTS.version_compare = TESTS.version as TestFn;
TESTS.equalto = TESTS.eq as TestFn;
TESTS['=='] = TESTS.eq as TestFn;
TESTS['!='] = TESTS.ne as TestFn;
TESTS['<'] = TESTS.lt as TestFn;
TESTS['<='] = TESTS.le as TestFn;
TESTS['>'] = TESTS.gt as TestFn;
TESTS['>='] = TESTS.ge as TestFn;
TESTS.lessthan = TESTS.lt as TestFn;
TESTS.greaterthan = TESTS.gt as TestFn;
TESTS.change = TESTS.changed as TestFn;
TESTS.failure = TESTS.failed as TestFn;
TESTS.success = TESTS.succeeded as TestFn;
TESTS.successful = TESTS.succeeded as TestFn;
TESTS.skip = TESTS.skipped as TestFn;

export function runTest(name: string, value: unknown, rawArgs: unknown[]): boolean {
  const fn = TESTS[name];
  if (!fn) throw new Unsupported(`the test "${name}" (not an Ansible/Jinja2 test this tool supports)`);
  const { args, kw } = splitKeywords(rawArgs);
  return pyTruthy(fn(value, args, kw));
}

// ---- filters -----------------------------------------------------------------------

type FilterFn = (value: unknown, args: unknown[], kw: Record<string, unknown>) => unknown;

/** Filters whose string result Ansible keeps a string (no literal_eval): ansible's STRING_TYPE_FILTERS. */
export const STRING_TYPE_FILTERS = new Set(['string', 'to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml', 'ppretty', 'json']);
/** Filters that accept an undefined value. */
const LENIENT = new Set(['default', 'd', 'mandatory']);

const f = (params: [string, unknown][], body: (v: unknown, p: Record<string, unknown>) => unknown, name = 'filter'): FilterFn => (v, args, kw) => body(v, bind(name, args, kw, params));

function toBool(v: unknown): unknown {
  if (v === null || typeof v === 'boolean') return v;
  const x = typeof v === 'string' ? v.toLowerCase() : v;
  if (typeof x === 'string') return ['yes', 'on', '1', 'true'].includes(x);
  if (isNumber(x)) return num(x) === 1;
  return false;
}

function toInt(v: unknown, dflt: unknown, base: unknown): unknown {
  if (isNumber(v)) return Math.trunc(num(v));
  const b = num(base as number);
  if (typeof v === 'string') {
    const s = pyStrip(v, null, true, true).replace(/(\d)_(?=\d)/g, '$1');
    const digits = b === 16 ? /^[-+]?(0x)?[0-9a-f]+$/i : b === 8 ? /^[-+]?(0o)?[0-7]+$/i : b === 2 ? /^[-+]?(0b)?[01]+$/i : b === 10 ? /^[-+]?\d+$/ : undefined;
    if (!digits) throw new Unsupported(`int with base ${b}`);
    if (digits.test(s)) {
      const n = Number.parseInt(s.replace(/^([-+]?)0[xob]/i, '$1'), b);
      if (!Number.isSafeInteger(n)) throw new Unsupported(`int of ${JSON.stringify(s)}, larger than JavaScript numbers hold exactly`);
      return n;
    }
    if (b === 10) {
      const fl = toFloat(v, undefined);
      if (fl !== undefined) return Math.trunc(num(fl as number));
    }
    return dflt;
  }
  return dflt;
}

function toFloat(v: unknown, dflt: unknown): unknown {
  if (isNumber(v)) return pyFloat(num(v));
  if (typeof v === 'string') {
    const s = pyStrip(v, null, true, true).replace(/(\d)_(?=\d)/g, '$1');
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return pyFloat(Number(s));
    if (/^[-+]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (/^[-+]?nan$/i.test(s)) return Number.NaN;
  }
  return dflt;
}

/** Python's round() for floats: half to even. */
function pyRound(x: number, digits: number): number {
  const m = 10 ** digits;
  const y = x * m;
  let r = Math.round(y);
  if (Math.abs(y % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return r / m;
}

function mapFilter(v: unknown, args: unknown[], kw: Record<string, unknown>, ctx: FilterContext): unknown {
  const items = iterate(v, 'map');
  if (args.length === 0 && 'attribute' in kw) {
    const { attribute, default: dflt, ...rest } = kw;
    if (Object.keys(rest).length > 0) throw new PyError('FilterArgumentError', 'Unexpected keyword argument');
    return items.map(attrgetter(attribute, dflt));
  }
  const [name, ...fargs] = args;
  if (typeof name !== 'string') throw new PyError('FilterArgumentError', 'map requires a filter argument');
  return items.map((i) => callFilter(name, i, Object.keys(kw).length > 0 ? [...fargs, { ...kw, __keywords: true }] : fargs, ctx));
}

function selectFilter(v: unknown, args: unknown[], kw: Record<string, unknown>, keep: boolean, attr: boolean): unknown {
  const items = iterate(v, attr ? 'selectattr' : 'select');
  let get = (x: unknown) => x;
  let rest = args;
  if (attr) {
    if (args.length === 0) throw new PyError('FilterArgumentError', 'Missing parameter for attribute name');
    get = attrgetter(args[0]);
    rest = args.slice(1);
  }
  const [testName, ...testArgs] = rest;
  const passes = (x: unknown): boolean => {
    const val = get(x);
    if (testName === undefined) return truthy(val);
    return runTest(str(testName), val, Object.keys(kw).length > 0 ? [...testArgs, { ...kw, __keywords: true }] : testArgs);
  };
  return items.filter((x) => passes(x) === keep);
}

export interface FilterContext {
  /** The environment that lookup('env', ...) reads. */
  readonly env: NodeJS.ProcessEnv;
}

type AnyFilter = (v: unknown, args: unknown[], kw: Record<string, unknown>, ctx: FilterContext) => unknown;
const FILTERS: Record<string, AnyFilter> = {
  // ---- undefined and defaults
  default: f([['default_value', ''], ['boolean', false]], (v, p) => (isUndef(v) || v === undefined || (pyTruthy(p.boolean) && !truthy(v)) ? p.default_value : v), 'default'),
  mandatory: f([['msg', null]], (v, p) => {
    if (isUndef(v) || v === undefined) {
      if (p.msg !== null) throw new PyError('AnsibleFilterError', str(p.msg));
      throw new UndefinedUse(isUndef(v) ? v.variableName : '(undefined value)', `Mandatory variable '${isUndef(v) ? v.variableName : ''}' not defined.`);
    }
    return v;
  }, 'mandatory'),
  ternary: f([['true_val', REQUIRED], ['false_val', REQUIRED], ['none_val', null]], (v, p) => (v === null && p.none_val !== null ? p.none_val : truthy(v) ? p.true_val : p.false_val), 'ternary'),
  // ---- types
  bool: f([], (v) => toBool(v), 'bool'),
  int: f([['default', 0], ['base', 10]], (v, p) => toInt(v, p.default, p.base), 'int'),
  float: f([['default', new PyFloat(0)]], (v, p) => toFloat(v, p.default), 'float'),
  string: f([], (v) => str(v), 'string'),
  list: f([], (v) => [...iterate(v, 'list')], 'list'),
  type_debug: f([], (v) => {
    if (typeof v === 'string') throw new Unsupported('type_debug of a string (Ansible names its internal string classes)');
    return typeName(v);
  }, 'type_debug'),
  // ---- strings
  lower: f([], (v) => str(v).toLowerCase(), 'lower'),
  upper: f([], (v) => str(v).toUpperCase(), 'upper'),
  capitalize: f([], (v) => capitalize(str(v)), 'capitalize'),
  title: f([], (v) => str(v).split(/([-\s({[<]+)/u).filter((x) => x !== '').map((x) => capitalize(x)).join(''), 'title'),
  replace: f([['old', REQUIRED], ['new', REQUIRED], ['count', null]], (v, p) => pyReplace(str(v), str(p.old), str(p.new), p.count), 'replace'),
  trim: f([['chars', null]], (v, p) => pyStrip(str(v), p.chars, true, true), 'trim'),
  split: f([['sep', null], ['maxsplit', -1]], (v, p) => pySplit(str(v), p.sep, p.maxsplit), 'split'),
  join: f([['d', ''], ['attribute', null]], (v, p) => {
    const get = p.attribute === null ? (x: unknown) => x : attrgetter(p.attribute);
    return iterate(v, 'join').map((x) => str(get(x))).join(str(p.d));
  }, 'join'),
  indent: f([['width', 4], ['first', false], ['blank', false]], (v, p) => {
    const ind = typeof p.width === 'string' ? p.width : ' '.repeat(num(p.width as number));
    const lines = splitlines(`${str(v)}\n`);
    let rv: string;
    if (pyTruthy(p.blank)) rv = lines.join(`\n${ind}`);
    else {
      rv = lines.shift() ?? '';
      if (lines.length > 0) rv += `\n${lines.map((l) => (l ? ind + l : l)).join('\n')}`;
    }
    return pyTruthy(p.first) ? ind + rv : rv;
  }, 'indent'),
  center: f([['width', 80]], (v, p) => {
    const s = str(v);
    const w = num(p.width as number);
    const n = [...s].length;
    if (w <= n) return s;
    const marg = w - n;
    const left = Math.floor(marg / 2) + (marg & w & 1);
    return ' '.repeat(left) + s + ' '.repeat(marg - left);
  }, 'center'),
  truncate: f([['length', 255], ['killwords', false], ['end', '...'], ['leeway', null]], (v, p) => {
    const s = [...str(v)];
    const len = num(p.length as number);
    const end = str(p.end);
    const leeway = p.leeway === null ? 5 : num(p.leeway as number);
    if (s.length <= len + leeway) return s.join('');
    if (pyTruthy(p.killwords)) return s.slice(0, len - end.length).join('') + end;
    const head = s.slice(0, len - end.length).join('');
    const k = head.lastIndexOf(' ');
    return (k < 0 ? head : head.slice(0, k)) + end;
  }, 'truncate'),
  wordcount: f([], (v) => (str(v).match(/[\p{L}\p{N}_]+/gu) ?? []).length, 'wordcount'),
  format: (v, args, kw) => {
    if (Object.keys(kw).length > 0) {
      if (args.length > 0) throw new PyError('FilterArgumentError', "can't handle positional and keyword arguments at the same time");
      return percentFormat(str(v), kw);
    }
    return percentFormat(str(v), tuple([...args]));
  },
  reverse: f([], (v) => (typeof v === 'string' ? [...v].reverse().join('') : [...iterate(v, 'reverse')].reverse()), 'reverse'),
  quote: f([], (v) => shlexQuote(v === null ? '' : str(v)), 'quote'),
  b64encode: f([['encoding', 'utf-8']], (v, p) => {
    if (p.encoding !== 'utf-8') throw new Unsupported(`b64encode with encoding ${pyStr(p.encoding)}`);
    return Buffer.from(str(v), 'utf8').toString('base64');
  }, 'b64encode'),
  b64decode: f([['encoding', 'utf-8']], (v, p) => {
    if (p.encoding !== 'utf-8') throw new Unsupported(`b64decode with encoding ${pyStr(p.encoding)}`);
    return b64decode(str(v));
  }, 'b64decode'),
  basename: f([], (v) => posixBasename(str(v)), 'basename'),
  dirname: f([], (v) => posixDirname(str(v)), 'dirname'),
  // ---- regular expressions (Python re)
  regex_replace: f([['pattern', ''], ['replacement', ''], ['ignorecase', false], ['multiline', false]], (v, p) => pySub(pyCompile(str(p.pattern), pyTruthy(p.ignorecase), pyTruthy(p.multiline)), str(p.replacement), str(v)), 'regex_replace'),
  regex_search: (v, args, kw) => {
    const [pattern, ...groups] = args;
    for (const k of Object.keys(kw)) if (k !== 'ignorecase' && k !== 'multiline') throw new PyError('TypeError', `regex_search() got an unexpected keyword argument '${k}'`);
    if (pattern === undefined) throw new PyError('TypeError', 'regex_search() missing required argument: regex');
    const refs = groups.map((g) => {
      const s = str(g);
      const named = /^\\g<(\S+)>/.exec(s);
      if (s.startsWith('\\g')) {
        if (!named) throw new PyError('AttributeError', 'bad group reference');
        return /^\d+$/.test(named[1] as string) ? Number(named[1]) : (named[1] as string);
      }
      const n = /^\\(\d+)/.exec(s);
      if (s.startsWith('\\')) {
        if (!n) throw new PyError('AttributeError', 'bad group reference');
        return Number(n[1]);
      }
      throw new PyError('AnsibleFilterError', 'Unknown argument');
    });
    const m = pySearch(pyCompile(str(pattern), pyTruthy(kw.ignorecase), pyTruthy(kw.multiline)), str(v));
    if (!m) return null;
    if (refs.length === 0) return m[0];
    return refs.map((g) => pyGroup(m, g));
  },
  regex_findall: f([['regex', REQUIRED], ['multiline', false], ['ignorecase', false]], (v, p) => pyFindall(pyCompile(str(p.regex), pyTruthy(p.ignorecase), pyTruthy(p.multiline)), str(v)), 'regex_findall'),
  regex_escape: f([['re_type', 'python']], (v, p) => {
    const s = str(v);
    if (p.re_type === 'python') return pyEscape(s);
    if (p.re_type === 'posix_basic') return s.replace(/[\].[^$*\\]/g, (c) => `\\${c}`);
    if (p.re_type === 'posix_extended') throw new PyError('AnsibleFilterError', 'Regex type (posix_extended) not yet implemented');
    throw new PyError('AnsibleFilterError', `Invalid regex type (${pyStr(p.re_type)})`);
  }, 'regex_escape'),
  // ---- lists and dicts
  length: f([], (v) => {
    strict(v);
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (isPlainObject(v)) return Object.keys(v).length;
    throw new PyError('TypeError', `object of type '${typeName(v)}' has no len()`);
  }, 'length'),
  first: f([], (v) => {
    const items = iterate(v, 'first');
    return items.length > 0 ? items[0] : new Undefined('first', 'No first item, sequence was empty.');
  }, 'first'),
  last: f([], (v) => {
    const items = iterate(v, 'last');
    return items.length > 0 ? items[items.length - 1] : new Undefined('last', 'No last item, sequence was empty.');
  }, 'last'),
  unique: f([['case_sensitive', null], ['attribute', null]], (v, p) => unique(iterate(v, 'unique'), pyTruthy(p.case_sensitive), p.attribute), 'unique'),
  union: f([['b', REQUIRED]], (v, p) => {
    const [a, b] = listsOnly('union', v, p.b);
    return unique([...a, ...b], true);
  }, 'union'),
  intersect: f([['b', REQUIRED]], (v, p) => {
    const [a, b] = listsOnly('intersect', v, p.b);
    return unique(a.filter((x) => b.some((y) => pyEq(x, y))), true);
  }, 'intersect'),
  difference: f([['b', REQUIRED]], (v, p) => {
    const [a, b] = listsOnly('difference', v, p.b);
    return unique(a.filter((x) => !b.some((y) => pyEq(x, y))), true);
  }, 'difference'),
  symmetric_difference: f([['b', REQUIRED]], (v, p) => {
    const [a, b] = listsOnly('symmetric_difference', v, p.b);
    const isect = unique(a.filter((x) => b.some((y) => pyEq(x, y))), true);
    return unique([...a, ...b], true).filter((x) => !isect.some((y) => pyEq(x, y)));
  }, 'symmetric_difference'),
  flatten: f([['levels', null], ['skip_nulls', true]], (v, p) => flatten(iterate(v, 'flatten'), p.levels === null ? null : num(p.levels as number), pyTruthy(p.skip_nulls)), 'flatten'),
  map: mapFilter,
  select: (v, args, kw) => selectFilter(v, args, kw, true, false),
  reject: (v, args, kw) => selectFilter(v, args, kw, false, false),
  selectattr: (v, args, kw) => selectFilter(v, args, kw, true, true),
  rejectattr: (v, args, kw) => selectFilter(v, args, kw, false, true),
  dict2items: f([['key_name', 'key'], ['value_name', 'value']], (v, p) => {
    strict(v);
    if (!isPlainObject(v)) throw new PyError('AnsibleFilterTypeError', `dict2items requires a dictionary, got ${typeName(v)} instead.`);
    return Object.entries(v).map(([k, x]) => ({ [str(p.key_name)]: k, [str(p.value_name)]: x }));
  }, 'dict2items'),
  items2dict: f([['key_name', 'key'], ['value_name', 'value']], (v, p) => {
    strict(v);
    if (!Array.isArray(v)) throw new PyError('AnsibleFilterTypeError', `items2dict requires a list, got ${typeName(v)} instead.`);
    const pairs: [string, unknown][] = [];
    for (const item of v) {
      if (!isPlainObject(item)) throw new PyError('AnsibleFilterTypeError', 'items2dict requires a list of dictionaries');
      const k = str(p.key_name);
      const val = str(p.value_name);
      if (!(k in item) || !(val in item)) throw new PyError('AnsibleFilterTypeError', `items2dict requires each dictionary in the list to contain the keys '${k}' and '${val}'`);
      const key = item[k];
      if (typeof key !== 'string') throw new Unsupported(`items2dict with a key of type ${typeName(key)}`);
      pairs.push([key, item[val]]);
    }
    return orderedDict(pairs);
  }, 'items2dict'),
  combine: (v, args, kw) => {
    const { recursive = false, list_merge: listMerge = 'replace', ...rest } = kw;
    if (Object.keys(rest).length > 0) throw new PyError('AnsibleFilterError', "'recursive' and 'list_merge' are the only valid keyword arguments");
    if (!['replace', 'keep', 'append', 'prepend', 'append_rp', 'prepend_rp'].includes(str(listMerge))) throw new PyError('AnsibleError', "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'");
    const dicts = flatten([v, ...args], 1, true);
    strictDeep(dicts);
    if (dicts.length === 0) return {};
    for (const d of dicts) if (!isPlainObject(d)) throw new PyError('AnsibleFilterTypeError', `failed to combine variables, expected dicts but got a '${typeName(d)}'`);
    if (dicts.length === 1) return dicts[0];
    let result = dicts[dicts.length - 1] as Record<string, unknown>;
    for (let i = dicts.length - 2; i >= 0; i--) result = mergeHash(dicts[i] as Record<string, unknown>, result, pyTruthy(recursive), str(listMerge));
    return result;
  },
  zip: (v, args, kw) => {
    if (Object.keys(kw).length > 0) throw new PyError('TypeError', 'zip() takes no keyword arguments');
    const lists = [v, ...args].map((x) => iterate(x, 'zip'));
    const n = Math.min(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_x, i) => tuple(lists.map((l) => l[i])));
  },
  zip_longest: (v, args, kw) => {
    const { fillvalue = null, ...rest } = kw;
    if (Object.keys(rest).length > 0) throw new PyError('TypeError', 'zip_longest() got an unexpected keyword argument');
    const lists = [v, ...args].map((x) => iterate(x, 'zip_longest'));
    const n = Math.max(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_x, i) => tuple(lists.map((l) => (i < l.length ? l[i] : fillvalue))));
  },
  sort: f([['reverse', false], ['case_sensitive', false], ['attribute', null]], (v, p) => pySort(iterate(v, 'sort'), sortKey(pyTruthy(p.case_sensitive), p.attribute), pyTruthy(p.reverse)), 'sort'),
  dictsort: f([['case_sensitive', false], ['by', 'key'], ['reverse', false]], (v, p) => {
    strict(v);
    if (!isPlainObject(v)) throw new PyError('TypeError', 'dictsort requires a mapping');
    const pos = p.by === 'key' ? 0 : p.by === 'value' ? 1 : undefined;
    if (pos === undefined) throw new PyError('FilterArgumentError', 'You can only sort by either "key" or "value"');
    const items = Object.entries(v).map(([k, x]) => tuple([k, x]));
    return pySort(items, (it) => sortKey(pyTruthy(p.case_sensitive), null)((it as unknown[])[pos]), pyTruthy(p.reverse));
  }, 'dictsort'),
  items: f([], (v) => {
    if (isUndef(v)) return [];
    if (!isPlainObject(v)) throw new PyError('TypeError', 'Can only get item pairs from a mapping.');
    return Object.entries(v).map(([k, x]) => tuple([k, x]));
  }, 'items'),
  batch: f([['linecount', REQUIRED], ['fill_with', null]], (v, p) => {
    const items = iterate(v, 'batch');
    const n = num(p.linecount as number);
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
    const lastRow = out[out.length - 1];
    if (p.fill_with !== null && lastRow) while (lastRow.length < n) lastRow.push(p.fill_with);
    return out;
  }, 'batch'),
  groupby: f([['attribute', REQUIRED], ['default', null], ['case_sensitive', false]], (v, p) => {
    const get = attrgetter(p.attribute, p.default === null ? undefined : p.default);
    const key = (x: unknown) => {
      const k = strict(get(x));
      return !pyTruthy(p.case_sensitive) && typeof k === 'string' ? k.toLowerCase() : k;
    };
    const sorted = pySort(iterate(v, 'groupby'), key, false);
    const out: unknown[] = [];
    for (const x of sorted) {
      const k = key(x);
      const lastGroup = out[out.length - 1] as [unknown, unknown[]] | undefined;
      if (lastGroup && pyEq(key(lastGroup[1][0]), k)) lastGroup[1].push(x);
      else out.push(tuple([strict(get(x)), [x]]));
    }
    return out;
  }, 'groupby'),
  min: f([['case_sensitive', false], ['attribute', null]], (v, p) => {
    const items = iterate(v, 'min');
    if (items.length === 0) return new Undefined('min', 'No aggregated item, sequence was empty.');
    return pySort(items, sortKey(pyTruthy(p.case_sensitive), p.attribute), false)[0];
  }, 'min'),
  max: f([['case_sensitive', false], ['attribute', null]], (v, p) => {
    const items = iterate(v, 'max');
    if (items.length === 0) return new Undefined('max', 'No aggregated item, sequence was empty.');
    const key = sortKey(pyTruthy(p.case_sensitive), p.attribute);
    return items.reduce((best, x) => (pyCmp(key(x), key(best)) > 0 ? x : best));
  }, 'max'),
  sum: f([['attribute', null], ['start', 0]], (v, p) => {
    const get = p.attribute === null ? (x: unknown) => x : attrgetter(p.attribute);
    return iterate(v, 'sum').reduce((acc: unknown, x) => {
      const y = strict(get(x));
      if (isNumber(acc) && isNumber(y)) return isFloat(acc) || isFloat(y) ? pyFloat(num(acc) + num(y)) : num(acc) + num(y);
      if (Array.isArray(acc) && Array.isArray(y)) return [...acc, ...y];
      throw new PyError('TypeError', `unsupported operand type(s) for +: '${typeName(acc)}' and '${typeName(y)}'`);
    }, p.start);
  }, 'sum'),
  abs: f([], (v) => {
    strict(v);
    if (!isNumber(v)) throw new PyError('TypeError', `bad operand type for abs(): '${typeName(v)}'`);
    return isFloat(v) ? pyFloat(Math.abs(num(v))) : Math.abs(num(v));
  }, 'abs'),
  round: f([['precision', 0], ['method', 'common']], (v, p) => {
    strict(v);
    if (!isNumber(v)) throw new PyError('TypeError', `type ${typeName(v)} doesn't define __round__ method`);
    const prec = num(p.precision as number);
    if (p.method === 'common') return isFloat(v) ? pyFloat(pyRound(num(v), prec)) : num(v);
    if (p.method !== 'ceil' && p.method !== 'floor') throw new PyError('FilterArgumentError', 'method must be common, ceil or floor');
    const m = 10 ** prec;
    return pyFloat((p.method === 'ceil' ? Math.ceil(num(v) * m) : Math.floor(num(v) * m)) / m);
  }, 'round'),
  // ---- data formats
  to_json: (v, args, kw) => {
    const { sort_keys: sortKeys = false, indent = null, ensure_ascii: ensureAscii = true, ...rest } = kw;
    if (args.length > 0 || Object.keys(rest).length > 0) throw new Unsupported(`to_json arguments other than sort_keys, indent, ensure_ascii`);
    return jsonDumps(strictDeep(v), { sortKeys: pyTruthy(sortKeys), indent: indent as number | null, ensureAscii: pyTruthy(ensureAscii) });
  },
  to_nice_json: (v, args, kw) => {
    const p = bind('to_nice_json', args, kw, [['indent', 4], ['sort_keys', true], ['ensure_ascii', true]]);
    return jsonDumps(strictDeep(v), { indent: p.indent as number, sortKeys: pyTruthy(p.sort_keys), separators: [',', ': '], ensureAscii: pyTruthy(p.ensure_ascii) });
  },
  tojson: f([['indent', null]], (v, p) =>
    jsonDumps(strictDeep(v), { sortKeys: true, indent: p.indent as number | null }).replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), 'tojson'),
  from_json: f([], (v) => jsonLoads(str(v)), 'from_json'),
  from_yaml: f([], (v) => (typeof v === 'string' ? yamlLoad(v) : v), 'from_yaml'),
  to_yaml: (v, args, kw) => {
    const { default_flow_style: dfs = null, indent = 2, ...rest } = kw;
    if (args.length > 0 || Object.keys(rest).length > 0) throw new Unsupported('to_yaml arguments other than default_flow_style and indent');
    return pyYamlDump(strictDeep(v), dfs === null ? null : pyTruthy(dfs), num(indent as number));
  },
  to_nice_yaml: (v, args, kw) => {
    const p = bind('to_nice_yaml', args, kw, [['indent', 4]]);
    return pyYamlDump(strictDeep(v), false, num(p.indent as number));
  },
  // ---- hashes
  hash: f([['hashtype', 'sha1']], (v, p) => hashHex(str(p.hashtype), str(v)), 'hash'),
  md5: f([], (v) => hashHex('md5', str(v)), 'md5'),
  sha1: f([], (v) => hashHex('sha1', str(v)), 'sha1'),
  checksum: f([], (v) => hashHex('sha1', str(v)), 'checksum'),
  password_hash: f([['hashtype', 'sha512'], ['salt', null], ['salt_size', null], ['rounds', null], ['ident', null]], (v, p) => {
    // ansible-core's crypt(3) path (the one without passlib): glibc's defaults
    const names: Record<string, string> = { md5: 'md5_crypt', blowfish: 'bcrypt', sha256: 'sha256_crypt', sha512: 'sha512_crypt' };
    const type = names[str(p.hashtype)] ?? str(p.hashtype);
    const algo = Object.hasOwn(CRYPT_ALGOS, type) ? CRYPT_ALGOS[type as CryptAlgo] : undefined;
    if (!algo) {
      if (type === 'bcrypt') throw new Unsupported('password_hash with bcrypt (blowfish)');
      throw new PyError('AnsibleFilterError', `crypt.crypt does not support '${type}' algorithm`);
    }
    if (typeof v !== 'string') throw new PyError('TypeError', `password_hash needs a string, got ${typeName(v)}`);
    if (p.ident !== null) throw new Unsupported('password_hash with ident=');
    const saltSize = p.salt_size === null ? algo.saltSize : num(p.salt_size as number);
    const salt = p.salt === null || p.salt === '' ? randomSalt(saltSize) : str(p.salt);
    if (/[^./0-9A-Za-z]/.test(salt)) throw new PyError('AnsibleFilterError', 'invalid characters in salt');
    if (salt.length > algo.saltSize) throw new PyError('AnsibleFilterError', 'invalid salt size');
    let rounds = p.rounds === null ? undefined : num(p.rounds as number);
    if (rounds === algo.implicitRounds) rounds = undefined;
    if (algo.id === 'md5') {
      if (rounds !== undefined) throw new Unsupported('password_hash md5 with rounds=');
      return md5Crypt(v, salt);
    }
    return shaCrypt(algo.id, v, salt, rounds);
  }, 'password_hash'),
};
FILTERS.d = FILTERS.default as FilterFn;
FILTERS.count = FILTERS.length as FilterFn;

const HASHES = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']);
const PY_ONLY_HASHES = new Set(['blake2b', 'blake2s', 'sha3_224', 'sha3_256', 'sha3_384', 'sha3_512', 'shake_128', 'shake_256', 'sm3', 'ripemd160', 'md5-sha1', 'sha512_224', 'sha512_256', 'md4', 'whirlpool', 'mdc2']);
function hashHex(type: string, data: string): string {
  if (HASHES.has(type)) return createHash(type).update(data, 'utf8').digest('hex');
  if (PY_ONLY_HASHES.has(type.toLowerCase())) throw new Unsupported(`hash('${type}')`);
  throw new PyError('AnsibleFilterError', `unsupported hash type ${type}`);
}

/** PyYAML's safe_load (YAML 1.1), which from_yaml uses: `yes`/`on` are booleans, `0644` is octal, `y` is a string. */
function yamlLoad(text: string): unknown {
  const PY_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
  const value = yamlPackage().parse(text, {
    version: '1.1',
    customTags: (tags) =>
      tags.map((t) => {
        const tag = t as { tag?: string; test?: RegExp; resolve?: (s: string) => unknown };
        if (tag.tag !== 'tag:yaml.org,2002:bool') return t;
        return { ...tag, test: PY_BOOL, resolve: (s: string) => /^(?:yes|true|on)$/i.test(s) } as typeof t;
      }),
  }) as unknown;
  const check = (v: unknown): unknown => {
    if (v instanceof Date || v instanceof Map || v instanceof Set || v instanceof Uint8Array) throw new Unsupported(`from_yaml of a ${v.constructor.name} value`);
    if (typeof v === 'number' && !Number.isInteger(v)) return v;
    if (Array.isArray(v)) return v.map(check);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, check(x)]));
    return v;
  };
  return check(value);
}

/** Call a filter by name: used by templates and by `map`. */
export function callFilter(name: string, value: unknown, rawArgs: unknown[], ctx: FilterContext): unknown {
  const fn = FILTERS[name];
  if (!fn || !Object.prototype.hasOwnProperty.call(FILTERS, name)) throw new Unsupported(`the filter "${name}" (not an Ansible/Jinja2 filter this tool supports)`);
  const { args, kw } = splitKeywords(rawArgs);
  if (!LENIENT.has(name)) {
    strict(value);
    args.forEach(strict);
  }
  return fn(value, args, kw, ctx);
}

export const FILTER_NAMES: readonly string[] = Object.keys(FILTERS);
export const TEST_NAMES: readonly string[] = Object.keys(TESTS);

// ---- globals ------------------------------------------------------------------------

/** Python's dict(): from pairs and/or keyword arguments. */
export function pyDict(...rawArgs: unknown[]): Record<string, unknown> {
  const { args, kw } = splitKeywords(rawArgs);
  if (args.length > 1) throw new PyError('TypeError', `dict expected at most 1 argument, got ${args.length}`);
  const pairs: [string, unknown][] = [];
  if (args.length === 1) {
    const src = strict(args[0]);
    if (isPlainObject(src)) pairs.push(...Object.entries(src));
    else
      for (const item of iterate(src, 'dict')) {
        const pair = typeof item === 'string' ? [...item] : item;
        if (!Array.isArray(pair) || pair.length !== 2) throw new PyError('ValueError', 'dictionary update sequence element has wrong length; 2 is required');
        const k = strict(pair[0]);
        if (typeof k !== 'string') throw new Unsupported(`a dictionary key of type ${typeName(k)} (only string keys)`);
        pairs.push([k, pair[1]]);
      }
  }
  pairs.push(...Object.entries(kw));
  return orderedDict(pairs);
}

/** Jinja's range(). */
export function pyRange(...args: unknown[]): number[] {
  const n = args.map((a) => num(strict(a) as number));
  const [start, stop, step] = n.length === 1 ? [0, n[0] as number, 1] : [n[0] as number, n[1] as number, n[2] ?? 1];
  if (step === 0) throw new PyError('ValueError', 'range() arg 3 must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push(i);
    if (out.length > 100_000) throw new PyError('OverflowError', 'Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).');
  }
  return out;
}

/** Ansible's lookup()/query(): only the `env` lookup runs here. */
export function lookup(wantlist: boolean, ctx: FilterContext, name: unknown, ...rawArgs: unknown[]): unknown {
  const plugin = str(name);
  const { args, kw } = splitKeywords(rawArgs);
  if (plugin !== 'env') throw new Unsupported(`the lookup plugin "${plugin}" (only lookup('env', ...) runs in templates here)`);
  const { default: dflt = '', wantlist: wl, errors, ...rest } = kw;
  if (errors !== undefined) throw new Unsupported(`lookup(..., errors=...)`);
  if (Object.keys(rest).length > 0) throw new PyError('AnsibleError', `Unrecognized option for env lookup: ${Object.keys(rest).join(', ')}`);
  const values = args.map((a) => {
    const varName = pySplit(str(a), null, -1)[0] ?? '';
    const v = ctx.env[varName];
    return v === undefined ? dflt : v;
  });
  if (wantlist || pyTruthy(wl)) return values;
  if (values.length === 0) return [];
  if (values.every((v) => typeof v === 'string')) return values.join(',');
  return values.length === 1 ? values[0] : values;
}
