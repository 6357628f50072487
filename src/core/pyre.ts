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

function translate(pattern: string, flags: Flags): string {
  let out = '';
  let i = 0;
  let inClass = false;
  let classStart = false;
  const n = pattern.length;
  const bad = (what: string): never => {
    throw new Unsupported(`the regular expression ${JSON.stringify(pattern)}: ${what} has no faithful JavaScript translation`);
  };
  // leading global inline flags: (?i) (?m) (?s) (?ims)
  for (;;) {
    const m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i));
    if (!m) break;
    for (const f of m[1] as string) {
      if (f === 'i') flags.ignorecase = true;
      else if (f === 'm') flags.multiline = true;
      else if (f === 's') flags.dotall = true;
      else if (f !== 'u') bad(`the inline flag (?${f})`);
    }
    i += m[0].length;
  }
  while (i < n) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const d = pattern[i + 1];
      if (d === undefined) throw new PyError('re.error', 'bad escape (end of pattern)');
      i += 2;
      switch (d) {
        case 'd':
          out += '\\p{Nd}';
          break;
        case 'D':
          if (inClass) bad('\\D inside a character class');
          out += '\\P{Nd}';
          break;
        case 'w':
          out += inClass ? WORD : `[${WORD}]`;
          break;
        case 'W':
          if (inClass) bad('\\W inside a character class');
          out += `[^${WORD}]`;
          break;
        case 's':
          out += inClass ? SPACE : `[${SPACE}]`;
          break;
        case 'S':
          if (inClass) bad('\\S inside a character class');
          out += `[^${SPACE}]`;
          break;
        case 'b':
          out += inClass ? '\\x08' : `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
          break;
        case 'B':
          if (inClass) throw new PyError('re.error', 'bad escape \\B');
          out += `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
          break;
        case 'A':
          out += '(?<![\\s\\S])';
          break;
        case 'Z':
          out += '(?![\\s\\S])';
          break;
        case 'n':
        case 't':
        case 'r':
        case 'f':
        case 'v':
          out += `\\${d}`;
          break;
        case 'a':
          out += '\\x07';
          break;
        case 'x': {
          const h = /^[0-9a-fA-F]{2}/.exec(pattern.slice(i));
          if (!h) throw new PyError('re.error', 'incomplete escape \\x');
          out += `\\x${h[0]}`;
          i += 2;
          break;
        }
        case 'u':
        case 'U': {
          const len = d === 'u' ? 4 : 8;
          const h = new RegExp(`^[0-9a-fA-F]{${len}}`).exec(pattern.slice(i));
          if (!h) throw new PyError('re.error', `incomplete escape \\${d}`);
          out += `\\u{${Number.parseInt(h[0], 16).toString(16)}}`;
          i += len;
          break;
        }
        case 'N':
          bad('\\N{...}');
          break;
        default:
          if (/[0-9]/.test(d)) {
            const digits = /^[0-9]*/.exec(pattern.slice(i - 1))?.[0] ?? d;
            if (d === '0' || (digits.length >= 3 && /^[0-7]{3}/.test(digits))) {
              const oct = /^[0-7]{1,3}/.exec(pattern.slice(i - 1))?.[0] ?? '0';
              out += `\\u{${Number.parseInt(oct, 8).toString(16)}}`;
              i += oct.length - 1;
            } else if (inClass) {
              throw new PyError('re.error', `bad escape \\${d}`);
            } else {
              const ref = digits.slice(0, 2);
              out += `\\${ref}(?:)`;
              i += ref.length - 1;
            }
          } else if (/[A-Za-z]/.test(d)) {
            throw new PyError('re.error', `bad escape \\${d} at position ${i - 2}`);
          } else if (SYNTAX.has(d) || (inClass && d === '-')) {
            out += `\\${d}`;
          } else {
            out += d;
          }
      }
      classStart = false;
      continue;
    }
    if (inClass) {
      if (c === ']' && !classStart) {
        inClass = false;
        out += ']';
      } else if (c === ']' || c === '[') {
        out += `\\${c}`;
      } else {
        out += c;
      }
      classStart = false;
      i++;
      continue;
    }
    switch (c) {
      case '[':
        inClass = true;
        out += '[';
        i++;
        if (pattern[i] === '^') {
          out += '^';
          i++;
        }
        classStart = true;
        continue;
      case '.':
        out += flags.dotall ? '[\\s\\S]' : '[^\\n]';
        break;
      case '^':
        out += flags.multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])';
        break;
      case '$':
        out += flags.multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
        break;
      case '(': {
        const rest = pattern.slice(i);
        let m: RegExpExecArray | null;
        if ((m = /^\(\?P<([^>]*)>/.exec(rest))) {
          out += `(?<${m[1]}>`;
          i += m[0].length;
          continue;
        }
        if ((m = /^\(\?P=([^)]*)\)/.exec(rest))) {
          out += `\\k<${m[1]}>`;
          i += m[0].length;
          continue;
        }
        if ((m = /^\(\?#[^)]*\)/.exec(rest))) {
          i += m[0].length;
          continue;
        }
        if (/^\(\?(?::|=|!|<=|<!|<[A-Za-z_])/.test(rest)) {
          out += '(';
          break;
        }
        if (rest.startsWith('(?')) bad(`the group ${rest.slice(0, 4)}...`);
        out += '(';
        break;
      }
      case '{': {
        const m = /^\{(\d*)(,?)(\d*)\}/.exec(pattern.slice(i));
        if (m && (m[1] !== '' || (m[2] === ',' && m[3] !== ''))) {
          out += `{${m[1] === '' ? '0' : m[1]}${m[2]}${m[3]}}`;
          i += m[0].length;
          if (pattern[i] === '+') bad('a possessive quantifier');
          continue;
        }
        out += '\\{';
        break;
      }
      case '}':
        out += '\\}';
        break;
      case '*':
      case '+':
      case '?':
        out += c;
        if (pattern[i + 1] === '+') bad('a possessive quantifier');
        break;
      default:
        out += c;
    }
    i++;
  }
  if (inClass) throw new PyError('re.error', `unterminated character set`);
  return out;
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
