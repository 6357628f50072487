/**
 * iptables-save words: split a rule the way iptables-restore does, and quote
 * a value the way iptables-save prints it.
 */
import { TaskError } from '../../../contract/errors.js';

/** The error for a rule iptables would refuse or that cannot be compared reliably. */
export function fail(rule: string, why: string): never {
  throw new TaskError(`iptables rule ${JSON.stringify(rule)}: ${why}`);
}

/**
 * Split a rule the way iptables-restore does: whitespace separates words,
 * double quotes group (a backslash escapes the next character inside quotes),
 * single quotes are NOT special to iptables-restore and are refused here so a
 * shell habit does not turn into a literal quote in a log prefix.
 */
export function tokenize(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < spec.length) {
        cur += spec[++i];
      } else if (c === '"') {
        quoted = false;
        out.push(cur);
        cur = '';
        inWord = false;
      } else cur += c;
      continue;
    }
    if (c === '"') {
      if (inWord) {
        out.push(cur);
        cur = '';
      }
      quoted = true;
      inWord = true;
      continue;
    }
    if (c === "'") fail(spec, 'use double quotes (iptables-save syntax), not single quotes');
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) {
        out.push(cur);
        cur = '';
        inWord = false;
      }
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (quoted) fail(spec, 'unterminated double quote');
  if (inWord) out.push(cur);
  return out;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** Quote a value as iptables-save does (xtables_save_string): bare when only [A-Za-z0-9_-], else double quoted with `"`, `\`, `'` escaped. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
