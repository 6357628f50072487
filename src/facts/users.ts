/**
 * User fact: one account's passwd entry, its groups (`id -Gn`), its password
 * state from /etc/shadow (read as root under become; "unknown" when
 * unreadable, never a failure), its ~/.ssh/authorized_keys and the modes of
 * .ssh and the key file. Whether groups exist is the group fact's (groups.ts),
 * so a group an earlier task would create is seen in check mode.
 *
 * The password hash is a secret: the parser keeps only its sha256 digest
 * (enough to compare with a requested hash), never the hash itself.
 */
import { createHash } from 'node:crypto';
import { FactError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface UserArgs {
  readonly name: string;
}

export interface PathAttrs {
  /** Octal, four digits: `0700`. */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

export interface PasswordState {
  /** `set`: a hash; `none`: `*`/`!`/`!!` (no password login); `empty`: empty field (login without password!). */
  readonly state: 'set' | 'none' | 'empty';
  /** The field starts with `!` (usermod -L / passwd -l). */
  readonly locked: boolean;
  /** sha256 hex of the hash without the lock `!`; null unless `set`. */
  readonly hashDigest: string | null;
}

export interface PresentUser {
  readonly exists: true;
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly gecos: string;
  readonly home: string;
  readonly shell: string;
  /** Name of the primary group (first of `id -Gn`). */
  readonly primaryGroup: string;
  /** Supplementary groups, sorted. */
  readonly groups: readonly string[];
  /** null: /etc/shadow unreadable (no become) or no shadow entry. */
  readonly password: PasswordState | null;
  /** Content of ~/.ssh/authorized_keys; null when there is no such file. */
  readonly authorizedKeys: string | null;
  readonly keysFile: PathAttrs | null;
  readonly sshDir: PathAttrs | null;
}

export type UserInfo = { readonly exists: false } | PresentUser;

function script(args: UserArgs): string {
  return [
    sh`n=${args.name}`,
    'e=$(getent passwd "$n") || { echo exists=0; exit 0; }',
    `printf 'passwd=%s\\n' "$e"`,
    `printf 'groups=%s\\n' "$(id -Gn "$n")"`,
    // root only: the second field of each line whose first is the name, read by the shell (no awk); unreadable: no shadow line at all
    `{ while IFS= read -r l || [ -n "$l" ]; do case $l in "$n") echo shadow= ;; "$n":*) l=\${l#*:}; printf 'shadow=%s\\n' "\${l%%:*}" ;; esac; done < /etc/shadow; } 2>/dev/null || echo shadow=unreadable_`,
    // the home directory: getent's sixth field
    `h=\${e#*:*:*:*:*:}; h=\${h%%:*}; case $e in *:*:*:*:*:*) ;; *) h= ;; esac`,
    `if [ -d "$h/.ssh" ]; then stat -c 'ssh_stat=%a:%U:%G' -- "$h/.ssh"; fi`,
    `k="$h/.ssh/authorized_keys"`,
    `if [ -f "$k" ]; then stat -c 'keys_stat=%a:%U:%G' -- "$k"; echo keys_begin; base64 < "$k" && echo keys_end; fi`,
  ].join('\n');
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Classify a shadow password field; keeps only a digest of the hash. */
export function passwordState(field: string): PasswordState {
  const locked = field.startsWith('!');
  const hash = field.replace(/^!+/, '');
  if (field === '') return { state: 'empty', locked: false, hashDigest: null };
  if (hash === '' || hash === '*' || hash === 'x' || !hash.startsWith('$')) return { state: 'none', locked, hashDigest: null };
  return { state: 'set', locked, hashDigest: sha256(hash) };
}

function attrs(value: string | undefined): PathAttrs | null {
  if (value === undefined) return null;
  const [mode, owner, group] = value.split(':');
  if (!mode || !/^[0-7]{1,4}$/.test(mode) || owner === undefined || group === undefined) return null;
  return { mode: mode.padStart(4, '0'), owner, group };
}

/** Pure parser of the fact command's output. */
export function parseUserFact(stdout: string, args: UserArgs): UserInfo {
  const lines = stdout.split('\n');
  if (lines.includes('exists=0')) return { exists: false };
  const get = (k: string): string | undefined => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  const passwd = get('passwd');
  const fields = passwd?.split(':');
  if (!fields || fields.length !== 7) throw new FactError('user', `${args.name}: cannot parse passwd entry: ${JSON.stringify(stdout.slice(0, 200))}`);
  const [name, , uid, gid, gecos, home, shell] = fields as [string, string, string, string, string, string, string];
  const idGroups = (get('groups') ?? '').split(/\s+/).filter(Boolean);
  const shadow = get('shadow');
  let authorizedKeys: string | null = null;
  const b = lines.indexOf('keys_begin');
  if (b >= 0) {
    const e = lines.indexOf('keys_end', b + 1);
    // unreadable key file (no become, other user): treat as unknown content = empty
    authorizedKeys = e > b ? Buffer.from(lines.slice(b + 1, e).join(''), 'base64').toString('utf8') : '';
  }
  return {
    exists: true,
    name,
    uid: Number(uid),
    gid: Number(gid),
    gecos,
    home,
    shell,
    primaryGroup: idGroups[0] ?? '',
    groups: [...new Set(idGroups.slice(1))].sort(),
    password: shadow === undefined || shadow === 'unreadable_' ? null : passwordState(shadow),
    authorizedKeys,
    keysFile: attrs(get('keys_stat')),
    sshDir: attrs(get('ssh_stat')),
  };
}

export const userFact: Fact<UserArgs, UserInfo> = {
  name: 'user',
  command: script,
  parse: (stdout, args) => parseUserFact(stdout, args),
  key: (args) => args.name,
};

export const userInfo = (name: string): FactRequest<UserInfo> => req(userFact, { name });
