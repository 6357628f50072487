/**
 * `template`: a Jinja2 file on the control machine, rendered with the task's
 * variables, written to the host as `copy` writes a file (compared by sha256,
 * diff of the rendered text, atomic write, backup, validate, mode/owner/group).
 *
 * As Ansible's template module (ansible-core 2.14):
 * - a relative `src` is looked for in `templates/` beside the playbook, then
 *   beside it (`ctx.searchDirs.templates`);
 * - rendered by the project's engine with Ansible's semantics for template
 *   files: `trim_blocks` on, backslashes not doubled, the result is text,
 *   trailing newlines kept;
 * - the template sees the task's variables plus `ansible_managed` ("Ansible
 *   managed", Ansible's default), `template_path`, `template_fullpath`,
 *   `template_destpath`, `template_host` and `template_uid`
 *   (`template_mtime` and `template_run_date` are Python datetimes: using
 *   one fails, naming it).
 * Jinja2 options other than Ansible's defaults (`trim_blocks: false`,
 * `lstrip_blocks: true`, another `newline_sequence` or `output_encoding`,
 * custom delimiters) are refused at validation.
 */
import { stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { defineTask } from '../contract/task.js';
import { renderText } from '../core/template.js';
import { fileAt } from '../facts/files.js';
import { destPath, localMode, planContent, writeFields } from './copy.js';
import { readLocalText } from './lib/local.js';

/** An argument accepted only with Ansible's default value (anything else would render differently). */
const onlyDefault = <T extends string | boolean>(value: T, why: string) =>
  z
    .literal(value, { error: `not supported: only ${JSON.stringify(value)}, Ansible's default (${why})` })
    .optional()
    .describe(`Only ${JSON.stringify(value)}, Ansible's default: ${why}`);

const argsSchema = z
  .object({
    src: z
      .string()
      .min(1)
      .describe('Jinja2 template on the control machine (UTF-8); a relative path is looked for in templates/ beside the playbook, then beside the playbook'),
    dest: z.string().min(1).describe('Absolute path of the file on the host (ending in /: into that directory, named like src)'),
    force: z.boolean().default(true).describe('false: only create the file when it does not exist'),
    ...writeFields,
    trim_blocks: onlyDefault(true, 'the newline after a block tag is removed'),
    lstrip_blocks: onlyDefault(false, 'spaces before a block tag are kept'),
    newline_sequence: onlyDefault('\n', 'lines end in \\n'),
    output_encoding: z
      .string()
      .regex(/^utf-?8$/i, "not supported: only utf-8, Ansible's default")
      .optional()
      .describe("Only utf-8, Ansible's default"),
    follow: onlyDefault(false, 'a symbolic link at dest is not followed'),
  })
  .strict()
  // the rendered text, set by prepare()
  .transform((a) => ({ ...a, rendered: undefined as string | undefined }));

export type TemplateArgs = z.output<typeof argsSchema>;

/** The Ansible template variables about the template itself (generate_ansible_template_vars). */
async function templateVars(src: string, fullpath: string, dest: string): Promise<Record<string, unknown>> {
  const uid = (await stat(fullpath)).uid;
  const me = userInfo();
  return {
    ansible_managed: 'Ansible managed',
    template_host: hostname(),
    template_path: src,
    template_fullpath: fullpath,
    template_destpath: dest,
    template_uid: uid === me.uid ? me.username : String(uid),
  };
}

export const template = defineTask({
  name: 'template',
  description: 'Render a Jinja2 template from the control machine into a file on the host, atomically, with diff, backup and validation',
  example:
    '- name: nginx site\n  template:\n    src: site.conf.j2            # templates/site.conf.j2 beside the playbook\n    dest: /etc/nginx/sites-available/default\n    owner: root\n    mode: "0644"\n    validate: nginx -t -c %s\n  notify: reload nginx',
  schema: argsSchema,
  async prepare(a, ctx) {
    const local = await readLocalText(a.src, ctx.searchDirs.templates);
    const vars = { ...ctx.vars, ...(await templateVars(a.src, local.path, destPath(a))) };
    return { ...a, rendered: renderText(local.content, vars, a.src), mode: localMode(a.mode, local.mode) };
  },
  facts: (a) => ({ dest: fileAt(destPath(a)) }),
  plan(a, facts) {
    if (a.rendered === undefined) throw new TaskError(`template: ${a.src} was not rendered (prepare() not run)`);
    return planContent(destPath(a), a.rendered, a, facts.dest);
  },
});
