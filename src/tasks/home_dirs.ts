/**
 * `home_dirs`: the home directory of every interactive local user (uid in
 * range, a login shell) keeps at most the given mode (CIS "local interactive
 * user home directories are configured"): permissions are only taken away,
 * never added. The users are read on the host in the same batch as every
 * other fact, so an audit needs no read-only probe registered first.
 * Left alone, and named in the result: a user whose home is missing, `/` or
 * empty, not an absolute path, or a directory the user does not own (a home
 * set to /tmp or a shared /var/www is not narrowed under other users).
 */
import { z } from 'zod';
import { change, defineTask, ok, type Diff } from '../contract/task.js';
import { quote } from '../contract/quote.js';
import { homesOf, type UserHome } from '../facts/homes.js';
import type { PresentFile } from '../facts/files.js';
import { attrDiff, modeArg, normaliseMode } from './lib/attrs.js';

const UID = z.number().int().min(0).max(4294967294);
const argsSchema = z
  .object({
    mode: modeArg.describe(
      "The most a home may allow: symbolic ('g-w,o-rwx') or octal ('0750'); only permissions the mode does not give are taken away, none is added",
    ),
    uid_min: UID.default(1000).describe('Lowest uid of an interactive user (login.defs UID_MIN)'),
    uid_max: UID.default(60000).describe('Highest uid of an interactive user (login.defs UID_MAX, included)'),
  })
  .strict()
  .refine((a) => a.uid_min <= a.uid_max, { message: 'uid_min is above uid_max', path: ['uid_min'] });

/** Why a user's home is left alone, or undefined when it is checked. */
function leftAloneWhy(h: UserHome): string | undefined {
  if (h.dir === 'none') return 'home is / or empty';
  if (!h.home.startsWith('/')) return `home ${h.home} is not an absolute path`;
  if (h.dir === 'missing') return `no directory ${h.home}`;
  if (h.dir.uid !== h.uid) return `${h.home} is owned by ${h.dir.owner}, not by the user`;
  return undefined;
}

type Checked = Omit<UserHome, 'dir'> & { readonly dir: PresentFile };

/** The home's mode with only the bits `mode` allows (set-id and sticky bits included). */
const narrowed = (mode: string, dir: PresentFile): string =>
  (Number.parseInt(dir.mode, 8) & Number.parseInt(normaliseMode(mode, dir.mode, true), 8)).toString(8).padStart(4, '0');

export const homeDirs = defineTask({
  name: 'home_dirs',
  description: "Interactive users' home directories (read from /etc/passwd on the host) keep at most a mode: permissions are only taken away",
  example: '- name: Home directories not open to others (750 or stricter)\n  home_dirs: { mode: "g-w,o-rwx" }',
  schema: argsSchema,
  facts: (a) => ({ homes: homesOf(a.uid_min, a.uid_max) }),
  plan(a, facts) {
    const homes = facts.homes;
    if (homes.length === 0) return ok(`no interactive users (uid ${a.uid_min}-${a.uid_max}, a login shell)`);
    const aside: string[] = [];
    // users sharing a home: checked once
    const checked = new Map<string, Checked>();
    for (const h of homes) {
      const why = leftAloneWhy(h);
      if (why) aside.push(`${h.user} (${why})`);
      else if (!checked.has(h.home)) checked.set(h.home, h as Checked);
    }
    const leftAlone = aside.length ? `; left alone: ${aside.join(', ')}` : '';
    // the mode each home that allows too much gets
    const target = new Map<string, string>();
    for (const h of checked.values()) {
      const mode = narrowed(a.mode, h.dir);
      if (mode !== h.dir.mode) target.set(h.home, mode);
    }
    if (target.size === 0) {
      const seen = [...checked.values()].map((h) => `${h.home} ${h.dir.mode}`);
      return ok(seen.length ? `home directories within ${a.mode}: ${seen.join(', ')}${leftAlone}` : `no home directory to check${leftAlone}`);
    }
    const wrong = [...checked.values()].filter((h) => target.has(h.home));
    const after = homes.map((h): UserHome => {
      const mode = target.get(h.home);
      return mode !== undefined && typeof h.dir !== 'string' ? { ...h, dir: { ...h.dir, mode } } : h;
    });
    // every home is tried, the step fails if any chmod did (each failure on stderr, naming its path)
    const chmods = wrong.map((h) => `chmod ${target.get(h.home)} -- ${quote(h.home)} || r=1`);
    return change(`narrow the mode of ${wrong.map((h) => `${h.home} (${h.user})`).join(', ')}${leftAlone}`, [{ command: `(r=0; ${chmods.join('; ')}; exit $r)` }], {
      diffs: wrong.map((h) => attrDiff(h.home, h.dir, { mode: target.get(h.home) }) as Diff),
      predictions: [{ request: homesOf(a.uid_min, a.uid_max), value: after }],
    });
  },
});
