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

/** A port as a number, or as digits (an INI `ansible_port='2222'` is a string; Ansible converts it). */
const portValue = z.union([
  port,
  z
    .string()
    .regex(/^[0-9]{1,5}$/, 'must be a port number')
    .refine((s) => Number(s) >= 1 && Number(s) <= 65535, { message: 'must be a port number from 1 to 65535' }),
]);

/** The values Ansible's `boolean()` accepts (case-insensitive strings, 0/1): INI `ansible_become=true` is the string "true". */
export const ANSIBLE_TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
export const ANSIBLE_FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);
const boolValue = z.union(
  [
    z.boolean(),
    z.literal([0, 1]),
    z
      .string()
      .refine((s) => ANSIBLE_TRUE.has(s.trim().toLowerCase()) || ANSIBLE_FALSE.has(s.trim().toLowerCase()), {
        error: (iss) => `expected a boolean (true/false, yes/no, on/off, 1/0), got ${JSON.stringify(iss.input)}`,
      }),
  ],
  { error: (iss) => `expected a boolean (true/false, yes/no, on/off, 1/0), got ${iss.input === null ? 'null' : Array.isArray(iss.input) ? 'list' : typeof iss.input}` },
);

/** Ansible's boolean() of a value the schema accepted. */
export function ansibleBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  return ANSIBLE_TRUE.has(String(v).trim().toLowerCase());
}

/** A password may be written as a number in INI (`ansible_ssh_pass=123456`): it is the text. */
const secretValue = z.union([z.string(), z.number()]);
const seconds = z.union([z.number().positive().max(3600), z.string().regex(/^[0-9]+(?:\.[0-9]+)?$/, 'must be a number of seconds')]);

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

const sshArgs = z.string().describe(
  'ssh command-line options, as for Ansible: `-o ProxyJump=…`, `-J`, `-o StrictHostKeyChecking=yes|accept-new`, `-o UserKnownHostsFile=…`, `-o User=…`, `-o Port=…`, `-o IdentityFile=…`, `-o IdentitiesOnly=…`, `-o ConnectTimeout=…`, `-p`, `-i`, `-l` are used; connection sharing and keep-alive options draw a warning; anything else is refused.',
);

/** Connection variables: native names first, then the Ansible spellings (see docs/inventory.md). */
export const connectionVarShape = {
  host: z.string().min(1).describe('Address to connect to (default: the inventory host name).'),
  port: portValue.describe('SSH port (default 22).'),
  user: z.string().min(1).describe('Login user (default: the local user name).'),
  identity_file: z.string().min(1).describe('Private key file; `~` expands, relative paths are relative to the inventory file.'),
  passphrase_env: envName.describe('Environment variable holding the private key passphrase.'),
  password_env: envName.describe('Environment variable holding the SSH password.'),
  password: secretValue.describe('SSH password in clear text (Ansible compatibility; prefer password_env).'),
  become: boolValue.describe('Run tasks through sudo (default false).'),
  become_user: z.string().min(1).describe('User to become (default root).'),
  become_password_env: envName.describe('Environment variable holding the sudo password.'),
  become_password: secretValue.describe('sudo password in clear text (Ansible compatibility; prefer become_password_env).'),
  connection: z.enum(['ssh', 'local']).describe('`ssh` (default) or `local` (run on the control node).'),
  known_hosts_file: z.string().min(1).describe('known_hosts file to check host keys against (default ~/.ssh/known_hosts).'),
  host_key_policy: z
    .enum(['strict', 'accept-new'])
    .describe('`strict` (default): unknown or changed host keys fail. `accept-new`: unknown keys are recorded, changed keys still fail.'),
  jump: z
    .union([z.string(), z.array(jumpHostSchema).min(1)])
    .describe('Jump host(s), in order: `user@host:port` strings (a single string may list hops separated by commas) or {host, port, user, identity_file} objects.'),
  connect_timeout: seconds.describe('Connection timeout in seconds (default 10).'),
  port_map: z
    .record(z.string().regex(/^[0-9]+$/, 'keys are port numbers'), port)
    .describe(
      'For hosts behind NAT/port forwarding: the port to dial from here for each port sshd listens on at the host, e.g. {22: 2201, 2222: 2202}. Used when a play moves sshd to another port.',
    ),
  ansible_host: z.string().min(1).describe('Ansible spelling of `host`.'),
  ansible_ssh_host: z.string().min(1).describe('Ansible spelling of `host` (older; wins over ansible_host when both are set, as in Ansible).'),
  ansible_port: portValue.describe('Ansible spelling of `port`.'),
  ansible_ssh_port: portValue.describe('Ansible spelling of `port` (older; wins over ansible_port).'),
  ansible_user: z.string().min(1).describe('Ansible spelling of `user`.'),
  ansible_ssh_user: z.string().min(1).describe('Ansible spelling of `user` (older; wins over ansible_user).'),
  ansible_ssh_private_key_file: z.string().min(1).describe('Ansible spelling of `identity_file`.'),
  ansible_private_key_file: z.string().min(1).describe('Ansible spelling of `identity_file` (ansible_ssh_private_key_file wins).'),
  ansible_password: secretValue.describe('Ansible spelling of `password` (clear text; prefer password_env).'),
  ansible_ssh_pass: secretValue.describe('Ansible spelling of `password` (wins over ansible_password).'),
  ansible_ssh_password: secretValue.describe('Ansible spelling of `password` (wins over ansible_ssh_pass).'),
  ansible_become: boolValue.describe('Ansible spelling of `become`.'),
  ansible_sudo: boolValue.describe('Ansible 1.x spelling of `become` (ansible-core ignores it; ansible_become wins).'),
  ansible_become_user: z.string().min(1).describe('Ansible spelling of `become_user`.'),
  ansible_sudo_user: z.string().min(1).describe('Ansible spelling of `become_user` (wins over ansible_become_user).'),
  ansible_become_password: secretValue.describe('Ansible spelling of `become_password` (clear text; prefer become_password_env).'),
  ansible_become_pass: secretValue.describe('Ansible spelling of `become_password` (wins over ansible_become_password).'),
  ansible_sudo_pass: secretValue.describe('Ansible spelling of `become_password` (wins over ansible_become_pass).'),
  ansible_become_method: z.literal('sudo', { error: (iss) => `only sudo is supported, got ${JSON.stringify(iss.input)}` }).describe('Only `sudo`.'),
  ansible_connection: z
    .enum(['ssh', 'local', 'smart', 'paramiko', 'paramiko_ssh'])
    .describe('Ansible spelling of `connection`; `smart` and `paramiko` mean ssh.'),
  ansible_ssh_timeout: seconds.describe('Ansible spelling of `connect_timeout` (wins over ansible_timeout).'),
  ansible_timeout: seconds.describe('Ansible spelling of `connect_timeout`.'),
  ansible_ssh_common_args: sshArgs,
  ansible_ssh_extra_args: sshArgs,
  ansible_ssh_args: sshArgs,
  ansible_host_key_checking: boolValue.describe('true: host keys are checked (always). false is refused: provision never skips host-key checks.'),
  ansible_ssh_host_key_checking: boolValue.describe('As ansible_host_key_checking.'),
  ansible_group_priority: z
    .union([z.number().int(), z.string().regex(/^-?[0-9]+$/, 'must be an integer')])
    .describe('Ansible: order of sibling groups when merging vars (higher wins); set in the inventory file only.'),
} as const;

/**
 * Each connection setting: its native names (earlier wins on the same layer)
 * and its Ansible spellings, highest priority first. Among the Ansible
 * spellings the priority is Ansible's own and does not depend on where they
 * are set (`ansible_ssh_user` in a group beats `ansible_user` on the host, as
 * in ansible-core); between the native and the Ansible names the more specific
 * layer wins, the native name on the same layer.
 */
export const CONNECTION_SETTINGS = {
  host: { native: ['host'], ansible: ['ansible_ssh_host', 'ansible_host'] },
  port: { native: ['port'], ansible: ['ansible_ssh_port', 'ansible_port'] },
  user: { native: ['user'], ansible: ['ansible_ssh_user', 'ansible_user'] },
  identityFile: { native: ['identity_file'], ansible: ['ansible_ssh_private_key_file', 'ansible_private_key_file'] },
  password: { native: ['password_env', 'password'], ansible: ['ansible_ssh_password', 'ansible_ssh_pass', 'ansible_password'] },
  become: { native: ['become'], ansible: ['ansible_become', 'ansible_sudo'] },
  becomeUser: { native: ['become_user'], ansible: ['ansible_sudo_user', 'ansible_become_user'] },
  becomePassword: { native: ['become_password_env', 'become_password'], ansible: ['ansible_sudo_pass', 'ansible_become_pass', 'ansible_become_password'] },
  connection: { native: ['connection'], ansible: ['ansible_connection'] },
  connectTimeout: { native: ['connect_timeout'], ansible: ['ansible_ssh_timeout', 'ansible_timeout'] },
  hostKeyChecking: { native: [], ansible: ['ansible_ssh_host_key_checking', 'ansible_host_key_checking'] },
} as const satisfies Record<string, { native: readonly string[]; ansible: readonly string[] }>;

/**
 * Ansible variables that configure how Ansible itself connects or runs and
 * that provision has no use for: setting one draws a warning naming it.
 * (Other `ansible_*` names are ordinary variables for templates.)
 */
export const ANSIBLE_UNUSED_VARS: ReadonlySet<string> = new Set([
  'ansible_python_interpreter',
  'ansible_shell_type',
  'ansible_shell_executable',
  'ansible_module_compression',
  'ansible_pipelining',
  'ansible_ssh_pipelining',
  'ansible_ssh_executable',
  'ansible_ssh_retries',
  'ansible_ssh_transfer_method',
  'ansible_ssh_use_tty',
  'ansible_sshpass_prompt',
  'ansible_ssh_pkcs11_provider',
  'ansible_control_path',
  'ansible_control_path_dir',
  'ansible_scp_executable',
  'ansible_scp_extra_args',
  'ansible_scp_if_ssh',
  'ansible_sftp_executable',
  'ansible_sftp_extra_args',
  'ansible_sftp_batch_mode',
  'ansible_become_exe',
  'ansible_become_flags',
  'ansible_sudo_exe',
  'ansible_sudo_flags',
  'ansible_su_exe',
  'ansible_su_flags',
  'ansible_su_user',
  'ansible_su_pass',
  'ansible_su_prompt_l10n',
  'ansible_remote_tmp',
  'ansible_async_dir',
  'ansible_admin_users',
  'ansible_common_remote_group',
  'ansible_shell_allow_world_readable_temp',
  'ansible_system_tmpdirs',
  'ansible_paramiko_host',
  'ansible_paramiko_host_key_checking',
  'ansible_paramiko_pass',
  'ansible_paramiko_password',
  'ansible_paramiko_use_rsa_sha2_algorithms',
  'ansible_paramiko_user',
  'ansible_network_os',
  'ansible_connection_user',
  'ansible_docker_extra_args',
]);

/** `ansible_python_interpreter`, `ansible_perl_interpreter`, …: Ansible's interpreter discovery. */
export const ANSIBLE_INTERPRETER_RE = /^ansible_[a-z0-9_]+_interpreter$/;

const optionalShape = Object.fromEntries(Object.entries(connectionVarShape).map(([k, v]) => [k, v.optional()])) as {
  [K in keyof typeof connectionVarShape]: z.ZodOptional<(typeof connectionVarShape)[K]>;
};

/** Host or group vars: connection variables checked, anything else allowed. */
export const varsSchema = z
  .looseObject(optionalShape)
  .describe('Variables. Connection variables are checked; any other name is a free-form variable for templates.');

export interface GroupInput {
  hosts?: Record<string, z.output<typeof varsSchema> | null> | string | null;
  children?: Record<string, GroupInput | null> | string | null;
  vars?: z.output<typeof varsSchema> | null;
}

export const groupSchema: z.ZodType<GroupInput> = z
  .strictObject({
    hosts: z
      .union([z.string(), z.record(z.string(), varsSchema.nullable())])
      .nullable()
      .optional()
      .describe('Hosts of this group: host pattern → host vars (or empty). `name:port` keys set the port, `web[01:20]` and `db-[a:c]` are ranges. A single name may be written as a string.'),
    get children() {
      return z
        .union([z.string(), z.record(z.string(), groupSchema.nullable())])
        .nullable()
        .optional()
        .describe('Child groups, same shape. A single name may be written as a string.');
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
