/**
 * `selinux` (ansible.posix.selinux): SELinux's mode and policy in its config
 * file and, where that needs no reboot, in the running system.
 *
 * As Ansible's module: `SELINUX=` and `SELINUXTYPE=` are set in `configfile`
 * (every line that sets them; a missing line is appended, where Ansible
 * leaves the file without it), written atomically; a policy other than the
 * configured one must exist (`/etc/selinux/POLICY/policy`). Running enforcing
 * or permissive, a change between the two is made now (`setenforce`);
 * `disabled` takes a reboot (an enforcing host is made permissive meanwhile,
 * as Ansible does); a host running without SELinux needs a reboot to enable
 * it. A reboot needed is said in the summary and registered as
 * `reboot_required: true`; the task never reboots (the `reboot` task does).
 *
 * `update_kernel_param: true` (grubby's selinux= kernel argument) is refused:
 * set the kernel command line yourself.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Diff, type Prediction, type Step } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import { fileAt, type FileInfo } from '../facts/files.js';
import { selinuxMode, type SelinuxMode } from '../facts/selinux.js';
import { aliasedOptional } from './lib/args.js';
import { beforeText, diffOf, predictWrittenFile, writeFileSteps } from './lib/files.js';
import { SBIN_PATH } from './lib/semanage.js';

const path = z.string().regex(/^\//, { message: 'an absolute path' });

const argsSchema = z
  .object({
    state: z.enum(['enforcing', 'permissive', 'disabled']).describe('The SELinux mode'),
    policy: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { message: 'a policy name, e.g. targeted' })
      .optional()
      .describe('The policy (SELINUXTYPE), e.g. targeted; required unless state: disabled'),
    configfile: path.optional().describe('The config file (default /etc/selinux/config; aliases: conf, file)'),
    conf: path.optional().describe('Alias of configfile'),
    file: path.optional().describe('Alias of configfile'),
    update_kernel_param: z.boolean().default(false).describe('Not supported when true: set the selinux= kernel argument yourself'),
  })
  .strict()
  .transform(({ conf, file, ...rest }, ctx) => {
    const configfile = aliasedOptional({ configfile: rest.configfile, conf, file }, ['configfile', 'conf', 'file'], ctx) ?? '/etc/selinux/config';
    if (rest.state !== 'disabled' && rest.policy === undefined) ctx.addIssue({ code: 'custom', path: ['policy'], message: `policy is required unless state: disabled (e.g. policy: targeted)` });
    if (rest.update_kernel_param) ctx.addIssue({ code: 'custom', path: ['update_kernel_param'], message: 'update_kernel_param is not supported: set the selinux= kernel argument yourself (grubby --update-kernel ALL --args selinux=1)' });
    return { state: rest.state, policy: rest.policy, configfile };
  });

export type SelinuxArgs = z.output<typeof argsSchema>;

/** The first value `KEY=` is set to in the config, as Ansible reads it. */
export const configValue = (text: string, key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();

/** The config with every `KEY=` line set to `value`, appended when none. */
export function setConfig(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, 'gm');
  if (re.test(text)) return text.replace(re, `${key}=${value}`);
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${key}=${value}\n`;
}

/** What the running mode does: the setenforce to run now, and whether a reboot is still needed. */
function runtime(running: SelinuxMode, want: SelinuxMode): { setenforce?: 0 | 1; reboot: boolean; note?: string } {
  if (running === want) return { reboot: false };
  if (running === 'disabled') return { reboot: true, note: `reboot required to set SELinux ${want} (it is disabled in the running system)` };
  if (want === 'disabled') {
    const note = 'reboot required to disable SELinux';
    return running === 'enforcing' ? { setenforce: 0, reboot: true, note: `${note} (permissive meanwhile)` } : { reboot: true, note };
  }
  return { setenforce: want === 'enforcing' ? 1 : 0, reboot: false };
}

function configText(file: FileInfo, configfile: string): string {
  if (!file.exists || file.type !== 'file' || file.content === undefined) {
    throw new TaskError(`${configfile} ${file.exists ? 'is not a readable text file' : 'does not exist'}: install the SELinux policy first (selinux-policy-targeted on RHEL, selinux-policy-default on Debian)`);
  }
  return file.content;
}

export const selinux = defineTask({
  name: 'selinux',
  description: 'SELinux mode and policy in /etc/selinux/config, and setenforce where no reboot is needed (ansible.posix.selinux); never reboots',
  example: '- name: SELinux enforcing, targeted policy\n  selinux:\n    policy: targeted\n    state: enforcing',
  schema: argsSchema,
  facts: (a) => ({
    mode: selinuxMode(),
    file: fileAt(a.configfile),
    ...(a.policy !== undefined ? { policyDir: fileAt(`/etc/selinux/${a.policy}/policy`) } : {}),
  }),
  plan(a, facts) {
    const text = configText(facts.file, a.configfile);
    const configState = configValue(text, 'SELINUX');
    const configPolicy = configValue(text, 'SELINUXTYPE');
    const policy = a.policy ?? configPolicy;
    if (policy !== undefined && policy !== configPolicy && !(facts.policyDir?.exists && facts.policyDir.type === 'directory')) {
      throw new TaskError(`policy ${policy} does not exist in /etc/selinux/ (no /etc/selinux/${policy}/policy): install it first`);
    }
    const withState = a.state === configState ? text : setConfig(text, 'SELINUX', a.state);
    const content = policy === undefined || policy === configPolicy ? withState : setConfig(withState, 'SELINUXTYPE', policy);
    const run = runtime(facts.mode, a.state);
    const data = { state: a.state, policy: policy ?? null, configfile: a.configfile, reboot_required: run.reboot };
    const note = run.note !== undefined ? `; ${run.note}` : '';
    if (content === text && run.setenforce === undefined) {
      return ok(`${a.configfile} sets SELINUX=${a.state}${policy !== undefined ? ` SELINUXTYPE=${policy}` : ''}, running ${facts.mode}${note}`, data);
    }
    const steps: Step[] = [];
    const what: string[] = [];
    const diffs: Diff[] = [];
    const predictions: Prediction[] = [];
    if (content !== text) {
      steps.push(...writeFileSteps({ path: a.configfile, content }));
      diffs.push(diffOf(a.configfile, beforeText(facts.file), content));
      predictions.push({ request: fileAt(a.configfile), value: predictWrittenFile(facts.file, { content }) });
      const keys = [...(a.state !== configState ? [`SELINUX=${a.state}`] : []), ...(policy !== configPolicy ? [`SELINUXTYPE=${policy ?? ''}`] : [])];
      what.push(`set ${keys.join(' ')} in ${a.configfile}`);
    }
    if (run.setenforce !== undefined) {
      steps.push({ command: `${SBIN_PATH}; ${sh`setenforce ${run.setenforce}`}` });
      const now: SelinuxMode = run.setenforce === 1 ? 'enforcing' : 'permissive';
      predictions.push({ request: selinuxMode(), value: now });
      what.push(`setenforce ${run.setenforce} (running ${facts.mode}, now ${now})`);
    }
    return change(`${what.join('; ')}${note}`, steps, { diffs, predictions, data });
  },
});
