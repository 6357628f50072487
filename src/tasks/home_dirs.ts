/**
 * `home_dirs`: the home directory of every interactive local user (uid in
 * range, a login shell) has at most the given mode (CIS "local interactive
 * user home directories are configured"). The users are read on the host in
 * the same batch as every other fact, so an audit needs no read-only probe
 * registered first. A user whose home is missing or `/` is named in the result
 * and left alone: creating a home is `user`'s job.
 */
import { z } from 'zod';
import { change, defineTask, ok, type Diff, type Step } from '../contract/task.js';
import { homesOf, type UserHome } from '../facts/homes.js';
import type { PresentFile } from '../facts/files.js';
import { attrChanges, attrDiff, attrSteps, modeArg } from './lib/attrs.js';

const argsSchema = z
  .object({
    mode: modeArg.describe("Mode each home gets, symbolic to take permissions away ('g-w,o-rwx': 750 or stricter) or octal ('0750')"),
    uid_min: z.number().int().min(0).default(1000).describe('Lowest uid of an interactive user (login.defs UID_MIN)'),
    uid_max: z.number().int().min(0).default(60000).describe('Highest uid of an interactive user (login.defs UID_MAX)'),
  })
  .strict()
  .refine((a) => a.uid_min <= a.uid_max, { message: 'uid_min is above uid_max', path: ['uid_min'] });

type WithDir = Omit<UserHome, 'dir'> & { readonly dir: PresentFile };
const hasDir = (h: UserHome): h is WithDir => typeof h.dir !== 'string';

export const homeDirs = defineTask({
  name: 'home_dirs',
  description: 'Interactive users\' home directories (read from /etc/passwd on the host) get at most a mode',
  example: '- name: Home directories not open to others (750 or stricter)\n  home_dirs: { mode: "g-w,o-rwx" }',
  schema: argsSchema,
  facts: (a) => ({ homes: homesOf(a.uid_min, a.uid_max) }),
  plan(a, facts) {
    const homes = facts.homes;
    const range = `uid ${a.uid_min}-${a.uid_max}`;
    if (homes.length === 0) return ok(`no interactive users (${range}, a login shell)`);
    const without = homes.filter((h) => !hasDir(h)).map((h) => `${h.user} (${h.dir === 'none' ? 'home is /' : `no directory ${h.home}`})`);
    const leftAlone = without.length ? `; left alone: ${without.join(', ')}` : '';
    const attrs = { mode: a.mode };
    const wrong = homes.filter(hasDir).filter((h) => attrChanges(h.dir, attrs).mode !== undefined);
    if (wrong.length === 0) {
      const ok_ = homes.filter(hasDir).map((h) => `${h.home} ${h.dir.mode}`);
      return ok(ok_.length ? `home directories with mode ${a.mode}: ${ok_.join(', ')}${leftAlone}` : `no home directory to check${leftAlone}`);
    }
    const steps: Step[] = wrong.flatMap((h) => attrSteps(h.home, h.dir, attrs));
    const diffs = wrong.map((h) => attrDiff(h.home, h.dir, attrs) as Diff);
    const after = homes.map((h): UserHome => {
      if (!hasDir(h)) return h;
      const dir: PresentFile = { ...h.dir, ...attrChanges(h.dir, attrs) };
      return { ...h, dir };
    });
    return change(`set the mode of ${wrong.map((h) => `${h.home} (${h.user})`).join(', ')}${leftAlone}`, [{ command: steps.map((s) => s.command).join(' && ') }], {
      diffs,
      predictions: [{ request: homesOf(a.uid_min, a.uid_max), value: after }],
    });
  },
});
