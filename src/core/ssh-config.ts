/**
 * OpenSSH client configuration (`~/.ssh/config`), read with ssh_config(5)
 * semantics for the keywords provision uses:
 *
 * - for each keyword the first value obtained wins (IdentityFile accumulates);
 * - `Host` lines take several patterns with `*`, `?` and `!negation`, matched
 *   case-insensitively against the name given to ssh (the inventory's
 *   `host`/`ansible_host`, else the inventory name); lines before the first
 *   `Host` apply to every host;
 * - `Match all` applies to every host; any other `Match` block is skipped with
 *   a warning (its settings do not apply);
 * - `Include` takes paths and globs, relative to ~/.ssh; inside a Host block
 *   the included lines apply only where that block applies.
 *
 * Keywords are case-insensitive and may be written `Keyword value` or
 * `Keyword=value`; arguments may be quoted. Keywords provision has no use
 * for are ignored (the client has hundreds).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { SourceLocation } from '../contract/errors.js';

export interface SshConfigValue {
  /** Arguments after the keyword, unquoted. */
  args: string[];
  location: SourceLocation;
}

interface Condition {
  /** Host patterns (any positive matches and no negated one), 'all', or 'never' (a skipped Match block). */
  kind: 'host' | 'all' | 'never';
  patterns: string[];
}

interface Entry {
  keyword: string;
  value: SshConfigValue;
  conditions: Condition[];
}

export interface SshConfig {
  file: string;
  entries: Entry[];
  warnings: { message: string; location: SourceLocation }[];
}

export interface ReadSshConfigOptions {
  /** Home directory for `~` and relative Include paths (~/.ssh). */
  home: string;
  /** Name of a file in messages (default: the path, with the home directory as ~). */
  display?: (path: string) => string;
}

const MAX_INCLUDE_DEPTH = 16;

/** OpenSSH's argument splitting: whitespace separates, "…" and '…' quote, \ escapes, # at a word start ends the line. */
export function splitSshArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (i >= text.length || text[i] === '#') break;
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i] as string;
      if (quote) {
        if (c === quote) quote = undefined;
        else if (c === '\\' && (text[i + 1] === quote || text[i + 1] === '\\')) word += text[++i];
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '\\' && i + 1 < text.length) word += text[++i];
      else if (/\s/.test(c)) break;
      else word += c;
    }
    out.push(word);
  }
  return out;
}

/** `Keyword value`, `Keyword=value`, `Keyword = value` → keyword (lower case) and arguments. */
export function splitKeywordLine(line: string): { keyword: string; args: string[]; argsOffset: number } | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9]*)(\s*=\s*|\s+|$)/.exec(line);
  if (!m) return undefined;
  return { keyword: (m[1] as string).toLowerCase(), args: splitSshArgs(line.slice(m[0].length)), argsOffset: m[0].length };
}

function globToRegExp(glob: string, caseInsensitive: boolean): RegExp {
  let re = '';
  for (const c of glob) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, caseInsensitive ? 'is' : 's');
}

/** OpenSSH's match_pattern_list for a host name: a negated match wins, else any positive match. */
export function matchHostPatterns(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const pattern = negated ? p.slice(1) : p;
    if (globToRegExp(pattern, true).test(host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Paths matching a glob with `*`, `?` (and `[…]` kept literal), sorted like glob(3). */
function expandGlob(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split(sep);
  let bases = [parts[0] === '' ? sep : (parts[0] as string)];
  for (const part of parts.slice(1)) {
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?]/.test(part)) {
        const p = join(base, part);
        if (existsSync(p)) next.push(p);
        continue;
      }
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      const re = globToRegExp(part, false);
      for (const n of names.sort()) if (re.test(n) && (!n.startsWith('.') || part.startsWith('.'))) next.push(join(base, n));
    }
    bases = next;
  }
  return bases;
}

/** Read an ssh_config file and everything it includes. Missing file: undefined. */
export function readSshConfig(path: string, options: ReadSshConfigOptions): SshConfig | undefined {
  if (!existsSync(path)) return undefined;
  const display = options.display ?? ((p: string) => (p.startsWith(options.home + sep) ? `~${p.slice(options.home.length)}` : p));
  const config: SshConfig = { file: path, entries: [], warnings: [] };
  const expandPath = (p: string): string => {
    if (p === '~') return options.home;
    if (p.startsWith('~/')) return join(options.home, p.slice(2));
    return isAbsolute(p) ? p : resolve(options.home, '.ssh', p);
  };

  const readFile = (file: string, outer: Condition[], depth: number): void => {
    let text: string;
    try {
      if (!statSync(file).isFile()) return;
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    const shown = display(file);
    let block: Condition | undefined;
    text.split(/\r?\n/).forEach((line, index) => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const parsed = splitKeywordLine(line);
      const location: SourceLocation = { file: shown, line: index + 1, column: line.length - line.trimStart().length + 1 };
      if (!parsed) return;
      const { keyword, args } = parsed;
      if (keyword === 'host') {
        block = { kind: 'host', patterns: args };
        return;
      }
      if (keyword === 'match') {
        if (args.length === 1 && (args[0] as string).toLowerCase() === 'all') block = { kind: 'all', patterns: [] };
        else {
          block = { kind: 'never', patterns: [] };
          config.warnings.push({ message: `Match ${args.join(' ')}: Match blocks are not supported; the settings of this block are not applied`, location });
        }
        return;
      }
      const conditions = block ? [...outer, block] : outer;
      if (keyword === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH) {
          config.warnings.push({ message: `Include nested more than ${MAX_INCLUDE_DEPTH} deep: not read`, location });
          return;
        }
        for (const arg of args) for (const f of expandGlob(expandPath(arg))) readFile(f, conditions, depth + 1);
        return;
      }
      config.entries.push({ keyword, value: { args, location }, conditions });
    });
  };
  readFile(path, [], 0);
  return config;
}

function applies(c: Condition, host: string): boolean {
  if (c.kind === 'all') return true;
  if (c.kind === 'never') return false;
  return matchHostPatterns(host, c.patterns);
}

/**
 * The values obtained for `host`, per keyword (lower case), in the order
 * OpenSSH obtains them: the first is the one that counts (IdentityFile uses all).
 */
export function sshConfigFor(config: SshConfig | undefined, host: string): Map<string, SshConfigValue[]> {
  const out = new Map<string, SshConfigValue[]>();
  if (!config) return out;
  const name = host.toLowerCase();
  for (const e of config.entries) {
    if (!e.conditions.every((c) => applies(c, name))) continue;
    const list = out.get(e.keyword) ?? [];
    list.push(e.value);
    out.set(e.keyword, list);
  }
  return out;
}
