/**
 * zod issues → located, human errors:
 *   `playbook.yaml:14:7 [0].tasks[3].user.shell: expected string, got number`
 * Enum/literal errors list the allowed values, unknown keys get a did-you-mean
 * and the allowed keys, numeric bounds are spelled out.
 */
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import type { YamlDoc, YamlPath } from './yaml.js';

export interface ValidateOptions {
  /**
   * Drop issues whose path points at a string containing `{{`: such values are
   * templates, validated again after rendering at run time.
   */
  tolerateTemplates?: boolean;
  /** Path of `value` inside the document (when validating a part of it). */
  basePath?: YamlPath;
}

export type CheckResult<T> = { ok: true; data: T; tolerated: boolean } | { ok: false; issues: ValidationIssue[] };

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `[0].tasks[3].user.shell`; keys that are not identifiers are quoted: `hosts["web1.example.com"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (KEY_RE.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Closest candidate within a small edit distance (case-insensitive), if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const list = [...candidates];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of list) {
    const d = levenshtein(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined || word.length <= 2) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  if (bestD <= limit) return best;
  // shared prefix (`childs` → `children`) or containment (`identity` → `identity_file`)
  if (w.length >= 4) {
    const hit = list.find((c) => c.toLowerCase().startsWith(w.slice(0, 5))) ?? list.find((c) => c.toLowerCase().includes(w));
    if (hit) return hit;
  }
  return undefined;
}

/** `unknown key "shel" (did you mean "shell"? allowed: name, shell, groups)` */
export function unknownKeyMessage(key: string, allowed: readonly string[], what = 'key'): string {
  const guess = didYouMean(key, allowed);
  const parts: string[] = [];
  if (guess) parts.push(`did you mean ${JSON.stringify(guess)}?`);
  if (allowed.length > 0) parts.push(`allowed: ${allowed.join(', ')}`);
  return `unknown ${what} ${JSON.stringify(key)}${parts.length ? ` (${parts.join(' ')})` : ''}`;
}

/** Type name of a YAML value as users think of it. */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'bigint') return `${v}`;
  if (v === null || typeof v !== 'object') return String(v);
  return describeType(v);
}

const EXPECTED_NAMES: Record<string, string> = {
  array: 'list',
  object: 'mapping',
  record: 'mapping',
  int: 'integer',
  tuple: 'list',
  map: 'mapping',
  undefined: 'nothing',
};
const expectedName = (e: string): string => EXPECTED_NAMES[e] ?? e;

const UNKNOWN_KEYS_MARK = '\u0000unknown-keys:';

function shapeKeys(inst: unknown): string[] {
  const def = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
  return def?.shape ? Object.keys(def.shape) : [];
}

function bound(op: string, n: number | bigint, origin: string): string {
  switch (origin) {
    case 'string':
      return `${op} ${n} characters`;
    case 'array':
    case 'set':
      return `${op} ${n} items`;
    default:
      return `${op} ${n}`;
  }
}

/** Per-parse error map: every message is ours unless the schema set its own. */
const errorMap = (iss: z.core.$ZodRawIssue): string | undefined => {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      const exp = expectedName(String(iss.expected));
      if (input === undefined) return `required (expected ${exp})`;
      if (exp === 'integer' && typeof input === 'number') return `expected integer, got ${input}`;
      let hint = '';
      if (exp === 'boolean' && typeof input === 'string' && /^(yes|no|on|off|true|false)$/i.test(input)) hint = ' (YAML 1.2: write true or false, unquoted)';
      return `expected ${exp}, got ${describeType(input)}${typeof input === 'string' ? ` ${show(input)}` : ''}${hint}`;
    }
    case 'invalid_value': {
      const values = (iss.values as readonly unknown[]).map(show);
      const guess = typeof input === 'string' ? didYouMean(input, (iss.values as unknown[]).filter((v): v is string => typeof v === 'string')) : undefined;
      const head = values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`;
      return `${head}, got ${show(input)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`;
    }
    case 'unrecognized_keys':
      return UNKNOWN_KEYS_MARK + JSON.stringify(shapeKeys(iss.inst));
    case 'too_small': {
      const op = iss.exact ? 'exactly' : iss.inclusive === false ? 'more than' : 'at least';
      if (iss.origin === 'string' && iss.minimum === 1 && !iss.exact) return 'must not be empty';
      if (iss.origin === 'array' && iss.minimum === 1 && !iss.exact) return 'must not be an empty list';
      return `must be ${bound(op, iss.minimum, String(iss.origin))}, got ${sizeOf(input, String(iss.origin))}`;
    }
    case 'too_big': {
      const op = iss.exact ? 'exactly' : iss.inclusive === false ? 'less than' : 'at most';
      return `must be ${bound(op, iss.maximum, String(iss.origin))}, got ${sizeOf(input, String(iss.origin))}`;
    }
    case 'invalid_format': {
      if (iss.format === 'regex' && iss.pattern) return `${show(input)} does not match ${iss.pattern}`;
      if (iss.format === 'starts_with') return `must start with ${JSON.stringify(iss.prefix)}, got ${show(input)}`;
      if (iss.format === 'ends_with') return `must end with ${JSON.stringify(iss.suffix)}, got ${show(input)}`;
      if (iss.format === 'includes') return `must contain ${JSON.stringify(iss.includes)}, got ${show(input)}`;
      return `invalid ${iss.format}: ${show(input)}`;
    }
    case 'not_multiple_of':
      return `must be a multiple of ${iss.divisor}, got ${show(input)}`;
    case 'invalid_union': {
      const alts = unionAlternatives(iss.errors as z.core.$ZodIssue[][]);
      if (alts && input === undefined) return `required (expected ${orList(alts)})`;
      if (alts) return `expected ${orList(alts)}, got ${describeType(input)}${typeof input === 'string' ? ` ${show(input)}` : ''}`;
      return undefined;
    }
    case 'invalid_key':
      return `invalid key ${show(input)}`;
    default:
      return undefined;
  }
};

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function sizeOf(input: unknown, origin: string): string {
  if (origin === 'string' && typeof input === 'string') return `${input.length}`;
  if ((origin === 'array' || origin === 'set') && Array.isArray(input)) return `${input.length}`;
  return show(input);
}

/** When every branch failed at its root on type/value, the names of what was expected. */
function unionAlternatives(errors: z.core.$ZodIssue[][] | undefined): string[] | undefined {
  if (!errors || errors.length === 0) return undefined;
  const out: string[] = [];
  for (const branch of errors) {
    const root = branch.filter((e) => e.path.length === 0);
    if (root.length === 0 || root.length !== branch.length) return undefined;
    for (const e of root) {
      if (e.code === 'invalid_type') out.push(expectedName(String(e.expected)));
      else if (e.code === 'invalid_value') out.push(...e.values.map((v) => show(v)));
      else return undefined;
    }
  }
  return [...new Set(out)];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

const isTemplate = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');

/** Score a failed union branch: deeper and fewer errors means "closer to what the user meant". */
function branchScore(branch: z.core.$ZodIssue[]): number {
  const depth = Math.max(...branch.map((e) => e.path.length));
  return depth * 100 - branch.length;
}

/** Flatten zod issues into located ValidationIssues (relative paths → absolute). */
function convert(
  issues: readonly z.core.$ZodIssue[],
  doc: YamlDoc,
  value: unknown,
  base: readonly PropertyKey[],
  rel: readonly PropertyKey[],
  options: ValidateOptions,
  out: ValidationIssue[],
): void {
  for (const iss of issues) {
    const relPath = [...rel, ...iss.path];
    const full = [...base, ...relPath] as (string | number)[];
    if (options.tolerateTemplates && iss.code !== 'unrecognized_keys' && isTemplate(valueAt(value, relPath))) continue;
    if (iss.code === 'invalid_union' && !unionAlternatives(iss.errors)) {
      // Some branch got past the type check: report that branch's own issues.
      const branches = iss.errors.filter((b) => b.length > 0);
      const best = branches.slice().sort((a, b) => branchScore(b) - branchScore(a))[0];
      if (best) {
        convert(best, doc, value, base, relPath, options, out);
        continue;
      }
    }
    if (iss.code === 'unrecognized_keys' || iss.message.startsWith(UNKNOWN_KEYS_MARK)) {
      let allowed: string[] = [];
      if (iss.message.startsWith(UNKNOWN_KEYS_MARK)) {
        try {
          allowed = JSON.parse(iss.message.slice(UNKNOWN_KEYS_MARK.length)) as string[];
        } catch {
          allowed = [];
        }
      }
      const keys = iss.code === 'unrecognized_keys' ? iss.keys : [];
      for (const key of keys) {
        out.push({
          path: formatPath(full),
          message: unknownKeyMessage(key, allowed),
          location: doc.locate([...full, key], { key: true }) ?? doc.locate(full),
        } as ValidationIssue);
      }
      continue;
    }
    const location = doc.locate(full);
    out.push(location ? { path: formatPath(full), message: iss.message, location } : { path: formatPath(full), message: iss.message });
  }
}

/** Sort by position, then path, so output is stable and reads top to bottom. */
export function sortIssues(issues: ValidationIssue[]): ValidationIssue[] {
  return issues.sort(
    (a, b) =>
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      (a.location?.column ?? 0) - (b.location?.column ?? 0) ||
      a.path.localeCompare(b.path),
  );
}

/**
 * Validate `value` (the document's value at `options.basePath`, or the whole
 * document) without throwing. When every issue was tolerated as a template,
 * returns the raw value unchanged (`tolerated: true`): defaults and transforms
 * have not been applied, the caller re-validates after rendering.
 */
export function checkWith<S extends z.ZodType>(
  schema: S,
  doc: YamlDoc,
  value: unknown = doc.value,
  options: ValidateOptions = {},
): CheckResult<z.output<S>> {
  let result: ReturnType<S['safeParse']>;
  try {
    // without zod's JIT: a document is parsed once, where compiling each object schema's fast path costs more than it saves
    result = schema.safeParse(value, { error: errorMap, jitless: true }) as ReturnType<S['safeParse']>;
  } catch (err) {
    // A schema that throws (bad refinement) must still not produce a stack trace.
    const full = (options.basePath ?? []) as (string | number)[];
    const location = doc.locate(full);
    const issue: ValidationIssue = { path: formatPath(full), message: `invalid value: ${err instanceof Error ? err.message : String(err)}` };
    if (location) issue.location = location;
    return { ok: false, issues: [issue] };
  }
  if (result.success) return { ok: true, data: result.data as z.output<S>, tolerated: false };
  const out: ValidationIssue[] = [];
  convert(result.error.issues, doc, value, options.basePath ?? [], [], options, out);
  if (out.length === 0) return { ok: true, data: value as z.output<S>, tolerated: true };
  // dedupe identical lines (union branches can repeat)
  const seen = new Set<string>();
  const unique = out.filter((i) => {
    const k = `${i.location?.line}:${i.location?.column}:${i.path}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { ok: false, issues: sortIssues(unique) };
}

/** Parse the whole document with `schema`, or throw a ValidationError listing every located issue. */
export function validateWith<S extends z.ZodType>(schema: S, doc: YamlDoc, options: ValidateOptions = {}): z.output<S> {
  const r = checkWith(schema, doc, doc.value, options);
  if (!r.ok) throw new ValidationError(r.issues);
  return r.data;
}
