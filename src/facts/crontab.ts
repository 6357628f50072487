/**
 * A user's crontab as `crontab -l` prints it (for the `cron` task): the lines,
 * or none when the user has no crontab; whether the host has `crontab` at all.
 */
import { FactError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface CrontabArgs {
  /** Whose crontab (`crontab -l -u USER`); undefined: the user the task runs as. */
  readonly user?: string;
}

export type Crontab = { readonly installed: false } | { readonly installed: true; readonly lines: readonly string[] };

const BEGIN = '__provision_crontab_begin';

function command(a: CrontabArgs): string {
  const u = a.user !== undefined ? ` -u ${quote(a.user)}` : '';
  // "no crontab for USER" (exit 1, on stderr) is an empty crontab; any other error is shown and fails the parse
  const list = `crontab -l${u}`;
  return [
    `if ! command -v crontab >/dev/null 2>&1; then echo __provision_no_crontab; exit 0; fi`,
    `echo ${BEGIN}`,
    `if out=$(${list} 2>/dev/null); then printf '%s\\n' "$out"`,
    `elif ${list} 2>&1 | grep -q 'no crontab for'; then :`,
    `else ${list} >/dev/null; exit 1; fi`,
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseCrontab(stdout: string, a: CrontabArgs, exitCode = 0): Crontab {
  if (stdout.startsWith('__provision_no_crontab')) return { installed: false };
  if (exitCode !== 0 || !stdout.startsWith(BEGIN)) throw new FactError('crontab', `cannot read the crontab of ${a.user ?? 'the task user'} (exit ${exitCode})`);
  const body = stdout.slice(BEGIN.length + 1).replace(/\n+$/, '');
  return { installed: true, lines: body === '' ? [] : body.split('\n') };
}

export const crontabFact: Fact<CrontabArgs, Crontab> = {
  name: 'crontab',
  command,
  parse: (stdout, args, exitCode) => parseCrontab(stdout, args, exitCode),
};

export const crontabOf = (a: CrontabArgs): FactRequest<Crontab> => req(crontabFact, a);
