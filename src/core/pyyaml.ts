/**
 * PyYAML's `yaml.dump` as Ansible's to_yaml / to_nice_yaml call it (sorted keys,
 * allow_unicode, width 80; flow style for collections of scalars in to_yaml,
 * block style everywhere in to_nice_yaml), for the output it can be sure of:
 * plain and single-quoted one-line scalars, no line wrapping. Anything else
 * (multi-line or non-printable strings, lines past the width, long keys) is
 * refused with a message rather than emitted differently from Ansible.
 */
import { PyFloat, Unsupported, isPlainObject, pyCmp, pyStr } from './pyvalues.js';

const WIDTH = 80;

// PyYAML's YAML 1.1 implicit resolvers: a plain scalar matching one is not a string.
const RESOLVERS = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL| )$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
];

const PRINTABLE = /^[\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10fffe}]*$/u;

function refuse(what: string): never {
  throw new Unsupported(`to_yaml/to_nice_yaml of ${what} (PyYAML's output for it is not reproduced; use to_json)`);
}

/** How PyYAML writes a string scalar: plain, or single-quoted. */
function scalarString(s: string, flow: boolean): string {
  if (s === '') return "''";
  if (!PRINTABLE.test(s) || s.includes('\ufeff')) refuse(`the string ${JSON.stringify(s)}`);
  const resolves = RESOLVERS.some((r) => r.test(s));
  let plain = !resolves;
  const first = s[0] as string;
  const followedBySpace = (i: number) => i + 1 >= s.length || s[i + 1] === ' ';
  if ('#,[]{}&*!|>\'"%@`'.includes(first)) plain = false;
  if ((first === '-' || first === '?' || first === ':') && followedBySpace(0)) plain = false;
  if ((first === '?' || first === ':') && flow) plain = false;
  if (s.startsWith(' ') || s.endsWith(' ')) plain = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (flow && ',?[]{}'.includes(c)) plain = false;
    if (c === ':' && (flow || followedBySpace(i))) plain = false;
    if (c === '#' && i > 0 && s[i - 1] === ' ') plain = false;
  }
  if (plain) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

function scalar(v: unknown, flow: boolean): string {
  if (typeof v === 'string') return scalarString(v, flow);
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v))) {
    const x = Number(v);
    if (Number.isNaN(x)) return '.nan';
    if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
    let r = pyStr(v).toLowerCase();
    if (!r.includes('.') && r.includes('e')) r = r.replace('e', '.0e');
    return r;
  }
  if (typeof v === 'number') return pyStr(v);
  return refuse(`a ${typeof v} value`);
}

const isScalar = (v: unknown): boolean => !Array.isArray(v) && !isPlainObject(v);
const entries = (d: Record<string, unknown>): [string, unknown][] => Object.entries(d).sort(([a], [b]) => pyCmp(a, b));

/**
 * yaml.dump(value, default_flow_style=<flowStyle>, indent=<indent>, sort_keys=True,
 * allow_unicode=True).
 */
export function pyYamlDump(value: unknown, flowStyle: boolean | null, indent: number): string {
  if (indent < 2 || indent > 9) refuse(`indent=${indent}`);
  const flowOf = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.length === 0 || (flowStyle ?? v.every(isScalar));
    if (isPlainObject(v)) return Object.keys(v).length === 0 || (flowStyle ?? Object.values(v).every(isScalar));
    return false;
  };
  const flowText = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map((x) => (isScalar(x) ? scalar(x, true) : flowText(x))).join(', ')}]`;
    if (isPlainObject(v)) return `{${entries(v).map(([k, x]) => `${key(k, true)}: ${isScalar(x) ? scalar(x, true) : flowText(x)}`).join(', ')}}`;
    return scalar(v, true);
  };
  const key = (k: string, flow: boolean): string => {
    const t = scalarString(k, flow);
    if (t.length >= 128) refuse('a mapping key of 128 characters or more');
    return t;
  };
  const lines: string[] = [];
  // Emit `v` whose first line continues `prefix` (already written text on the current line) at column `col`.
  const block = (v: unknown, prefix: string, col: number, inMapping: boolean): void => {
    if (isScalar(v) || flowOf(v)) {
      lines.push(prefix + (isScalar(v) ? scalar(v, false) : flowText(v)));
      return;
    }
    if (Array.isArray(v)) {
      // in a mapping a block sequence is not indented; its items start `indent` columns in
      const seqCol = inMapping ? col - indent : col;
      let first = true;
      for (const item of v) {
        const dash = first && !inMapping && prefix !== '' ? `${prefix}-` : `${' '.repeat(seqCol)}-`;
        first = false;
        // a scalar follows "- "; a nested block collection starts `indent` columns in
        if (isScalar(item) || flowOf(item)) lines.push(`${dash} ${isScalar(item) ? scalar(item, false) : flowText(item)}`);
        else block(item, `${dash}${' '.repeat(indent - 1)}`, seqCol + indent, false);
      }
      return;
    }
    let first = true;
    for (const [k, x] of entries(v as Record<string, unknown>)) {
      const head = first && prefix !== '' ? prefix : ' '.repeat(col);
      first = false;
      const kt = `${head}${key(k, false)}:`;
      if (isScalar(x) || flowOf(x)) {
        lines.push(`${kt} ${isScalar(x) ? scalar(x, false) : flowText(x)}`);
      } else {
        lines.push(kt);
        block(x, '', col + indent, true);
      }
    }
  };
  block(value, '', 0, false);
  for (const l of lines) if ([...l].length > WIDTH) refuse(`a value whose YAML line would pass ${WIDTH} columns (PyYAML folds it)`);
  return `${lines.join('\n')}\n`;
}

