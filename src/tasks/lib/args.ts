/**
 * Argument helpers shared by task schemas: Ansible's string short form
 * (`command: /usr/bin/true`), parameter aliases (`dest:` for `path:`), and a
 * POSIX-shell-like word splitter for `command`'s free-form string.
 */
import { z } from 'zod';
import { TaskError } from '../../core/errors.js';

/** `task: "text"` means `task: { [key]: "text" }`. */
export function shortForm<S extends z.ZodType>(key: string, schema: S) {
  return z.preprocess((v) => (typeof v === 'string' ? { [key]: v } : v), schema);
}

/** Rename alias keys (`dest` -> `path`) before validation; both at once is an error left to the schema. */
export function withAliases<S extends z.ZodType>(aliases: Record<string, string>, schema: S) {
  return z.preprocess((v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const [alias, name] of Object.entries(aliases)) {
      if (alias in out && !(name in out)) {
        out[name] = out[alias];
        delete out[alias];
      }
    }
    return out;
  }, schema);
}

/**
 * Split a command line into words like a POSIX shell does, without any
 * expansion: quotes ('..' and ".." with \\ escapes) and backslashes are
 * honoured; `$`, `*`, `|`, `;`... stay literal characters.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new TaskError(`unterminated single quote in ${JSON.stringify(line)}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw new TaskError(`unterminated double quote in ${JSON.stringify(line)}`);
        const d = line[i] as string;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1] as string)) {
          if (line[i + 1] !== '\n') cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 < line.length) {
        if (line[i + 1] !== '\n') {
          cur += line[i + 1];
          inWord = true;
        }
        i += 2;
      } else {
        i++;
      }
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
