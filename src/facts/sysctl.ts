/**
 * The running value of one kernel parameter, as `sysctl -e -n NAME` prints it
 * (null when the kernel has no such parameter or it cannot be read); read by
 * the shell from /proc/sys where that is the same.
 */
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { sh } from '../contract/quote.js';

export interface SysctlArgs {
  readonly name: string;
}

/** Pure: the value without its final newline; null when sysctl failed or printed nothing. */
export function parseSysctlValue(stdout: string, exitCode: number): string | null {
  const value = stdout.replace(/\n$/, '');
  return exitCode === 0 && value !== '' ? value : null;
}

/** A name sysctl maps to /proc/sys by turning its dots into slashes, and nothing else: no slash, glob or `..` in it. */
const PLAIN_NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * `sysctl -e -n NAME`; for a plain name whose /proc/sys file is a regular file,
 * that file's lines printed by the shell instead (what sysctl prints for it,
 * without starting it; it still answers for anything else).
 */
function sysctlCommand(name: string): string {
  const run = sh`LC_ALL=C PATH="$PATH:/usr/sbin:/sbin" sysctl -e -n ${name}`;
  if (!PLAIN_NAME.test(name)) return run;
  const file = `/proc/sys/${name.replace(/\./g, '/')}`;
  return [sh`f=${file}`, `if [ -f "$f" ]; then while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < "$f"; else ${run}; fi`].join('\n');
}

export const sysctlFact: Fact<SysctlArgs, string | null> = {
  name: 'sysctl',
  command: (a) => sysctlCommand(a.name),
  parse: (stdout, _args, exitCode) => parseSysctlValue(stdout, exitCode),
  key: (a) => a.name,
};

export const sysctlValue = (name: string): FactRequest<string | null> => req(sysctlFact, { name });
