/**
 * Host patterns, evaluated like Ansible:
 *   `all` / `*`, a group, a host, a glob (`web*`, `db?`, `db[0-9]`), `~regex`,
 *   `a:b` or `a,b` union, `a:&b` intersection, `a:!b` exclusion,
 *   `group[0]`, `group[-1]`, `group[0:2]` (inclusive, like Ansible).
 * Unions are taken first, then intersections, then exclusions, regardless of
 * the order they are written in; with only `&`/`!` parts the base is `all`.
 * Globs and regexes match group names and host names. The result is in
 * inventory order.
 */
import type { Inventory } from './inventory.js';

interface Part {
  op: 'union' | 'and' | 'not';
  term: string;
  raw: string;
}

function splitOutsideBrackets(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '[') depth++;
    else if (c === ']' && depth > 0) depth--;
    if (c === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Split on `,` and `:` (not inside `[...]`); a pattern that is an exact host name (e.g. IPv6) stays whole. */
function splitPattern(pattern: string, inv: Inventory): Part[] {
  const p = pattern.trim();
  if (p === '') return [];
  let pieces: string[];
  if (inv.hosts.has(p) || inv.groups.has(p)) pieces = [p];
  else pieces = splitOutsideBrackets(p, ',').flatMap((s) => (inv.hosts.has(s.trim()) ? [s] : splitOutsideBrackets(s, ':')));
  const out: Part[] = [];
  for (const piece of pieces) {
    const raw = piece.trim();
    if (raw === '') continue;
    if (raw.startsWith('&')) out.push({ op: 'and', term: raw.slice(1).trim(), raw });
    else if (raw.startsWith('!')) out.push({ op: 'not', term: raw.slice(1).trim(), raw });
    else out.push({ op: 'union', term: raw, raw });
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end > i + 1) {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      } else re += '\\[';
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const isGlob = (t: string): boolean => /[*?[]/.test(t);

/** Hosts (as a set) matched by one term, without operators. */
function matchTerm(term: string, inv: Inventory): Set<string> {
  const out = new Set<string>();
  if (term === '') return out;
  if (term === 'all' || term === '*') {
    for (const h of inv.hosts.keys()) out.add(h);
    return out;
  }
  const group = inv.groups.get(term);
  if (group) for (const h of group) out.add(h);
  if (inv.hosts.has(term)) out.add(term);
  if (out.size > 0) return out;

  // group[0], group[-1], group[1:3]
  const sub = /^(.+)\[(-?\d+)(?::(-?\d*))?\]$/.exec(term);
  if (sub) {
    const base = orderedMatches(sub[1] as string, inv);
    if (base.length > 0) {
      const n = base.length;
      const norm = (i: number): number => (i < 0 ? n + i : i);
      const start = norm(Number(sub[2]));
      const end = sub[3] === undefined ? start : sub[3] === '' ? n - 1 : norm(Number(sub[3]));
      for (const h of base.slice(Math.max(0, start), end + 1)) out.add(h);
      return out;
    }
  }

  let re: RegExp | undefined;
  if (term.startsWith('~')) {
    try {
      re = new RegExp(term.slice(1));
    } catch {
      return out;
    }
  } else if (isGlob(term)) {
    re = globToRegExp(term);
  }
  if (!re) return out;
  for (const [name, members] of inv.groups) if (re.test(name)) for (const h of members) out.add(h);
  for (const h of inv.hosts.keys()) if (re.test(h)) out.add(h);
  return out;
}

function orderedMatches(term: string, inv: Inventory): string[] {
  const set = matchTerm(term, inv);
  return [...inv.hosts.keys()].filter((h) => set.has(h));
}

/** Host names selected by `pattern`, in inventory order. Parts matching nothing are ignored (see unmatchedPatterns). */
export function selectHosts(pattern: string, inv: Inventory): string[] {
  const parts = splitPattern(pattern, inv);
  if (parts.length === 0) return [];
  const unions = parts.filter((p) => p.op === 'union');
  const selected = new Set<string>();
  for (const p of unions.length > 0 ? unions : [{ op: 'union', term: 'all', raw: 'all' } as Part]) {
    for (const h of matchTerm(p.term, inv)) selected.add(h);
  }
  for (const p of parts.filter((x) => x.op === 'and')) {
    const m = matchTerm(p.term, inv);
    for (const h of [...selected]) if (!m.has(h)) selected.delete(h);
  }
  for (const p of parts.filter((x) => x.op === 'not')) {
    for (const h of matchTerm(p.term, inv)) selected.delete(h);
  }
  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}

/** Why each `~regex` part of `pattern` is not a valid regular expression (empty when all are). */
export function invalidRegexes(pattern: string, inv: Inventory): string[] {
  return splitPattern(pattern, inv).flatMap((p) => {
    if (!p.term.startsWith('~')) return [];
    try {
      new RegExp(p.term.slice(1));
      return [];
    } catch (err) {
      return [`"${p.raw}" is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`];
    }
  });
}

/** The parts of `pattern` (as written, with `&`/`!`) that match no host, for a CLI warning. */
export function unmatchedPatterns(pattern: string, inv: Inventory): string[] {
  return splitPattern(pattern, inv)
    .filter((p) => matchTerm(p.term, inv).size === 0 && !inv.groups.has(p.term))
    .map((p) => p.raw);
}
