/**
 * The sshd_config lockout pre-flight: would the effective configuration
 * (`sshd -T`, or as predicted) refuse a new connection like ours?
 * AllowUsers/DenyUsers patterns are matched like sshd does (wildcards, CIDR
 * hosts; host names never match: no DNS here).
 */
import type { AccessInfo } from '../../contract/task.js';
import { effectiveValue } from './sshd.js';

/** OpenSSH defaults of the options the lockout check reads (when `sshd -T` is unavailable). */
const DEFAULTS: Readonly<Record<string, string>> = {
  permitrootlogin: 'prohibit-password',
  passwordauthentication: 'yes',
  pubkeyauthentication: 'yes',
  maxauthtries: '6',
  authenticationmethods: 'any',
};

/** sshd's wildcard match (`*`, `?`), with `!` negation handled by the caller. */
function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(value);
}

function ipv4(s: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
}

function hostMatches(pattern: string, ip: string): boolean {
  const cidr = /^(.+)\/(\d+)$/.exec(pattern);
  if (cidr) {
    const net = ipv4(cidr[1] as string);
    const addr = ipv4(ip);
    const bits = Number(cidr[2]);
    if (net === null || addr === null || bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((net & mask) >>> 0) === ((addr & mask) >>> 0);
  }
  return wildcard(pattern, ip);
}

/** Does an AllowUsers/DenyUsers entry (`user` or `user@host`) match this session? Host names never match (no DNS here). */
export function userPatternMatches(pattern: string, user: string, clientIp: string): boolean {
  const at = pattern.indexOf('@');
  const u = at < 0 ? pattern : pattern.slice(0, at);
  const h = at < 0 ? undefined : pattern.slice(at + 1);
  if (!wildcard(u, user)) return false;
  return h === undefined || hostMatches(h, clientIp);
}

/**
 * Would the effective configuration `eff` refuse `access` (a new connection
 * like the current one)? Returns the reason naming the setting. AllowGroups
 * and DenyGroups are not checked: the user's groups are not in the facts.
 */
export function lockoutReason(eff: Readonly<Record<string, readonly string[]>>, access: AccessInfo): string | undefined {
  const get = (k: string): string => effectiveValue(eff, k) ?? DEFAULTS[k] ?? '';
  const words = (k: string): string[] => (eff[k] ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
  const key = access.auth === 'password' ? 'password' : 'publickey';
  const root = access.user === 'root';
  const prl = get('permitrootlogin');
  if (root && prl === 'no') return `PermitRootLogin no refuses root, and this session logs in as root`;
  if (root && prl === 'forced-commands-only') return `PermitRootLogin forced-commands-only refuses root shells, and this session logs in as root`;
  if (root && prl === 'prohibit-password' && key === 'password') return `PermitRootLogin prohibit-password refuses root with a password, and this session logs in as root with a password`;
  if (key === 'password' && get('passwordauthentication') === 'no') return `PasswordAuthentication no refuses passwords, and this session authenticates with a password`;
  if (key === 'publickey' && get('pubkeyauthentication') === 'no') return `PubkeyAuthentication no refuses keys, and this session authenticates with a key (${access.auth})`;
  const tries = Number(get('maxauthtries'));
  if (Number.isFinite(tries) && tries < 1) return `MaxAuthTries ${tries} refuses every authentication attempt`;
  const deny = words('denyusers').find((p) => userPatternMatches(p, access.user, access.clientIp));
  if (deny !== undefined) return `DenyUsers ${deny} matches ${access.user}@${access.clientIp}`;
  const allow = words('allowusers');
  if (allow.length > 0 && !allow.some((p) => userPatternMatches(p, access.user, access.clientIp))) {
    return `AllowUsers ${allow.join(' ')} does not include ${access.user} (connecting from ${access.clientIp})`;
  }
  const methods = get('authenticationmethods');
  if (methods !== '' && methods !== 'any') {
    const ours = key === 'password' ? ['password', 'keyboard-interactive', 'keyboard-interactive:pam'] : ['publickey'];
    const lists = methods.split(/\s+/);
    if (!lists.some((l) => l.split(',').length === 1 && ours.includes(l))) {
      return `AuthenticationMethods ${methods} needs more than (or other than) the ${key} authentication this session uses`;
    }
  }
  return undefined;
}
