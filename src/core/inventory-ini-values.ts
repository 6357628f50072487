/**
 * How Ansible's INI inventory reads a line and a value, re-implemented from its
 * semantics (ansible-core 2.14 `plugins/inventory/ini.py`):
 *
 * - a host line is split like Python's `shlex.split(line, comments=True)`
 *   (POSIX mode): whitespace separates words, `'…'` and `"…"` quote, `\`
 *   escapes, `#` starts a comment where a word could start or continue;
 * - every value (`key=value` on a host line, and every line of a `:vars`
 *   section) goes through Python's `ast.literal_eval`: `2222` is a number,
 *   `True`/`False` booleans, `None` null, `'x'` a string, `[1, 2]` a list,
 *   `{'a': 1}` a mapping; whatever is not a Python literal (`true`, `yes`,
 *   `/usr/bin/python3`, `a b`) stays the string it was.
 *
 * The recorded answers of ansible-inventory for the INI fixtures are the oracle
 * (test/unit/core/inventory-corpus.test.ts).
 */

export interface ShlexToken {
  /** The word after quote removal and escapes. */
  value: string;
  /** 0-based offsets of the raw word in the line (end exclusive). */
  start: number;
  end: number;
}

export class ShlexError extends Error {}

const WHITESPACE = ' \t\r\n';
const QUOTES = `'"`;

/** Python's `shlex.split(line, comments=True, posix=True)`, with each word's position. */
export function shlexSplit(line: string): ShlexToken[] {
  const out: ShlexToken[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    // skip whitespace; a comment where a word would start ends the line
    while (i < n && WHITESPACE.includes(line[i] as string)) i++;
    if (i >= n || line[i] === '#') return out;
    const start = i;
    let value = '';
    let quoted = false;
    while (i < n) {
      const c = line[i] as string;
      if (WHITESPACE.includes(c)) break;
      if (c === '#') {
        // a comment inside a word ends the word and the line
        out.push({ value, start, end: i });
        return out;
      }
      if (c === '\\') {
        if (i + 1 >= n) throw new ShlexError('No escaped character');
        value += line[i + 1];
        i += 2;
        continue;
      }
      if (QUOTES.includes(c)) {
        quoted = true;
        const q = c;
        i++;
        for (;;) {
          if (i >= n) throw new ShlexError('No closing quotation');
          const d = line[i] as string;
          if (d === q) {
            i++;
            break;
          }
          if (q === '"' && d === '\\') {
            if (i + 1 >= n) throw new ShlexError('No escaped character');
            const e = line[i + 1] as string;
            // inside double quotes only the quote and the backslash itself are escaped
            value += e === '"' || e === '\\' ? e : `\\${e}`;
            i += 2;
            continue;
          }
          value += d;
          i++;
        }
        continue;
      }
      value += c;
      i++;
    }
    if (value !== '' || quoted) out.push({ value, start, end: i });
  }
}

// ---------------------------------------------------------------------------
// ast.literal_eval

class NotLiteral extends Error {}

/** A value we could not express as JSON (complex numbers, bytes, Ellipsis): kept as the written string. */
class Unrepresentable extends Error {}

type Py = string | number | boolean | null | Py[] | { [k: string]: Py } | PySet | PyTuple;
class PySet {
  constructor(readonly items: Py[]) {}
}
class PyTuple {
  constructor(readonly items: Py[]) {}
}

const NAME_START = /[A-Za-z_\u00c0-\uffff]/;
const NAME_CHAR = /[A-Za-z0-9_\u00c0-\uffff]/;

/** Python's tokenizer refuses 200 nested brackets ("too many nested parentheses"): the value stays text. */
const MAX_NESTING = 200;

class LiteralParser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  private nest<T>(f: () => T): T {
    if (++this.depth >= MAX_NESTING) throw new NotLiteral('too many nested parentheses');
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  parse(): Py {
    this.ws();
    if (this.eof()) throw new NotLiteral('empty');
    const v = this.exprList(true);
    this.ws();
    if (!this.eof()) throw new NotLiteral('trailing text');
    return v;
  }

  private eof(): boolean {
    return this.i >= this.s.length;
  }

  private peek(k = 0): string {
    return this.s[this.i + k] ?? '';
  }

  /** Whitespace; `#` comments run to the end of the (single) line. */
  private ws(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\f') this.i++;
      else if (c === '#') this.i = this.s.length;
      else return;
    }
  }

  private eat(c: string): boolean {
    this.ws();
    if (this.peek() === c) {
      this.i++;
      return true;
    }
    return false;
  }

  /** `a, b` at the top level or in parentheses is a tuple. */
  private exprList(top: boolean): Py {
    const first = this.atomExpr();
    this.ws();
    if (this.peek() !== ',') return first;
    const items = [first];
    while (this.eat(',')) {
      this.ws();
      if (this.eof() || (!top && this.peek() === ')')) break;
      items.push(this.atomExpr());
    }
    return new PyTuple(items);
  }

  private atomExpr(): Py {
    this.ws();
    const c = this.peek();
    if (c === '+' || c === '-') {
      // a sign applies to a number only (`-1`, `+1.5`, `-(1)`), never to another sign
      this.i++;
      const operand = this.atomNoSign();
      if (typeof operand !== 'number') throw new NotLiteral('sign on a non-number');
      const v = c === '-' ? -operand : operand;
      return this.maybeComplex(v);
    }
    const v = this.atomNoSign();
    return typeof v === 'number' ? this.maybeComplex(v) : v;
  }

  /** `1 + 2j` / `1 - 2j`: complex literals, not representable in JSON. */
  private maybeComplex(v: number): Py {
    this.ws();
    const c = this.peek();
    if (c === '+' || c === '-') {
      const save = this.i;
      this.i++;
      this.ws();
      if (/[0-9.]/.test(this.peek())) {
        const tok = this.number();
        if (tok.imaginary) throw new Unrepresentable('complex');
      }
      this.i = save;
      throw new NotLiteral('operator');
    }
    return v;
  }

  private atomNoSign(): Py {
    this.ws();
    const c = this.peek();
    if (c === '(' || c === '[' || c === '{') return this.nest(() => this.bracketed(c));
    return this.scalar(c);
  }

  private bracketed(c: string): Py {
    if (c === '(') {
      this.i++;
      if (this.eat(')')) return new PyTuple([]);
      const inner = this.exprList(false);
      if (!this.eat(')')) throw new NotLiteral('unclosed (');
      return inner;
    }
    if (c === '[') {
      this.i++;
      const items: Py[] = [];
      while (!this.eat(']')) {
        items.push(this.atomExpr());
        if (!this.eat(',')) {
          if (!this.eat(']')) throw new NotLiteral('bad list');
          break;
        }
      }
      return items;
    }
    return this.braces();
  }

  private scalar(c: string): Py {
    if (c === '"' || c === "'") return this.strings('');
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(this.peek(1)))) {
      const tok = this.number();
      if (tok.imaginary) throw new Unrepresentable('complex');
      return tok.value;
    }
    if (NAME_START.test(c)) {
      let j = this.i;
      while (j < this.s.length && NAME_CHAR.test(this.s[j] as string)) j++;
      const name = this.s.slice(this.i, j);
      const next = this.s[j] ?? '';
      if (/^(?:[rRuUbBfF]|[bB][rR]|[rR][bB]|[fF][rR]|[rR][fF])$/.test(name) && (next === '"' || next === "'")) {
        this.i = j;
        return this.strings(name);
      }
      this.i = j;
      if (name === 'True') return true;
      if (name === 'False') return false;
      if (name === 'None') return null;
      if (name === 'set') {
        // `set()` is the one call literal_eval allows
        if (this.eat('(') && this.eat(')')) return new PySet([]);
      }
      throw new NotLiteral(`name ${name}`);
    }
    if (c === '.' && this.s.startsWith('...', this.i)) throw new Unrepresentable('Ellipsis');
    throw new NotLiteral(`unexpected ${c}`);
  }

  private braces(): Py {
    this.i++; // {
    if (this.eat('}')) return {};
    const first = this.atomExpr();
    if (this.eat(':')) {
      const entries: [Py, Py][] = [[first, this.atomExpr()]];
      while (this.eat(',')) {
        if (this.eat('}')) return toDict(entries);
        const k = this.atomExpr();
        if (!this.eat(':')) throw new NotLiteral('bad dict');
        entries.push([k, this.atomExpr()]);
      }
      if (!this.eat('}')) throw new NotLiteral('unclosed {');
      return toDict(entries);
    }
    const items = [first];
    while (this.eat(',')) {
      if (this.eat('}')) return new PySet(items);
      items.push(this.atomExpr());
    }
    if (!this.eat('}')) throw new NotLiteral('unclosed {');
    return new PySet(items);
  }

  /** Python number token (int, float, imaginary), underscores between digits only. */
  private number(): { value: number; imaginary: boolean } {
    const rest = this.s.slice(this.i);
    const d = '[0-9](?:_?[0-9])*';
    const patterns: [RegExp, (m: string) => number][] = [
      [/^0[xX](?:_?[0-9a-fA-F])+/, (m) => Number.parseInt(m.slice(2).replace(/_/g, ''), 16)],
      [/^0[oO](?:_?[0-7])+/, (m) => Number.parseInt(m.slice(2).replace(/_/g, ''), 8)],
      [/^0[bB](?:_?[01])+/, (m) => Number.parseInt(m.slice(2).replace(/_/g, ''), 2)],
      [new RegExp(`^(?:(?:${d})?\\.${d}|${d}\\.)(?:[eE][-+]?${d})?|^${d}[eE][-+]?${d}`), (m) => Number(m.replace(/_/g, ''))],
      // decimal integers: no leading zeros except for zero itself (`00`, `0_0` are fine)
      [/^(?:[1-9](?:_?[0-9])*|0(?:_?0)*)/, (m) => Number(m.replace(/_/g, ''))],
    ];
    for (const [re, conv] of patterns) {
      const m = re.exec(rest);
      if (!m) continue;
      let len = m[0].length;
      let imaginary = false;
      const after = rest[len] ?? '';
      if (after === 'j' || after === 'J') {
        // imaginary: decimal digits or floats only
        if (/^0[xXoObB]/.test(m[0])) throw new NotLiteral('bad number');
        imaginary = true;
        len++;
      }
      const next = rest[len] ?? '';
      // `0123`, `1_`, `1a`, `1.2.3` are syntax errors in Python
      if (/[0-9A-Za-z_.]/.test(next)) throw new NotLiteral('bad number');
      this.i += len;
      return { value: conv(m[0]), imaginary };
    }
    throw new NotLiteral('bad number');
  }

  /** One or more adjacent string literals (implicitly concatenated). */
  private strings(firstPrefix: string): Py {
    let prefix = firstPrefix;
    let out = '';
    let kind: 'str' | 'bytes' | undefined;
    for (;;) {
      const p = prefix.toLowerCase();
      if (p.includes('f')) throw new NotLiteral('f-string');
      const thisKind = p.includes('b') ? 'bytes' : 'str';
      if (kind && kind !== thisKind) throw new NotLiteral('mixing bytes and str');
      kind = thisKind;
      out += this.stringBody(p.includes('r'), thisKind === 'bytes');
      this.ws();
      const c = this.peek();
      if (c === '"' || c === "'") {
        prefix = '';
        continue;
      }
      const m = /^([rRuUbBfF]|[bB][rR]|[rR][bB]|[fF][rR]|[rR][fF])["']/.exec(this.s.slice(this.i));
      if (m) {
        prefix = m[1] as string;
        this.i += prefix.length;
        continue;
      }
      break;
    }
    // Ansible turns bytes into text (to_text)
    return out;
  }

  private stringBody(raw: boolean, bytes: boolean): string {
    const q = this.peek();
    const triple = this.s.startsWith(q.repeat(3), this.i);
    const close = triple ? q.repeat(3) : q;
    this.i += close.length;
    let out = '';
    for (;;) {
      if (this.eof()) throw new NotLiteral('unterminated string');
      if (this.s.startsWith(close, this.i)) {
        this.i += close.length;
        return out;
      }
      const c = this.s[this.i] as string;
      if (c === '\\') {
        const e = this.s[this.i + 1];
        if (e === undefined) throw new NotLiteral('unterminated string');
        if (raw) {
          out += c + e;
          this.i += 2;
          continue;
        }
        this.i += 2;
        out += this.escape(e, bytes);
        continue;
      }
      if (bytes && c.charCodeAt(0) > 0x7f) throw new NotLiteral('bytes can only contain ASCII literal characters');
      out += c;
      this.i++;
    }
  }

  private escape(e: string, bytes: boolean): string {
    const simple: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (e in simple) return simple[e] as string;
    if (/[0-7]/.test(e)) {
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(this.peek())) digits += this.s[this.i++];
      return String.fromCodePoint(Number.parseInt(digits, 8));
    }
    const hex = (len: number): string => {
      const h = this.s.slice(this.i, this.i + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new NotLiteral('bad escape');
      this.i += len;
      const cp = Number.parseInt(h, 16);
      if (cp > 0x10ffff) throw new NotLiteral('bad escape');
      return String.fromCodePoint(cp);
    };
    if (e === 'x') return hex(2);
    if (!bytes && e === 'u') return hex(4);
    if (!bytes && e === 'U') return hex(8);
    // \N{NAME} needs Unicode's name table: keep the value as written
    if (!bytes && e === 'N') throw new Unrepresentable('\\N{...}');
    // unknown escapes keep their backslash
    return `\\${e}`;
  }
}

function keyOf(k: Py): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'null';
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (typeof k === 'number') return String(k);
  // lists, dicts and sets are unhashable; tuples as keys do not map onto JSON
  throw new Unrepresentable('key');
}

function toDict(entries: [Py, Py][]): Py {
  const out: Record<string, Py> = {};
  for (const [k, v] of entries) out[keyOf(k)] = v;
  return out;
}

function toJson(v: Py): unknown {
  if (v instanceof PyTuple || v instanceof PySet) return v.items.map(toJson);
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

/**
 * Ansible's `_parse_value`: `ast.literal_eval(text)` when that succeeds,
 * else the text itself. Python values with no JSON form (complex numbers,
 * bytes) stay the text as well.
 */
export function parseIniValue(text: string): unknown {
  // literal_eval strips leading spaces and tabs itself
  const s = text.replace(/^[ \t]+/, '');
  try {
    return toJson(new LiteralParser(s).parse());
  } catch (err) {
    if (err instanceof NotLiteral || err instanceof Unrepresentable) return text;
    throw err;
  }
}
