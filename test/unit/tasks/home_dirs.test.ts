import { describe, expect, it } from 'vitest';
import { homeDirs } from '../../../src/tasks/home_dirs.js';
import type { UserHome } from '../../../src/facts/homes.js';
import { ctx, dirInfo } from './_helpers.js';

// hand-made facts (the parser's shape, see test/unit/facts/homes.test.ts for the real command)
const parse = (v: unknown) => homeDirs.schema.parse(v);
const home = (user: string, mode: string | 'missing' | 'none', path = `/home/${user}`, uid = 1000): UserHome => ({
  user,
  uid,
  home: path,
  dir: mode === 'missing' || mode === 'none' ? mode : dirInfo({ mode, owner: user, uid: 1000 }),
});
const modes = (hs: readonly UserHome[]) => hs.map((h) => (typeof h.dir === 'string' ? h.dir : h.dir.mode));

describe('home_dirs', () => {
  it('takes permissions away where a home is too open, with a diff and the value after', () => {
    const plan = homeDirs.plan(parse({ mode: 'g-w,o-rwx' }), { homes: [home('alice', '0755'), home('bob', '0750'), home('carol', 'missing')] }, ctx);
    expect(plan).toMatchObject({
      kind: 'change',
      summary: 'narrow the mode of /home/alice (alice); left alone: carol (no directory /home/carol)',
      steps: [{ command: '(r=0; chmod 0750 -- /home/alice || r=1; exit $r)' }],
      diffs: [{ label: '/home/alice (attributes)', before: 'mode: 0755\n', after: 'mode: 0750\n' }],
    });
    if (plan.kind !== 'change') throw new Error(plan.kind);
    const after = plan.predictions![0]!.value as UserHome[];
    expect(modes(after)).toEqual(['0750', '0750', 'missing']);
    expect(homeDirs.plan(parse({ mode: 'g-w,o-rwx' }), { homes: after }, ctx)).toMatchObject({ kind: 'ok' });
  });

  it('never adds a permission: a stricter home stays as it is, whatever the mode says', () => {
    for (const mode of ['0750', 'o+rwx', 'a=rwx', 'g+s']) {
      expect(homeDirs.plan(parse({ mode }), { homes: [home('bob', '0700')] }, ctx), mode).toMatchObject({ kind: 'ok', reason: `home directories within ${mode}: /home/bob 0700` });
    }
    // octal: the bits the mode does not give go, the others stay
    expect(homeDirs.plan(parse({ mode: '0750' }), { homes: [home('eve', '2775')] }, ctx)).toMatchObject({ steps: [{ command: '(r=0; chmod 0750 -- /home/eve || r=1; exit $r)' }] });
    expect(homeDirs.plan(parse({ mode: '2750' }), { homes: [home('eve', '2775')] }, ctx)).toMatchObject({ steps: [{ command: '(r=0; chmod 2750 -- /home/eve || r=1; exit $r)' }] });
  });

  it('leaves alone, naming them, homes it must not narrow: another owner, a relative path, / or empty', () => {
    const tmp: UserHome = { user: 'odd', uid: 1001, home: '/tmp', dir: dirInfo({ mode: '1777', owner: 'root', uid: 0 }) };
    const plan = homeDirs.plan(parse({ mode: 'g-w,o-rwx' }), { homes: [tmp, home('rel', '0777', 'relative/dir'), home('dave', 'none', '/'), home('bob', '0700')] }, ctx);
    expect(plan).toEqual({
      kind: 'ok',
      reason:
        'home directories within g-w,o-rwx: /home/bob 0700; left alone: odd (/tmp is owned by root, not by the user), rel (home relative/dir is not an absolute path), dave (home is / or empty)',
    });
    expect(homeDirs.plan(parse({ mode: '0700' }), { homes: [] }, ctx)).toEqual({ kind: 'ok', reason: 'no interactive users (uid 1000-60000, a login shell)' });
    expect(homeDirs.plan(parse({ mode: '0700' }), { homes: [home('dave', 'none', '/')] }, ctx)).toEqual({ kind: 'ok', reason: 'no home directory to check; left alone: dave (home is / or empty)' });
  });

  it('users sharing a home: one chmod; every chmod is tried, the step fails if any did', () => {
    const plan = homeDirs.plan(parse({ mode: 'o-rwx' }), { homes: [home('a', '0755', '/srv/shared'), home('b', '0755', '/srv/shared'), home('c', '0777')] }, ctx);
    expect(plan).toMatchObject({ steps: [{ command: '(r=0; chmod 0750 -- /srv/shared || r=1; chmod 0770 -- /home/c || r=1; exit $r)' }] });
    if (plan.kind !== 'change') throw new Error(plan.kind);
    expect(plan.diffs).toHaveLength(2);
  });

  it('quotes paths and refuses bad arguments by name', () => {
    expect(homeDirs.plan(parse({ mode: 'o-rwx' }), { homes: [home('eve', '0755', "/home/e've x")] }, ctx)).toMatchObject({ steps: [{ command: `(r=0; chmod 0750 -- '/home/e'\\''ve x' || r=1; exit $r)` }] });
    expect(() => parse({ mode: '0750', uid_min: 2000, uid_max: 1000 })).toThrow('uid_min is above uid_max');
    expect(() => parse({ mode: '0750', uid_max: 2 ** 40 })).toThrow(/uid_max/);
    expect(() => parse({ mode: '0750', user: 'x' })).toThrow(/user/);
  });
});
