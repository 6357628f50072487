/**
 * YAML loading that keeps source positions, so every later error can say
 * `file:line:col`. Hostile or broken input never hangs and never escapes as a
 * stack trace: size cap, alias-expansion cap (billion laughs), nesting cap,
 * duplicate keys rejected; every failure is a ValidationError.
 *
 * YAML 1.2 core schema (like the `yaml` package default): `yes`/`no`/`on`/`off`
 * are strings, not booleans, and `0644` is the number 644 (quote file modes).
 * Merge keys (`<<: *defaults`) are enabled, as Ansible users rely on them.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
/** Alias expansions allowed per document (yaml's `maxAliasCount`). */
export const MAX_ALIAS_COUNT = 1000;
/** Maximum nesting of mappings/sequences. */
export const MAX_DEPTH = 100;

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

/** Cheap pre-scan of flow/block nesting so the recursive composer never meets absurd depth. */
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

function checkValueDepth(value: unknown, file: string): void {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d > MAX_DEPTH) fail(file, `nesting deeper than ${MAX_DEPTH} levels`);
    if (seen.has(v)) continue; // aliases share objects; depth already bounded by the cap above
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push([child, d + 1]);
  }
}

/**
 * An alias inside the node its anchor names (`vars: &v { self: *v }`) makes a
 * structure that contains itself: every walk over it would never end. Anchors
 * are defined before their aliases, so such a cycle always runs through an
 * ancestor of the alias.
 */
function refuseRecursiveAliases(root: Node | null, doc: Document.Parsed, locate: (n: Node) => SourceLocation | undefined, file: string): void {
  const ancestors = new Set<unknown>();
  const stack: [unknown, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [n, leaving] = stack.pop() as [unknown, boolean];
    if (leaving) {
      ancestors.delete(n);
      continue;
    }
    if (isAlias(n)) {
      if (ancestors.has(n.resolve(doc))) {
        const at = locate(n);
        fail(file, `the alias *${n.source} refers to a node that contains it: a recursive structure cannot be used`, at?.line, at?.column);
      }
      continue;
    }
    const children = isMap(n) ? n.items.flatMap((p) => [p.key, p.value]) : isSeq(n) ? n.items : [];
    if (children.length === 0) continue;
    ancestors.add(n);
    stack.push([n, true]);
    for (const c of children) stack.push([c, false]);
  }
}

export function parseYaml(text: string, file: string): YamlDoc {
  if (text.length > MAX_YAML_BYTES) fail(file, `file is larger than ${MAX_YAML_BYTES} bytes`);
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    // LineCounter is fed by the parser; pre-scan uses a local counter.
    const pre = new LineCounter();
    let off = 0;
    for (;;) {
      pre.addNewLine(off);
      const n = text.indexOf('\n', off);
      if (n < 0) break;
      off = n + 1;
    }
    checkTextDepth(text, file, (o) => pre.linePos(o));
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true, keepSourceTokens: false });
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    fail(file, `cannot parse YAML: ${errorMessage(err)}`, undefined, undefined, err);
  }
  if (doc.errors.length > 0) {
    throw new ValidationError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const rest = text.slice(e.pos[0], e.pos[0] + 200);
        const keyText = (/^("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(rest)?.[1] ?? rest.split('\n')[0] ?? '').replace(/^["']|["']$/g, '').trim();
        const message =
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key ${JSON.stringify(keyText)}`
            : e.code === 'MULTIPLE_DOCS'
              ? 'YAML syntax error: more than one document (---) in one file is not supported'
              : `YAML syntax error: ${e.message}`;
        return { path: '', message: message.replace(/\s+$/, ''), location: { file, line: pos.line, column: pos.col } };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = errorMessage(err);
    if (/alias/i.test(msg)) fail(file, `too many alias expansions (more than ${MAX_ALIAS_COUNT}): refusing a possible alias bomb`, undefined, undefined, err);
    if (err instanceof RangeError) fail(file, `nesting too deep`, undefined, undefined, err);
    fail(file, `cannot read YAML: ${msg}`, undefined, undefined, err);
  }
  checkValueDepth(value, file);
  const root = doc.contents as Node | null;

  const toLoc = (offset: number | undefined): SourceLocation | undefined => {
    if (offset === undefined) return undefined;
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const deref = (n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);
  refuseRecursiveAliases(root, doc, (n) => toLoc(n.range?.[0]), file);

  function locate(path: YamlPath, options?: { key?: boolean }): SourceLocation | undefined {
    let node = deref(root) as Node | null | undefined;
    let best: SourceLocation | undefined = node?.range ? toLoc(node.range[0]) : { file, line: 1, column: 1 };
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        // Later duplicates are impossible (uniqueKeys), merge keys are not located.
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return best;
        const keyNode = pair.key as Node;
        const keyLoc = keyNode.range ? toLoc(keyNode.range[0]) : best;
        if (last && options?.key) return keyLoc;
        const valueNode = deref(pair.value) as Node | null;
        if (!valueNode || !valueNode.range || (isScalar(valueNode) && valueNode.value === null && valueNode.range[0] === valueNode.range[1])) {
          // `key:` with no value: point at the key.
          best = keyLoc;
          node = valueNode;
          continue;
        }
        best = toLoc(valueNode.range[0]) ?? keyLoc;
        node = valueNode;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = deref(node.items[seg]) as Node | null | undefined;
        if (!item) return best;
        if (item.range) best = toLoc(item.range[0]);
        node = item;
      } else {
        return best;
      }
    }
    return best;
  }

  return { value, file, locate };
}

export function loadYamlFile(path: string, displayName: string = path): YamlDoc {
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
  return parseYaml(text, displayName);
}
