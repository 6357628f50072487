/**
 * The host's boot id: what Ansible's reboot action compares before and after
 * a reboot (`cat /proc/sys/kernel/random/boot_id`, or the task's own
 * `boot_time_command`). Its output, trimmed; empty output is an error (a
 * reboot could not be told from none).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export const BOOT_ID_COMMAND = 'cat /proc/sys/kernel/random/boot_id';

export function parseBootId(stdout: string, command: string, exitCode: number): string {
  const id = stdout.trim();
  if (exitCode !== 0 || id === '') throw new FactError('boot_id', `${command} printed no boot id (exit ${exitCode})`);
  return id;
}

export const bootIdFact: Fact<{ command: string }, string> = {
  name: 'boot_id',
  command: (a) => `${a.command}; exit $?`,
  parse: (stdout, a, exitCode) => parseBootId(stdout, a.command, exitCode),
  key: (a) => a.command,
};

export const bootId = (command: string): FactRequest<string> => req(bootIdFact, { command });
