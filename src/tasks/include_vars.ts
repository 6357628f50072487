/**
 * `include_vars`: variables from a YAML file on the control machine, kept by
 * the host for the rest of the run (as set_fact), or under one variable with
 * `name:`. A relative `file` is looked for as Ansible does: in the role's
 * vars/, then vars/ beside the task file and beside the playbook, then in
 * those directories themselves.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { controlled, defineTask } from '../contract/task.js';
import { filesNamed, readVarsFile } from '../core/local-files.js';
import { shortForm } from './lib/args.js';

const argsSchema = z
  .strictObject({
    file: z.string().min(1).describe('The YAML file of variables (relative: vars/ of the role, of the task file, of the playbook)'),
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('Put the variables under this one variable instead'),
  })
  // the file's variables, read by `prepare` on the control machine
  .transform((a) => a as typeof a & { loaded?: { file: string; vars: Record<string, unknown> } });

export const includeVars = defineTask({
  name: 'include_vars',
  description: 'Load variables from a YAML file on the control machine for the rest of the run',
  example: '- name: Variables of this OS family\n  include_vars: "{{ ansible_os_family }}.yml"',
  schema: shortForm('file', argsSchema),
  async prepare(args, ctx) {
    const [file] = filesNamed(args.file, ctx.searchDirs.vars ?? []);
    if (file === undefined) throw new TaskError(`include_vars: ${args.file} not found (looked in ${(ctx.searchDirs.vars ?? []).join(', ')})`);
    return { ...args, loaded: { file, vars: readVarsFile(file) } };
  },
  facts: () => ({}),
  plan(args) {
    const { file, vars } = args.loaded ?? { file: args.file, vars: {} };
    const facts = args.name !== undefined ? { [args.name]: vars } : vars;
    return controlled(`loaded ${file}`, { facts }, { ansible_facts: facts, ansible_included_var_files: [file] });
  },
});
