/**
 * Playbook schema: a list of plays; a play has `hosts` and a list of tasks; a
 * task is the common keys (name, when, notify, ...) plus exactly ONE task type
 * key whose value is validated by that task module's zod schema.
 *
 * The loader (core/playbook.ts) validates the common keys and the task arguments
 * separately for precise errors; `buildPlaybookSchema` assembles the same rules
 * into one union (one variant per task type) for JSON Schema / editor completion.
 */
import { acceptTemplates } from './templated.js';
import { z } from 'zod';
import type { TaskModule } from '../contract/task.js';

export const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const identifier = z.string().regex(IDENTIFIER_RE, 'must be an identifier (letters, digits and _, not starting with a digit)');

/** `when`, `changed_when`, `failed_when`: an expression, a boolean, or a list of expressions (all must hold). */
export const conditionSchema = z.union([z.string().min(1), z.boolean(), z.array(z.string().min(1)).min(1)]);
export type Condition = z.output<typeof conditionSchema>;

const stringList = z.union([z.string().min(1), z.array(z.string().min(1))]);

/** Keywords a task shares with blocks and includes: what a block passes down to its tasks. */
const inheritedShape = {
  when: conditionSchema.describe('Run only when this expression is true (a list: all must be true).').optional(),
  tags: stringList.describe('Tags for --tags / --skip-tags (a string may list several, comma-separated).').optional(),
  vars: z.record(z.string(), z.unknown()).describe('Variables of this scope (over play and role variables).').optional(),
  ignore_errors: z.boolean().describe('A failure of this task does not stop the host.').optional(),
  no_log: z.boolean().describe('Do not show arguments, diffs or output of this task (secrets).').optional(),
};

/** Keywords a block passes down besides those an include takes. */
const blockOnlyShape = {
  become: z.boolean().describe('Run this task through sudo (overrides the play).').optional(),
  become_user: z.string().min(1).describe('User to become for this task.').optional(),
  remote_user: z.string().min(1).describe('Log in as this user for this task (where the inventory names no user).').optional(),
  check_mode: z
    .boolean()
    .describe('`false`: run even in check mode (for read-only probes). `true`: always run in check mode.')
    .optional(),
  timeout: z.number().positive().max(604800).describe('Timeout of each command of this task, in seconds.').optional(),
};

const loopControl = z
  .strictObject({
    loop_var: identifier.optional().describe('Name of the loop variable (default `item`).'),
    label: z.string().optional().describe('What to show for each item instead of the whole item.'),
  })
  .describe('Ansible-style loop settings.');

const loopShape = {
  loop: z
    .union([z.array(z.unknown()), z.string()])
    .describe('Run the task once per item: a list, or a template string that renders to a list, e.g. "{{ users }}".')
    .optional(),
  loop_var: identifier.describe('Name of the loop variable (default `item`).').optional(),
  loop_control: loopControl.optional(),
};

export const taskCommonShape = {
  name: z.string().min(1).describe('What the task does, shown in the output.').optional(),
  ...inheritedShape,
  ...blockOnlyShape,
  notify: stringList.describe('Handler name(s) (or `listen` topics) to run at the end of the play when this task changed something.').optional(),
  ...loopShape,
  register: identifier.describe('Save the task result in this variable for later `when:` expressions.').optional(),
  changed_when: conditionSchema.describe('Override "changed": expression over the result (e.g. with `register`).').optional(),
  failed_when: conditionSchema.describe('Override "failed": expression over the result.').optional(),
  until: conditionSchema
    .describe('Run the task again until this expression over its result holds (e.g. `result.stdout.find("ready") != -1`, `result is succeeded`); the result has `attempts`. Check mode plans the task once.')
    .optional(),
  retries: z.number().int().min(0).describe('With `until`: retry this many times after the first attempt (default 3 attempts in all).').optional(),
  delay: z.number().min(0).describe('With `until`: seconds to wait between attempts (default 5).').optional(),
  timeout: z.number().positive().max(604800).describe('Timeout of each command of this task, in seconds.').optional(),
  no_log: z.boolean().describe('Do not show arguments, diffs or output of this task (secrets).').optional(),
  controls: z
    .union([stringList, z.record(z.string().min(1), stringList)])
    .describe(
      'Compliance controls the task enforces, shown in every report with their status per host: a list (["CIS 5.4.1.1", "dev-sec os-05"]), or per setting the task manages ({ PermitRootLogin: ["CIS 5.1.20", "dev-sec sshd-06"] }: such a control is in drift only when the change names its setting).',
    )
    .optional(),
  args: z.record(z.string(), z.unknown()).describe("Arguments of the task type, under the ones given with it (Ansible's `args:`).").optional(),
};

export const TASK_COMMON_KEYS: readonly string[] = Object.keys(taskCommonShape);

export const handlerExtraShape = {
  listen: stringList.describe('Extra topic name(s) this handler answers to in `notify`.').optional(),
};

export const HANDLER_KEYS: readonly string[] = [...TASK_COMMON_KEYS, ...Object.keys(handlerExtraShape)];

export const taskCommonSchema = z.strictObject(taskCommonShape);
export const handlerCommonSchema = z.strictObject({
  ...taskCommonShape,
  ...handlerExtraShape,
  name: z.string().min(1).describe('Handler name, referenced by `notify`.'),
});

/** A block's keywords, besides `block`, `rescue` and `always` (lists of tasks). */
export const blockKeywordsSchema = z.strictObject({
  name: z.string().min(1).describe('What the block does.').optional(),
  ...inheritedShape,
  ...blockOnlyShape,
});
export const BLOCK_KEYS: readonly string[] = [...Object.keys(blockKeywordsSchema.shape), 'block', 'rescue', 'always'];

/** The keywords of import_tasks / include_tasks / import_role / include_role, besides the action itself (Ansible's VALID_INCLUDE_KEYWORDS we support). */
export const includeKeywordsSchema = z.strictObject({
  name: z.string().min(1).describe('What the include does.').optional(),
  ...inheritedShape,
  ...loopShape,
  timeout: blockOnlyShape.timeout,
  args: z.record(z.string(), z.unknown()).describe("The include's arguments (`file`, `name`, `tasks_from`...), under the ones given with it.").optional(),
});
export const INCLUDE_KEYS: readonly string[] = Object.keys(includeKeywordsSchema.shape);

const serialItem = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9][0-9]?)(\.[0-9]+)?%$/, 'must be a percentage like "30%" (1% to 100%)'),
]);

export const playCommonShape = {
  name: z.string().min(1).describe('Play name (default: the hosts pattern).').optional(),
  hosts: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('Host pattern: all, a group, a host, globs, `a:b` union, `a:&b` intersection, `a:!b` exclusion; a template is rendered with extra and play vars.'),
  vars: z.record(z.string(), z.unknown()).describe('Play variables (override inventory variables).').optional(),
  vars_prompt: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        prompt: z.string().optional(),
        default: z.unknown().optional(),
        private: z.boolean().describe('Hidden when typed in Ansible; here the value is masked in every output (default true).').optional(),
        confirm: z.boolean().describe('Accepted: nothing is typed, so there is nothing to confirm.').optional(),
        encrypt: z.enum(['md5_crypt', 'sha256_crypt', 'sha512_crypt']).describe('Hash the value with this crypt(3) scheme, as password_hash does.').optional(),
        salt: z.string().regex(/^[./0-9A-Za-z]{1,16}$/, 'a crypt salt is 1 to 16 of ./0-9A-Za-z').optional(),
        salt_size: z.number().int().min(1).max(16).optional(),
        unsafe: z.literal(false, { error: 'unsafe: true is not supported: a value from -e or default is a template like any variable' }).optional(),
      }),
    )
    .describe('Variables Ansible asks for at the start: provision never prompts, it takes each from -e, else its default, and refuses the run before contacting any host when neither gives one.')
    .optional(),
  vars_files: z
    .array(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]))
    .describe('Files of variables, relative to the playbook; a list entry is the first of its files that exists.')
    .optional(),
  become: z.boolean().describe('Run tasks through sudo (default false).').optional(),
  become_user: z.string().min(1).describe('User to become (default root).').optional(),
  remote_user: z.string().min(1).describe("Log in to the play's hosts as this user where the inventory names no user (over -u).").optional(),
  gather_facts: z.boolean().describe('Gather host facts before the tasks (default true; read in the round trip of the tasks\' first fact reads). false: read only when a task needs them (a task type other than command/shell, become, or a fact variable such as ansible_os_family), never for plays of plain commands.').optional(),
  serial: z
    .union([serialItem, z.array(serialItem).min(1)])
    .describe('Rolling batches: a count, a percentage ("30%"), or a list of batch sizes ([1, 5, "100%"]).')
    .optional(),
  max_fail_percentage: z.number().min(0).max(100).describe('Stop the play when more than this % of a batch failed.').optional(),
  tags: stringList.describe('Tags added to every task of the play.').optional(),
  lockout_protection: z
    .boolean()
    .describe(
      'Apply tasks that can cut SSH access (firewall, sshd, the login user) commit-confirmed: snapshot, armed rollback, confirm over a NEW connection (default true).',
    )
    .optional(),
  rollback_timeout: z
    .number()
    .int()
    .min(10)
    .max(3600)
    .describe('Seconds after which the host restores its snapshot by itself unless a new connection confirmed the change (default 120).')
    .optional(),
  allow_lockout: z
    .boolean()
    .describe('Apply even when the pre-flight finds that a change would cut the current SSH connection (default false). Rollback still guards it.')
    .optional(),
};

/** Keys of a play holding task lists or roles, checked one by one by the loader. */
export const PLAY_LIST_KEYS = ['pre_tasks', 'roles', 'tasks', 'post_tasks', 'handlers'] as const;
export const PLAY_KEYS: readonly string[] = [...Object.keys(playCommonShape), ...PLAY_LIST_KEYS];

/** Play keys, with tasks and handlers checked one by one by the loader. */
export const playLoadSchema = z.strictObject({
  ...playCommonShape,
  ...Object.fromEntries(PLAY_LIST_KEYS.map((k) => [k, z.array(z.unknown()).optional()])),
});

/** `- import_playbook: file.yml` (or the legacy `- include: file.yml`) with its keywords. */
export const importPlaybookSchema = z.strictObject({
  name: z.string().min(1).optional(),
  import_playbook: z.string().min(1).optional(),
  include: z.string().min(1).optional(),
  when: conditionSchema.optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  tags: stringList.optional(),
});

/** A role in `roles:` as a mapping; other keys are the role's parameters. */
export const ROLE_KEYWORDS = ['role', 'name', 'vars', 'when', 'tags', 'become', 'become_user', 'remote_user', 'ignore_errors', 'no_log'] as const;

/** Keys that exist in Ansible but not here: a clear message instead of "unknown key". */
export const UNSUPPORTED_PLAY_KEYS: Readonly<Record<string, string>> = {
  strategy: 'strategy is not supported (hosts run in parallel, each one task after the other)',
  gather_subset: 'gather_subset is not supported (facts are gathered in one round trip)',
  gather_timeout: 'gather_timeout is not supported: use --timeout',
  any_errors_fatal: 'any_errors_fatal is not supported: use max_fail_percentage: 0',
  force_handlers: 'force_handlers is not supported: notified handlers do not run on a host that failed',
  environment: 'environment is not supported: set variables in the command (shell: "NAME=value command")',
  connection: 'connection is not supported as a play keyword: set ansible_connection in the inventory',
  port: 'port is not supported as a play keyword: set ansible_port in the inventory',
  become_method: 'become_method is not supported: provision becomes with sudo',
  order: 'order is not supported: hosts are taken in inventory order',
  collections: 'collections is not supported: write task types by their short name or as ansible.builtin.NAME',
  module_defaults: 'module_defaults is not supported: give the arguments in each task',
  ignore_unreachable: 'ignore_unreachable is not supported: an unreachable host is out of the rest of the run',
  throttle: 'throttle is not supported: use serial or -f',
  run_once: 'run_once is not supported: use a play whose hosts pattern selects one host (web[0])',
};

const DELEGATION = 'tasks run on the play\'s hosts: put the task in a play for the host it should run on (hosts: localhost for this machine)';
export const UNSUPPORTED_TASK_KEYS: Readonly<Record<string, string>> = {
  delegate_to: `delegate_to is not supported: ${DELEGATION}`,
  delegate_facts: `delegate_facts is not supported: ${DELEGATION}`,
  local_action: `local_action is not supported: ${DELEGATION}`,
  run_once: 'run_once is not supported: use a play whose hosts pattern selects one host (web[0])',
  async: 'async is not supported: use timeout',
  poll: 'poll is not supported: use timeout',
  environment: 'environment is not supported: set variables in the command (shell: "NAME=value command")',
  throttle: 'throttle is not supported: use serial on the play or -f',
  any_errors_fatal: 'any_errors_fatal is not supported: use max_fail_percentage: 0 on the play',
  become_method: 'become_method is not supported: provision becomes with sudo',
  become_flags: 'become_flags is not supported: provision becomes with sudo',
  become_exe: 'become_exe is not supported: provision becomes with sudo',
  connection: 'connection is not supported as a task keyword: set ansible_connection in the inventory',
  port: 'port is not supported as a task keyword: set ansible_port in the inventory',
  diff: 'diff is not supported as a task keyword: use --diff',
  debugger: 'debugger is not supported',
  collections: 'collections is not supported: write task types by their short name or as ansible.builtin.NAME',
  module_defaults: 'module_defaults is not supported: give the arguments in each task',
  apply: 'apply is not supported: put the keywords on the tasks of the included file, or use import_tasks, whose keywords apply to every task',
};

/**
 * One zod schema for the whole playbook, for JSON Schema generation: each task
 * is a union of variants `common keys + one required task type key`.
 */
export function buildPlaybookSchema(registry: Readonly<Record<string, TaskModule>>) {
  const names = Object.keys(registry).sort();
  const variants = (common: Record<string, z.ZodType>) =>
    names.map((n) => {
      const mod = registry[n] as TaskModule;
      return z.strictObject({ ...common, [n]: mod.schema.describe(mod.description) }).describe(`${n}: ${mod.description}`);
    });
  const taskSchema = names.length > 0 ? z.union(variants(taskCommonShape) as unknown as [z.ZodType, ...z.ZodType[]]) : taskCommonSchema;
  const handlerShape = { ...taskCommonShape, ...handlerExtraShape, name: handlerCommonSchema.shape.name };
  const handlerSchema = names.length > 0 ? z.union(variants(handlerShape) as unknown as [z.ZodType, ...z.ZodType[]]) : handlerCommonSchema;
  const play = z
    .strictObject({
      ...playCommonShape,
      tasks: z.array(taskSchema).describe('Tasks, run in order on every host of the play.').optional(),
      handlers: z.array(handlerSchema).describe('Tasks run once at the end of the play when notified.').optional(),
    })
    .describe('A play: which hosts, and what to do on them.');
  return z.array(play).min(1).describe('provision playbook: a list of plays.');
}

/** JSON Schema of playbooks for editors (`# yaml-language-server: $schema=...`); task arguments also take `{{ … }}` templates. */
export function playbookJsonSchema(registry: Readonly<Record<string, TaskModule>>): Record<string, unknown> {
  const generated = z.toJSONSchema(buildPlaybookSchema(registry), { io: 'input', unrepresentable: 'any', target: 'draft-2020-12', reused: 'ref' });
  return { ...acceptTemplates(generated as Record<string, unknown>, Object.keys(registry)), title: 'provision playbook' };
}
