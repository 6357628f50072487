import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupTask } from '../../../src/tasks/group.js';
import { groupFact, parseGroupFact, type GroupInfo } from '../../../src/facts/groups.js';
import { ctx } from './_helpers.js';

/** getent group output recorded on a debian12 fleet host (exit 2: no such group). */
const recorded = (name: string, exitCode = 0): GroupInfo =>
  parseGroupFact(readFileSync(new URL(`../../fixtures/facts/group-${name}-debian12.txt`, import.meta.url), 'utf8'), { name: name === 'absent' ? 'nosuch' : name }, exitCode);
const plan = (raw: unknown, group: GroupInfo) => groupTask.plan(groupTask.schema.parse(raw), { group }, ctx);
const invalid = (raw: unknown) => groupTask.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

describe('group fact', () => {
  it('parses getent group: gid and members; exit 2 is an absent group', () => {
    expect(recorded('adm')).toEqual({ exists: true, name: 'adm', gid: 4, members: [] });
    expect(recorded('devs')).toEqual({ exists: true, name: 'devs', gid: 2001, members: ['root'] });
    expect(recorded('absent', 2)).toEqual({ exists: false });
    expect(() => parseGroupFact('garbage', { name: 'x' }, 0)).toThrow(/x: unexpected getent output/);
    expect(() => parseGroupFact('', { name: 'x' }, 1)).toThrow(/exit 1/);
  });
  it('quotes the name', () => {
    expect(groupFact.command({ name: "a'b" })).toBe(`getent group -- 'a'\\''b'`);
  });
});

describe('group task', () => {
  it('creates a missing group with gid and as a system group, predicting it', () => {
    const p = plan({ name: 'app', gid: 2001, system: true }, { exists: false });
    expect(p).toMatchObject({
      kind: 'change',
      summary: 'create group app (gid 2001)',
      steps: [{ command: 'groupadd -g 2001 -r app' }],
      diffs: [{ label: 'group app', before: 'state: absent\n', after: 'gid: 2001\n' }],
      data: { name: 'app', gid: 2001, state: 'present', system: true },
    });
    expect(p.kind === 'change' && p.predictions?.[0]?.value).toEqual({ exists: true, name: 'app', gid: 2001, members: [] });
    expect(plan({ name: 'app' }, { exists: false })).toMatchObject({ steps: [{ command: 'groupadd app' }], diffs: [{ after: 'gid: (assigned)\n' }], data: { name: 'app', system: false } });
  });

  it('ok when it exists with the gid (or any gid when none is asked); a system flag does not renumber an existing group', () => {
    expect(plan({ name: 'devs', gid: 2001 }, recorded('devs'))).toEqual({ kind: 'ok', reason: 'group devs exists (gid 2001)', data: { name: 'devs', gid: 2001, state: 'present', system: false } });
    expect(plan({ name: 'devs', system: true }, recorded('devs')).kind).toBe('ok');
  });

  it('another gid: groupmod -g', () => {
    expect(plan({ name: 'devs', gid: 3000 }, recorded('devs'))).toMatchObject({ summary: 'group devs: gid 2001 → 3000', steps: [{ command: 'groupmod -g 3000 devs' }], data: { gid: 3000 } });
  });

  it('absent: groupdel, or ok when there is none', () => {
    expect(plan({ name: 'devs', state: 'absent' }, recorded('devs'))).toMatchObject({ summary: 'remove group devs', steps: [{ command: 'groupdel devs' }] });
    expect(plan({ name: 'nosuch', state: 'absent' }, recorded('absent', 2))).toEqual({ kind: 'ok', reason: 'group nosuch does not exist', data: { name: 'nosuch', state: 'absent', system: false } });
  });

  it('refuses what it does not do, naming it', () => {
    expect(invalid({ name: 'x', local: true })).toMatch(/Unrecognized key: "local"/);
    expect(invalid({ name: 'x', non_unique: true })).toMatch(/Unrecognized key: "non_unique"/);
    expect(invalid({ name: 'x', state: 'absent', gid: 5 })).toBe('gid: gid is only used with state: present');
    expect(invalid({ name: 'bad name' })).toMatch(/^name: not a group name/);
    expect(invalid({ name: 'x', gid: -1 })).toMatch(/^gid: /);
  });
});
