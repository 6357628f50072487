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
import { change, defineTask, ok, type AccessInfo, type Diff, type Prediction, type Step, type TaskContext } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import type { HostFacts } from '../contract/host-facts.js';
import { sha256, userInfo, type PresentUser, type UserInfo } from '../facts/users.js';
import { writeFileSteps } from './lib/files.js';

export const USER_NAME = /^[a-z_][a-z0-9_-]*[$]?$/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*[$]?$/;
/** crypt(3) formats: `$id$[params$]salt$hash` (yescrypt, sha512, sha256, bcrypt...). */
const CRYPT_HASH = /^\$[0-9a-z]+\$[./0-9A-Za-z$=,]+$/;

const argsSchema = z
  .object({
    name: z.string().max(32).regex(USER_NAME, 'not a valid user name (lower case letters, digits, _ and -, at most 32)').describe('User name'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the account exists as described; absent: removed (userdel)'),
    uid: z.number().int().min(0).max(4294967294).optional().describe('Numeric user id'),
    shell: z.string().regex(/^\/\S*$/, 'an absolute path').optional().describe('Login shell, e.g. /bin/bash or /usr/sbin/nologin'),
    home: z.string().regex(/^\/\S*$/, 'an absolute path').optional().describe('Home directory (changing it does not move the files)'),
    create_home: z.boolean().default(true).describe('Create the home directory (from /etc/skel) when creating the user'),
    groups: z.array(z.string().regex(GROUP_NAME, 'not a group name')).optional().describe('Supplementary groups (must exist)'),
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

// ---- authorized_keys ------------------------------------------------------------

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;

export interface KeyLine {
  readonly options: string | null;
  readonly type: string;
  readonly blob: string;
  readonly comment: string;
  /** `type blob`: what identifies the key. */
  readonly id: string;
}

/** Parse one authorized_keys line (options may contain quoted spaces); null for comments, blanks and garbage. */
export function parseKeyLine(line: string): KeyLine | null {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  let rest = text;
  let options: string | null = null;
  const first = text.split(/\s+/)[0] ?? '';
  if (!KEY_TYPE.test(first)) {
    let i = 0;
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\\' && quoted) i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && (c === ' ' || c === '\t')) break;
    }
    if (quoted) return null;
    options = text.slice(0, i);
    rest = text.slice(i).trim();
  }
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,3})(?:\s+(.*))?$/.exec(rest);
  if (!m || !KEY_TYPE.test(m[1] as string)) return null;
  const type = m[1] as string;
  const blob = m[2] as string;
  return { options, type, blob, comment: m[3] ?? '', id: `${type} ${blob}` };
}

/** The authorized_keys content after applying the requested keys. */
export function mergeKeys(current: string, wanted: readonly string[], exclusive: boolean): string {
  const want = new Map<string, string>();
  for (const w of wanted) {
    const k = parseKeyLine(w);
    if (!k || w.includes('\n')) throw new TaskError(`not an SSH public key line: ${JSON.stringify(w.slice(0, 80))}`);
    if (!want.has(k.id)) want.set(k.id, w.trim());
  }
  let lines: string[];
  if (exclusive) lines = [...want.values()];
  else {
    const seen = new Set<string>();
    lines = current
      .split('\n')
      .filter((l, i, all) => !(l === '' && i === all.length - 1))
      .map((l) => {
        const k = parseKeyLine(l);
        if (!k || !want.has(k.id)) return l;
        seen.add(k.id);
        return want.get(k.id) as string;
      });
    for (const [id, l] of want) if (!seen.has(id)) lines.push(l);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Steps writing authorized_keys of `name` atomically through the shared
 * writer: the home comes from passwd at apply time (the user may be new),
 * ~/.ssh is made 0700 and owned by the user (a symlinked .ssh is refused),
 * the file is 0600 and owned by the user and their login group.
 */
export function writeKeysSteps(name: string, content: string): Step[] {
  return writeFileSteps({ home: name, path: '.ssh/authorized_keys', content, mode: '0600', parent: { mode: '0700' } });
}

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

export const userTask = defineTask({
  name: 'user',
  description: 'Manage a local user: uid, shell, home, groups, admin rights, password hash, lock, SSH authorized keys',
  example: "- name: Admin with my key\n  user:\n    name: deploy\n    shell: /bin/bash\n    admin: true                 # sudo on Debian/Ubuntu, wheel on RHEL\n    authorized_keys: [\"ssh-ed25519 AAAAC3Nz... me@laptop\"]\n    exclusive: true",
  schema: argsSchema,
  facts: (a, ctx) => ({ user: userInfo(a.name, a.state === 'present' ? groupsToCheck(a, ctx) : []) }),
  plan(a, facts, ctx) {
    const cur = facts.user;
    const name = a.name;
    const request = userInfo(name, a.state === 'present' ? groupsToCheck(a, ctx) : []);
    const connecting = ctx.host.user === name;

    if (a.state === 'absent') {
      if (!cur.exists) return ok(`user ${name} does not exist`);
      return change(
        `remove user ${name}${a.remove_home ? ' and its home directory' : ''}`,
        [{ command: a.remove_home ? sh`userdel -r ${name}` : sh`userdel ${name}` }],
        {
          diffs: [{ label: `user ${name}`, before: describeUser(cur), after: 'state: absent\n' }],
          predictions: [{ request, value: { exists: false, missingGroups: cur.missingGroups } } as Prediction],
          ...(connecting ? { risk: 'access' as const } : {}),
        },
      );
    }

    const wantGroups = groupsToCheck(a, ctx);
    const missing = cur.missingGroups.filter((g) => wantGroups.includes(g));
    if (missing.length > 0) throw new TaskError(`group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on ${ctx.host.hostname || 'the host'}: create ${missing.length > 1 ? 'them' : 'it'} first`);
    const admin = a.admin !== undefined ? adminGroup(ctx.host) : undefined;

    const steps: Step[] = [];
    const what: string[] = [];
    const diffs: Diff[] = [];
    let risky = false;

    let before: PresentUser;
    let after: PresentUser;
    if (!cur.exists) {
      const opts: (string | number)[] = [];
      if (a.uid !== undefined) opts.push('-u', a.uid);
      if (a.shell !== undefined) opts.push('-s', a.shell);
      if (a.home !== undefined) opts.push('-d', a.home);
      opts.push(a.create_home ? '-m' : '-M');
      if (wantGroups.length > 0) opts.push('-G', wantGroups.join(','));
      steps.push({ command: sh`useradd ${opts} ${name}` });
      what.push(`create user ${name}`);
      before = { exists: true, name, uid: -1, gid: -1, gecos: '', home: '', shell: '', primaryGroup: '', groups: [], password: null, authorizedKeys: null, keysFile: null, sshDir: null, missingGroups: [] };
      after = {
        ...before,
        uid: a.uid ?? -1,
        home: a.home ?? `/home/${name}`,
        shell: a.shell ?? '/bin/sh',
        primaryGroup: name,
        groups: wantGroups,
        password: { state: 'none', locked: true, hashDigest: null },
        sshDir: null,
        missingGroups: cur.missingGroups,
      };
    } else {
      before = cur;
      after = { ...cur };
      const mod: (string | number)[] = [];
      const changed: string[] = [];
      if (a.uid !== undefined && a.uid !== cur.uid) {
        mod.push('-u', a.uid);
        changed.push(`uid ${cur.uid} → ${a.uid}`);
        after = { ...after, uid: a.uid };
      }
      if (a.shell !== undefined && a.shell !== cur.shell) {
        mod.push('-s', a.shell);
        changed.push(`shell ${cur.shell} → ${a.shell}`);
        after = { ...after, shell: a.shell };
        risky = true;
      }
      if (a.home !== undefined && a.home !== cur.home) {
        mod.push('-d', a.home);
        changed.push(`home ${cur.home} → ${a.home}`);
        after = { ...after, home: a.home };
      }
      const has = (g: string) => cur.groups.includes(g) || cur.primaryGroup === g;
      if (!a.append && a.groups !== undefined) {
        const target = wantGroups.filter((g) => g !== cur.primaryGroup);
        if (target.join(',') !== cur.groups.join(',')) {
          mod.push('-G', target.join(','));
          changed.push(`groups ${cur.groups.join(',') || '(none)'} → ${target.join(',') || '(none)'}`);
          after = { ...after, groups: target };
        }
      } else {
        const add = wantGroups.filter((g) => !has(g));
        if (add.length > 0) {
          mod.push('-a', '-G', add.join(','));
          changed.push(`add to ${add.join(', ')}`);
          after = { ...after, groups: [...after.groups, ...add].sort() };
        }
      }
      if (mod.length > 0) {
        steps.push({ command: sh`usermod ${mod} ${name}` });
        what.push(`${name}: ${changed.join(', ')}`);
      }
      if (a.admin === false && admin !== undefined && after.groups.includes(admin)) {
        steps.push({ command: sh`gpasswd -d ${name} ${admin}` });
        what.push(`remove ${name} from ${admin}`);
        after = { ...after, groups: after.groups.filter((g) => g !== admin) };
      }
    }

    // password and lock: need /etc/shadow
    const pw = after.password;
    if ((a.password !== undefined || a.password_lock !== undefined) && cur.exists && cur.password === null) {
      throw new TaskError(`cannot read the password state of ${name}: /etc/shadow is unreadable (run the task with become)`);
    }
    let passwordNote: string | undefined;
    let locked = pw?.locked ?? false;
    if (a.password !== undefined && pw?.hashDigest !== sha256(a.password)) {
      steps.push({ command: 'chpasswd -e', stdin: `${name}:${a.password}\n` });
      what.push(`${name}: (password hash changed)`);
      passwordNote = '(password hash changed)';
      // chpasswd replaces the field: a lock would be lost unless re-applied below
      const wasLocked = cur.exists && (cur.password?.locked ?? false) && cur.password?.state === 'set';
      locked = false;
      after = { ...after, password: { state: 'set', locked: false, hashDigest: sha256(a.password) } };
      if (wasLocked && a.password_lock === undefined) {
        steps.push({ command: sh`usermod -L ${name}` });
        locked = true;
        after = { ...after, password: { state: 'set', locked: true, hashDigest: sha256(a.password) } };
      }
      risky = true;
    }
    if (a.password_lock === true && !locked) {
      steps.push({ command: sh`usermod -L ${name}` });
      what.push(`lock the password of ${name}`);
      after = { ...after, password: { ...(after.password ?? { state: 'none', hashDigest: null }), locked: true } };
      risky = true;
    } else if (a.password_lock === false && locked) {
      if (after.password?.state !== 'set') {
        throw new TaskError(`cannot unlock ${name}: the account has no password hash to unlock (usermod -U would leave it passwordless); give password: too`);
      }
      steps.push({ command: sh`usermod -U ${name}` });
      what.push(`unlock the password of ${name}`);
      after = { ...after, password: { ...after.password, locked: false } };
      risky = true;
    }

    if (steps.length > 0) {
      diffs.push({ label: `user ${name}`, before: cur.exists ? describeUser(before) : 'state: absent\n', after: describeUser(after, passwordNote) });
    }

    // authorized keys
    if (a.authorized_keys !== undefined) {
      const currentKeys = cur.exists ? (cur.authorizedKeys ?? '') : '';
      const next = mergeKeys(currentKeys, a.authorized_keys, a.exclusive);
      const fileOk = cur.exists && cur.keysFile !== null && cur.keysFile.mode === '0600' && cur.keysFile.owner === name && cur.sshDir?.mode === '0700' && cur.sshDir.owner === name;
      const noFileNeeded = next === '' && (!cur.exists || cur.authorizedKeys === null);
      if (!noFileNeeded && (next !== currentKeys || !fileOk)) {
        steps.push(...writeKeysSteps(name, next));
        const path = `${after.home}/.ssh/authorized_keys`;
        what.push(next !== currentKeys ? `write ${path}` : `fix owner/mode of ${path}`);
        diffs.push({ label: path, before: cur.exists ? (cur.authorizedKeys ?? '') : '', after: next });
        after = {
          ...after,
          authorizedKeys: next,
          keysFile: { mode: '0600', owner: name, group: after.primaryGroup },
          sshDir: { mode: '0700', owner: name, group: after.primaryGroup },
        };
        risky = true;
      }
    }

    if (steps.length === 0) {
      const parts = [`user ${name} exists`];
      if (a.uid !== undefined) parts.push(`uid ${a.uid}`);
      if (a.shell !== undefined) parts.push(`shell ${a.shell}`);
      if (wantGroups.length > 0) parts.push(`in ${wantGroups.join(', ')}`);
      if (a.admin === false && admin) parts.push(`not in ${admin}`);
      if (a.password !== undefined) parts.push('password hash as requested');
      if (a.password_lock !== undefined) parts.push(a.password_lock ? 'password locked' : 'password unlocked');
      if (a.authorized_keys !== undefined) parts.push(`${a.authorized_keys.length} authorized key${a.authorized_keys.length === 1 ? '' : 's'} present${a.exclusive ? ' (exclusive)' : ''}`);
      return ok(parts.join(', '));
    }
    return change(what.join('; '), steps, {
      diffs,
      predictions: [{ request, value: after } as Prediction],
      ...(connecting && (risky || !cur.exists) ? { risk: 'access' as const } : {}),
    });
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
    if (a.authorized_keys !== undefined && access.auth !== 'password') {
      const had = (cur.authorizedKeys ?? '').split('\n').some((l) => parseKeyLine(l) !== null);
      if (had && a.exclusive && a.authorized_keys.length === 0) {
        return `would remove every authorized key of ${a.name}, the user we connect as with public key authentication`;
      }
    }
    return undefined;
  },
});
