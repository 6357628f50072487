/**
 * `user`: a local account present or absent, with uid, shell, home, groups,
 * admin rights (`sudo` group on the Debian family, `wheel` on RHEL), a
 * password hash, a lock, and SSH authorized keys.
 *
 * - The password is a crypt hash (`$6$...`, `$y$...`), set with `chpasswd -e`
 *   reading `name:hash` on stdin (never argv: `ps` would show it). It never
 *   appears in a diff or summary: `(password hash changed)`.
 * - `authorized_keys`: lines as in the file, options kept
 *   (`from="10.0.0.0/8",no-agent-forwarding ssh-ed25519 AAAA... comment`).
 *   Keys are compared by type + blob: a listed key whose line differs (options,
 *   comment) replaces the existing line. Additive by default; `exclusive`
 *   makes the file exactly the list. Written atomically (temp file in ~/.ssh,
 *   rename), .ssh 0700 and the file 0600 owned by the user; a symlinked .ssh
 *   is refused.
 * - Changes to the account we connect as (keys, lock, shell, password,
 *   removal) carry `risk: 'access'`; `lockout` names the ones that would
 *   certainly cut us off.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type AccessInfo, type Diff, type Plan, type Prediction, type Step, type TaskContext } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { sh } from '../contract/quote.js';
import type { HostFacts } from '../contract/host-facts.js';
import { groupInfo, type GroupInfo } from '../facts/groups.js';
import { sha256, userInfo, type PresentUser, type UserInfo } from '../facts/users.js';
import { keysLockout, mergeKeys, writeKeysSteps } from './lib/authorized-keys.js';

export const USER_NAME = /^[a-z_][a-z0-9_-]*[$]?$/;
export const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*[$]?$/;
/** crypt(3) formats: `$id$[params$]salt$hash` (yescrypt, sha512, sha256, bcrypt...). */
const CRYPT_HASH = /^\$[0-9a-z]+\$[./0-9A-Za-z$=,]+$/;

const groupName = z.string().regex(GROUP_NAME, 'not a group name');

const argsSchema = z
  .object({
    name: z.string().max(32).regex(USER_NAME, 'not a valid user name (lower case letters, digits, _ and -, at most 32)').describe('User name'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the account exists as described; absent: removed (userdel)'),
    uid: z.number().int().min(0).max(4294967294).optional().describe('Numeric user id'),
    shell: z.string().regex(/^\/\S*$/, 'an absolute path').optional().describe('Login shell, e.g. /bin/bash or /usr/sbin/nologin'),
    home: z.string().regex(/^\/\S*$/, 'an absolute path').optional().describe('Home directory (changing it does not move the files)'),
    create_home: z.boolean().default(true).describe('Create the home directory (from /etc/skel) when creating the user'),
    groups: z
      .union([
        z.array(groupName),
        // Ansible's list type splits text on commas; its user module strips the names and drops empty ones
        z.string().transform((s) => s.split(',').map((g) => g.trim()).filter((g) => g !== '')).pipe(z.array(groupName)),
      ])
      .optional()
      .describe('Supplementary groups (must exist): a list, or names separated by commas'),
    append: z
      .boolean()
      .default(true)
      .describe('true: add the user to `groups`, keep other memberships; false: supplementary groups are exactly `groups` (+ the admin group with admin: true)'),
    admin: z
      .boolean()
      .optional()
      .describe('true: member of the admin group (sudo on Debian/Ubuntu, wheel on RHEL family); false: removed from it'),
    password: z
      .string()
      .regex(CRYPT_HASH, 'must be a crypt hash like $6$salt$hash or $y$...: generate it with mkpasswd or openssl passwd -6')
      .optional()
      .describe('Password as a crypt hash (secret: never shown). Generate with `mkpasswd -m sha-512` or `openssl passwd -6`'),
    password_lock: z.boolean().optional().describe('true: lock the password (usermod -L, keys still work); false: unlock it'),
    authorized_keys: z
      .array(z.string().min(1))
      .optional()
      .describe('SSH public key lines for ~/.ssh/authorized_keys, with options if any'),
    exclusive: z.boolean().default(false).describe('authorized_keys: remove every key not listed (default: only add or update the listed ones)'),
    remove_home: z.boolean().default(false).describe('state absent: also delete the home directory and mail spool (userdel -r)'),
  })
  .strict()
  .refine((a) => a.state === 'present' || (a.uid === undefined && a.shell === undefined && a.home === undefined && a.groups === undefined && a.admin === undefined && a.password === undefined && a.password_lock === undefined && a.authorized_keys === undefined), {
    message: 'state: absent takes only name and remove_home',
    path: ['state'],
  })
  .refine((a) => !a.remove_home || a.state === 'absent', { message: 'remove_home is only used with state: absent', path: ['remove_home'] });

export type UserArgs = z.output<typeof argsSchema>;

// ---- planning -------------------------------------------------------------------

export function adminGroup(host: HostFacts): string {
  if (host.os.family === 'debian') return 'sudo';
  if (host.os.family === 'rhel') return 'wheel';
  throw new TaskError(`admin: no known admin group for ${host.os.prettyName} (only Debian and RHEL families): use groups:`);
}

function groupsToCheck(a: UserArgs, ctx: TaskContext): string[] {
  const g = new Set(a.groups ?? []);
  if (a.admin === true) g.add(adminGroup(ctx.host));
  return [...g].sort();
}

const NO_LOGIN = /\/(nologin|false)$/;

function describeUser(u: UserInfo, passwordNote?: string): string {
  if (!u.exists) return 'state: absent\n';
  const pw = passwordNote ?? (u.password === null ? 'unknown' : u.password.state === 'set' ? '(hash set)' : u.password.state);
  return [
    `uid: ${u.uid < 0 ? '(assigned)' : u.uid}`,
    `home: ${u.home}`,
    `shell: ${u.shell}`,
    `groups: ${u.groups.join(',')}`,
    `password: ${pw}${u.password?.locked ? ' (locked)' : ''}`,
  ].join('\n') + '\n';
}

/**
 * One part of a plan for a present user: its steps and summary phrases, the
 * account as it will be after them, and whether they can cut the account's
 * own SSH access (shell, password, lock, keys). Parts are pure and composed
 * in order, each starting from the `after` of the one before.
 */
interface Part {
  readonly steps: readonly Step[];
  readonly what: readonly string[];
  readonly after: PresentUser;
  readonly risky: boolean;
  readonly diffs?: readonly Diff[];
  /** Shown for the password in the account diff instead of its state. */
  readonly passwordNote?: string;
}

const unchanged = (after: PresentUser): Part => ({ steps: [], what: [], after, risky: false });

/** `useradd` with everything it can set at once. */
function createAccount(a: UserArgs, wantGroups: readonly string[]): Part {
  const opts: (string | number)[] = [];
  if (a.uid !== undefined) opts.push('-u', a.uid);
  if (a.shell !== undefined) opts.push('-s', a.shell);
  if (a.home !== undefined) opts.push('-d', a.home);
  opts.push(a.create_home ? '-m' : '-M');
  if (wantGroups.length > 0) opts.push('-G', wantGroups.join(','));
  const after: PresentUser = {
    exists: true,
    name: a.name,
    uid: a.uid ?? -1,
    gid: -1,
    gecos: '',
    home: a.home ?? `/home/${a.name}`,
    shell: a.shell ?? '/bin/sh',
    primaryGroup: a.name,
    groups: wantGroups,
    password: { state: 'none', locked: true, hashDigest: null },
    authorizedKeys: null,
    keysFile: null,
    sshDir: null,
  };
  return { steps: [{ command: sh`useradd ${opts} ${a.name}` }], what: [`create user ${a.name}`], after, risky: false };
}

/** usermod arguments for one concern, with the phrases for the summary. */
interface Mods {
  readonly args: readonly (string | number)[];
  readonly changed: readonly string[];
  readonly after: PresentUser;
  readonly risky: boolean;
}

/** uid, shell and home of an existing account. */
function attributeMods(a: UserArgs, cur: PresentUser): Mods {
  const uid = a.uid !== undefined && a.uid !== cur.uid;
  const shell = a.shell !== undefined && a.shell !== cur.shell;
  const home = a.home !== undefined && a.home !== cur.home;
  return {
    args: [...(uid ? ['-u', a.uid as number] : []), ...(shell ? ['-s', a.shell as string] : []), ...(home ? ['-d', a.home as string] : [])],
    changed: [
      ...(uid ? [`uid ${cur.uid} → ${a.uid}`] : []),
      ...(shell ? [`shell ${cur.shell} → ${a.shell}`] : []),
      ...(home ? [`home ${cur.home} → ${a.home}`] : []),
    ],
    after: { ...cur, ...(uid ? { uid: a.uid as number } : {}), ...(shell ? { shell: a.shell as string } : {}), ...(home ? { home: a.home as string } : {}) },
    risky: shell,
  };
}

/** Supplementary groups: exactly `groups` (append: false) or the missing ones added. */
function groupMods(a: UserArgs, cur: PresentUser, wantGroups: readonly string[], start: PresentUser): Mods {
  const none = { args: [], changed: [], after: start, risky: false };
  if (!a.append && a.groups !== undefined) {
    const target = wantGroups.filter((g) => g !== cur.primaryGroup);
    if (target.join(',') === cur.groups.join(',')) return none;
    return {
      args: ['-G', target.join(',')],
      changed: [`groups ${cur.groups.join(',') || '(none)'} → ${target.join(',') || '(none)'}`],
      after: { ...start, groups: target },
      risky: false,
    };
  }
  const add = wantGroups.filter((g) => !cur.groups.includes(g) && cur.primaryGroup !== g);
  if (add.length === 0) return none;
  return { args: ['-a', '-G', add.join(',')], changed: [`add to ${add.join(', ')}`], after: { ...start, groups: [...start.groups, ...add].sort() }, risky: false };
}

/** admin: false takes the user out of the admin group. */
function adminRemoval(a: UserArgs, admin: string | undefined, start: PresentUser): Part {
  if (a.admin !== false || admin === undefined || !start.groups.includes(admin)) return unchanged(start);
  return {
    steps: [{ command: sh`gpasswd -d ${a.name} ${admin}` }],
    what: [`remove ${a.name} from ${admin}`],
    after: { ...start, groups: start.groups.filter((g) => g !== admin) },
    risky: false,
  };
}

/** One usermod for uid, shell, home and groups of an existing account, then the admin group removal. */
function modifyAccount(a: UserArgs, cur: PresentUser, wantGroups: readonly string[], admin: string | undefined): Part {
  const attrs = attributeMods(a, cur);
  const groups = groupMods(a, cur, wantGroups, attrs.after);
  const args = [...attrs.args, ...groups.args];
  const changed = [...attrs.changed, ...groups.changed];
  const mod: Part = args.length
    ? { steps: [{ command: sh`usermod ${args} ${a.name}` }], what: [`${a.name}: ${changed.join(', ')}`], after: groups.after, risky: attrs.risky }
    : unchanged(groups.after);
  const removal = adminRemoval(a, admin, mod.after);
  return { steps: [...mod.steps, ...removal.steps], what: [...mod.what, ...removal.what], after: removal.after, risky: mod.risky };
}

/** A new hash with `chpasswd -e` (on stdin); a lock it would lose is put back unless password_lock says otherwise. */
function passwordHash(a: UserArgs, cur: UserInfo, start: PresentUser): Part {
  if (a.password === undefined || start.password?.hashDigest === sha256(a.password)) return unchanged(start);
  // chpasswd replaces the field: a lock would be lost unless re-applied
  const relock = cur.exists && (cur.password?.locked ?? false) && cur.password?.state === 'set' && a.password_lock === undefined;
  return {
    steps: [{ command: 'chpasswd -e', stdin: `${a.name}:${a.password}\n` }, ...(relock ? [{ command: sh`usermod -L ${a.name}` }] : [])],
    what: [`${a.name}: (password hash changed)`],
    after: { ...start, password: { state: 'set', locked: relock, hashDigest: sha256(a.password) } },
    risky: true,
    passwordNote: '(password hash changed)',
  };
}

/** password_lock: usermod -L / -U; unlocking an account without a hash is refused. */
function passwordLock(a: UserArgs, start: PresentUser): Part {
  const locked = start.password?.locked ?? false;
  if (a.password_lock === true && !locked) {
    return {
      steps: [{ command: sh`usermod -L ${a.name}` }],
      what: [`lock the password of ${a.name}`],
      after: { ...start, password: { ...(start.password ?? { state: 'none', hashDigest: null }), locked: true } },
      risky: true,
    };
  }
  if (a.password_lock === false && locked) {
    if (start.password?.state !== 'set') {
      throw new TaskError(`cannot unlock ${a.name}: the account has no password hash to unlock (usermod -U would leave it passwordless); give password: too`);
    }
    return {
      steps: [{ command: sh`usermod -U ${a.name}` }],
      what: [`unlock the password of ${a.name}`],
      after: { ...start, password: { ...start.password, locked: false } },
      risky: true,
    };
  }
  return unchanged(start);
}

/** ~/.ssh/authorized_keys with the listed keys, 0600 in a 0700 ~/.ssh owned by the user. */
function authorizedKeys(a: UserArgs, cur: UserInfo, start: PresentUser): Part {
  if (a.authorized_keys === undefined) return unchanged(start);
  const name = a.name;
  const currentKeys = cur.exists ? (cur.authorizedKeys ?? '') : '';
  const next = mergeKeys(currentKeys, a.authorized_keys, a.exclusive);
  const fileOk = cur.exists && cur.keysFile !== null && cur.keysFile.mode === '0600' && cur.keysFile.owner === name && cur.sshDir?.mode === '0700' && cur.sshDir.owner === name;
  const noFileNeeded = next === '' && (!cur.exists || cur.authorizedKeys === null);
  if (noFileNeeded || (next === currentKeys && fileOk)) return unchanged(start);
  const path = `${start.home}/.ssh/authorized_keys`;
  return {
    steps: writeKeysSteps(name, next),
    what: [next !== currentKeys ? `write ${path}` : `fix owner/mode of ${path}`],
    diffs: [{ label: path, before: currentKeys, after: next }],
    after: {
      ...start,
      authorizedKeys: next,
      keysFile: { mode: '0600', owner: name, group: start.primaryGroup },
      sshDir: { mode: '0700', owner: name, group: start.primaryGroup },
    },
    risky: true,
  };
}

/** Why nothing changes: what was checked. */
function okReason(a: UserArgs, wantGroups: readonly string[], admin: string | undefined): string {
  const parts = [`user ${a.name} exists`];
  if (a.uid !== undefined) parts.push(`uid ${a.uid}`);
  if (a.shell !== undefined) parts.push(`shell ${a.shell}`);
  if (wantGroups.length > 0) parts.push(`in ${wantGroups.join(', ')}`);
  if (a.admin === false && admin) parts.push(`not in ${admin}`);
  if (a.password !== undefined) parts.push('password hash as requested');
  if (a.password_lock !== undefined) parts.push(a.password_lock ? 'password locked' : 'password unlocked');
  if (a.authorized_keys !== undefined) parts.push(`${a.authorized_keys.length} authorized key${a.authorized_keys.length === 1 ? '' : 's'} present${a.exclusive ? ' (exclusive)' : ''}`);
  return parts.join(', ');
}

/** state: absent: userdel (-r with remove_home). */
function planAbsent(a: UserArgs, cur: UserInfo, request: FactRequest<UserInfo>, connecting: boolean): Plan {
  if (!cur.exists) return ok(`user ${a.name} does not exist`);
  return change(
    `remove user ${a.name}${a.remove_home ? ' and its home directory' : ''}`,
    [{ command: a.remove_home ? sh`userdel -r ${a.name}` : sh`userdel ${a.name}` }],
    {
      diffs: [{ label: `user ${a.name}`, before: describeUser(cur), after: 'state: absent\n' }],
      predictions: [{ request, value: { exists: false } } as Prediction],
      ...(connecting ? { risk: 'access' as const } : {}),
    },
  );
}

/** state: present: the account, its password and lock, then its keys. */
function planPresent(a: UserArgs, facts: UserFacts, request: FactRequest<UserInfo>, ctx: TaskContext): Plan {
  const cur = facts.user;
  const wantGroups = groupsToCheck(a, ctx);
  const missing = wantGroups.filter((g) => !facts[`group:${g}`]?.exists);
  if (missing.length > 0) throw new TaskError(`group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on ${ctx.host.hostname || 'the host'}: create ${missing.length > 1 ? 'them' : 'it'} first`);
  const admin = a.admin !== undefined ? adminGroup(ctx.host) : undefined;

  const account = cur.exists ? modifyAccount(a, cur, wantGroups, admin) : createAccount(a, wantGroups);
  if ((a.password !== undefined || a.password_lock !== undefined) && cur.exists && cur.password === null) {
    throw new TaskError(`cannot read the password state of ${a.name}: /etc/shadow is unreadable (run the task with become)`);
  }
  const hash = passwordHash(a, cur, account.after);
  const lock = passwordLock(a, hash.after);
  const accountParts = [account, hash, lock];
  const accountDiff: Diff[] = accountParts.some((p) => p.steps.length > 0)
    ? [{ label: `user ${a.name}`, before: describeUser(cur), after: describeUser(lock.after, hash.passwordNote) }]
    : [];
  const keys = authorizedKeys(a, cur, lock.after);

  const parts = [...accountParts, keys];
  const steps = parts.flatMap((p) => p.steps);
  if (steps.length === 0) return ok(okReason(a, wantGroups, admin));
  const connecting = ctx.host.user === a.name;
  return change(parts.flatMap((p) => p.what).join('; '), steps, {
    diffs: [...accountDiff, ...(keys.diffs ?? [])],
    predictions: [{ request, value: keys.after } as Prediction],
    ...(connecting && (parts.some((p) => p.risky) || !cur.exists) ? { risk: 'access' as const } : {}),
  });
}

/** The account, and each group it is to be in (a group an earlier task creates is predicted there in check mode). */
type UserFacts = { user: UserInfo } & { [group: `group:${string}`]: GroupInfo | undefined };
type UserFactRequests = { user: FactRequest<UserInfo> } & { [group: `group:${string}`]: FactRequest<GroupInfo> };

export const userTask = defineTask({
  name: 'user',
  description: 'Manage a local user: uid, shell, home, groups, admin rights, password hash, lock, SSH authorized keys',
  example: "- name: Admin with my key\n  user:\n    name: deploy\n    shell: /bin/bash\n    admin: true                 # sudo on Debian/Ubuntu, wheel on RHEL\n    authorized_keys: [\"ssh-ed25519 AAAAC3Nz... me@laptop\"]\n    exclusive: true",
  schema: argsSchema,
  facts: (a, ctx): UserFactRequests => ({
    user: userInfo(a.name),
    ...Object.fromEntries((a.state === 'present' ? groupsToCheck(a, ctx) : []).map((g) => [`group:${g}`, groupInfo(g)])),
  }),
  plan(a, facts, ctx) {
    const request = userInfo(a.name);
    if (a.state === 'absent') return planAbsent(a, facts.user, request, ctx.host.user === a.name);
    return planPresent(a, facts, request, ctx);
  },
  lockout(a, facts, access: AccessInfo) {
    const cur = facts.user;
    if (a.name !== access.user || !cur.exists) return undefined;
    if (a.state === 'absent') return `would delete user ${a.name}, the user we connect as`;
    if (a.shell !== undefined && NO_LOGIN.test(a.shell) && a.shell !== cur.shell) {
      return `would set the login shell of ${a.name}, the user we connect as, to ${a.shell}: no more SSH sessions`;
    }
    if (a.password_lock === true && access.auth === 'password' && !(cur.password?.locked ?? false)) {
      return `would lock the password of ${a.name}, the user we connect as with password authentication`;
    }
    if (a.authorized_keys === undefined || access.auth === 'password') return undefined;
    const current = cur.authorizedKeys ?? '';
    let after: string;
    try {
      after = mergeKeys(current, a.authorized_keys, a.exclusive);
    } catch {
      return undefined; // the plan fails with a clearer message
    }
    return keysLockout(a.name, current, after, access);
    return undefined;
  },
});
