/**
 * Files on the control machine a playbook names (task files, roles, vars
 * files): which ones a name designates, even a name with a template in it,
 * and files of variables read as playbooks are (YAML 1.2 with YAML 1.1's
 * booleans).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TaskError, ValidationError } from '../contract/errors.js';
import { loadYamlFile } from '../schema/yaml.js';
import { describeType } from '../schema/validate.js';
import { isTemplated } from './template.js';

/** A file's variables: a mapping (an empty file has none); anything else is an error naming the file. */
export function readVarsFile(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = loadYamlFile(file, file, { yaml11: 'booleans' }).value;
  } catch (err) {
    if (err instanceof ValidationError) throw new TaskError(err.message, { cause: err });
    throw err;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new TaskError(`${file}: a vars file holds a mapping of variables, got ${describeType(value)}`);
  return value as Record<string, unknown>;
}

/** Which files an include names: the one named, or every file a template in the name can stand for. */
export function filesNamed(name: string, dirs: readonly string[], kind: 'file' | 'dir' = 'file'): string[] {
  if (!isTemplated(name)) {
    for (const d of isAbsolute(name) ? [''] : dirs) {
      const p = resolve(d, name);
      if (existsSync(p) && (kind === 'dir' ? statSync(p).isDirectory() : statSync(p).isFile())) return [p];
    }
    return [];
  }
  // each {{ }} / {% %} stands for any text within one path segment
  const pattern = name.replace(/\{\{.*?\}\}|\{%.*?%\}/g, '\u0000');
  const segments = pattern.split('/');
  const out = new Set<string>();
  const walk = (dir: string, i: number): void => {
    if (i === segments.length) {
      if (kind === 'dir' ? statSync(dir).isDirectory() : statSync(dir).isFile()) out.add(dir);
      return;
    }
    const seg = segments[i] as string;
    if (!seg.includes('\u0000')) {
      const next = join(dir, seg);
      if (existsSync(next)) walk(next, i + 1);
      return;
    }
    const re = new RegExp(`^${seg.split('\u0000').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
    for (const e of readdirSync(dir).sort()) if (re.test(e)) walk(join(dir, e), i + 1);
  };
  for (const d of isAbsolute(pattern) ? ['/'] : dirs) walk(d, isAbsolute(pattern) ? 1 : 0);
  return [...out];
}


/** A shell glob of one path segment (`*`, `?`, `[...]`) as a regular expression; a leading dot is matched only by a dot, as Python's glob. */
function globSegment(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const close = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (close > 0) {
      const body = pattern.slice(i + 1, close);
      re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`.replace(/\\/g, '\\\\');
      i = close;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern.startsWith('.') ? '' : '(?!\\.)'}${re}$`);
}

/**
 * Ansible's fileglob lookup, on the control machine: for each term, its
 * directory is the first of `dirs` (the task's `files/` search path) that has
 * it (an absolute term: its own), and its last segment is a glob over the
 * regular files there. Absolute paths, sorted in each term; none found: none.
 */
export function fileglob(terms: readonly string[], dirs: readonly string[]): string[] {
  return terms.flatMap((term) => {
    const slash = term.lastIndexOf('/');
    const dir = slash < 0 ? '' : term.slice(0, slash) || '/';
    const base = term.slice(slash + 1);
    const found = (isAbsolute(term) ? [dir] : dirs.map((d) => resolve(d, dir))).find((d) => existsSync(d) && statSync(d).isDirectory());
    if (found === undefined) return [];
    const re = globSegment(base);
    return readdirSync(found)
      .filter((n) => re.test(n) && statSync(join(found, n)).isFile())
      .sort()
      .map((n) => join(found, n));
  });
}
