/**
 * `group`: a local group present (with a gid, as a system group) or absent,
 * as Ansible's group module: `groupadd [-g GID] [-r]`, `groupmod -g GID` when
 * the gid differs, `groupdel`. `system` only matters when the group is
 * created (an existing group is not renumbered into the system range).
 */
import { z } from 'zod';
import { change, defineTask, ok, type Prediction } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import { groupInfo, type GroupInfo } from '../facts/groups.js';
import { GROUP_NAME } from './user.js';

const argsSchema = z
  .object({
    name: z.string().max(32).regex(GROUP_NAME, 'not a group name (letters, digits, _ . -, at most 32)').describe('Group name'),
    gid: z.number().int().min(0).max(4294967294).optional().describe('Numeric group id (changed with groupmod when the group exists with another)'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the group exists; absent: removed (groupdel)'),
    system: z.boolean().default(false).describe('Create it as a system group (groupadd -r: a gid below 1000)'),
  })
  .strict()
  .refine((a) => a.state === 'present' || a.gid === undefined, { message: 'gid is only used with state: present', path: ['gid'] });

export type GroupArgs = z.output<typeof argsSchema>;

const describe = (g: GroupInfo): string => (g.exists ? `gid: ${g.gid < 0 ? '(assigned)' : g.gid}\n` : 'state: absent\n');

export const groupTask = defineTask({
  name: 'group',
  description: 'Manage a local group: present with a gid or as a system group, or absent',
  example: '- name: Application group\n  group: { name: app, gid: 2001 }\n- name: Service group\n  group: { name: metrics, system: true }',
  schema: argsSchema,
  facts: (a) => ({ group: groupInfo(a.name) }),
  plan(a, facts) {
    const cur = facts.group;
    const request = groupInfo(a.name);
    const data = (g: GroupInfo) => ({ name: a.name, state: a.state, system: a.system, ...(g.exists && g.gid >= 0 ? { gid: g.gid } : {}) });
    const label = `group ${a.name}`;
    if (a.state === 'absent') {
      if (!cur.exists) return ok(`group ${a.name} does not exist`, data(cur));
      const after: GroupInfo = { exists: false };
      return change(`remove group ${a.name}`, [{ command: sh`groupdel ${a.name}` }], {
        diffs: [{ label, before: describe(cur), after: describe(after) }],
        predictions: [{ request, value: after } as Prediction],
        data: data(after),
      });
    }
    if (!cur.exists) {
      const opts = [...(a.gid !== undefined ? ['-g', a.gid] : []), ...(a.system ? ['-r'] : [])];
      const after: GroupInfo = { exists: true, name: a.name, gid: a.gid ?? -1, members: [] };
      return change(`create group ${a.name}${a.gid !== undefined ? ` (gid ${a.gid})` : ''}`, [{ command: sh`groupadd ${[...opts, a.name]}` }], {
        diffs: [{ label, before: describe(cur), after: describe(after) }],
        predictions: [{ request, value: after } as Prediction],
        data: data(after),
      });
    }
    if (a.gid === undefined || a.gid === cur.gid) return ok(`group ${a.name} exists (gid ${cur.gid})`, data(cur));
    const after: GroupInfo = { ...cur, gid: a.gid };
    return change(`group ${a.name}: gid ${cur.gid} → ${a.gid}`, [{ command: sh`groupmod -g ${a.gid} ${a.name}` }], {
      diffs: [{ label, before: describe(cur), after: describe(after) }],
      predictions: [{ request, value: after } as Prediction],
      data: data(after),
    });
  },
});
