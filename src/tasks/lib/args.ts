/**
 * Argument helpers shared by task schemas: Ansible's string short form
 * (`command: /usr/bin/true`), parameter aliases (`dest:` for `path:`), and a
 * POSIX-shell-like word splitter for `command`'s free-form string.
 */
import { z } from 'zod';
import { TaskError } from '../../contract/errors.js';

/**
 * `task: "text"` means `task: { [key]: "text" }`. A union (not a preprocess)
 * so the generated JSON Schema offers both forms to editors.
 */
export function shortForm<S extends z.ZodType>(key: string, schema: S): z.ZodType<z.output<S>, string | z.input<S>> {
  const fromString = z
    .string()
    .transform((s) => ({ [key]: s }))
    .pipe(schema as unknown as z.ZodType<z.output<S>, Record<string, string>>);
  return z.union([fromString, schema]) as unknown as z.ZodType<z.output<S>, string | z.input<S>>;
}

/**
 * The value of an optional parameter that has aliases (`checksum_algorithm`,
 * also spelled `checksum` or `checksum_algo`): undefined when none is given,
 * an issue when more than one is. For `.transform` callbacks.
 */
export function aliasedOptional<T>(obj: Record<string, T | undefined>, names: readonly [string, ...string[]], ctx: z.RefinementCtx): T | undefined {
  const given = names.filter((n) => obj[n] !== undefined);
  if (given.length > 1) {
    ctx.addIssue({ code: 'custom', message: `give only one of ${given.join(', ')} (aliases)`, path: [given[1] as string] });
    return z.NEVER;
  }
  return given.length === 1 ? obj[given[0] as string] : undefined;
}

/**
 * The value of a parameter that has aliases (`path`, also spelled `dest` or
 * `name`): exactly one spelling may be given. For `.transform` callbacks.
 */
export function aliased(obj: Record<string, unknown>, names: readonly [string, ...string[]], ctx: z.RefinementCtx): string {
  const value = aliasedOptional(obj, names, ctx);
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: `${names[0]} is required`, path: [names[0]] });
    return z.NEVER;
  }
  return value as string;
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
