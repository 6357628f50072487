/**
 * The running value of one kernel parameter, as `sysctl -e -n NAME` prints it
 * (null when the kernel has no such parameter or it cannot be read).
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

export const sysctlFact: Fact<SysctlArgs, string | null> = {
  name: 'sysctl',
  command: (a) => sh`LC_ALL=C PATH="$PATH:/usr/sbin:/sbin" sysctl -e -n ${a.name}`,
  parse: (stdout, _args, exitCode) => parseSysctlValue(stdout, exitCode),
  key: (a) => a.name,
};

export const sysctlValue = (name: string): FactRequest<string | null> => req(sysctlFact, { name });
