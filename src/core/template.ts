/**
 * Jinja2 templates with Ansible's semantics (ansible-core 2.14 as installed,
 * jinja2_native off), rendered by nunjucks' parser and code generator, never by
 * `eval` of user input. Agreement with Ansible is checked case by case against
 * Ansible itself: test/fixtures/template-oracle (oracle.py, expected.json).
 *
 * What is Ansible's here, and nunjucks' default is not:
 * - Ansible doubles the backslashes inside string literals of `{{ }}` before
 *   Jinja reads them (so `'\1'` in a playbook reaches re.sub as `\1`), and
 *   Jinja decodes string literals with Python's unicode-escape;
 * - a template's value (see `concat`): one expression whose value is not a
 *   string keeps it (a number, list, dict...); otherwise text, read back with
 *   Python's literal_eval only when it looks like a list, dict, True or False
 *   (so `"{{ version }}"` with version "1.10" stays "1.10");
 * - Python values: `str()` of True is `True`, of a list `['a', 'b']`; `==`
 *   never coerces (`'1' == 1` is false); `/` gives a float; `[1] + [2]` is a
 *   list; chained comparisons; truthiness of empty lists and dicts;
 * - strict undefined variables: using one is an error naming it, while
 *   `x is defined`, `x | default(...)` and `x.y is defined` stay legal;
 * - filters and tests are Ansible's and Jinja2's (src/core/filters.ts); one
 *   that is not supported fails with a TemplateError naming it;
 * - `when:` conditions are evaluated like Ansible's Conditional;
 * - `{{ x | default(omit) }}` renders the string OMIT (Ansible's omit
 *   placeholder). A caller that renders task arguments drops every mapping key
 *   whose value is exactly OMIT, recursively, before the task sees them:
 *   `dropOmitted(renderValue(task.args, vars))` (Ansible's remove_omit).
 */
import { createRequire } from 'node:module';
import type Nunjucks from 'nunjucks';
import type { Template } from 'nunjucks';
import { TemplateError } from '../contract/errors.js';
import {
  OMIT,
  STRING_TYPE_FILTERS,
  Undefined,
  UndefinedUse,
  callFilter,
  getattr,
  getitem,
  lookup,
  pyDict,
  pyRange,
  resetLastUndefinedUse,
  runTest,
  slice,
  str,
  strict,
  strictDeep,
  takeLastUndefinedUse,
  truthy,
  type FilterContext,
} from './filters.js';
import { PyError, PyFloat, Unsupported, literalEval, orderedDict, resetLastRaised, takeLastRaised, plainValue, pyBinop, pyCompare, pyIn, tuple, unicodeEscape } from './pyvalues.js';

export { OMIT, Undefined, dropOmitted, truthy } from './filters.js';

const require = createRequire(import.meta.url);

// ---- nunjucks internals (untyped in @types/nunjucks) -----------------------

interface NjNode {
  readonly typename: string;
  lineno: number;
  colno: number;
  [field: string]: unknown;
}
type NodeCtor = new (lineno: number, colno: number, ...fields: unknown[]) => NjNode;
interface NjToken {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}
interface NjTokenizer {
  str: string;
  index: number;
  in_code: boolean;
  nextToken(): NjToken | null;
  current(): string;
  forward(): void;
  isFinished(): boolean;
  _extractString(s: string): string | null;
  _parseString(delimiter: string): string;
}
interface NjParser {
  extensions: unknown[];
  parseAsRoot(): NjNode;
  peekToken(): NjToken;
  nextToken(): NjToken;
  pushToken(t: NjToken): void;
  skip(type: string): boolean;
  skipSymbol(s: string): boolean;
  skipValue(type: string, v: string): boolean;
  fail(msg: string, lineno?: number, colno?: number): never;
  parseExpression(): NjNode;
  parseSignature(tolerant?: boolean, noParens?: boolean): NjNode | null;
  parsePrimary(noPostfix?: boolean): NjNode;
  parseCompare(): NjNode;
  [m: string]: unknown;
}
interface NjCompiler {
  buffer: string;
  compile(node: unknown, frame?: unknown): void;
  _emit(code: string): void;
  _compileAggregate(node: NjNode, frame: unknown, start?: string, end?: string): void;
  _compileExpression(node: NjNode, frame: unknown): void;
  _emitLine(code: string): void;
  _tmpid(): string;
  getCode(): string;
  [m: string]: unknown;
}

// ---- Ansible's backslash doubling --------------------------------------------

/**
 * Ansible's Templar._escape_backslashes: inside `{{ }}`, every backslash of a
 * string literal is doubled before Jinja reads the template, so playbook
 * authors write `'\1'` (not `'\\1'`) for a backreference. `{% %}` blocks,
 * comments and text outside expressions are left alone.
 */
export function escapeBackslashes(src: string): string {
  if (!src.includes('\\') || !src.includes('{{')) return src;
  let out = '';
  let i = 0;
  const n = src.length;
  const stringAt = (k: number): number => {
    // end (exclusive) of the Jinja string literal starting at k
    const q = src[k] as string;
    let j = k + 1;
    while (j < n && src[j] !== q) j += src[j] === '\\' ? 2 : 1;
    return j < n ? j + 1 : -1;
  };
  while (i < n) {
    if (src.startsWith('{#', i)) {
      const e = src.indexOf('#}', i + 2);
      const end = e < 0 ? n : e + 2;
      out += src.slice(i, end);
      i = end;
    } else if (src.startsWith('{%', i)) {
      const raw = /^\{%-?\s*raw\s*-?%\}/.exec(src.slice(i));
      if (raw) {
        const m = /\{%-?\s*endraw\s*-?%\}/.exec(src.slice(i + raw[0].length));
        const end = m ? i + raw[0].length + m.index + m[0].length : n;
        out += src.slice(i, end);
        i = end;
        continue;
      }
      let j = i + 2;
      while (j < n && !src.startsWith('%}', j)) {
        if (src[j] === "'" || src[j] === '"') {
          const e = stringAt(j);
          if (e < 0) break;
          j = e;
        } else j++;
      }
      const end = Math.min(n, j + 2);
      out += src.slice(i, end);
      i = end;
    } else if (src.startsWith('{{', i)) {
      out += '{{';
      let j = i + 2;
      let depth = 0;
      while (j < n) {
        const c = src[j] as string;
        if (depth === 0 && (src.startsWith('}}', j) || src.startsWith('-}}', j))) break;
        if (c === "'" || c === '"') {
          const e = stringAt(j);
          if (e < 0) {
            out += src.slice(j);
            j = n;
            break;
          }
          out += src.slice(j, e).replace(/\\/g, '\\\\');
          j = e;
          continue;
        }
        if ('([{'.includes(c)) depth++;
        else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
        out += c;
        j++;
      }
      i = j;
    } else {
      out += src[i];
      i++;
    }
  }
  return out;
}

// ---- parsing -------------------------------------------------------------------

const floatLiterals = new Set<string>();

/** A nunjucks tokenizer that reads string literals and `}}` the way Jinja2 does. */
function tokenizer(src: string): NjTokenizer {
  const { T, lexer } = nj();
  const tk = lexer.lex(src, { trimBlocks: true });
  const origNext = tk.nextToken.bind(tk);
  const origExtract = tk._extractString.bind(tk);
  let depth = 0;
  // Jinja2: `}}` closes the expression only outside brackets ({'a': {'b': 1}}).
  tk._extractString = (s: string) => (depth > 0 && /^-?(\}\}|%\})$/.test(s) ? null : origExtract(s));
  // Jinja2 string literals: a backslash escapes any character, the body is decoded with unicode-escape.
  tk._parseString = function (this: NjTokenizer, delimiter: string): string {
    this.forward();
    let body = '';
    while (!this.isFinished() && this.current() !== delimiter) {
      const c = this.current();
      body += c;
      this.forward();
      if (c === '\\' && !this.isFinished()) {
        body += this.current();
        this.forward();
      }
    }
    this.forward();
    return unicodeEscape(body.replace(/\r\n?/g, '\n'));
  };
  tk.nextToken = () => {
    const tok = origNext();
    if (!tok) return tok;
    // Jinja2's trim_blocks removes the newline after a comment too (nunjucks only after a block).
    if (tok.type === T.COMMENT && !tk.isFinished() && tk.current() === '\n') tk.forward();
    if (tok.type === T.LEFT_PAREN || tok.type === T.LEFT_BRACKET || tok.type === T.LEFT_CURLY) depth++;
    else if (tok.type === T.RIGHT_PAREN || tok.type === T.RIGHT_BRACKET || tok.type === T.RIGHT_CURLY) depth = Math.max(0, depth - 1);
    else if (tok.type === T.INT || tok.type === T.FLOAT) {
      if (/^(_\d|[eE][-+]?\d)/.test(tk.str.slice(tk.index))) throw new Unsupported(`the number literal ${tok.value}${/^[_eE][-+]?\d*/.exec(tk.str.slice(tk.index))?.[0] ?? ''} (write it without _ or exponent)`);
      if (tok.type === T.FLOAT) floatLiterals.add(`${tok.lineno}:${tok.colno}`);
    }
    return tok;
  };
  return tk;
}


/** Adjacent string literals are one string in Jinja2 ('a' 'b' is 'ab'). */
function parsePrimary(p: NjParser, noPostfix?: boolean): NjNode {
  const { T, N, nunjucksParsePrimary } = nj();
  const tok = p.peekToken();
  if (!tok || tok.type !== T.STRING) return nunjucksParsePrimary.call(p, noPostfix);
  p.nextToken();
  let value = tok.value;
  for (let next = p.peekToken(); next && next.type === T.STRING; next = p.peekToken()) value += p.nextToken().value;
  const node = new N.Literal(tok.lineno, tok.colno, value);
  return noPostfix ? node : (p.parsePostfix as (n: NjNode) => NjNode).call(p, node);
}

/** `[key]` (an item) or `[start:stop:step]` (a slice, any part optional), after the `[` token `tok`. */
function parseSubscript(p: NjParser, node: NjNode, tok: NjToken): NjNode {
  const { T, N } = nj();
  p.nextToken();
  const parts: (NjNode | null)[] = [null, null, null];
  let isSlice = false;
  if (p.peekToken().type !== T.COLON) parts[0] = p.parseExpression();
  if (p.skip(T.COLON)) {
    isSlice = true;
    if (p.peekToken().type !== T.COLON && p.peekToken().type !== T.RIGHT_BRACKET) parts[1] = p.parseExpression();
    if (p.skip(T.COLON) && p.peekToken().type !== T.RIGHT_BRACKET) parts[2] = p.parseExpression();
  }
  if (!p.skip(T.RIGHT_BRACKET)) p.fail('expected ]', tok.lineno, tok.colno);
  if (isSlice) {
    const lit = (x: NjNode | null | undefined) => x ?? new N.Literal(tok.lineno, tok.colno, null);
    return new N.FunCall(tok.lineno, tok.colno, new N.Symbol(tok.lineno, tok.colno, '__pv_slice'), new N.NodeList(tok.lineno, tok.colno, [node, lit(parts[0]), lit(parts[1]), lit(parts[2])]));
  }
  const item = new N.LookupVal(tok.lineno, tok.colno, node, parts[0]);
  item.pvItem = true;
  return item;
}

/** `.name` (an attribute) or `.0` (an item), after the `.` token `tok`. */
function parseDotLookup(p: NjParser, node: NjNode, tok: NjToken): NjNode {
  const { T, N } = nj();
  p.nextToken();
  const val = p.nextToken();
  if (val.type === T.SYMBOL) {
    const attr = new N.LookupVal(tok.lineno, tok.colno, node, new N.Literal(val.lineno, val.colno, val.value));
    attr.pvAttr = true;
    return attr;
  }
  if (val.type === T.INT) {
    const item = new N.LookupVal(tok.lineno, tok.colno, node, new N.Literal(val.lineno, val.colno, Number(val.value)));
    item.pvItem = true;
    return item;
  }
  return p.fail(`expected name as lookup value, got ${val.value}`, val.lineno, val.colno);
}

/** Calls, subscripts with slices, and `.name` (attribute) kept apart from `[key]` (item), as in Jinja2. */
function parsePostfix(p: NjParser, node: NjNode): NjNode {
  const { T, N } = nj();
  for (let tok = p.peekToken(); tok; tok = p.peekToken()) {
    if (tok.type === T.LEFT_PAREN) node = new N.FunCall(tok.lineno, tok.colno, node, p.parseSignature());
    else if (tok.type === T.LEFT_BRACKET) node = parseSubscript(p, node, tok);
    else if (tok.type === T.OPERATOR && tok.value === '.') node = parseDotLookup(p, node, tok);
    else break;
  }
  return node;
}

// Jinja2's grammar below `not` (nunjucks' precedence differs): comparisons and
// `in`/`not in` chain at one level, then + -, then ~, then * / // %, then **,
// then unary - +, then filters and tests bound to their operand.

const COMPARISON_OPERATORS = ['==', '!=', '<', '>', '<=', '>='];

const peekOp = (p: NjParser, ...ops: string[]): string | undefined => {
  const t = p.peekToken();
  return t && t.type === nj().T.OPERATOR && ops.includes(t.value) ? t.value : undefined;
};

/** A left-associative run of `next()` operands joined by the operators `ops` (token value → node type). */
function binary(p: NjParser, next: () => NjNode, ops: Record<string, string>, type = nj().T.OPERATOR): NjNode {
  let node = next();
  for (;;) {
    const t = p.peekToken();
    if (!t || t.type !== type || !(t.value in ops)) return node;
    p.nextToken();
    const { N } = nj();
    node = new N[ops[t.value] as keyof typeof N](t.lineno, t.colno, node, next());
  }
}

/** Unary `-` and `+`, then (unless under one) the filters and tests applied to the operand. */
function parseUnary(p: NjParser, withFilter: boolean): NjNode {
  const { T, N } = nj();
  const t = p.peekToken();
  let node: NjNode;
  if (peekOp(p, '-')) {
    p.nextToken();
    node = new N.Neg(t.lineno, t.colno, parseUnary(p, false));
  } else if (peekOp(p, '+')) {
    p.nextToken();
    node = new N.Pos(t.lineno, t.colno, parseUnary(p, false));
  } else node = p.parsePrimary();
  if (!withFilter) return node;
  for (;;) {
    const nt = p.peekToken();
    if (nt && nt.type === T.PIPE) node = (p.parseFilter as (n: NjNode) => NjNode).call(p, node);
    else if (nt && nt.type === T.SYMBOL && nt.value === 'is') node = parseTest(p, node);
    else return node;
  }
}

const parsePow = (p: NjParser) => binary(p, () => parseUnary(p, true), { '**': 'Pow' });
const parseProduct = (p: NjParser) => binary(p, () => parsePow(p), { '*': 'Mul', '/': 'Div', '//': 'FloorDiv', '%': 'Mod' });
const parseConcat = (p: NjParser) => binary(p, () => parseProduct(p), { '~': 'Concat' }, nj().T.TILDE);
const parseSum = (p: NjParser) => binary(p, () => parseConcat(p), { '+': 'Add', '-': 'Sub' });

/** The comparison operator at the next token (consumed), `in` or `notin`; undefined (nothing consumed) when none. */
function comparisonOperator(p: NjParser): string | undefined {
  const { T } = nj();
  const t = p.peekToken();
  if (!t) return undefined;
  if (t.type === T.OPERATOR && COMPARISON_OPERATORS.includes(t.value)) {
    p.nextToken();
    return t.value;
  }
  if (t.type === T.SYMBOL && t.value === 'in') {
    p.nextToken();
    return 'in';
  }
  if (t.type === T.SYMBOL && t.value === 'not') {
    p.nextToken();
    const t2 = p.peekToken();
    if (t2 && t2.type === T.SYMBOL && t2.value === 'in') {
      p.nextToken();
      return 'notin';
    }
    p.pushToken(t);
    return undefined;
  }
  if (t.type === T.OPERATOR && (t.value === '===' || t.value === '!==')) p.fail(`${t.value} is not a Jinja2 operator`, t.lineno, t.colno);
  return undefined;
}

/** Comparisons and `in` / `not in`, chained at one level (`a < b in c`). */
function parseComparisons(p: NjParser): NjNode {
  const { N } = nj();
  const expr = parseSum(p);
  const ops: NjNode[] = [];
  for (;;) {
    const t = p.peekToken();
    const op = comparisonOperator(p);
    if (op === undefined) break;
    ops.push(new N.CompareOperand(t.lineno, t.colno, parseSum(p), op));
  }
  return ops.length === 0 ? expr : new N.Compare(expr.lineno, expr.colno, expr, ops);
}

/** The test's name after `is` (`is none`, `is true`, `is ==` are tests too). */
function testName(p: NjParser, nameTok: NjToken): string {
  const { T } = nj();
  if (nameTok.type === T.SYMBOL || nameTok.type === T.NONE || nameTok.type === T.BOOLEAN) return nameTok.value.toLowerCase() === 'none' && nameTok.type === T.NONE ? 'none' : nameTok.value;
  if (nameTok.type === T.OPERATOR && COMPARISON_OPERATORS.includes(nameTok.value)) return nameTok.value;
  return p.fail(`expected a test name after "is", got ${nameTok.value}`, nameTok.lineno, nameTok.colno);
}

/** A test's arguments: `(args)`, one bare argument (`is divisibleby 3`), or none. */
function testArgs(p: NjParser, nameTok: NjToken): NjNode {
  const { T, N } = nj();
  const next = p.peekToken();
  if (next && next.type === T.LEFT_PAREN) return p.parseSignature() as NjNode;
  if (next && [T.SYMBOL, T.STRING, T.INT, T.FLOAT, T.LEFT_BRACKET, T.LEFT_CURLY, T.BOOLEAN, T.NONE].includes(next.type) && !(next.type === T.SYMBOL && ['else', 'or', 'and'].includes(next.value))) {
    return new N.NodeList(next.lineno, next.colno, [p.parsePrimary()]);
  }
  return new N.NodeList(nameTok.lineno, nameTok.colno, []);
}

/** `x is test`, `x is test(args)`, `x is test arg` (Jinja2), `x is not test`. */
function parseTest(p: NjParser, node: NjNode): NjNode {
  const { N } = nj();
  p.nextToken(); // is
  const not = p.skipSymbol('not');
  const nameTok = p.nextToken();
  const name = testName(p, nameTok);
  const args = testArgs(p, nameTok);
  const isNode = new N.Is(node.lineno, node.colno, node, new N.Symbol(nameTok.lineno, nameTok.colno, name));
  isNode.pvTest = name;
  isNode.pvArgs = args;
  return not ? new N.Not(node.lineno, node.colno, isNode) : isNode;
}

function parse(src: string): NjNode {
  floatLiterals.clear();
  const p = new (nj().parserModule.Parser)(tokenizer(src));
  p.extensions = [];
  p.parsePrimary = function (this: NjParser, noPostfix?: boolean): NjNode {
    return parsePrimary(this, noPostfix);
  };
  p.parsePostfix = function (this: NjParser, node: NjNode): NjNode {
    return parsePostfix(this, node);
  };
  p.parseIn = function (this: NjParser): NjNode {
    return parseComparisons(this);
  };
  return p.parseAsRoot();
}

/** Python truthiness for `{% if %}` and `{% for %}` over undefined values. */
function strictify(node: unknown): void {
  const { N } = nj();
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach(strictify);
    return;
  }
  const n = node as NjNode;
  if (typeof n.typename !== 'string') return;
  for (const [k, v] of Object.entries(n)) if (k !== 'typename' && typeof v === 'object') strictify(v);
  const wrap = (fn: string, x: NjNode): NjNode => new N.FunCall(x.lineno, x.colno, new N.Symbol(x.lineno, x.colno, fn), new N.NodeList(x.lineno, x.colno, [x]));
  if (n.typename === 'If' || n.typename === 'IfAsync') n.cond = wrap('__pv_bool', n.cond as NjNode);
  if (n.typename === 'For') {
    const arr = n.arr as NjNode;
    // nunjucks reads `for x in xs if cond` as an inline if around xs
    if (arr.typename === 'InlineIf' && (arr.else_ === null || arr.else_ === undefined)) throw new Unsupported('{% for ... in ... if ... %} (loop filtering; use | select or selectattr)');
    n.arr = wrap('__pv_iter', arr);
  }
}

// ---- code generation ----------------------------------------------------------------

const UNSUPPORTED_NODES: Record<string, string> = {
  compileMacro: '{% macro %}',
  compileCaller: '{% call %}',
  compileImport: '{% import %}',
  compileFromImport: '{% from ... import %}',
  compileInclude: '{% include %}',
  compileExtends: '{% extends %}',
  compileBlock: '{% block %}',
  compileSuper: 'super()',
  compileCallExtension: 'template extensions',
  compileCallExtensionAsync: 'template extensions',
  compileFilterAsync: 'asynchronous filters',
  compileSwitch: '{% switch %} (not Jinja2)',
  compileIfAsync: '{% ifAsync %} (not Jinja2)',
  compileAsyncEach: '{% asyncEach %} (not Jinja2)',
  compileAsyncAll: '{% asyncAll %} (not Jinja2)',
};

/** A scope of the generated code: where a name the template binds lives. */
interface Frame {
  lookup(name: string): string | undefined;
}

/** nunjucks' compiler, made to generate calls to the Python-semantics helpers (`env.__pv`). */
interface PvCompiler extends NjCompiler {
  /** Inside `{% set x %}...{% endset %}` (a capture), output is text, not a template value. */
  pvCaptureDepth: number;
}

type CompileHook = (c: PvCompiler, node: NjNode, frame: Frame) => void;

/** `env.__pv.fn(part, ...)`: a string part is JavaScript already, a node is compiled. */
function emitHelperCall(c: PvCompiler, fn: string, parts: (NjNode | string)[], frame: Frame): void {
  c._emit(`env.__pv.${fn}(`);
  parts.forEach((p, i) => {
    if (i > 0) c._emit(', ');
    if (typeof p === 'string') c._emit(p);
    else c.compile(p, frame);
  });
  c._emit(')');
}

/** A hook that compiles the node's fields, in this order, as the arguments of one helper. */
const helperCall =
  (fn: string, ...fields: string[]): CompileHook =>
  (c, node, frame) =>
    emitHelperCall(c, fn, fields.map((f) => node[f] as NjNode), frame);

function compileSymbol(c: PvCompiler, node: NjNode, frame: Frame): void {
  const name = node.value as string;
  if (/^\d/.test(name)) throw new Unsupported(`the number literal ${name} (write it without _ or exponent)`);
  const v = frame.lookup(name);
  if (v) c._emit(v);
  else c._emit(`env.__pv.name(runtime.contextOrFrameLookup(context, frame, ${JSON.stringify(name)}), ${JSON.stringify(name)})`);
}

function compileLiteral(c: PvCompiler, node: NjNode): void {
  const v = node.value;
  if (typeof v === 'string') c._emit(JSON.stringify(v).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
  else if (typeof v === 'number') c._emit(floatLiterals.has(`${node.lineno}:${node.colno}`) ? `env.__pv.float(${String(v)})` : String(v));
  else if (v === null || typeof v === 'boolean') c._emit(String(v));
  else throw new Unsupported('regular expression literals (r/.../ is not Jinja2)');
}

/** `(x)` is x, `(x, y)` a tuple. */
function compileGroup(c: PvCompiler, node: NjNode, frame: Frame): void {
  const children = node.children as NjNode[];
  if (children.length === 1) {
    c._emit('(');
    c.compile(children[0], frame);
    c._emit(')');
  } else {
    c._emit('env.__pv.tuple(');
    c._compileAggregate(node, frame, '[', ']');
    c._emit(')');
  }
}

function compileDict(c: PvCompiler, node: NjNode, frame: Frame): void {
  c._emit('env.__pv.dict([');
  (node.children as NjNode[]).forEach((pair, i) => {
    if (i > 0) c._emit(', ');
    c._emit('[');
    c.compile(pair.key, frame); // Jinja2: a bare name as key is a variable
    c._emit(', ');
    c.compile(pair.value, frame);
    c._emit(']');
  });
  c._emit('])');
}

/** {% set %} binds in the current scope (a for loop's body is its own scope in Jinja2). */
function compileSet(c: PvCompiler, node: NjNode, frame: Frame): void {
  const ids: string[] = [];
  for (const target of node.targets as NjNode[]) {
    if (target.typename !== 'Symbol') throw new Unsupported('{% set x.attr = ... %} (assignment to an attribute, as with namespace())');
    const id = c._tmpid();
    c._emitLine(`var ${id};`);
    ids.push(id);
  }
  c._emit(`${ids.join(' = ')} = `);
  if (node.value) c._compileExpression(node.value as NjNode, frame);
  else c.compile(node.body, frame);
  c._emitLine(';');
  (node.targets as NjNode[]).forEach((target, i) => {
    const name = JSON.stringify(target.value);
    c._emitLine(`frame.set(${name}, ${ids[i]});`);
    c._emitLine(`if(frame.topLevel) { context.setVariable(${name}, ${ids[i]}); }`);
  });
}

function compileKeywordArgs(c: PvCompiler, node: NjNode, frame: Frame): void {
  c._emit('runtime.makeKeywordArgs({');
  (node.children as NjNode[]).forEach((pair, i) => {
    if (i > 0) c._emit(', ');
    const key = pair.key as NjNode;
    c._emit(`${JSON.stringify(key.value)}: `);
    c.compile(pair.value, frame);
  });
  c._emit('})');
}

/** `and` / `or`: Python's, returning an operand; the right one is evaluated only when needed. */
const shortCircuit =
  (fn: 'and' | 'or'): CompileHook =>
  (c, node, frame) => {
    c._emit(`env.__pv.${fn}(`);
    c.compile(node.left, frame);
    c._emit(', () => (');
    c.compile(node.right, frame);
    c._emit('))');
  };

/** `a if cond else b`; without else, a value that prints as nothing. */
function compileInlineIf(c: PvCompiler, node: NjNode, frame: Frame): void {
  c._emit('(env.__pv.bool(');
  c.compile(node.cond, frame);
  c._emit(') ? (');
  c.compile(node.body, frame);
  c._emit(') : (');
  if (node.else_ !== null && node.else_ !== undefined) c.compile(node.else_, frame);
  else c._emit('env.__pv.condUndefined()');
  c._emit('))');
}

/** A chain of comparisons (`a < b < c`), compared pairwise like Python. */
function compileCompare(c: PvCompiler, node: NjNode, frame: Frame): void {
  c._emit('env.__pv.compare(');
  c.compile(node.expr, frame);
  for (const op of node.ops as NjNode[]) {
    c._emit(`, ${JSON.stringify(op.type)}, `);
    c.compile(op.expr, frame);
  }
  c._emit(')');
}

function compileIs(c: PvCompiler, node: NjNode, frame: Frame): void {
  c._emit(`env.__pv.test(${JSON.stringify(node.pvTest)}, `);
  c.compile(node.left, frame);
  c._emit(', ');
  c._compileAggregate(node.pvArgs as NjNode, frame, '[', ']');
  c._emit(')');
}

function compileFilter(c: PvCompiler, node: NjNode, frame: Frame): void {
  const name = (node.name as NjNode).value as string;
  c._emit(`env.__pv.filter(${JSON.stringify(name)}, `);
  c._compileAggregate(node.args as NjNode, frame, '[', ']');
  c._emit(')');
}


function compileCapture(c: PvCompiler, node: NjNode, frame: Frame): void {
  c.pvCaptureDepth++;
  try {
    nj().nunjucksCompileCapture?.call(c, node, frame);
  } finally {
    c.pvCaptureDepth--;
  }
}

/** Each piece of output is kept as a value (see `concat`); inside a capture it is text. */
function compileOutput(c: PvCompiler, node: NjNode, frame: Frame): void {
  for (const child of node.children as NjNode[]) {
    if (child.typename === 'TemplateData') {
      if (!child.value) continue;
      c._emit(`${c.buffer} += env.__pv.${c.pvCaptureDepth > 0 ? 'text' : 'data'}(${JSON.stringify(child.value)});\n`);
      continue;
    }
    if (c.pvCaptureDepth > 0) {
      c._emit(`${c.buffer} += env.__pv.text(`);
      c.compile(child, frame);
      c._emit(');\n');
      continue;
    }
    // Ansible keeps the result of string-type filters (string, to_json, ...) a string.
    const nativeText = child.typename === 'Filter' && STRING_TYPE_FILTERS.has((child.name as NjNode).value as string);
    c._emit(`${c.buffer} += env.__pv.out(`);
    c.compile(child, frame);
    c._emit(`, ${nativeText});\n`);
  }
}

/** `+ - * / // % **` with Python's semantics (`/` gives a float, `[1] + [2]` a list). */
const binop =
  (op: string): CompileHook =>
  (c, node, frame) =>
    emitHelperCall(c, 'binop', [JSON.stringify(op), node.left as NjNode, node.right as NjNode], frame);

const BINARY_OPERATORS = { compileAdd: '+', compileSub: '-', compileMul: '*', compileDiv: '/', compileFloorDiv: '//', compileMod: '%', compilePow: '**' };

/** The compiler's methods replaced, by node type: each generates a call to a Python-semantics helper. */
const COMPILE_HOOKS: Record<string, CompileHook> = {
  compileSymbol,
  compileLiteral,
  compileGroup,
  compileDict,
  compileSet,
  compileKeywordArgs,
  compileLookupVal: (c, node, frame) => emitHelperCall(c, node.pvAttr ? 'getattr' : 'getitem', [node.target as NjNode, node.val as NjNode], frame),
  ...Object.fromEntries(Object.entries(BINARY_OPERATORS).map(([m, op]) => [m, binop(op)])),
  compileConcat: helperCall('concat', 'left', 'right'),
  compileNeg: helperCall('neg', 'target'),
  compilePos: helperCall('pos', 'target'),
  compileNot: (c, node, frame) => {
    c._emit('!');
    emitHelperCall(c, 'bool', [node.target as NjNode], frame);
  },
  compileAnd: shortCircuit('and'),
  compileOr: shortCircuit('or'),
  compileInlineIf,
  compileCompare,
  compileIn: helperCall('in', 'left', 'right'),
  compileIs,
  compileFilter,
  compileCapture,
  compileOutput,
};

function compiler(): NjCompiler {
  const c = Object.assign(new (nj().compilerModule.Compiler)('template', false), { pvCaptureDepth: 0 });
  for (const [m, what] of Object.entries(UNSUPPORTED_NODES)) {
    c[m] = () => {
      throw new Unsupported(what);
    };
  }
  for (const [m, hook] of Object.entries(COMPILE_HOOKS)) c[m] = (node: NjNode, frame: Frame) => hook(c, node, frame);
  return c;
}

// ---- runtime -------------------------------------------------------------------------

const FUNCTION_GLOBALS = new Set(['range', 'lookup', 'query', 'q', 'dict', 'namespace', '__pv_bool', '__pv_iter', '__pv_slice']);

interface Piece {
  value: unknown;
  nativeText: boolean;
}
let pieces: Piece[] | undefined;

const CONTEXT: FilterContext = { env: process.env };

class CondUndefined extends Undefined {}

const helpers = {
  // A missing variable is Undefined; so is a name that only JavaScript's Object.prototype has (constructor, toString).
  name: (v: unknown, name: string) => (v === undefined || (typeof v === 'function' && !FUNCTION_GLOBALS.has(name)) ? new Undefined(name, `'${name}' is undefined`) : v),
  float: (n: number) => new PyFloat(n),
  tuple: (items: unknown[]) => tuple(items),
  dict: (pairs: [unknown, unknown][]) =>
    orderedDict(
      pairs.map(([k, v]) => {
        strict(k);
        if (typeof k !== 'string') throw new Unsupported(`a dictionary key of type ${typeof k === 'number' ? 'int' : typeof k} (only string keys)`);
        return [k, v] as [string, unknown];
      }),
    ),
  getattr: (obj: unknown, name: unknown) => getattr(obj, name as string),
  getitem: (obj: unknown, key: unknown) => getitem(obj, key),
  binop: (op: string, a: unknown, b: unknown) => pyBinop(op, strict(a), strict(b)),
  concat: (a: unknown, b: unknown) => str(a) + str(b),
  neg: (v: unknown) => pyBinop('*', strict(v), -1),
  pos: (v: unknown) => pyBinop('*', strict(v), 1),
  bool: (v: unknown) => (v instanceof CondUndefined ? false : truthy(v)),
  and: (a: unknown, b: () => unknown) => (truthy(a) ? b() : a),
  or: (a: unknown, b: () => unknown) => (truthy(a) ? a : b()),
  condUndefined: () => new CondUndefined('(inline if without else)', 'the inline if-expression evaluated to false and no else section was defined'),
  compare: (first: unknown, ...rest: unknown[]) => {
    let left = strict(first);
    for (let i = 0; i < rest.length; i += 2) {
      const right = strict(rest[i + 1]);
      const op = rest[i] as string;
      const ok = op === 'in' ? pyIn(left, right) : op === 'notin' ? !pyIn(left, right) : pyCompare(op, left, right);
      if (!ok) return false;
      left = right;
    }
    return true;
  },
  in: (a: unknown, b: unknown) => pyIn(strict(a), strict(b)),
  test: (name: string, value: unknown, args: unknown[]) => runTest(name, value, args),
  filter: (name: string, args: unknown[]) => callFilter(name, args[0], args.slice(1), CONTEXT),
  out: (value: unknown, nativeText: boolean) => {
    if (!pieces) throw new Error('template output outside a render');
    if (!(value instanceof CondUndefined)) strictDeep(value);
    pieces.push({ value, nativeText });
    return '';
  },
  data: (text: string) => {
    if (!pieces) throw new Error('template output outside a render');
    pieces.push({ value: text, nativeText: false });
    return '';
  },
  text: (value: unknown) => (value instanceof CondUndefined ? '' : str(value)),
};

/**
 * nunjucks and what is built on it, loaded when the first template is parsed:
 * a playbook without templates (and `provision --version`) never pays for it.
 */
function loadEngine() {
  const nunjucks = require('nunjucks') as typeof Nunjucks;
  const lexer = require('nunjucks/src/lexer.js') as { lex(src: string, opts: object): NjTokenizer; [k: string]: unknown };
  const parserModule = require('nunjucks/src/parser.js') as { Parser: new (tokens: NjTokenizer) => NjParser };
  const compilerModule = require('nunjucks/src/compiler.js') as { Compiler: new (name: string, throwOnUndefined: boolean) => NjCompiler };
  const transformer = require('nunjucks/src/transformer.js') as { transform(ast: NjNode, asyncFilters: string[], name: string): NjNode };
  const njNodes = (nunjucks as unknown as { nodes: Record<string, NodeCtor> }).nodes;
  const N = {
    Add: njNodes.Add as NodeCtor,
    Sub: njNodes.Sub as NodeCtor,
    Mul: njNodes.Mul as NodeCtor,
    Div: njNodes.Div as NodeCtor,
    FloorDiv: njNodes.FloorDiv as NodeCtor,
    Mod: njNodes.Mod as NodeCtor,
    Pow: njNodes.Pow as NodeCtor,
    Concat: njNodes.Concat as NodeCtor,
    Neg: njNodes.Neg as NodeCtor,
    Pos: njNodes.Pos as NodeCtor,
    Compare: njNodes.Compare as NodeCtor,
    CompareOperand: njNodes.CompareOperand as NodeCtor,
    FunCall: njNodes.FunCall as NodeCtor,
    Literal: njNodes.Literal as NodeCtor,
    Symbol: njNodes.Symbol as NodeCtor,
    NodeList: njNodes.NodeList as NodeCtor,
    LookupVal: njNodes.LookupVal as NodeCtor,
    Is: njNodes.Is as NodeCtor,
    Not: njNodes.Not as NodeCtor,
  };
  const T = {
    LEFT_PAREN: lexer.TOKEN_LEFT_PAREN as string,
    RIGHT_PAREN: lexer.TOKEN_RIGHT_PAREN as string,
    LEFT_BRACKET: lexer.TOKEN_LEFT_BRACKET as string,
    RIGHT_BRACKET: lexer.TOKEN_RIGHT_BRACKET as string,
    LEFT_CURLY: lexer.TOKEN_LEFT_CURLY as string,
    RIGHT_CURLY: lexer.TOKEN_RIGHT_CURLY as string,
    COLON: lexer.TOKEN_COLON as string,
    OPERATOR: lexer.TOKEN_OPERATOR as string,
    SYMBOL: lexer.TOKEN_SYMBOL as string,
    STRING: lexer.TOKEN_STRING as string,
    INT: lexer.TOKEN_INT as string,
    FLOAT: lexer.TOKEN_FLOAT as string,
    BOOLEAN: lexer.TOKEN_BOOLEAN as string,
    PIPE: lexer.TOKEN_PIPE as string,
    TILDE: lexer.TOKEN_TILDE as string,
    NONE: lexer.TOKEN_NONE as string,
    COMMENT: lexer.TOKEN_COMMENT as string,
  };
  const nunjucksParsePrimary = parserModule.Parser.prototype.parsePrimary as (this: NjParser, noPostfix?: boolean) => NjNode;
  const nunjucksCompileCapture = (compilerModule.Compiler.prototype as unknown as Record<string, (this: NjCompiler, ...a: unknown[]) => void>).compileCapture;
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false, trimBlocks: true });
  (env as unknown as { __pv: typeof helpers }).__pv = helpers;
  env.addGlobal('True', true);
  env.addGlobal('False', false);
  env.addGlobal('None', null);
  env.addGlobal('omit', OMIT);
  env.addGlobal('range', pyRange);
  env.addGlobal('lookup', (...a: unknown[]) => lookup(false, CONTEXT, ...(a as [unknown])));
  env.addGlobal('query', (...a: unknown[]) => lookup(true, CONTEXT, ...(a as [unknown])));
  env.addGlobal('q', (...a: unknown[]) => lookup(true, CONTEXT, ...(a as [unknown])));
  // Ansible: globals['dict'] = dict
  env.addGlobal('dict', (...a: unknown[]) => pyDict(...a));
  env.addGlobal('namespace', () => {
    throw new Unsupported('namespace() (nunjucks cannot assign ns.attr)');
  });
  env.addGlobal('__pv_bool', helpers.bool);
  env.addGlobal('__pv_iter', (v: unknown) => {
    strict(v);
    if (typeof v === 'string') return [...v];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.keys(v); // a dict iterates its keys
    if (!Array.isArray(v)) throw new PyError('TypeError', `'${v === null ? 'NoneType' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'int' : typeof v}' object is not iterable`);
    return v;
  });
  env.addGlobal('__pv_slice', slice);
  // nunjucks' own globals (cycler, joiner) are not Jinja2's: hide them.
  for (const g of ['cycler', 'joiner']) env.addGlobal(g, undefined);
  return { lexer, parserModule, compilerModule, transformer, N, T, nunjucksParsePrimary, nunjucksCompileCapture, env, Template: nunjucks.Template };
}

let engine: ReturnType<typeof loadEngine> | undefined;
const nj = (): ReturnType<typeof loadEngine> => (engine ??= loadEngine());

// ---- compilation ------------------------------------------------------------------

interface Compiled {
  readonly template: Template;
}

const cache = new Map<string, Compiled>();
const CACHE_MAX = 2000;

function compile(src: string, shown: string): Compiled {
  const hit = cache.get(src);
  if (hit) return hit;
  let compiled: Compiled;
  try {
    const ast = parse(src);
    strictify(ast);
    const c = compiler();
    c.compile(nj().transformer.transform(ast, [], 'template'));
    // nunjucks compiles every template to a JavaScript function this way
    // (src/environment.js); the code is generated from the parsed AST.
    const props = new Function(c.getCode())() as object;
    const template = new (nj().Template)({ type: 'code', obj: props } as unknown as string, nj().env, 'template');
    compiled = { template };
  } catch (err) {
    if (err instanceof Unsupported) throw new TemplateError(`${JSON.stringify(shown)}: not supported: ${err.message}`, { cause: err });
    throw new TemplateError(`syntax error in ${JSON.stringify(shown)}: ${cleanMessage(err)}`, { cause: err });
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(src, compiled);
  return compiled;
}

function cleanMessage(err: unknown): string {
  let cause = (err as { cause?: unknown }).cause;
  while (cause instanceof Error && (cause as { cause?: unknown }).cause instanceof Error) cause = (cause as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  const msg = err instanceof Error ? err.message : String(err);
  // nunjucks: "(template) [Line 1, Column 3]\n  Error: message"
  return msg.replace(/^\((?:unknown path|template)\)(?: \[Line \d+, Column \d+\])?\s*/, '').replace(/^\w*Error: /, '').trim();
}

function rootCause(err: unknown): unknown {
  for (let e = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UndefinedUse || e instanceof Unsupported || e instanceof PyError || e instanceof TemplateError) return e;
  }
  const msg = err instanceof Error ? err.message : '';
  const raised = takeLastRaised();
  if (raised && msg.includes(raised.message)) return raised;
  const last = takeLastUndefinedUse();
  if (last && msg.includes(last.message)) return last;
  return err;
}

function toTemplateError(err: unknown, shown: string): TemplateError {
  const cause = rootCause(err);
  if (cause instanceof TemplateError) return cause;
  if (cause instanceof UndefinedUse) {
    const hint = cause.hint && !cause.hint.startsWith(`'${cause.variable}' is undefined`) ? `: ${cause.hint}` : '';
    return new TemplateError(`undefined variable "${cause.variable}" in ${JSON.stringify(shown)}${hint}`, { cause: err });
  }
  if (cause instanceof Unsupported) return new TemplateError(`${JSON.stringify(shown)}: not supported: ${cause.message}`, { cause: err });
  if (cause instanceof PyError) return new TemplateError(`cannot render ${JSON.stringify(shown)}: ${cause.message}`, { cause: err });
  return new TemplateError(`cannot render ${JSON.stringify(shown)}: ${cleanMessage(err)}`, { cause: err });
}

/**
 * A template's value, as Ansible (jinja2_native off, its default) makes it,
 * with one difference. One expression whose value is not a string keeps its
 * value (`"{{ port }}"` is the number 22, `"{{ users }}"` the list): Ansible
 * makes text of it and lets each module's argument spec convert it back, and
 * our task schemas want the value. Everything else is text, None printing as
 * nothing; text that looks like a list, a dict, True or False is read back
 * with Python's literal_eval (ansible_eval_concat). So `"{{ version }}"` with
 * version "1.10" stays the string "1.10".
 */
function jsonValue(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** Ansible's ansible_concat (convert_data off) with its finalize: text, None and a false inline if print nothing. */
function textConcat(parts: Piece[]): string {
  return parts.map((p) => (p.value instanceof CondUndefined || p.value === null ? '' : str(p.value))).join('');
}

function concat(parts: Piece[]): unknown {
  if (parts.length === 0) return '';
  let out: string;
  if (parts.length === 1) {
    const only = parts[0] as Piece;
    // an inline if without else that is false prints nothing, alone or in text
    if (only.value instanceof CondUndefined) return '';
    if (only.nativeText || typeof only.value !== 'string') return only.value;
    out = only.value;
  } else {
    out = textConcat(parts);
  }
  if (out.startsWith('{') || out.startsWith('[') || out === 'True' || out === 'False') {
    // Ansible reads JSON's true/false/null as Python's names first (Json2Python)
    const evaled = literalEval(out) ?? jsonValue(out);
    if (evaled) return evaled.value;
  }
  return out;
}

function run(src: string, vars: Record<string, unknown>, shown: string = src, doubleBackslashes = true, text = false): unknown {
  // Jinja2 drops one trailing newline of the template; Ansible puts the newlines back on strings.
  const dataNewlines = (/\n*$/.exec(src) as RegExpExecArray)[0].length;
  const body = src.replace(/(\r\n|\n|\r)$/, '');
  const { template } = compile(doubleBackslashes ? escapeBackslashes(body) : body, shown);
  const saved = pieces;
  pieces = [];
  resetLastUndefinedUse();
  resetLastRaised();
  try {
    template.render(vars);
    let value = text ? textConcat(pieces) : concat(pieces);
    if (typeof value === 'string') {
      const have = (/\n*$/.exec(value) as RegExpExecArray)[0].length;
      if (dataNewlines > have) value += '\n'.repeat(dataNewlines - have);
    }
    return plainValue(value);
  } catch (err) {
    throw toTemplateError(err, shown);
  } finally {
    pieces = saved;
  }
}

const TEMPLATE_MARK = /\{\{|\{%|\{#/;

/** True when `s` contains template syntax. */
export function isTemplated(s: string): boolean {
  return TEMPLATE_MARK.test(s);
}

/** Render one string like Ansible's Templar.template (native types: `"{{ x }}"` alone gives x's value). */
export function renderString(src: string, vars: Record<string, unknown>): unknown {
  if (!isTemplated(src)) return src;
  return run(src, vars);
}

/**
 * Render a template file as Ansible's `template` module does (do_template with
 * escape_backslashes=False and convert_data off): backslashes inside `{{ }}`
 * are not doubled, the result is always text (a lone `{{ list }}` prints as
 * Python prints it), trailing newlines are kept, line endings become \n.
 * `name` names the template in errors.
 */
export function renderText(src: string, vars: Record<string, unknown>, name: string): string {
  // Jinja2's lexer reads every line ending as its newline_sequence, \n
  return run(src.replace(/\r\n?/g, '\n'), vars, name, false, true) as string;
}

/**
 * Render every string inside `value` (objects and arrays are walked, keys are
 * kept). Non-string leaves are returned as they are.
 */
export function renderValue(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value === 'string') return renderString(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, vars);
    return out;
  }
  return value;
}

/**
 * Evaluate a `when:` / `changed_when:` / `failed_when:` condition like
 * Ansible's Conditional: a bare expression (`x is defined and x > 2`), a
 * boolean, or a list of them (AND). A condition with `{{ }}` is rendered first
 * and its text, if text, is then evaluated as the expression (so
 * `"{{ flag }}"` with flag "false" is false, while a bare `flag` is a
 * non-empty string, true).
 */
export function evalCondition(cond: string | boolean | readonly (string | boolean)[], vars: Record<string, unknown>): boolean {
  if (typeof cond === 'boolean') return cond;
  if (Array.isArray(cond)) return cond.every((c) => evalCondition(c as string | boolean, vars));
  const text = cond as string;
  if (text.trim() === '') throw new TemplateError('empty condition');
  let expr = text;
  if (isTemplated(text)) {
    const first = run(text, vars, text);
    if (typeof first !== 'string' || first === '') return truthy(first);
    expr = first;
  }
  const value = run(`{% if ${expr} %}True{% else %}False{% endif %}`, vars, text, false);
  if (value === true) return true;
  if (value === false) return false;
  throw new TemplateError(`unable to evaluate conditional: ${JSON.stringify(text)}`);
}

/** Names a template reads, and those it only reads behind a guard (`x is defined`, `x | default(...)`). */
export interface TemplateNames {
  used: Set<string>;
  guarded: Set<string>;
}

const GUARD_FILTERS = new Set(['default', 'd']);
const GUARD_TESTS = new Set(['defined', 'undefined', 'none']);

/** The variable a lookup chain starts from: `x`, `x.y`, `x['y']`. */
function rootSymbol(node: NjNode | undefined): string | undefined {
  let n = node;
  while (n && n.typename === 'LookupVal') n = n.target as NjNode;
  return n?.typename === 'Symbol' ? (n.value as string) : undefined;
}

/**
 * The variables a template (or, with `condition`, a `when:` expression) refers
 * to, without rendering it. Names the template binds itself (`{% set %}`,
 * `{% for %}` targets) and function names are left out.
 */
export function templateNames(src: string, condition = false): TemplateNames {
  const out: TemplateNames = { used: new Set(), guarded: new Set() };
  const text = condition && !isTemplated(src) ? `{% if ${src} %}{% endif %}` : src;
  let ast: NjNode;
  try {
    ast = parse(escapeBackslashes(text));
  } catch {
    return out; // a syntax error is reported when the template is rendered
  }
  const bound = new Set<string>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    const n = node as NjNode;
    switch (n.typename) {
      case 'Symbol':
        out.used.add(n.value as string);
        return;
      case 'Filter': {
        const name = (n.name as NjNode).value as string;
        const args = ((n.args as NjNode).children as NjNode[]) ?? [];
        const root = GUARD_FILTERS.has(name) ? rootSymbol(args[0]) : undefined;
        if (root) out.guarded.add(root);
        walk(args);
        return;
      }
      case 'FunCall':
        if ((n.name as NjNode).typename !== 'Symbol') walk(n.name);
        walk(n.args);
        return;
      case 'Is': {
        const test = n.right as NjNode;
        const testName = test.typename === 'Symbol' ? (test.value as string) : ((test.name as NjNode | undefined)?.value as string | undefined);
        const root = testName && GUARD_TESTS.has(testName) ? rootSymbol(n.left as NjNode) : undefined;
        if (root) out.guarded.add(root);
        walk(n.left);
        if (test.typename === 'FunCall') walk(test.args);
        return;
      }
      case 'LookupVal':
        walk(n.target);
        if ((n.val as NjNode).typename !== 'Literal') walk(n.val);
        return;
      case 'For':
      case 'Set':
        for (const t of [n.name, ...((n.targets as NjNode[]) ?? [])].flat()) collectBound(t as NjNode | undefined, bound);
        break;
      default:
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'typename' && typeof v === 'object') walk(v);
  };
  walk(ast);
  // the template's own bindings and the environment's constants (True, None, omit) are not variables;
  // a function's name is one when it is not called (a variable named `q` hides the lookup alias)
  const globals = (nj().env as unknown as { globals: Record<string, unknown> }).globals;
  const constant = (name: string) => Object.prototype.hasOwnProperty.call(globals, name) && typeof globals[name] !== 'function';
  for (const name of [...out.used]) {
    if (bound.has(name) || constant(name)) {
      out.used.delete(name);
      out.guarded.delete(name);
    }
  }
  return out;
}

function collectBound(node: NjNode | undefined, into: Set<string>): void {
  if (!node) return;
  if (node.typename === 'Symbol') into.add(node.value as string);
  for (const c of (node.children as NjNode[] | undefined) ?? []) collectBound(c, into);
}
