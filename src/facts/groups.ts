/**
 * Group fact: one group's entry in the group database (`getent group`, so
 * local files and NSS alike): its gid and members.
 */
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface GroupArgs {
  readonly name: string;
}

export interface PresentGroup {
  readonly exists: true;
  readonly name: string;
  /** -1: not known yet (a group check mode predicts, its gid assigned by groupadd). */
  readonly gid: number;
  /** Supplementary members listed in the entry (not the users whose primary group it is). */
  readonly members: readonly string[];
}

export type GroupInfo = { readonly exists: false } | PresentGroup;

/** Pure parser of `getent group NAME` (exit 2: no such group). */
export function parseGroupFact(stdout: string, args: GroupArgs, exitCode: number): GroupInfo {
  if (exitCode === 2 && stdout.trim() === '') return { exists: false };
  const line = stdout.split('\n').find((l) => l.startsWith(`${args.name}:`));
  const fields = line?.split(':');
  if (exitCode !== 0 || !fields || fields.length !== 4 || !/^\d+$/.test(fields[2] as string)) {
    throw new FactError('group', `${args.name}: unexpected getent output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return { exists: true, name: args.name, gid: Number(fields[2]), members: (fields[3] as string).split(',').filter(Boolean) };
}

export const groupFact: Fact<GroupArgs, GroupInfo> = {
  name: 'group',
  command: (args) => sh`getent group -- ${args.name}`,
  parse: (stdout, args, exitCode) => parseGroupFact(stdout, args, exitCode),
  key: (args) => args.name,
};

export const groupInfo = (name: string): FactRequest<GroupInfo> => req(groupFact, { name });
