/**
 * Playbook schema: a list of plays; a play has `hosts` and a list of tasks; a
 * task is the common keys (name, when, notify, ...) plus exactly ONE task type
 * key whose value is validated by that task module's zod schema.
 *
 * The loader (core/playbook.ts) validates the common keys and the task arguments
 * separately for precise errors; `buildPlaybookSchema` assembles the same rules
 * into one union (one variant per task type) for JSON Schema / editor completion.
 */
import { z } from 'zod';
import type { TaskModule } from '../contract/task.js';

export const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const identifier = z.string().regex(IDENTIFIER_RE, 'must be an identifier (letters, digits and _, not starting with a digit)');

/** `when`, `changed_when`, `failed_when`: an expression, a boolean, or a list of expressions (all must hold). */
export const conditionSchema = z.union([z.string().min(1), z.boolean(), z.array(z.string().min(1)).min(1)]);
export type Condition = z.output<typeof conditionSchema>;

const stringList = z.union([z.string().min(1), z.array(z.string().min(1))]);

export const taskCommonShape = {
  name: z.string().min(1).describe('What the task does, shown in the output.').optional(),
  when: conditionSchema.describe('Run only when this expression is true (a list: all must be true).').optional(),
  notify: stringList.describe('Handler name(s) (or `listen` topics) to run at the end of the play when this task changed something.').optional(),
  tags: stringList.describe('Tags for --tags / --skip-tags (a string may list several, comma-separated).').optional(),
  loop: z
    .union([z.array(z.unknown()), z.string()])
    .describe('Run the task once per item: a list, or a template string that renders to a list, e.g. "{{ users }}".')
    .optional(),
  loop_var: identifier.describe('Name of the loop variable (default `item`).').optional(),
  loop_control: z
    .strictObject({
      loop_var: identifier.optional().describe('Name of the loop variable (default `item`).'),
      label: z.string().optional().describe('What to show for each item instead of the whole item.'),
    })
    .describe('Ansible-style loop settings.')
    .optional(),
  register: identifier.describe('Save the task result in this variable for later `when:` expressions.').optional(),
  ignore_errors: z.boolean().describe('A failure of this task does not stop the host.').optional(),
  become: z.boolean().describe('Run this task through sudo (overrides the play).').optional(),
  become_user: z.string().min(1).describe('User to become for this task.').optional(),
  check_mode: z
    .boolean()
    .describe('`false`: run even in check mode (for read-only probes). `true`: always run in check mode.')
    .optional(),
  changed_when: conditionSchema.describe('Override "changed": expression over the result (e.g. with `register`).').optional(),
  failed_when: conditionSchema.describe('Override "failed": expression over the result.').optional(),
  timeout: z.number().positive().max(604800).describe('Timeout of each command of this task, in seconds.').optional(),
  no_log: z.boolean().describe('Do not show arguments, diffs or output of this task (secrets).').optional(),
  controls: z
    .union([stringList, z.record(z.string().min(1), stringList)])
    .describe(
      'Compliance controls the task enforces, shown in every report with their status per host: a list (["CIS 5.4.1.1", "dev-sec os-05"]), or per setting the task manages ({ PermitRootLogin: ["CIS 5.1.20", "dev-sec sshd-06"] }: such a control is in drift only when the change names its setting).',
    )
    .optional(),
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

const serialItem = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9][0-9]?)(\.[0-9]+)?%$/, 'must be a percentage like "30%" (1% to 100%)'),
]);

export const playCommonShape = {
  name: z.string().min(1).describe('Play name (default: the hosts pattern).').optional(),
  hosts: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('Host pattern: all, a group, a host, globs, `a:b` union, `a:&b` intersection, `a:!b` exclusion.'),
  vars: z.record(z.string(), z.unknown()).describe('Play variables (override inventory variables).').optional(),
  become: z.boolean().describe('Run tasks through sudo (default false).').optional(),
  become_user: z.string().min(1).describe('User to become (default root).').optional(),
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

export const PLAY_KEYS: readonly string[] = [...Object.keys(playCommonShape), 'tasks', 'handlers'];

/** Play keys, with tasks and handlers checked one by one by the loader. */
export const playLoadSchema = z.strictObject({
  ...playCommonShape,
  tasks: z.array(z.unknown()).optional(),
  handlers: z.array(z.unknown()).optional(),
});

/** Keys that exist in Ansible but not here: a clear message instead of "unknown key". */
export const UNSUPPORTED_PLAY_KEYS: Readonly<Record<string, string>> = {
  roles: 'roles are not supported; put the tasks in the play',
  pre_tasks: 'pre_tasks are not supported; use tasks',
  post_tasks: 'post_tasks are not supported; use tasks',
  vars_files: 'vars_files is not supported; use vars or inventory variables',
  import_playbook: 'import_playbook is not supported; pass several playbooks on the command line',
  include: 'include is not supported',
  strategy: 'strategy is not supported (hosts run in parallel, tasks in order)',
  gather_subset: 'gather_subset is not supported (facts are gathered in one round trip)',
};
export const UNSUPPORTED_TASK_KEYS: Readonly<Record<string, string>> = {
  block: 'block is not supported; use when: on each task',
  rescue: 'rescue is not supported; use ignore_errors with register',
  always: 'always is not supported',
  include_tasks: 'include_tasks is not supported',
  import_tasks: 'import_tasks is not supported',
  include_role: 'include_role is not supported',
  import_role: 'import_role is not supported',
  with_items: 'with_items is not supported; use loop',
  with_list: 'with_list is not supported; use loop',
  with_dict: 'with_dict is not supported; use loop with "{{ d | dict2items }}"',
  delegate_to: 'delegate_to is not supported',
  run_once: 'run_once is not supported',
  local_action: 'local_action is not supported',
  async: 'async is not supported; use timeout',
  environment: 'environment is not supported',
  vars: 'task-level vars are not supported; use play vars',
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

/** JSON Schema of playbooks for editors (`# yaml-language-server: $schema=...`). */
export function playbookJsonSchema(registry: Readonly<Record<string, TaskModule>>): Record<string, unknown> {
  return {
    ...z.toJSONSchema(buildPlaybookSchema(registry), { io: 'input', unrepresentable: 'any', target: 'draft-2020-12', reused: 'ref' }),
    title: 'provision playbook',
  };
}
