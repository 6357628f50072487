/**
 * Python `re` semantics on JavaScript RegExp, for Ansible's regex filters and
 * tests: patterns are translated (Unicode `\w`/`\d`/`\s`/`\b`, Python's `$`,
 * `\A`/`\Z`, `(?P<name>)`, leading inline flags), replacement templates are
 * expanded the way `re.sub` does (`\1`, `\g<1>`, `\g<name>`, `\n`; a `$` is
 * just a dollar), and matches are iterated like CPython 3.7+ (an empty match
 * right after a non-empty one counts). What cannot be translated faithfully is
 * refused with a message, never approximated.
 */
import { PyError, Unsupported, tuple } from './pyvalues.js';

const WORD = '\\p{L}\\p{N}_';
const SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);

export interface PyRegex {
  readonly source: string;
  /** Global, Unicode: used for searching from a position. */
  readonly re: RegExp;
  /** Sticky twin: matching at a position (re.match). */
  readonly sticky: RegExp;
  readonly groups: number;
}

interface Flags {
  ignorecase: boolean;
  multiline: boolean;
  dotall: boolean;
}

/** A pattern being translated: the position in it, the JavaScript written so far, whether inside `[...]`. */
interface Translation {
  readonly pattern: string;
  /** The caller's flags: leading inline flags (`(?i)`) are set on them. */
  readonly flags: Flags;
  i: number;
  out: string;
  inClass: boolean;
  /** Right after `[` or `[^`, where `]` is a literal. */
  classStart: boolean;
}

function unsupported(t: Translation, what: string): never {
  throw new Unsupported(`the regular expression ${JSON.stringify(t.pattern)}: ${what} has no faithful JavaScript translation`);
}

/** Append `text` for the next `consumed` characters of the pattern. */
function emit(t: Translation, text: string, consumed: number): void {
  t.out += text;
  t.i += consumed;
}

/** Leading global inline flags: (?i) (?m) (?s) (?ims). */
function readInlineFlags(t: Translation): void {
  for (;;) {
    const m = /^\(\?([aiLmsux]+)\)/.exec(t.pattern.slice(t.i));
    if (!m) return;
    for (const f of m[1] as string) {
      if (f === 'i') t.flags.ignorecase = true;
      else if (f === 'm') t.flags.multiline = true;
      else if (f === 's') t.flags.dotall = true;
      else if (f !== 'u') unsupported(t, `the inline flag (?${f})`);
    }
    t.i += m[0].length;
  }
}

// ---- escapes: `t.i` is past the backslash and its letter when a rule runs; a rule returns the translation

/** A class escape that has no JavaScript form inside `[...]` (its negation cannot be put in a class). */
function outsideClassOnly(t: Translation, escape: string, translation: string): string {
  if (t.inClass) unsupported(t, `${escape} inside a character class`);
  return translation;
}

const WORD_BOUNDARY = `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
const NOT_WORD_BOUNDARY = `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;

function hexEscape(t: Translation): string {
  const h = /^[0-9a-fA-F]{2}/.exec(t.pattern.slice(t.i));
  if (!h) throw new PyError('re.error', 'incomplete escape \\x');
  t.i += 2;
  return `\\x${h[0]}`;
}

/** `\uXXXX` and `\UXXXXXXXX`. */
function codePointEscape(t: Translation, d: string): string {
  const len = d === 'u' ? 4 : 8;
  const h = new RegExp(`^[0-9a-fA-F]{${len}}`).exec(t.pattern.slice(t.i));
  if (!h) throw new PyError('re.error', `incomplete escape \\${d}`);
  t.i += len;
  return `\\u{${Number.parseInt(h[0], 16).toString(16)}}`;
}

/** `\0`, three octal digits: a character; otherwise one or two digits: a backreference. */
function numberEscape(t: Translation, d: string): string {
  const digits = /^[0-9]*/.exec(t.pattern.slice(t.i - 1))?.[0] ?? d;
  if (d === '0' || (digits.length >= 3 && /^[0-7]{3}/.test(digits))) {
    const oct = /^[0-7]{1,3}/.exec(t.pattern.slice(t.i - 1))?.[0] ?? '0';
    t.i += oct.length - 1;
    return `\\u{${Number.parseInt(oct, 8).toString(16)}}`;
  }
  if (t.inClass) throw new PyError('re.error', `bad escape \\${d}`);
  const ref = digits.slice(0, 2);
  t.i += ref.length - 1;
  // (?:) keeps a following digit from joining the group number
  return `\\${ref}(?:)`;
}

/** Escapes with a meaning of their own, by the character after the backslash. */
const ESCAPES = new Map<string, (t: Translation, d: string) => string>([
  ['d', () => '\\p{Nd}'],
  ['D', (t) => outsideClassOnly(t, '\\D', '\\P{Nd}')],
  ['w', (t) => (t.inClass ? WORD : `[${WORD}]`)],
  ['W', (t) => outsideClassOnly(t, '\\W', `[^${WORD}]`)],
  ['s', (t) => (t.inClass ? SPACE : `[${SPACE}]`)],
  ['S', (t) => outsideClassOnly(t, '\\S', `[^${SPACE}]`)],
  ['b', (t) => (t.inClass ? '\\x08' : WORD_BOUNDARY)],
  [
    'B',
    (t) => {
      if (t.inClass) throw new PyError('re.error', 'bad escape \\B');
      return NOT_WORD_BOUNDARY;
    },
  ],
  ['A', () => '(?<![\\s\\S])'],
  ['Z', () => '(?![\\s\\S])'],
  ...[...'ntrfv'].map((c): [string, () => string] => [c, () => `\\${c}`]),
  ['a', () => '\\x07'],
  ['x', hexEscape],
  ['u', codePointEscape],
  ['U', codePointEscape],
  ['N', (t) => unsupported(t, '\\N{...}')],
]);

/** Any other escape: digits, an unknown letter (an error in Python), or a character taken literally. */
function otherEscape(t: Translation, d: string): string {
  if (/[0-9]/.test(d)) return numberEscape(t, d);
  if (/[A-Za-z]/.test(d)) throw new PyError('re.error', `bad escape \\${d} at position ${t.i - 2}`);
  return SYNTAX.has(d) || (t.inClass && d === '-') ? `\\${d}` : d;
}

function translateEscape(t: Translation): void {
  const d = t.pattern[t.i + 1];
  if (d === undefined) throw new PyError('re.error', 'bad escape (end of pattern)');
  t.i += 2;
  const text = (ESCAPES.get(d) ?? otherEscape)(t, d);
  t.out += text;
  t.classStart = false;
}

// ---- inside `[...]`

function translateClassChar(t: Translation, c: string): void {
  if (c === ']' && !t.classStart) {
    t.inClass = false;
    t.out += ']';
  } else if (c === ']' || c === '[') {
    t.out += `\\${c}`;
  } else {
    t.out += c;
  }
  t.classStart = false;
  t.i++;
}

// ---- outside `[...]`: each rule consumes what it translates

function openClass(t: Translation): void {
  t.inClass = true;
  emit(t, '[', 1);
  if (t.pattern[t.i] === '^') emit(t, '^', 1);
  t.classStart = true;
}

/** `(?P<name>`, `(?P=name)`, `(?#comment)`, and the groups JavaScript has; other `(?` groups are refused. */
function translateGroupStart(t: Translation): void {
  const rest = t.pattern.slice(t.i);
  let m: RegExpExecArray | null;
  if ((m = /^\(\?P<([^>]*)>/.exec(rest))) return emit(t, `(?<${m[1]}>`, m[0].length);
  if ((m = /^\(\?P=([^)]*)\)/.exec(rest))) return emit(t, `\\k<${m[1]}>`, m[0].length);
  if ((m = /^\(\?#[^)]*\)/.exec(rest))) return emit(t, '', m[0].length);
  if (rest.startsWith('(?') && !/^\(\?(?::|=|!|<=|<!|<[A-Za-z_])/.test(rest)) unsupported(t, `the group ${rest.slice(0, 4)}...`);
  emit(t, '(', 1);
}

/** `{m,n}` is a repetition (`{,n}` is `{0,n}`); any other `{` is a literal. */
function translateBrace(t: Translation): void {
  const m = /^\{(\d*)(,?)(\d*)\}/.exec(t.pattern.slice(t.i));
  if (m && (m[1] !== '' || (m[2] === ',' && m[3] !== ''))) {
    emit(t, `{${m[1] === '' ? '0' : m[1]}${m[2]}${m[3]}}`, m[0].length);
    if (t.pattern[t.i] === '+') unsupported(t, 'a possessive quantifier');
    return;
  }
  emit(t, '\\{', 1);
}

function translateQuantifier(t: Translation, c: string): void {
  if (t.pattern[t.i + 1] === '+') unsupported(t, 'a possessive quantifier');
  emit(t, c, 1);
}

/** Characters with a translation of their own outside a class; every other character stands for itself. */
const OUTSIDE_CLASS = new Map<string, (t: Translation, c: string) => void>([
  ['[', openClass],
  ['.', (t) => emit(t, t.flags.dotall ? '[\\s\\S]' : '[^\\n]', 1)],
  ['^', (t) => emit(t, t.flags.multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])', 1)],
  ['$', (t) => emit(t, t.flags.multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))', 1)],
  ['(', translateGroupStart],
  ['{', translateBrace],
  ['}', (t) => emit(t, '\\}', 1)],
  ['*', translateQuantifier],
  ['+', translateQuantifier],
  ['?', translateQuantifier],
]);

const literalChar = (t: Translation, c: string): void => emit(t, c, 1);

function translate(pattern: string, flags: Flags): string {
  const t: Translation = { pattern, flags, i: 0, out: '', inClass: false, classStart: false };
  readInlineFlags(t);
  while (t.i < pattern.length) {
    const c = pattern[t.i] as string;
    if (c === '\\') translateEscape(t);
    else if (t.inClass) translateClassChar(t, c);
    else (OUTSIDE_CLASS.get(c) ?? literalChar)(t, c);
  }
  if (t.inClass) throw new PyError('re.error', `unterminated character set`);
  return t.out;
}

const cache = new Map<string, PyRegex>();

/** Compile a Python pattern. */
export function pyCompile(pattern: string, ignorecase = false, multiline = false): PyRegex {
  const key = `${ignorecase ? 'i' : ''}${multiline ? 'm' : ''}:${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const flags: Flags = { ignorecase, multiline, dotall: false };
  const source = translate(pattern, flags);
  let re: RegExp;
  let sticky: RegExp;
  try {
    re = new RegExp(source, `gu${flags.ignorecase ? 'i' : ''}`);
    sticky = new RegExp(source, `yu${flags.ignorecase ? 'i' : ''}`);
  } catch (err) {
    throw new PyError('re.error', `${(err as Error).message} (pattern ${JSON.stringify(pattern)})`);
  }
  const groups = (new RegExp(`${source}|`, 'u').exec('') as RegExpExecArray).length - 1;
  const compiled = { source, re, sticky, groups };
  if (cache.size > 500) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

/** All matches, CPython 3.7+ style (an empty match may follow a non-empty one). */
export function* pyFinditer(rx: PyRegex, s: string): Generator<RegExpExecArray> {
  let pos = 0;
  let mustAdvance = false;
  while (pos <= s.length) {
    rx.re.lastIndex = pos;
    let m = rx.re.exec(s);
    if (!m) return;
    if (mustAdvance && m.index === pos && m[0] === '') {
      if (pos >= s.length) return;
      const step = (s.codePointAt(pos) as number) > 0xffff ? 2 : 1;
      rx.re.lastIndex = pos + step;
      m = rx.re.exec(s);
      if (!m) return;
    }
    yield m;
    pos = m.index + m[0].length;
    mustAdvance = m[0] === '';
  }
}

type ReplPart = string | { group: number | string };

/** Parse a re.sub replacement template. */
function parseTemplate(repl: string, rx: PyRegex): ReplPart[] {
  const parts: ReplPart[] = [];
  let lit = '';
  const ESC: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  const checkGroup = (g: number | string, at: number): void => {
    if (typeof g === 'number' && g > rx.groups) throw new PyError('re.error', `invalid group reference ${g} at position ${at}`);
  };
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i] as string;
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const d = repl[i + 1];
    if (d === undefined) throw new PyError('re.error', `bad escape (end of pattern) at position ${i}`);
    if (d === 'g') {
      const m = /^<([^>]*)>/.exec(repl.slice(i + 2));
      if (!m) throw new PyError('re.error', `missing < at position ${i + 2}`);
      const name = m[1] as string;
      const g = /^\d+$/.test(name) ? Number(name) : name;
      if (typeof g === 'string' && !/^[\p{L}_][\p{L}\p{N}_]*$/u.test(g)) throw new PyError('re.error', `bad character in group name ${JSON.stringify(name)} at position ${i + 3}`);
      checkGroup(g, i + 3);
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ group: g });
      i += 1 + m[0].length;
      continue;
    }
    if (d === '0') {
      const oct = /^0[0-7]{0,2}/.exec(repl.slice(i + 1))?.[0] ?? '0';
      lit += String.fromCodePoint(Number.parseInt(oct, 8));
      i += oct.length;
      continue;
    }
    if (/[1-9]/.test(d)) {
      const three = repl.slice(i + 1, i + 4);
      if (/^[0-7]{3}$/.test(three)) {
        const v = Number.parseInt(three, 8);
        if (v > 0o377) throw new PyError('re.error', `octal escape value \\${three} outside of range 0-0o377 at position ${i}`);
        lit += String.fromCodePoint(v);
        i += 3;
        continue;
      }
      const num = /^\d{1,2}/.exec(repl.slice(i + 1))?.[0] as string;
      const g = Number(num);
      checkGroup(g, i + 1);
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ group: g });
      i += num.length;
      continue;
    }
    if (ESC[d] !== undefined) {
      lit += ESC[d];
      i += 1;
      continue;
    }
    if (/[A-Za-z]/.test(d)) throw new PyError('re.error', `bad escape \\${d} at position ${i}`);
    lit += `\\${d}`;
    i += 1;
  }
  if (lit) parts.push(lit);
  return parts;
}

function groupOf(m: RegExpExecArray, g: number | string): string | undefined {
  if (typeof g === 'number') return m[g];
  if (!m.groups || !(g in m.groups)) throw new PyError('IndexError', `unknown group name '${g}'`);
  return m.groups[g];
}

/** re.sub(pattern, repl, s) */
export function pySub(rx: PyRegex, repl: string, s: string): string {
  const tpl = parseTemplate(repl, rx);
  let out = '';
  let last = 0;
  for (const m of pyFinditer(rx, s)) {
    out += s.slice(last, m.index);
    for (const p of tpl) out += typeof p === 'string' ? p : (groupOf(m, p.group) ?? '');
    last = m.index + m[0].length;
  }
  return out + s.slice(last);
}

/** re.search: the first match, or undefined. */
export function pySearch(rx: PyRegex, s: string): RegExpExecArray | undefined {
  for (const m of pyFinditer(rx, s)) return m;
  return undefined;
}

/** re.match: a match at the start, or undefined. */
export function pyMatch(rx: PyRegex, s: string): RegExpExecArray | undefined {
  rx.sticky.lastIndex = 0;
  return rx.sticky.exec(s) ?? undefined;
}

/** match.group(g) for regex_search's '\\1' / '\\g<name>' arguments. */
export function pyGroup(m: RegExpExecArray, g: number | string): string | null {
  const v = groupOf(m, g);
  if (typeof g === 'number' && g >= m.length) throw new PyError('IndexError', 'no such group');
  return v ?? null;
}

/** re.findall */
export function pyFindall(rx: PyRegex, s: string): unknown[] {
  const out: unknown[] = [];
  for (const m of pyFinditer(rx, s)) {
    if (rx.groups === 0) out.push(m[0]);
    else if (rx.groups === 1) out.push(m[1] ?? '');
    else out.push(tuple(m.slice(1).map((x) => x ?? '')));
  }
  return out;
}

/** re.escape (Python 3.7+: only the special characters). */
export function pyEscape(s: string): string {
  return s.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, (c) => `\\${c}`);
}
