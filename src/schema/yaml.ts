/**
 * YAML loading that keeps source positions, so every later error can say
 * `file:line:col`. Hostile or broken input never hangs and never escapes as a
 * stack trace: size cap, alias-expansion cap (billion laughs), nesting cap,
 * recursive aliases and duplicate keys rejected; every failure is a
 * ValidationError.
 *
 * Parsing is js-yaml's `load`, whose listener sees every node open and close
 * with its source offset: the position index behind `locate` is built in the
 * same pass, one object per mapping or sequence, with no event list or
 * document model in between. That keeps a 10 MB playbook within seconds and
 * a quarter of a gigabyte (`npm run bench:load`). When js-yaml refuses a
 * file, the `yaml` package parses it again only to explain why: its messages
 * point at the cause (an unclosed quote) where js-yaml's sometimes point at
 * the symptom.
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
import { createRequire } from 'node:module';
import { CORE_SCHEMA, FAILSAFE_SCHEMA, Type, load, type LoadOptions, type State } from 'js-yaml';
import type * as YamlPackage from 'yaml';
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

/** Merge keys (`<<: *defaults`): js-yaml merges a key that resolves to this tag. */
const MERGE = new Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (data: string | null) => data === '<<' || data === null });

const SCHEMA = CORE_SCHEMA.extend({ implicit: [MERGE] });

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

/** A plain scalar that `pattern` resolves, read by `construct`. */
function implicitScalar(tag: string, pattern: RegExp, construct: (text: string) => unknown, predicate: (d: unknown) => boolean): Type {
  return new Type(tag, {
    kind: 'scalar',
    resolve: (data: string | null) => data !== null && pattern.test(data),
    construct: (data: string) => construct(data),
    predicate,
  });
}

/** The sign of a numeric text, and the text without it and without `_` separators. */
function unsigned(s: string, lower = false): { sign: number; v: string } {
  const v = lower ? s.replace(/_/g, '').toLowerCase() : s.replace(/_/g, '');
  if (v[0] === '-' || v[0] === '+') return { sign: v[0] === '-' ? -1 : 1, v: v.slice(1) };
  return { sign: 1, v };
}

const PY_BOOL_TAG = implicitScalar('tag:yaml.org,2002:bool', new RegExp(`${PY_BOOL_TRUE.source}|${PY_BOOL_FALSE.source}`), (s) => PY_BOOL_TRUE.test(s), (d) => typeof d === 'boolean');

/** YAML 1.2 with YAML 1.1's booleans: how playbooks are read. */
const PLAYBOOK_SCHEMA = SCHEMA.extend({ implicit: [PY_BOOL_TAG] });

const PYYAML_SCHEMA = FAILSAFE_SCHEMA.extend({
  implicit: [
    MERGE,
    implicitScalar('tag:yaml.org,2002:null', PY_NULL, () => null, (d) => d === null),
    PY_BOOL_TAG,
    implicitScalar(
      'tag:yaml.org,2002:int',
      PY_INT,
      (s) => {
        const { sign, v } = unsigned(s);
        if (v === '0') return 0;
        if (v.startsWith('0b')) return sign * Number.parseInt(v.slice(2), 2);
        if (v.startsWith('0x')) return sign * Number.parseInt(v.slice(2), 16);
        if (v.startsWith('0')) return sign * Number.parseInt(v, 8);
        if (v.includes(':')) return sign * sexagesimal(v);
        return sign * Number(v);
      },
      (d) => typeof d === 'number' && Number.isInteger(d),
    ),
    implicitScalar(
      'tag:yaml.org,2002:float',
      PY_FLOAT,
      (s) => {
        const { sign, v } = unsigned(s, true);
        if (v === '.inf') return sign * Number.POSITIVE_INFINITY;
        if (v === '.nan') return Number.NaN;
        if (v.includes(':')) return sign * sexagesimal(v);
        return sign * Number(v);
      },
      (d) => typeof d === 'number',
    ),
  ],
});

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
  /** A mapping's keys (as js-yaml keys them) and where each is written. */
  keys: string[];
  keyStarts: number[];
}
type Pos = PosNode | number;

const NONE: never[] = [];

const startOf = (p: Pos | undefined): number => (p === undefined ? -1 : typeof p === 'number' ? p : p.start);

/** A node js-yaml is reading: where it starts, its anchor, the nodes read inside it so far. */
interface OpenNode {
  start: number;
  anchor: string | undefined;
  /** Made at the first kid: most nodes are scalars and have none. */
  kids: Pos[] | undefined;
  /** Each kid's text when it is a scalar: a mapping's keys are its even kids. */
  texts: (string | undefined)[] | undefined;
}

/** js-yaml's parser state as its listener sees it (the fields @types/js-yaml leaves out). */
type ListenerState = State & { kind: string | null; result: unknown };

/** Where the next node starts: past spaces, line breaks and comments. */
function skipSeparation(text: string, pos: number): number {
  for (let i = pos; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x23 /* # */) {
      const eol = text.indexOf('\n', i);
      if (eol < 0) return text.length;
      i = eol;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
  }
  return text.length;
}

/** The anchor or alias name written at `pos` (just after `&` or `*`). */
function nameAt(text: string, pos: number): string {
  let end = pos;
  while (end < text.length && !/[\s,[\]{}]/.test(text[end] as string)) end++;
  return text.slice(pos, end);
}

/** The anchor a node starting at `start` declares, after its tag if it has one. */
function anchorAt(text: string, start: number): string | undefined {
  let i = start;
  if (text[i] === '!') {
    while (i < text.length && !/\s/.test(text[i] as string)) i++;
    while (text[i] === ' ' || text[i] === '\t') i++;
  }
  return text[i] === '&' ? nameAt(text, i + 1) : undefined;
}

/**
 * The position index, built while js-yaml reads the text (its listener sees
 * each node open and close). An alias stands for the node its anchor names
 * (so paths through aliases locate inside the anchored node); an alias inside
 * the node its own anchor names is a structure that contains itself, refused
 * here.
 */
class Indexer {
  root: Pos | undefined;
  /** Nodes read: the bound for what an alias-free document expands to. */
  nodes = 0;
  private readonly open: OpenNode[] = [];
  private readonly anchors = new Map<string, Pos>();

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly lc: (offset: number) => { line: number; col: number },
  ) {}

  readonly listener = (event: 'open' | 'close', state: State): void => {
    if (event === 'open') {
      const start = skipSeparation(this.text, state.position);
      this.open.push({ start, anchor: anchorAt(this.text, start), kids: undefined, texts: undefined });
      this.nodes++;
    } else this.close(state as ListenerState);
  };

  private close(state: ListenerState): void {
    const node = this.open.pop() as OpenNode;
    const kids = node.kids ?? NONE;
    const texts = node.texts ?? NONE;
    let pos: Pos;
    let keyText: string | undefined;
    const only = kids.length === 1 ? kids[0] : undefined;
    if (only !== undefined && typeof only !== 'number' && only.start === node.start) {
      pos = only; // js-yaml read a would-be key (`- { a: 1 }`) that turned out to be the whole node
    } else if (state.kind === 'mapping') {
      // exact-size arrays: the index of a large file holds one node per mapping
      const n = kids.length >> 1;
      const keys = new Array<string>(n);
      const keyStarts = new Array<number>(n);
      const children = new Array<Pos>(n);
      for (let i = 0; i < n; i++) {
        keys[i] = texts[2 * i] ?? '';
        keyStarts[i] = startOf(kids[2 * i]);
        children[i] = kids[2 * i + 1] ?? -1;
      }
      pos = { kind: 'map', start: node.start, children, keys, keyStarts };
    } else if (state.kind === 'sequence') {
      pos = { kind: 'seq', start: node.start, children: kids.slice(), keys: NONE, keyStarts: NONE };
    } else if (node.start >= state.position) {
      pos = -1; // nothing written: `key:` with no value
    } else if (this.text.charCodeAt(node.start) === 0x2a /* * */) {
      pos = this.alias(node.start);
    } else {
      pos = node.start;
      keyText = String(state.result);
    }
    if (node.anchor !== undefined) this.anchors.set(node.anchor, pos);
    const parent = this.open[this.open.length - 1];
    if (!parent) this.root ??= pos;
    else {
      (parent.kids ??= []).push(pos);
      (parent.texts ??= []).push(keyText);
    }
  }

  private alias(at: number): Pos {
    const name = nameAt(this.text, at + 1);
    if (this.open.some((n) => n.anchor === name)) {
      const p = this.lc(at);
      fail(this.file, `the alias *${name} refers to a node that contains it: a recursive structure cannot be used`, p.line, p.col);
    }
    return this.anchors.get(name) ?? at;
  }
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

/** The `yaml` package (CommonJS under Node, so it can be required when first needed). */
export function yamlPackage(): typeof YamlPackage {
  return createRequire(import.meta.url)('yaml') as typeof YamlPackage;
}

/** js-yaml refused the text: say why, preferring the `yaml` package's explanation of the same text. */
function explain(text: string, file: string, err: unknown, lc: (offset: number) => { line: number; col: number }): never {
  // loaded only here, on a refused file: most runs never need it, and it costs a tenth of a second at start-up
  const { LineCounter, parseDocument } = yamlPackage();
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
  const indexer = new Indexer(text, file, lc);
  try {
    const loadOptions: LoadOptions & { maxDepth: number } = {
      filename: file,
      schema: options.yaml11 === 'booleans' ? PLAYBOOK_SCHEMA : options.yaml11 ? PYYAML_SCHEMA : SCHEMA,
      listener: indexer.listener,
      maxDepth: MAX_DEPTH,
    };
    const value = load(text, loadOptions) ?? null;
    // an alias-free document expands to one node per node read at most
    const bound = indexer.nodes + MAX_ALIAS_EXPANSION;
    if (expandedSize(value, bound) > bound) fail(file, `aliases expand to more than ${MAX_ALIAS_EXPANSION} extra nodes: refusing a possible alias bomb`);
    return { value, file, locate: locator(indexer.root, file, lc) };
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
  // offsets along the path, made a line and column once, at the end (a binary search each)
  const found = (offset: number): SourceLocation => (offset >= 0 ? at(offset) : { file, line: 1, column: 1 });
  return (path, options) => {
    let node = root;
    let best = startOf(node);
    for (let i = 0; i < path.length && node !== undefined; i++) {
      if (typeof node === 'number') return found(best);
      const seg = path[i];
      const last = i === path.length - 1;
      if (node.kind === 'map') {
        const k = node.keys.indexOf(String(seg));
        if (k < 0) return found(best);
        const keyStart = node.keyStarts[k] as number;
        const keyAt = keyStart >= 0 ? keyStart : best;
        if (last && options?.key) return found(keyAt);
        const value = node.children[k];
        // `key:` with no value: point at the key
        best = startOf(value) >= 0 ? startOf(value) : keyAt;
        node = value;
      } else if (typeof seg === 'number') {
        const item = node.children[seg];
        if (item === undefined) return found(best);
        if (startOf(item) >= 0) best = startOf(item);
        node = item;
      } else {
        return found(best);
      }
    }
    return found(best);
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
