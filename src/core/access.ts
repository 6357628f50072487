/**
 * A host as this run reaches it: the inventory's connection settings with the
 * run's defaults filled in, and how the session got in (what the lockout
 * pre-flight must not cut).
 */
import { isSsh } from '../connections/types.js';
import type { AccessInfo } from '../contract/task.js';
import type { HostSession } from './host.js';
import type { HostSpec } from './inventory.js';
import { CONNECTION_SETTINGS } from '../schema/inventory.js';
import { renderString } from './template.js';

/** Settings that apply where the inventory says nothing (`-u`, `--private-key`, `-b`). */
export interface HostDefaults {
  user?: string;
  identityFile?: string;
  become?: boolean;
}

/** The inventory's host with the run's defaults filled in where it is silent (a copy: the run may move its port). */
export function withDefaults(spec: HostSpec, o: { defaults?: HostDefaults; hostKeyPolicy?: 'strict' | 'accept-new' }): HostSpec {
  const c = spec.connection;
  const d = o.defaults ?? {};
  return {
    ...spec,
    connection: {
      ...c,
      ...(c.user === undefined && d.user !== undefined ? { user: d.user } : {}),
      ...(c.identityFile === undefined && d.identityFile !== undefined ? { identityFile: d.identityFile } : {}),
      ...(c.become === undefined && d.become !== undefined ? { become: d.become } : {}),
      ...(o.hostKeyPolicy ? { hostKeyPolicy: o.hostKeyPolicy } : {}),
    },
  };
}

/** How this session reaches the host, as the host sees it. */
export function accessOf(spec: HostSpec, session: HostSession): AccessInfo {
  const c = spec.connection;
  const used = isSsh(session.connection) ? session.connection.auth : undefined;
  return {
    user: session.facts.user,
    clientIp: session.facts.ssh?.clientIp ?? '',
    serverPort: session.accessPort,
    auth: used?.method ?? (c.password !== undefined && c.identityFile === undefined ? 'password' : 'publickey'),
    keys: used?.keys ?? [],
  };
}

/**
 * The login user `remote_user` asks for (the task's, else the play's),
 * rendered with `vars`, where the inventory names no user for the host:
 * as in Ansible, `ansible_user` wins over the keyword, the keyword over `-u`
 * and ~/.ssh/config. Undefined: the host's usual login.
 */
export function loginUser(spec: HostSpec, play: { remoteUser?: string }, task: { remoteUser?: string } | undefined, vars: Record<string, unknown>): string | undefined {
  const keyword = task?.remoteUser ?? play.remoteUser;
  if (keyword === undefined || spec.connection.connection === 'local') return undefined;
  const names = [...CONNECTION_SETTINGS.user.native, ...CONNECTION_SETTINGS.user.ansible];
  if (names.some((n) => Object.prototype.hasOwnProperty.call(spec.vars, n))) return undefined;
  return String(renderString(keyword, vars));
}
