/**
 * `authorized_key`: SSH public keys of a user present in, or absent from,
 * their authorized_keys file, as Ansible's authorized_key module (ansible.posix).
 *
 * - `key` holds one key line or several (one a line; blank lines and `#`
 *   lines are skipped), each with options if any; `key_options` and
 *   `comment` replace the options and comment of every listed key.
 * - present: a listed key whose line differs (options, comment) replaces the
 *   existing line, in place; a new one is appended. `exclusive` makes the file
 *   exactly the listed keys. absent: the listed keys' lines are removed,
 *   whatever their options and comments.
 * - The file is ~user/.ssh/authorized_keys, or `path`; it is written
 *   atomically, 0600, owned by the user and their login group. With
 *   `manage_dir` (default) its directory is created if missing and made 0700
 *   and owned by the user, as Ansible does (also for a `path` elsewhere:
 *   say manage_dir: false for a shared directory such as /etc/ssh/keys).
 * - Changing the keys of the user we connect as carries `risk: 'access'`,
 *   and the pre-flight refuses a change that leaves out the key this session
 *   logs in with (exclusive, or absent), as for the user task.
 *
 * Not supported, refused by name: keys from a URL (`key: https://...`),
 * `follow: true`, `validate_certs`.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan, type Prediction, type TaskContext } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { userInfo, type PresentUser, type UserInfo } from '../facts/users.js';
import { keysLockout, mergeKeys, parseKeyLine, removeKeys } from './lib/authorized-keys.js';
import { predictWrittenFile, writeFileSteps } from './lib/files.js';
import { USER_NAME } from './user.js';

/** The key lines of `key`: blank and `#` lines skipped, as Ansible. */
const keyLines = (key: string): string[] => key.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

const argsSchema = z
  .object({
    user: z.string().max(32).regex(USER_NAME, 'not a valid user name (lower case letters, digits, _ and -, at most 32)').describe('The user whose authorized keys these are'),
    key: z
      .string()
      .min(1)
      .superRefine((k, ctx) => {
        if (/^https?:\/\//i.test(k.trim())) {
          ctx.addIssue({ code: 'custom', message: 'keys from a URL are not supported: give the key text' });
          return;
        }
        const lines = keyLines(k);
        if (lines.length === 0) ctx.addIssue({ code: 'custom', message: 'no key line (only blank or # lines)' });
        for (const l of lines) if (parseKeyLine(l) === null) ctx.addIssue({ code: 'custom', message: `not an SSH public key line: ${JSON.stringify(l.slice(0, 80))}` });
      })
      .describe('SSH public key line(s), one a line, options allowed (`from="10.0.0.0/8" ssh-ed25519 AAAA... me@laptop`)'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the keys are in the file; absent: they are not'),
    exclusive: z.boolean().default(false).describe('present: remove every key that is not listed'),
    key_options: z
      .string()
      .min(1)
      .regex(/^[^\r\n]*$/, 'a single line')
      .refine((o) => parseKeyLine(`${o} ssh-ed25519 AAAA`)?.options === o, {
        message: 'not authorized_keys options (comma-separated, no space outside double quotes), e.g. no-pty,from="10.0.0.0/8"',
      })
      .optional()
      .describe('Options put before every listed key instead of its own, e.g. no-port-forwarding,from="10.0.1.1"'),
    comment: z.string().regex(/^[^\r\n]*$/, 'a single line').optional().describe('Comment put after every listed key instead of its own'),
    path: z.string().regex(/^\/[^\r\n]*[^/]$/, 'an absolute file path').optional().describe('The authorized keys file (default: ~user/.ssh/authorized_keys)'),
    manage_dir: z.boolean().default(true).describe("Create the file's directory if missing, make it 0700 and owned by the user"),
    follow: z
      .literal(false, { error: 'not supported: only false (a symbolic link at the file is replaced, not followed)' })
      .optional()
      .describe('Only false: a symbolic link at the file is replaced, not followed'),
  })
  .strict()
  .refine((a) => !(a.exclusive && a.state === 'absent'), { message: 'exclusive is only used with state: present', path: ['exclusive'] });

export type AuthorizedKeyArgs = z.output<typeof argsSchema>;

/** Each listed key as its line will read: `key_options` and `comment` replace the key's own. */
export function wantedLines(a: Pick<AuthorizedKeyArgs, 'key' | 'key_options' | 'comment'>): string[] {
  return keyLines(a.key).map((l) => {
    if (a.key_options === undefined && a.comment === undefined) return l;
    const k = parseKeyLine(l);
    if (k === null) throw new TaskError(`not an SSH public key line: ${JSON.stringify(l.slice(0, 80))}`);
    const options = a.key_options ?? k.options;
    const comment = a.comment ?? k.comment;
    return `${options !== null ? `${options} ` : ''}${k.id}${comment !== '' ? ` ${comment}` : ''}`;
  });
}

const idsOf = (lines: readonly string[]): Set<string> => new Set(lines.flatMap((l) => parseKeyLine(l)?.id ?? []));

/** The file's content after the change. */
function nextContent(a: AuthorizedKeyArgs, current: string): string {
  const lines = wantedLines(a);
  return a.state === 'absent' ? removeKeys(current, idsOf(lines)) : mergeKeys(current, lines, a.exclusive);
}

type Facts = { user: FactRequest<UserInfo>; file: FactRequest<FileInfo> };

/** The file's current text: from the user fact for the default path, the file fact for `path`. */
function currentOf(a: AuthorizedKeyArgs, user: PresentUser, file: FileInfo | undefined): string {
  if (a.path === undefined) return user.authorizedKeys ?? '';
  if (file === undefined || !file.exists) return '';
  if (file.type !== 'file') throw new TaskError(`${a.path} is a ${file.type}, not a regular file`);
  if (file.content === undefined) throw new TaskError(`${a.path} is not UTF-8 text or larger than 1 MiB: not an authorized keys file provision edits`);
  return file.content;
}

function existingUser(a: AuthorizedKeyArgs, user: UserInfo, ctx: TaskContext): PresentUser {
  if (!user.exists) throw new TaskError(`user ${a.user} does not exist on ${ctx.host.hostname || 'the host'}: create it first (user task)`);
  return user;
}

export const authorizedKey = defineTask({
  name: 'authorized_key',
  description: 'Add or remove SSH public keys in a user\'s authorized_keys (exclusive, key options, another path), guarded against locking us out',
  example:
    '- name: My key for deploy\n  authorized_key:\n    user: deploy\n    key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"\n- name: Only the CI key, from its network\n  authorized_key:\n    user: ci\n    key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci"\n    key_options: from="10.0.0.0/8",no-agent-forwarding\n    exclusive: true',
  schema: argsSchema,
  facts: (a): Facts => ({ user: userInfo(a.user), ...(a.path !== undefined ? { file: fileAt(a.path) } : {}) }) as Facts,
  plan(a, allFacts, ctx): Plan {
    const facts: Partial<typeof allFacts> = allFacts;
    const user = existingUser(a, allFacts.user, ctx);
    const current = currentOf(a, user, facts.file);
    const next = nextContent(a, current);
    const keyfile = a.path ?? posix.join(user.home, '.ssh', 'authorized_keys');
    const data = { user: a.user, key: a.key, key_options: a.key_options ?? null, keyfile, exclusive: a.exclusive, manage_dir: a.manage_dir, path: a.path ?? null, state: a.state };
    const n = keyLines(a.key).length;
    if (next === current) {
      const what = a.state === 'absent' ? 'not in' : `in${a.exclusive ? ' (exclusive)' : ''}`;
      return ok(`${n} key${n === 1 ? '' : 's'} ${what} ${keyfile}`, data);
    }
    const owner = { owner: a.user, group: user.primaryGroup };
    const steps = writeFileSteps({ path: keyfile, content: next, mode: '0600', ...owner, parent: a.manage_dir ? { mode: '0700', ...owner } : {} });
    const predictions: Prediction[] =
      a.path === undefined
        ? [{ request: userInfo(a.user), value: { ...user, authorizedKeys: next, keysFile: { mode: '0600', ...owner }, ...(a.manage_dir ? { sshDir: { mode: '0700', ...owner } } : {}) } }]
        : [{ request: fileAt(a.path), value: predictWrittenFile(facts.file ?? { exists: false }, { content: next, mode: '0600', ...owner }) }];
    return change(`write ${keyfile}`, steps, {
      diffs: [{ label: keyfile, before: current, after: next }],
      predictions,
      data,
      ...(ctx.host.user === a.user ? { risk: 'access' as const } : {}),
    });
  },
  lockout(a, allFacts, access) {
    const facts: Partial<typeof allFacts> = allFacts;
    if (a.user !== access.user || access.auth === 'password' || !allFacts.user.exists) return undefined;
    try {
      const current = currentOf(a, allFacts.user, facts.file);
      return keysLockout(a.user, current, nextContent(a, current), access);
    } catch {
      return undefined; // the plan fails with a clearer message
    }
  },
});
