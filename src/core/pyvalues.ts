/**
 * Python value semantics for templates, as Jinja2 (inside Ansible) applies them:
 * what `str()` / `repr()` print, truthiness, `==` and `<` between values, the
 * arithmetic operators, `ast.literal_eval` (which Ansible's native templating
 * runs on string results), `json.dumps` and `%` formatting.
 *
 * Values are plain JSON-like JavaScript data. Two Python distinctions that
 * JavaScript lacks are kept on the side:
 *  - a float with an integral value (`2.0`) is a `PyFloat` box while a template
 *    runs, so `'x' ~ (4 / 2)` prints `x2.0` like Python; every number that
 *    leaves the template engine is a plain number again;
 *  - tuples are arrays registered in a WeakSet, so they print as `(1, 2)`.
 */

let lastRaised: Error | undefined;
/** The last PyError or Unsupported raised (nunjucks does not always keep an error's cause). */
export const takeLastRaised = (): Error | undefined => lastRaised;
export const resetLastRaised = (): void => {
  lastRaised = undefined;
};

/** Raised for what Python raises (TypeError, ValueError, ZeroDivisionError, ...). */
export class PyError extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(`${pyType}: ${message}`);
    this.name = 'PyError';
    lastRaised = this;
  }
}

/** A deliberate refusal: Ansible would answer, we do not, and say so. */
export class Unsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unsupported';
    lastRaised = this;
  }
}

/** A Python float (only needed when its value is integral; other floats are plain numbers). */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return floatRepr(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

const tuples = new WeakSet<readonly unknown[]>();
export function tuple<T extends unknown[]>(items: T): T {
  tuples.add(items);
  return items;
}
export const isTuple = (v: unknown): boolean => Array.isArray(v) && tuples.has(v);

/** A float result: boxed when integral, so it still prints as `2.0`. */
export function pyFloat(n: number): number | PyFloat {
  return Number.isInteger(n) ? new PyFloat(n) : n;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** Python's numbers: int, float and bool (a subclass of int). */
export function isNumber(v: unknown): v is number | boolean | PyFloat {
  return typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;
}
export function num(v: number | boolean | PyFloat): number {
  return typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : v.value;
}
export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}
export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * A dict from key/value pairs in Python's order. JavaScript objects put keys
 * that look like array indexes ("10", "9") first, in numeric order: where that
 * would reorder the keys the result is refused, not silently reordered.
 */
export function orderedDict(pairs: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const order: string[] = [];
  for (const [k, v] of pairs) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) order.push(k);
    out[k] = v;
  }
  if (order.some((k) => ARRAY_INDEX.test(k))) {
    const got = Object.keys(out);
    if (got.some((k, i) => k !== order[i])) throw new Unsupported(`a mapping whose number-like keys (${order.filter((k) => ARRAY_INDEX.test(k)).slice(0, 3).join(', ')}) would lose their order`);
  }
  return out;
}

/** Python's type name, for messages. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (isFloat(v)) return 'float';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
  if (isPlainObject(v)) return 'dict';
  return typeof v;
}

/** Deep copy with PyFloat boxes opened: what leaves the engine. */
export function plainValue(v: unknown): unknown {
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(plainValue);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}

// ---- printing -------------------------------------------------------------------

/** Python's repr() of a float. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      out = `${intPart}.${frac === '' ? '0' : frac}`;
    } else {
      out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return neg ? `-${out}` : out;
}

function intStr(n: number): string {
  return Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n);
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr() of a str. */
export function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && (c < 0x20 || c === 0x7f || NON_PRINTABLE.test(ch))) {
      if (c <= 0xff) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, '0')}`;
      else out += `\\U${c.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + q;
}

/** Python's repr(). */
export function pyRepr(v: unknown): string {
  if (typeof v === 'string') return strRepr(v);
  if (Array.isArray(v)) {
    const inner = v.map(pyRepr).join(', ');
    if (isTuple(v)) return v.length === 1 ? `(${inner},)` : `(${inner})`;
    return `[${inner}]`;
  }
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, x]) => `${strRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyStr(v);
}

/** Python's str(). `undefinedCheck` throws for an undefined value. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatRepr(v);
  if (Array.isArray(v) || isPlainObject(v)) return pyRepr(v);
  return String(v);
}

// ---- truth, equality, order ------------------------------------------------------

export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

export function pyEq(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (isTuple(a) !== isTuple(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEq(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEq(a[k], b[k]));
  }
  return a === b;
}

/** -1, 0, 1 like Python's `<` between a and b, or TypeError. */
export function pyCmp(a: unknown, b: unknown, op = '<'): number {
  if (isNumber(a) && isNumber(b)) {
    const x = num(a);
    const y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    const x = [...a];
    const y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const cx = (x[i] as string).codePointAt(0) as number;
      const cy = (y[i] as string).codePointAt(0) as number;
      if (cx !== cy) return cx < cy ? -1 : 1;
    }
    return x.length - y.length < 0 ? -1 : x.length > y.length ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEq(a[i], b[i])) return pyCmp(a[i], b[i], op);
    }
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  }
  throw new PyError('TypeError', `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

export function pyCompare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return pyEq(a, b);
    case '!=':
      return !pyEq(a, b);
    case '<':
      return pyCmp(a, b, op) < 0;
    case '>':
      return pyCmp(a, b, op) > 0;
    case '<=':
      return pyCmp(a, b, op) <= 0;
    case '>=':
      return pyCmp(a, b, op) >= 0;
    default:
      throw new Unsupported(`the comparison operator ${op} is not Jinja2's`);
  }
}

/** Python's `a in b`. */
export function pyIn(a: unknown, b: unknown): boolean {
  if (typeof b === 'string') {
    if (typeof a !== 'string') throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(a)}`);
    return b.includes(a);
  }
  if (Array.isArray(b)) return b.some((x) => pyEq(x, a));
  if (isPlainObject(b)) return typeof a === 'string' && Object.prototype.hasOwnProperty.call(b, a);
  throw new PyError('TypeError', `argument of type '${typeName(b)}' is not iterable`);
}

// ---- arithmetic -------------------------------------------------------------------

function numResult(n: number, float: boolean): number | PyFloat {
  if (!float && !Number.isSafeInteger(n)) throw new Unsupported(`integer arithmetic beyond 2**53 (${n} would not be exact)`);
  return float ? pyFloat(n) : n;
}

function opError(op: string, a: unknown, b: unknown): never {
  throw new PyError('TypeError', `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function repeat(seq: unknown, times: unknown): unknown {
  if (typeof times !== 'number' && typeof times !== 'boolean') return undefined;
  if (!isInt(num(times))) return undefined;
  const n = Math.max(0, num(times));
  if (typeof seq === 'string') return seq.repeat(n);
  if (Array.isArray(seq)) {
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(...seq);
    return isTuple(seq) ? tuple(out) : out;
  }
  return undefined;
}

export function pyBinop(op: string, a: unknown, b: unknown): unknown {
  const numeric = isNumber(a) && isNumber(b);
  const float = numeric && (isFloat(a) || isFloat(b));
  switch (op) {
    case '+':
      if (numeric) return numResult(num(a) + num(b), float);
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
      if (typeof a === 'string') throw new PyError('TypeError', `can only concatenate str (not "${typeName(b)}") to str`);
      if (Array.isArray(a)) throw new PyError('TypeError', `can only concatenate list (not "${typeName(b)}") to list`);
      return opError('+', a, b);
    case '-':
      if (numeric) return numResult(num(a) - num(b), float);
      return opError('-', a, b);
    case '*': {
      if (numeric) return numResult(num(a) * num(b), float);
      const r = repeat(a, b) ?? repeat(b, a);
      if (r !== undefined) return r;
      return opError('*', a, b);
    }
    case '/':
      if (!numeric) return opError('/', a, b);
      if (num(b) === 0) throw new PyError('ZeroDivisionError', 'division by zero');
      return pyFloat(num(a) / num(b));
    case '//':
      if (!numeric) return opError('//', a, b);
      if (num(b) === 0) throw new PyError('ZeroDivisionError', 'integer division or modulo by zero');
      return numResult(Math.floor(num(a) / num(b)), float);
    case '%': {
      if (typeof a === 'string') return percentFormat(a, b);
      if (!numeric) return opError('%', a, b);
      const y = num(b);
      if (y === 0) throw new PyError('ZeroDivisionError', 'integer division or modulo by zero');
      const x = num(a);
      const r = x - y * Math.floor(x / y);
      return numResult(r, float);
    }
    case '**': {
      if (!numeric) return opError('** or pow()', a, b);
      const r = num(a) ** num(b);
      return numResult(r, float || num(b) < 0);
    }
    default:
      throw new Unsupported(`operator ${op}`);
  }
}

// ---- % formatting and str.format ---------------------------------------------------

/** Python's `fmt % args` for the conversions playbooks use (s r d i f F e x X o %). */
export function percentFormat(fmt: string, args: unknown): string {
  const list = Array.isArray(args) && isTuple(args) ? [...args] : [args];
  const mapping = isPlainObject(args) ? args : undefined;
  let i = 0;
  const out = fmt.replace(/%(?:\(([^)]*)\))?([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, key: string | undefined, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let v: unknown;
    if (key !== undefined) {
      if (!mapping) throw new PyError('TypeError', 'format requires a mapping');
      if (!(key in mapping)) throw new PyError('KeyError', strRepr(key));
      v = mapping[key];
    } else {
      if (i >= list.length) throw new PyError('TypeError', 'not enough arguments for format string');
      v = list[i++];
    }
    let s: string;
    switch (conv) {
      case 's':
        s = pyStr(v);
        if (prec !== undefined) s = s.slice(0, Number(prec));
        break;
      case 'r':
        s = pyRepr(v);
        break;
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!isNumber(v)) throw new PyError('TypeError', `%${conv} format: a real number is required, not ${typeName(v)}`);
        const n = Math.trunc(num(v));
        const base = conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
        s = Math.abs(n).toString(base);
        if (conv === 'X') s = s.toUpperCase();
        if (flags.includes('#') && base !== 10) s = (base === 16 ? (conv === 'X' ? '0X' : '0x') : '0o') + s;
        if (n < 0) s = `-${s}`;
        else if (flags.includes('+')) s = `+${s}`;
        else if (flags.includes(' ')) s = ` ${s}`;
        break;
      }
      case 'f':
      case 'F':
      case 'e': {
        if (!isNumber(v)) throw new PyError('TypeError', `must be real number, not ${typeName(v)}`);
        const n = num(v);
        s = conv === 'e' ? n.toExponential(prec === undefined ? 6 : Number(prec)).replace(/e([+-])(\d)$/, 'e$10$2') : n.toFixed(prec === undefined ? 6 : Number(prec));
        if (n >= 0 && flags.includes('+')) s = `+${s}`;
        break;
      }
      default:
        throw new Unsupported(`the %${conv} conversion of % formatting`);
    }
    if (width !== undefined && s.length < Number(width)) {
      const w = Number(width);
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && 'dixXofFe'.includes(conv)) {
        const sign = /^[-+ ]/.test(s) ? (s[0] as string) : '';
        s = sign + s.slice(sign.length).padStart(w - sign.length, '0');
      } else s = s.padStart(w);
    }
    return s;
  });
  if (i < list.length && !mapping) throw new PyError('TypeError', 'not all arguments converted during string formatting');
  return out;
}

/** Python's `str.format` with `{}`, `{0}` and `{name}` fields (no format specs). */
export function strFormat(fmt: string, args: unknown[], kw: Record<string, unknown>): string {
  let auto = 0;
  return fmt.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, field: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const f = field as string;
    if (/[:!]/.test(f)) throw new Unsupported(`format specs and conversions in str.format ("{${f}}")`);
    if (f === '') {
      if (auto >= args.length) throw new PyError('IndexError', 'Replacement index out of range for positional args tuple');
      return pyStr(args[auto++]);
    }
    if (/^\d+$/.test(f)) {
      const n = Number(f);
      if (n >= args.length) throw new PyError('IndexError', 'Replacement index out of range for positional args tuple');
      return pyStr(args[n]);
    }
    if (!(f in kw)) throw new PyError('KeyError', strRepr(f));
    return pyStr(kw[f]);
  });
}

// ---- json.dumps -----------------------------------------------------------------------

export interface JsonOptions {
  indent?: number | string | null;
  sortKeys?: boolean;
  separators?: [string, string];
  ensureAscii?: boolean;
}

function jsonString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (ensureAscii && c > 0x7e) {
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** Python's json.dumps (the encoder Ansible's to_json/to_nice_json call). */
export function jsonDumps(v: unknown, opts: JsonOptions = {}): string {
  const ensureAscii = opts.ensureAscii ?? true;
  const indentUnit = opts.indent === null || opts.indent === undefined ? undefined : typeof opts.indent === 'number' ? ' '.repeat(opts.indent) : opts.indent;
  const [itemSep, keySep] = opts.separators ?? (indentUnit === undefined ? [', ', ': '] : [',', ': ']);
  const enc = (x: unknown, level: number): string => {
    if (x === null || x === undefined) return 'null';
    if (x === true) return 'true';
    if (x === false) return 'false';
    if (typeof x === 'string') return jsonString(x, ensureAscii);
    if (x instanceof PyFloat || typeof x === 'number') {
      const n = Number(x);
      if (Number.isNaN(n)) return 'NaN';
      if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
      return pyStr(x);
    }
    const nl = indentUnit === undefined ? '' : `\n${indentUnit.repeat(level + 1)}`;
    const end = indentUnit === undefined ? '' : `\n${indentUnit.repeat(level)}`;
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return `[${nl}${x.map((i) => enc(i, level + 1)).join(itemSep + nl)}${end}]`;
    }
    if (isPlainObject(x)) {
      let keys = Object.keys(x);
      if (keys.length === 0) return '{}';
      if (opts.sortKeys) keys = [...keys].sort((p, q) => pyCmp(p, q));
      return `{${nl}${keys.map((k) => jsonString(k, ensureAscii) + keySep + enc(x[k], level + 1)).join(itemSep + nl)}${end}}`;
    }
    throw new PyError('TypeError', `Object of type ${typeName(x)} is not JSON serializable`);
  };
  return enc(v, 0);
}

/** JSON text to values, keeping `1.0` a float like Python's json.loads. */
export function jsonLoads(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw new PyError('JSONDecodeError', `Expecting value: char ${i}`);
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const k = value() as string;
        ws();
        if (text[i++] !== ':') fail();
        out[k] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] !== '}') fail();
        return out;
      }
    }
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] !== ']') fail();
        return out;
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
      if (!m) fail();
      i += (m as RegExpExecArray)[0].length;
      return JSON.parse((m as RegExpExecArray)[0]) as string;
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['-Infinity', Number.NEGATIVE_INFINITY],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    const n = Number(m[0]);
    return m[1] !== undefined || m[2] !== undefined ? pyFloat(n) : n;
  };
  const v = value();
  ws();
  if (i !== text.length) throw new PyError('JSONDecodeError', `Extra data: char ${i}`);
  return v;
}

// ---- ast.literal_eval ---------------------------------------------------------------

class NotLiteral extends Error {}

/** Decode the body of a Python string literal (or a Jinja2 string literal: Jinja uses unicode-escape). */
export function unicodeEscape(body: string): string {
  return body.replace(/\\(?:([\\'"abfnrtv\n])|([0-7]{1,3})|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(N\{[^}]*\}|x|u|U)|)/g, (m, simple: string | undefined, oct: string | undefined, hex: string | undefined, u4: string | undefined, u8: string | undefined, bad: string | undefined) => {
    if (simple !== undefined) {
      const map: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
      return map[simple] as string;
    }
    if (oct !== undefined) return String.fromCodePoint(Number.parseInt(oct, 8));
    const h = hex ?? u4 ?? u8;
    if (h !== undefined) {
      const cp = Number.parseInt(h, 16);
      if (cp > 0x10ffff) throw new PyError('SyntaxError', `illegal Unicode character ${m}`);
      return String.fromCodePoint(cp);
    }
    if (bad !== undefined) {
      if (bad.startsWith('N')) throw new Unsupported(`the \\N{...} escape in a string literal`);
      throw new PyError('SyntaxError', `truncated \\${bad} escape`);
    }
    return m; // an unknown escape keeps its backslash
  });
}

interface Tok {
  t: 'num' | 'str' | 'name' | 'op' | 'nl' | 'end';
  v: string;
  prefix?: string;
}

const RE_BLANK_LINE = /[ \t\f]*(#[^\n\r]*)?(\r\n|\n|\r|$)/y;
const RE_STRING_START = /([rRbBuUfF]{0,2})('''|"""|'|")/y;
const RE_NUMBER = /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?\.?(?:\d(?:_?\d)*)?(?:[eE][-+]?\d(?:_?\d)*)?[jJ]?)/y;
const RE_NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;

/** A lazy Python tokenizer: tokens are made as the parser asks, so a non-literal fails at its first odd token. */
function tokenizer(src: string): () => Tok {
  let i = 0;
  let depth = 0;
  let lineStart = true;
  const at = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = i;
    return re.exec(src);
  };
  return (): Tok => {
    while (i < src.length) {
      const c = src[i] as string;
      if (lineStart) {
        // blank lines and comment lines are skipped; an indented first token is an IndentationError
        const m = at(RE_BLANK_LINE);
        if (m && m[0].length > 0 && depth === 0) {
          i += m[0].length;
          continue;
        }
        if (depth === 0 && /[ \t\f]/.test(c)) throw new NotLiteral();
        lineStart = false;
      }
      if (c === ' ' || c === '\t' || c === '\f') {
        i++;
        continue;
      }
      if (c === '\\' && (src[i + 1] === '\n' || src[i + 1] === '\r')) {
        i += src[i + 1] === '\r' && src[i + 2] === '\n' ? 3 : 2;
        continue;
      }
      if (c === '#') {
        while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
        continue;
      }
      if (c === '\n' || c === '\r') {
        i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
        if (depth === 0) {
          lineStart = true;
          return { t: 'nl', v: '' };
        }
        continue;
      }
      const str = at(RE_STRING_START);
      if (str && /^(|r|u|b|f|br|rb|fr|rf)$/i.test(str[1] as string)) {
        const prefix = (str[1] as string).toLowerCase();
        const q = str[2] as string;
        let j = i + str[0].length;
        let body = '';
        for (;;) {
          if (j >= src.length) throw new NotLiteral();
          if (src.startsWith(q, j)) break;
          const ch = src[j] as string;
          if (q.length === 1 && (ch === '\n' || ch === '\r')) throw new NotLiteral();
          if (ch === '\\' && j + 1 < src.length) {
            body += ch + (src[j + 1] as string);
            j += 2;
            continue;
          }
          body += ch;
          j++;
        }
        i = j + q.length;
        return { t: 'str', v: body, prefix };
      }
      const numm = at(RE_NUMBER);
      if (numm && numm[0] !== '' && numm[0] !== '.' && /\d/.test(numm[0])) {
        i += numm[0].length;
        return { t: 'num', v: numm[0] };
      }
      const name = at(RE_NAME);
      if (name) {
        i += name[0].length;
        return { t: 'name', v: name[0] };
      }
      if ('([{'.includes(c)) depth++;
      if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
      i++;
      return { t: 'op', v: c };
    }
    return { t: 'end', v: '' };
  };
}

function parseNumber(text: string): number | PyFloat {
  const s = text.replace(/_/g, '');
  if (/[jJ]$/.test(s)) throw new Unsupported('a complex number');
  if (/^0[xX]/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^0[oO]/.test(s)) return Number.parseInt(s.slice(2), 8);
  if (/^0[bB]/.test(s)) return Number.parseInt(s.slice(2), 2);
  if (/[.eE]/.test(s)) return pyFloat(Number(s));
  if (/^0+\d/.test(s) && !/^0+$/.test(s)) throw new NotLiteral(); // 0644: SyntaxError in Python 3
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Unsupported(`the integer ${s}, larger than JavaScript numbers hold exactly`);
  return n;
}

const NAMED_CONSTANTS: Readonly<Record<string, unknown>> = { True: true, False: false, None: null };

/** A recursive-descent reader of one Python literal over the lazy tokenizer; NotLiteral where Python would raise. */
class LiteralReader {
  private ahead: Tok | undefined;

  constructor(private readonly lex: () => Tok) {}

  peek(): Tok {
    this.ahead ??= this.lex();
    return this.ahead;
  }

  next(): Tok {
    const t = this.peek();
    this.ahead = undefined;
    return t;
  }

  isOp(v: string): boolean {
    return this.peek().t === 'op' && this.peek().v === v;
  }

  /** One value; a sign is allowed before a number only (`-1`, not `-x`), and `a + b` only makes complex numbers. */
  expr(): unknown {
    if (this.isOp('-') || this.isOp('+')) {
      const sign = this.next().v;
      const t = this.peek();
      if (t.t !== 'num') throw new NotLiteral();
      const v = this.atom() as number | PyFloat;
      const n = sign === '-' ? -num(v) : num(v);
      return v instanceof PyFloat ? new PyFloat(n) : n;
    }
    const v = this.atom();
    if (this.isOp('+') || this.isOp('-')) throw new NotLiteral(); // only complex numbers may be added
    return v;
  }

  private atom(): unknown {
    const t = this.next();
    if (t.t === 'num') return parseNumber(t.v);
    if (t.t === 'str') return this.strings(t);
    if (t.t === 'name' && Object.hasOwn(NAMED_CONSTANTS, t.v)) return NAMED_CONSTANTS[t.v];
    if (t.t === 'op' && (t.v === '(' || t.v === '[')) return this.sequence(t.v);
    if (t.t === 'op' && t.v === '{') return this.dict();
    throw new NotLiteral();
  }

  /** Adjacent string literals are one string; bytes and text do not mix, f-strings are not literals. */
  private strings(first: Tok): string {
    let s = '';
    let prefix = first.prefix ?? '';
    for (let cur: Tok | undefined = first; cur; cur = this.peek().t === 'str' ? this.next() : undefined) {
      const pre = cur.prefix ?? '';
      if (pre.includes('f')) throw new NotLiteral();
      if (pre.includes('b') !== prefix.includes('b')) throw new NotLiteral();
      s += pre.includes('r') ? cur.v : unicodeEscape(cur.v);
      prefix = pre;
    }
    if (prefix.includes('b')) throw new Unsupported('a bytes literal');
    return s;
  }

  /** `[...]` a list; `(...)` a tuple, or the value itself when it is one value without a comma. */
  private sequence(open: '(' | '['): unknown {
    const close = open === '(' ? ')' : ']';
    const items: unknown[] = [];
    let comma = false;
    while (!this.isOp(close)) {
      items.push(this.expr());
      if (this.isOp(',')) {
        this.next();
        comma = true;
      } else break;
    }
    if (this.next().v !== close) throw new NotLiteral();
    if (open === '[') return items;
    if (items.length === 1 && !comma) return items[0];
    return tuple(items);
  }

  /** `{...}` with string keys (`{1, 2}`, a set, is refused). */
  private dict(): Record<string, unknown> {
    if (this.isOp('}')) {
      this.next();
      return {};
    }
    const first = this.expr();
    if (!this.isOp(':')) throw new Unsupported('a set literal');
    const out: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      if (this.next().v !== ':') throw new NotLiteral();
      const value = this.expr();
      if (typeof key !== 'string') throw new Unsupported(`a dictionary key of type ${typeName(key)}`);
      out[key] = value;
      if (this.isOp(',')) {
        this.next();
        if (this.isOp('}')) break;
        key = this.expr();
        continue;
      }
      break;
    }
    if (this.next().v !== '}') throw new NotLiteral();
    return out;
  }

  /** The whole source: one value, or `1, 2` (a tuple in Python), between blank lines; undefined when more follows. */
  document(): { value: unknown } | undefined {
    while (this.peek().t === 'nl') this.next();
    let value = this.expr();
    if (this.isOp(',')) {
      const items = [value];
      while (this.isOp(',')) {
        this.next();
        if (this.peek().t === 'nl' || this.peek().t === 'end') break;
        items.push(this.expr());
      }
      value = tuple(items);
    }
    while (this.peek().t === 'nl') this.next();
    if (this.peek().t !== 'end') return undefined;
    return { value };
  }
}

/**
 * Python's `ast.literal_eval(ast.parse(src, mode='eval'))`. Returns `{ value }`,
 * or `undefined` where Python raises ValueError/SyntaxError (not a literal).
 */
export function literalEval(src: string): { value: unknown } | undefined {
  try {
    return new LiteralReader(tokenizer(src)).document();
  } catch (err) {
    if (err instanceof NotLiteral) return undefined;
    throw err;
  }
}
