/**
 * Text for a terminal, shared by every human and progress line:
 *
 * - `escapeControls`: values that come from hosts, variables or playbooks
 *   (task names, messages, command output, host names) can hold newlines,
 *   escape sequences, bidirectional overrides and other control characters
 *   that would forge lines, move the cursor or reorder what the terminal
 *   shows. They are printed escaped (`\n`, `\e[`, `\u202e`, `\x07`), so one
 *   value is always exactly what it looks like, on one line.
 * - `displayWidth` / `fitWidth` / `padEnd`: widths as a terminal shows them:
 *   ANSI colour sequences take no room, a grapheme (a letter with its
 *   combining marks, an emoji with its modifiers, a flag) is one unit, East
 *   Asian wide characters and emoji take two columns. Cutting never splits a
 *   grapheme or an escape sequence.
 */

// made at the first text that is not plain ASCII: constructing one costs ICU 30-50 ms, every run paid it at start-up
let segmenter: Intl.Segmenter | undefined;
const graphemes = (s: string): Intl.Segments => (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(s);

/**
 * C0 controls and DEL, C1 controls, the bidirectional marks, embeddings,
 * overrides and isolates, the Unicode line/paragraph separators, and lone
 * surrogates (which a UTF-8 terminal would get as U+FFFD).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

/** One value, safe to print inside a line: no control character reaches the terminal. */
export function escapeControls(value: string): string {
  return value.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** East Asian Wide and Fullwidth ranges (UAX #11) outside the emoji, which are matched by property. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi radicals, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes, enclosed CJK, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], // Tangut, Khitan
  [0x1b000, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B..
  [0x30000, 0x3fffd],
];

function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return true;
  return false;
}

const EMOJI_WIDE = /\p{Emoji_Presentation}|\ufe0f/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;

/** Columns one grapheme takes on a terminal. */
export function graphemeWidth(g: string): number {
  const cp = g.codePointAt(0) ?? 0;
  if (g.length === 1 && cp < 0x7f) return cp < 0x20 ? 0 : 1;
  if (ZERO_WIDTH.test(g)) return 0;
  if (EMOJI_WIDE.test(g)) return 2;
  return isWide(cp) ? 2 : 1;
}

/** ANSI escape sequences: CSI (colours, cursor moves) and two-character escapes. */
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])/y;

/** The string as tokens: escape sequences (zero width) and graphemes. */
function* tokens(s: string): Generator<{ text: string; width: number; ansi: boolean }> {
  let i = 0;
  let plain = '';
  const flushPlain = function* () {
    for (const { segment } of graphemes(plain)) yield { text: segment, width: graphemeWidth(segment), ansi: false };
    plain = '';
  };
  while (i < s.length) {
    if (s.charCodeAt(i) === 0x1b) {
      ANSI.lastIndex = i;
      const m = ANSI.exec(s);
      if (m) {
        yield* flushPlain();
        yield { text: m[0], width: 0, ansi: true };
        i += m[0].length;
        continue;
      }
    }
    plain += s[i];
    i++;
  }
  yield* flushPlain();
}

/** Columns the text takes on a terminal (colour codes take none). */
export function displayWidth(s: string): number {
  // the common case: printable ASCII
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  let w = 0;
  for (const t of tokens(s)) w += t.width;
  return w;
}

/**
 * At most `width` columns: cut at a grapheme boundary with `…` when longer.
 * Escape sequences are kept whole; a cut coloured text gets a reset so the
 * colour does not run on.
 */
export function fitWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  const room = width - 1;
  let out = '';
  let used = 0;
  let coloured = false;
  for (const t of tokens(s)) {
    if (t.ansi) {
      out += t.text;
      coloured = true;
      continue;
    }
    if (used + t.width > room) break;
    out += t.text;
    used += t.width;
  }
  return `${out}…${coloured ? '\x1b[0m' : ''}`;
}

/** Pad with spaces to `width` columns (never cuts). */
export function padEnd(s: string, width: number): string {
  const w = displayWidth(s);
  return w >= width ? s : s + ' '.repeat(width - w);
}

/**
 * Host names of a group: `web1`, `web1, web2 (2 hosts)`, `web1, web2, … (37 hosts)`,
 * or `all 50 hosts` when the group is every host of the run. Names are listed
 * while they fit in `budget` columns (at least one), and at most `maxNames`.
 */
export function hostList(hosts: readonly string[], o: { budget?: number; maxNames?: number; total?: number } = {}): string {
  const names = hosts.map(escapeControls);
  if (names.length === 1) return names[0]!;
  if (o.total !== undefined && names.length === o.total && names.length > 2) return `all ${names.length} hosts`;
  const count = ` (${names.length} hosts)`;
  const budget = o.budget ?? Infinity;
  const maxNames = o.maxNames ?? Infinity;
  const shown: string[] = [];
  let width = 0;
  for (const [i, n] of names.entries()) {
    const last = i === names.length - 1;
    const add = displayWidth(n) + (shown.length ? 2 : 0);
    const tail = last ? count.length : 3 + count.length; // ", …" still to come unless this is the last
    if (shown.length > 0 && (width + add + tail > budget || shown.length >= maxNames)) break;
    shown.push(n);
    width += add;
  }
  return shown.length === names.length ? `${shown.join(', ')}${count}` : `${shown.join(', ')}, …${count}`;
}
