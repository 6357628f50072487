import { describe, expect, it } from 'vitest';
import { homeDirs } from '../../../src/tasks/home_dirs.js';
import type { UserHome } from '../../../src/facts/homes.js';
import { ctx, dirInfo } from './_helpers.js';

// hand-made facts (the parser's shape, see test/unit/facts/homes.test.ts for the real command)
const parse = (v: unknown) => homeDirs.schema.parse(v);
const home = (user: string, mode: string | 'missing' | 'none', path = `/home/${user}`): UserHome => ({
  user,
  uid: 1000,
  home: path,
  dir: mode === 'missing' || mode === 'none' ? mode : dirInfo({ mode, owner: user }),
});

describe('home_dirs', () => {
  it('takes permissions away where a home is too open, with a diff and the value after', () => {
    const plan = homeDirs.plan(parse({ mode: 'g-w,o-rwx' }), { homes: [home('alice', '0755'), home('bob', '0750'), home('carol', 'missing')] }, ctx);
    expect(plan).toMatchObject({
      kind: 'change',
      summary: 'set the mode of /home/alice (alice); left alone: carol (no directory /home/carol)',
      steps: [{ command: 'chmod 0750 /home/alice' }],
      diffs: [{ label: '/home/alice (attributes)', before: 'mode: 0755\n', after: 'mode: 0750\n' }],
    });
    if (plan.kind !== 'change') throw new Error(plan.kind);
    const after = plan.predictions![0]!.value as UserHome[];
    expect(after.map((h) => (typeof h.dir === 'string' ? h.dir : h.dir.mode))).toEqual(['0750', '0750', 'missing']);
    expect(homeDirs.plan(parse({ mode: 'g-w,o-rwx' }), { homes: after }, ctx)).toMatchObject({ kind: 'ok' });
  });

  it('ok says which homes were checked, and when there is nothing to check', () => {
    expect(homeDirs.plan(parse({ mode: '0700' }), { homes: [home('bob', '0700')] }, ctx)).toEqual({ kind: 'ok', reason: 'home directories with mode 0700: /home/bob 0700' });
    expect(homeDirs.plan(parse({ mode: '0700' }), { homes: [] }, ctx)).toEqual({ kind: 'ok', reason: 'no interactive users (uid 1000-60000, a login shell)' });
    expect(homeDirs.plan(parse({ mode: '0700' }), { homes: [home('dave', 'none', '/')] }, ctx)).toEqual({ kind: 'ok', reason: 'no home directory to check; left alone: dave (home is /)' });
  });

  it('quotes paths and refuses bad arguments by name', () => {
    expect(homeDirs.plan(parse({ mode: 'o-rwx' }), { homes: [home('eve', '0755', "/home/e've x")] }, ctx)).toMatchObject({ steps: [{ command: `chmod 0750 '/home/e'\\''ve x'` }] });
    expect(() => parse({ mode: '0750', uid_min: 2000, uid_max: 1000 })).toThrow('uid_min is above uid_max');
    expect(() => parse({ mode: '0750', user: 'x' })).toThrow();
  });
});
