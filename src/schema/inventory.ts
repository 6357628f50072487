/**
 * Inventory schema: Ansible's YAML inventory layout, unchanged.
 *
 *   all:
 *     vars: { user: deploy }
 *     hosts:
 *       web1.example.com: { port: 2222 }
 *     children:
 *       db:
 *         hosts: { db1: null }
 *
 * Host and group vars are free-form; the connection variables (native names and
 * their Ansible aliases) are type-checked wherever they appear.
 */
import { z } from 'zod';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)');

const port = z.number().int().min(1).max(65535);

/** `user@host:port`, `host:port`, `host`, `[::1]:22` */
export const JUMP_STRING_RE = /^(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^@:\s[\]]+)(?::(\d{1,5}))?$/;

export const jumpHostSchema = z.union([
  z.string().regex(JUMP_STRING_RE, 'must look like user@host:port (user and port optional)'),
  z.strictObject({
    host: z.string().min(1).describe('Jump host address.'),
    port: port.optional().describe('SSH port of the jump host (default 22).'),
    user: z.string().min(1).optional().describe('Login user on the jump host (default: the local user name).'),
    identity_file: z.string().min(1).optional().describe('Private key for the jump host (default: the target host key).'),
  }),
]);

/** Connection variables: native names first, then the Ansible aliases. */
export const connectionVarShape = {
  host: z.string().min(1).describe('Address to connect to (default: the inventory host name).'),
  port: port.describe('SSH port (default 22).'),
  user: z.string().min(1).describe('Login user (default: the local user name).'),
  identity_file: z.string().min(1).describe('Private key file; `~` expands, relative paths are relative to the inventory file.'),
  passphrase_env: envName.describe('Environment variable holding the private key passphrase.'),
  password_env: envName.describe('Environment variable holding the SSH password.'),
  password: z.string().describe('SSH password in clear text (Ansible compatibility; prefer password_env).'),
  become: z.boolean().describe('Run tasks through sudo (default false).'),
  become_user: z.string().min(1).describe('User to become (default root).'),
  become_password_env: envName.describe('Environment variable holding the sudo password.'),
  become_password: z.string().describe('sudo password in clear text (Ansible compatibility; prefer become_password_env).'),
  connection: z.enum(['ssh', 'local']).describe('`ssh` (default) or `local` (run on the control node).'),
  known_hosts_file: z.string().min(1).describe('known_hosts file to check host keys against (default ~/.ssh/known_hosts).'),
  host_key_policy: z
    .enum(['strict', 'accept-new'])
    .describe('`strict` (default): unknown or changed host keys fail. `accept-new`: unknown keys are recorded, changed keys still fail.'),
  jump: z
    .union([z.string(), z.array(jumpHostSchema).min(1)])
    .describe('Jump host(s), in order: `user@host:port` strings (a single string may list hops separated by commas) or {host, port, user, identity_file} objects.'),
  connect_timeout: z.number().positive().max(3600).describe('Connection timeout in seconds (default 10).'),
  port_map: z
    .record(z.string().regex(/^[0-9]+$/, 'keys are port numbers'), port)
    .describe(
      'For hosts behind NAT/port forwarding: the port to dial from here for each port sshd listens on at the host, e.g. {22: 2201, 2222: 2202}. Used when a play moves sshd to another port.',
    ),
  ansible_host: z.string().min(1).describe('Ansible alias of `host`.'),
  ansible_port: port.describe('Ansible alias of `port`.'),
  ansible_user: z.string().min(1).describe('Ansible alias of `user`.'),
  ansible_ssh_private_key_file: z.string().min(1).describe('Ansible alias of `identity_file`.'),
  ansible_password: z.string().describe('Ansible alias of `password` (clear text; prefer password_env).'),
  ansible_become: z.boolean().describe('Ansible alias of `become`.'),
  ansible_become_user: z.string().min(1).describe('Ansible alias of `become_user`.'),
  ansible_become_password: z.string().describe('Ansible alias of `become_password` (clear text; prefer become_password_env).'),
  ansible_connection: z
    .enum(['ssh', 'local', 'smart', 'paramiko'])
    .describe('Ansible alias of `connection`; `smart` and `paramiko` mean ssh.'),
  ansible_group_priority: z.number().int().describe('Ansible: order of sibling groups when merging vars (higher wins).'),
} as const;

/** Pairs [native, ansible alias] resolved by precedence layer (see core/inventory.ts). */
export const CONNECTION_ALIASES: readonly (readonly [string, string])[] = [
  ['host', 'ansible_host'],
  ['port', 'ansible_port'],
  ['user', 'ansible_user'],
  ['identity_file', 'ansible_ssh_private_key_file'],
  ['password', 'ansible_password'],
  ['become', 'ansible_become'],
  ['become_user', 'ansible_become_user'],
  ['become_password', 'ansible_become_password'],
  ['connection', 'ansible_connection'],
];

const optionalShape = Object.fromEntries(Object.entries(connectionVarShape).map(([k, v]) => [k, v.optional()])) as {
  [K in keyof typeof connectionVarShape]: z.ZodOptional<(typeof connectionVarShape)[K]>;
};

/** Host or group vars: connection variables checked, anything else allowed. */
export const varsSchema = z
  .looseObject(optionalShape)
  .describe('Variables. Connection variables are checked; any other name is a free-form variable for templates.');

export interface GroupInput {
  hosts?: Record<string, z.output<typeof varsSchema> | null> | null;
  children?: Record<string, GroupInput | null> | null;
  vars?: z.output<typeof varsSchema> | null;
}

export const groupSchema: z.ZodType<GroupInput> = z
  .strictObject({
    hosts: z
      .record(z.string(), varsSchema.nullable())
      .nullable()
      .optional()
      .describe('Hosts of this group: name → host vars (or empty). `name:port` keys set the port.'),
    get children() {
      return z.record(z.string(), groupSchema.nullable()).nullable().optional().describe('Child groups, same shape.');
    },
    vars: varsSchema.nullable().optional().describe('Group variables, inherited by hosts of this group and its children.'),
  })
  .describe('An inventory group.');

export const inventorySchema = z
  .record(z.string(), groupSchema.nullable())
  .describe('provision inventory (Ansible YAML inventory layout): top-level groups, usually `all`.');

export type InventoryInput = z.output<typeof inventorySchema>;

/** JSON Schema for editors (`# yaml-language-server: $schema=...`). */
export function inventoryJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(inventorySchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12', reused: 'ref' }),
    title: 'provision inventory',
  };
}
