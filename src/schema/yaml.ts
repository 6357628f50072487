/**
 * YAML loading that keeps source positions, so every later error can say
 * `file:line:col`. Hostile or broken input never hangs and never escapes as a
 * stack trace: size cap, alias-expansion cap (billion laughs), nesting cap,
 * recursive aliases and duplicate keys rejected; every failure is a
 * ValidationError.
 *
 * Parsing is js-yaml's event stream (a flat list of nodes with source
 * offsets): the value is constructed from it, and the same events give the
 * position index behind `locate`. It takes a quarter of the CPU and less than
 * half the memory of a full document model, which keeps a 10 MB playbook
 * within seconds. When js-yaml refuses a file, the `yaml` package parses it
 * again only to explain why: its messages point at the cause (an unclosed
 * quote) where js-yaml's sometimes point at the symptom.
 *
 * YAML 1.2 core schema: `yes`/`no`/`on`/`off` are strings, not booleans, and
 * `0644` is the number 644 (quote file modes). Merge keys (`<<: *defaults`)
 * are enabled, as Ansible users rely on them.
 *
 * `{ yaml11: true }` reads scalars the way Ansible's PyYAML does (YAML 1.1):
 * `yes`/`no`/`on`/`off` are booleans, `0644` is octal, `1e3` stays a string,
 * dates stay strings. Inventories and their group_vars/host_vars use it, so
 * their values are the ones Ansible sees.
 *
 * `{ yaml11: 'booleans' }` takes only YAML 1.1's booleans (`yes`, `No`, `on`,
 * `OFF`...) and keeps YAML 1.2 for the rest: playbooks, task files, vars files
 * and roles, where `ignore_errors: yes` must mean what Ansible users mean,
 * while `mode: 0644` stays the number 644 that file modes read as octal digits
 * (PyYAML would make it 420).
 */
import { readFileSync, statSync } from 'node:fs';
import {
  CORE_SCHEMA,
  EVENT_ID,
  FAILSAFE_SCHEMA,
  NOT_RESOLVED,
  SCALAR_STYLE,
  constructFromEvents,
  defineScalarTag,
  getScalarValue,
  mergeTag,
  parseEvents,
  type Event,
  type ScalarEvent,
} from 'js-yaml';
import { LineCounter, parseDocument } from 'yaml';
import { ValidationError, errorMessage, type SourceLocation } from '../contract/errors.js';

export type YamlPath = readonly (string | number)[];

export interface YamlDoc {
  /** Plain JS value of the document (`null` for an empty file). */
  readonly value: unknown;
  /** File name used in locations (as given). */
  readonly file: string;
  /**
   * Location of the value at `path`, or of the nearest existing parent when the
   * path does not exist. With `{ key: true }` the location of the last segment's
   * key (for "unknown key" errors) when it exists.
   */
  locate(path: YamlPath, options?: { key?: boolean }): SourceLocation | undefined;
}

/** Files larger than this are refused before parsing. */
export const MAX_YAML_BYTES = 10 * 1024 * 1024;
/** Nodes that aliases may add to a document when expanded (billion laughs). */
export const MAX_ALIAS_EXPANSION = 100_000;
/** Maximum nesting of mappings/sequences. */
export const MAX_DEPTH = 100;

const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

// PyYAML's implicit resolvers and constructors (yaml/resolver.py, yaml/constructor.py): no `y`/`n`
// booleans, no leading-zero decimals, floats need a dot and a signed exponent, no timestamps.
const PY_BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PY_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_NULL = /^(?:~|null|Null|NULL|)$/;

function sexagesimal(digits: string): number {
  return digits.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

const PY_BOOL_TAG = defineScalarTag('tag:yaml.org,2002:bool', {
  implicit: true,
  implicitFirstChars: null,
  resolve: (s) => (PY_BOOL_TRUE.test(s) ? true : PY_BOOL_FALSE.test(s) ? false : NOT_RESOLVED),
  identify: (d) => typeof d === 'boolean',
});

/** YAML 1.2 with YAML 1.1's booleans: how playbooks are read. */
const PLAYBOOK_SCHEMA = SCHEMA.withTags(PY_BOOL_TAG);

const PYYAML_SCHEMA = FAILSAFE_SCHEMA.withTags(
  mergeTag,
  defineScalarTag('tag:yaml.org,2002:null', {
    implicit: true,
    implicitFirstChars: null,
    resolve: (s) => (PY_NULL.test(s) ? null : NOT_RESOLVED),
    identify: (d) => d === null,
  }),
  PY_BOOL_TAG,
  defineScalarTag('tag:yaml.org,2002:int', {
    implicit: true,
    implicitFirstChars: null,
    resolve: (s) => {
      if (!PY_INT.test(s)) return NOT_RESOLVED;
      let v = s.replace(/_/g, '');
      let sign = 1;
      if (v[0] === '-' || v[0] === '+') {
        if (v[0] === '-') sign = -1;
        v = v.slice(1);
      }
      if (v === '0') return 0;
      if (v.startsWith('0b')) return sign * Number.parseInt(v.slice(2), 2);
      if (v.startsWith('0x')) return sign * Number.parseInt(v.slice(2), 16);
      if (v.startsWith('0')) return sign * Number.parseInt(v, 8);
      if (v.includes(':')) return sign * sexagesimal(v);
      return sign * Number(v);
    },
    identify: (d) => typeof d === 'number' && Number.isInteger(d),
  }),
  defineScalarTag('tag:yaml.org,2002:float', {
    implicit: true,
    implicitFirstChars: null,
    resolve: (s) => {
      if (!PY_FLOAT.test(s)) return NOT_RESOLVED;
      let v = s.replace(/_/g, '').toLowerCase();
      let sign = 1;
      if (v[0] === '-' || v[0] === '+') {
        if (v[0] === '-') sign = -1;
        v = v.slice(1);
      }
      if (v === '.inf') return sign * Number.POSITIVE_INFINITY;
      if (v === '.nan') return Number.NaN;
      if (v.includes(':')) return sign * sexagesimal(v);
      return sign * Number(v);
    },
    identify: (d) => typeof d === 'number',
  }),
);

export interface ParseYamlOptions {
  /** `true`: YAML 1.1 scalars as PyYAML resolves them (Ansible's reading); `'booleans'`: only its booleans. */
  yaml11?: boolean | 'booleans';
}

function fail(file: string, message: string, line?: number, column?: number, cause?: unknown): never {
  throw new ValidationError(
    [
      line !== undefined
        ? { path: '', message, location: { file, line, column: column ?? 1 } }
        : { path: '', message: `${file}: ${message}` },
    ],
    cause === undefined ? undefined : { cause },
  );
}

/** Offsets to 1-based line and column. */
function lineIndex(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - (starts[lo] as number) + 1 };
  };
}

/** Cheap pre-scan of flow/block nesting so the parser never meets absurd depth. */
function checkTextDepth(text: string, file: string, lc: (offset: number) => { line: number; col: number }): void {
  let depth = 0;
  let maxIndentDepth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > MAX_DEPTH * 2) {
        const p = lc(i);
        fail(file, `nesting deeper than ${MAX_DEPTH} levels`, p.line, p.col);
      }
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    } else if (c === 0x0a) {
      // Leading spaces bound block nesting depth.
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) === 0x20) j++;
      const indent = j - i - 1;
      if (indent > maxIndentDepth) maxIndentDepth = indent;
    }
  }
  if (maxIndentDepth > MAX_DEPTH * 20) fail(file, `indentation deeper than ${MAX_DEPTH * 20} columns`);
}

/**
 * A collection in the position index. A scalar is only its offset (-1: empty,
 * such as `key:` with nothing after it): an index of a large file holds one
 * object per mapping or sequence, not per value.
 */
interface PosNode {
  kind: 'map' | 'seq';
  start: number;
  /** A sequence's items; a mapping's values, in order. */
  children: Pos[];
  /** A mapping's keys (decoded text) and where each is written. */
  keys: string[];
  keyStarts: number[];
}
type Pos = PosNode | number;

const startOf = (p: Pos | undefined): number => (p === undefined ? -1 : typeof p === 'number' ? p : p.start);

/** Where a scalar is written: its opening quote, its `|`/`>` header, or its first character. */
function scalarStart(e: ScalarEvent, text: string): number {
  if (e.valueStart < 0) return -1;
  if (e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED) return e.valueStart - 1;
  if (e.style === SCALAR_STYLE.LITERAL_BLOCK || e.style === SCALAR_STYLE.FOLDED_BLOCK) {
    const header = Math.max(text.lastIndexOf('|', e.valueStart), text.lastIndexOf('>', e.valueStart));
    return header >= 0 ? header : e.valueStart;
  }
  return e.valueStart;
}

/**
 * The position index, built from the events. An alias stands for the node its
 * anchor names (so paths through aliases locate inside the anchored node); an
 * alias inside the node its own anchor names is a structure that contains
 * itself, refused here.
 */
function indexEvents(events: readonly Event[], text: string, file: string, lc: (offset: number) => { line: number; col: number }): Pos | undefined {
  const anchors = new Map<string, Pos>();
  const open: PosNode[] = [];
  let root: Pos | undefined;
  /** Put `pos` where it belongs: a mapping alternates key and value. `keyText` is read only for keys. */
  const attach = (pos: Pos, keyText: () => string): void => {
    const parent = open[open.length - 1];
    if (!parent) root ??= pos;
    else if (parent.kind === 'map' && parent.keys.length === parent.children.length) {
      parent.keys.push(keyText());
      parent.keyStarts.push(startOf(pos));
    } else parent.children.push(pos);
  };
  const anchor = (e: { anchorStart: number; anchorEnd: number }, pos: Pos): void => {
    if (e.anchorStart >= 0) anchors.set(text.slice(e.anchorStart, e.anchorEnd), pos);
  };
  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const node: PosNode = { kind: e.type === EVENT_ID.MAPPING ? 'map' : 'seq', start: e.start, children: [], keys: [], keyStarts: [] };
        anchor(e, node);
        attach(node, () => '');
        open.push(node);
        break;
      }
      case EVENT_ID.SCALAR: {
        const start = scalarStart(e, text);
        anchor(e, start);
        attach(start, () => (e.valueStart >= 0 ? getScalarValue(text, e) : ''));
        break;
      }
      case EVENT_ID.ALIAS: {
        const name = text.slice(e.anchorStart, e.anchorEnd);
        const target = anchors.get(name);
        if (target !== undefined && typeof target !== 'number' && open.includes(target)) {
          const p = lc(e.anchorStart - 1);
          fail(file, `the alias *${name} refers to a node that contains it: a recursive structure cannot be used`, p.line, p.col);
        }
        attach(target ?? e.anchorStart - 1, () => '');
        break;
      }
      case EVENT_ID.POP:
        open.pop();
        break;
      default:
    }
  }
  return root;
}

/** Nodes the value has once every alias is expanded (shared objects counted each time they are reached). */
function expandedSize(value: unknown, limit: number): number {
  const memo = new Map<object, number>();
  const size = (v: unknown): number => {
    if (v === null || typeof v !== 'object') return 1;
    const known = memo.get(v);
    if (known !== undefined) return known;
    let n = 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      n += size(child);
      if (n > limit) break;
    }
    memo.set(v, n);
    return n;
  };
  return size(value);
}

/** js-yaml refused the text: say why, preferring the `yaml` package's explanation of the same text. */
function explain(text: string, file: string, err: unknown, lc: (offset: number) => { line: number; col: number }): never {
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument> | undefined;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true, keepSourceTokens: false });
  } catch {
    /* fall back to js-yaml's message */
  }
  const first = doc?.errors[0];
  const mark = (err as { mark?: { position?: number } }).mark;
  const reason = (err as { reason?: string }).reason ?? errorMessage(err);
  if (first && !/duplicated mapping key/.test(reason)) {
    const pos = lineCounter.linePos(first.pos[0]);
    const message =
      first.code === 'MULTIPLE_DOCS'
        ? 'YAML syntax error: more than one document (---) in one file is not supported'
        : `YAML syntax error: ${first.message.replace(/\s+$/, '')}`;
    fail(file, message, pos.line, pos.col, err);
  }
  if (mark?.position !== undefined) {
    const p = lc(mark.position);
    if (/duplicated mapping key/.test(reason)) {
      const keyText = (/^("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(text.slice(mark.position, mark.position + 200))?.[1] ?? '').replace(/^["']|["']$/g, '').trim();
      fail(file, `duplicate key ${JSON.stringify(keyText)}`, p.line, p.col, err);
    }
    if (/maxDepth/.test(reason)) fail(file, `nesting deeper than ${MAX_DEPTH} levels`, p.line, p.col, err);
    fail(file, `YAML syntax error: ${reason}`, p.line, p.col, err);
  }
  fail(file, `cannot parse YAML: ${reason}`, undefined, undefined, err);
}

export function parseYaml(text: string, file: string, options: ParseYamlOptions = {}): YamlDoc {
  if (text.length > MAX_YAML_BYTES) fail(file, `file is larger than ${MAX_YAML_BYTES} bytes`);
  const lc = lineIndex(text);
  checkTextDepth(text, file, lc);
  let events: Event[];
  let docs: unknown[];
  try {
    events = parseEvents(text, { filename: file, maxDepth: MAX_DEPTH });
    const documents = events.filter((e) => e.type === EVENT_ID.DOCUMENT).length;
    if (documents > 1) explain(text, file, new Error('more than one document'), lc);
    const root = indexEvents(events, text, file, lc);
    docs = constructFromEvents(events, { source: text, filename: file, schema: options.yaml11 === 'booleans' ? PLAYBOOK_SCHEMA : options.yaml11 ? PYYAML_SCHEMA : SCHEMA });
    const value = docs[0] ?? null;
    // an alias-free document expands to one node per event at most
    if (expandedSize(value, events.length + MAX_ALIAS_EXPANSION) > events.length + MAX_ALIAS_EXPANSION) {
      fail(file, `aliases expand to more than ${MAX_ALIAS_EXPANSION} extra nodes: refusing a possible alias bomb`);
    }
    return { value, file, locate: locator(root, file, lc) };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    explain(text, file, err, lc);
  }
}

function locator(root: Pos | undefined, file: string, lc: (offset: number) => { line: number; col: number }): YamlDoc['locate'] {
  const at = (offset: number): SourceLocation => {
    const p = lc(offset);
    return { file, line: p.line, column: p.col };
  };
  return (path, options) => {
    let node = root;
    let best: SourceLocation = startOf(node) >= 0 ? at(startOf(node)) : { file, line: 1, column: 1 };
    for (let i = 0; i < path.length && node !== undefined; i++) {
      if (typeof node === 'number') return best;
      const seg = path[i];
      const last = i === path.length - 1;
      if (node.kind === 'map') {
        const k = node.keys.indexOf(String(seg));
        if (k < 0) return best;
        const keyStart = node.keyStarts[k] as number;
        const keyLoc = keyStart >= 0 ? at(keyStart) : best;
        if (last && options?.key) return keyLoc;
        const value = node.children[k];
        // `key:` with no value: point at the key
        best = startOf(value) >= 0 ? at(startOf(value)) : keyLoc;
        node = value;
      } else if (typeof seg === 'number') {
        const item = node.children[seg];
        if (item === undefined) return best;
        if (startOf(item) >= 0) best = at(startOf(item));
        node = item;
      } else {
        return best;
      }
    }
    return best;
  };
}

export function loadYamlFile(path: string, displayName: string = path, options: ParseYamlOptions = {}): YamlDoc {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) fail(displayName, 'not a regular file');
    if (st.size > MAX_YAML_BYTES) fail(displayName, `file is larger than ${MAX_YAML_BYTES} bytes (${st.size})`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    fail(displayName, code === 'ENOENT' ? 'file not found' : `cannot read file: ${errorMessage(err)}`, undefined, undefined, err);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseYaml(text, displayName, options);
}
