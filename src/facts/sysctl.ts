/**
 * The running value of kernel parameters, read from their /proc/sys files: ONE
 * `grep` prints every line of every file asked for, each after its path and a NUL,
 * so the reads of one batch (Fact.merge) cost one process, where a `sysctl -n`
 * each cost a process and a subshell per parameter. A file's lines are what
 * `sysctl -n` prints (it prints the file), tabs and all; a parameter the kernel
 * lacks, cannot be read, or reads as nothing is null.
 *
 * Not the shell's `read`: it reads a byte at a time, and most /proc/sys files
 * answer only a read from offset 0 (`read` got "3" of "32768\t60999").
 */
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { sh } from '../contract/quote.js';

export interface SysctlArgs {
  /** The value parsed is the first name's; a merged read asks for every name. */
  readonly names: readonly string[];
}

/**
 * The /proc/sys path of a parameter, as sysctl and systemd-sysctl find it: when the
 * first separator is a `/`, the name is a path already, its dots part of a component
 * (net/ipv4/conf/eth0.100/rp_filter); otherwise dots and slashes swap
 * (net.ipv4.conf.eth0/100.rp_filter is the same file, man sysctl.d).
 */
export function sysctlPath(name: string): string {
  const pathForm = /^[^./]*\//.test(name);
  return `/proc/sys/${pathForm ? name : name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'))}`;
}

/** Why a name cannot be a parameter (an empty, `.` or `..` component would leave /proc/sys or name a directory), or undefined. */
export function badSysctlName(name: string): string | undefined {
  const parts = sysctlPath(name).slice('/proc/sys/'.length).split('/');
  return parts.some((p) => p === '' || p === '.' || p === '..') ? `${name}: a component is empty, "." or ".."` : undefined;
}

/** Pure: the lines grep printed for this name's file, joined; null when it printed none or only an empty line. */
export function parseSysctlValue(stdout: string, name: string): string | null {
  const prefix = `${sysctlPath(name)}\0`;
  const lines = stdout.split('\n').filter((l) => l.startsWith(prefix));
  const value = lines.map((l) => l.slice(prefix.length)).join('\n');
  return value === '' ? null : value;
}

export const sysctlFact: Fact<SysctlArgs, string | null> = {
  name: 'sysctl',
  command: (a) => sh`LC_ALL=C grep -a -s -H -Z '' ${a.names.map(sysctlPath)}`,
  parse: (stdout, a) => parseSysctlValue(stdout, a.names[0]!),
  key: (a) => [...a.names].sort().join(','),
  // one name per file: two spellings of one parameter would print its lines twice
  merge: (all) => ({ names: [...new Map(all.flatMap((a) => a.names).map((n) => [sysctlPath(n), n])).values()] }),
};

export const sysctlValue = (name: string): FactRequest<string | null> => req(sysctlFact, { names: [name] });
