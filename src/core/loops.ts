/**
 * Ansible's `with_<lookup>` loops, turned into the list of items `loop:` would
 * go over, as the lookup plugins of ansible-core 2.14 build it from their
 * rendered terms: `with_items` flattens one level, `with_dict` gives
 * `{key, value}` items, `with_subelements` pairs, `with_together` zips,
 * `with_sequence` counts, `with_indexed_items` numbers, `with_nested` and
 * `with_cartesian` combine. (`with_fileglob` lists files on the control
 * machine: `fileglob` in local-files.ts.)
 */
import { ProvisionError } from '../contract/errors.js';
import { parseKeyValues } from './ansible-syntax.js';
import { percentFormat, tuple } from './pyvalues.js';

export const LOOP_LOOKUPS = ['items', 'list', 'dict', 'subelements', 'together', 'sequence', 'indexed_items', 'nested', 'cartesian', 'fileglob'] as const;
export type LoopLookup = (typeof LOOP_LOOKUPS)[number];
/** The lookups built from their terms alone (fileglob also reads the control machine's files: see local-files.ts). */
export type PureLoopLookup = Exclude<LoopLookup, 'fileglob'>;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const fail = (kind: LoopLookup, message: string): never => {
  throw new ProvisionError('E_LOOP', `with_${kind}: ${message}`);
};

/** One level of lists opened (LookupBase._flatten). */
function flattenOnce(terms: readonly unknown[]): unknown[] {
  return terms.flatMap((t) => (Array.isArray(t) ? t : [t]));
}

/** A value as the list of terms a lookup gets (listify_lookup_plugin_terms): text or a mapping is one term. */
function terms(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

/** A copy of `element` without the subkey at `path`: Ansible pops it from the first item of each pair. */
function withoutKey(element: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  if (!(head in element)) return element;
  const { [head]: inner, ...others } = element;
  if (rest.length === 0) return others;
  return isRecord(inner) ? { ...others, [head]: withoutKey(inner, rest) } : element;
}

function subelements(args: unknown[]): unknown[] {
  if (args.length < 2 || args.length > 3) fail('subelements', 'expects a list of two or three items');
  const [first, key, flags] = args;
  if (!(Array.isArray(first) || isRecord(first)) || typeof key !== 'string') fail('subelements', 'expects first a list or a mapping, second the name of the subkey');
  const skipMissing = isRecord(flags) && (flags.skip_missing === true || flags.skip_missing === 'yes' || flags.skip_missing === 'true');
  const elements = Array.isArray(first) ? first : (first as Record<string, unknown>).skipped ? [] : Object.values(first as Record<string, unknown>);
  const path = (key as string).split('.');
  const out: unknown[] = [];
  for (const element of elements) {
    if (!isRecord(element)) fail('subelements', `expects a mapping, got ${JSON.stringify(element)}`);
    if ((element as Record<string, unknown>).skipped) continue;
    let value: unknown = element;
    let sub: unknown[] = [];
    for (const [i, k] of path.entries()) {
      if (!isRecord(value) || !(k in value)) {
        if (skipMissing) break;
        fail('subelements', `could not find '${k}' key in iterated item ${JSON.stringify(value)}`);
      }
      const next = (value as Record<string, unknown>)[k];
      if (i === path.length - 1) {
        if (!Array.isArray(next)) fail('subelements', `the key ${k} should point to a list, got ${JSON.stringify(next)}`);
        sub = next as unknown[];
      } else value = next;
    }
    const stripped = withoutKey(element as Record<string, unknown>, path);
    for (const s of sub) out.push(tuple([stripped, s]));
  }
  return out;
}

/** `5`, `2-10/2`, `4:host%02d` (start-end/stride:format), numbers in decimal, 0x hex or 0 octal. */
const SEQUENCE_SHORT = /^(?:(0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(?:\/(0?x?[0-9a-f]+))?(?::(.+))?$/i;

function pyInt(text: string): number {
  const t = text.trim().toLowerCase();
  const n = /^[-+]?0x[0-9a-f]+$/.test(t) ? Number.parseInt(t, 16) : /^[-+]?0o?[0-7]+$/.test(t) && t.replace(/^[-+]/, '').length > 1 ? Number.parseInt(t.replace('0o', '0'), 8) : /^[-+]?\d+$/.test(t) ? Number(t) : Number.NaN;
  if (Number.isNaN(n)) fail('sequence', `cannot read ${JSON.stringify(text)} as an integer`);
  return n;
}

function sequence(term: unknown): string[] {
  const text = String(term);
  let start = 1;
  let end: number | undefined;
  let count: number | undefined;
  let stride = 1;
  let format = '%d';
  const short = SEQUENCE_SHORT.exec(text);
  if (short) {
    if (short[1] !== undefined) start = pyInt(short[1]);
    end = pyInt(short[2] as string);
    if (short[3] !== undefined) stride = pyInt(short[3]);
    if (short[4] !== undefined) format = short[4];
  } else {
    const { options, raw } = parseKeyValues(text);
    if (raw !== undefined) fail('sequence', `cannot read ${JSON.stringify(raw)}`);
    for (const [k, v] of Object.entries(options)) {
      if (k === 'start') start = pyInt(v);
      else if (k === 'end') end = pyInt(v);
      else if (k === 'count') count = pyInt(v);
      else if (k === 'stride') stride = pyInt(v);
      else if (k === 'format') format = v;
      else fail('sequence', `unknown argument ${k} (start, end, count, stride, format)`);
    }
  }
  if (count === undefined && end === undefined) fail('sequence', 'give count or end');
  if (count !== undefined && end !== undefined) fail('sequence', 'give count or end, not both');
  if (count !== undefined) {
    if (count === 0) return [];
    end = start + count * stride - 1;
  }
  const last = end as number;
  if (stride > 0 && last < start) fail('sequence', 'to count backwards make stride negative');
  if (stride < 0 && last > start) fail('sequence', "to count forward don't make stride negative");
  if (format.split('%').length - 1 !== 1) fail('sequence', `bad format string ${JSON.stringify(format)}`);
  if (stride === 0) return [];
  const out: string[] = [];
  for (let i = start; stride > 0 ? i <= last : i >= last; i += stride) out.push(percentFormat(format, i));
  return out;
}

/** Python's iteration of one value, as _flatten does it on a lone item: a list, a text's characters, a mapping's keys. */
function iterateValue(v: unknown): unknown[] {
  if (Array.isArray(v)) return flattenOnce(v);
  if (typeof v === 'string') return [...v];
  return isRecord(v) ? Object.keys(v) : [v];
}

/** with_nested: pairs built list by list, each flattened one level as it grows. */
function nested(lists: readonly unknown[]): unknown[] {
  if (lists.length === 0) fail('nested', 'needs at least one list');
  let acc = terms(lists[0]);
  for (const next of lists.slice(1)) {
    const b = terms(next);
    acc = acc.flatMap((x) => b.map((y) => flattenOnce([x, y])));
  }
  return acc.map(iterateValue);
}

/** with_cartesian: every combination of one item from each list. */
function cartesian(lists: readonly unknown[]): unknown[] {
  let acc: unknown[][] = [[]];
  for (const list of lists) acc = acc.flatMap((prefix) => terms(list).map((y) => [...prefix, y]));
  return lists.length === 0 ? [] : acc.map(flattenOnce);
}

/** The items of `with_<kind>: <rendered>`. */
export function lookupItems(kind: PureLoopLookup, rendered: unknown): unknown[] {
  switch (kind) {
    case 'items':
      return flattenOnce(terms(rendered));
    case 'list':
      return terms(rendered);
    case 'dict':
      return terms(rendered).flatMap((t) => {
        if (!isRecord(t)) fail('dict', 'expects a mapping');
        return Object.entries(t as Record<string, unknown>).map(([key, value]) => ({ key, value }));
      });
    case 'subelements':
      return subelements(terms(rendered));
    case 'together': {
      const lists = terms(rendered).map(terms);
      if (lists.length === 0) fail('together', 'needs at least one list');
      const n = Math.max(0, ...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => flattenOnce(lists.map((l) => (i < l.length ? l[i] : null))));
    }
    case 'sequence':
      return terms(rendered).flatMap(sequence);
    case 'indexed_items':
      return flattenOnce(terms(rendered)).map((x, i) => tuple([i, x]));
    case 'nested':
      return nested(terms(rendered));
    case 'cartesian':
      return cartesian(terms(rendered));
  }
}
