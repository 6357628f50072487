/**
 * `apt_repository` (Ansible's apt_repository module, one-line `.list`
 * sources): `repo` is a sources line (`deb [signed-by=...] URL SUITE
 * COMPONENTS`); state present adds it to /etc/apt/sources.list.d/FILENAME.list
 * unless an enabled line equal to it (spaces aside) is in sources.list or any
 * sources.list.d/*.list; state absent removes it from every one of those files
 * (a file left empty is deleted, as Ansible does). `filename` defaults to
 * Ansible's: the URL's host and path, other characters as `_`
 * (`deb http://apt.kubernetes.io/ kubernetes-xenial main` →
 * apt_kubernetes_io.list). `update_cache` (default true, as Ansible) runs
 * apt-get update after a change. `ppa:` repositories (Ubuntu's Launchpad
 * lookup) and the module's other arguments are refused by name.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { change, defineTask, ok, type Prediction, type Step } from '../contract/task.js';
import { aptSources, type AptSources } from '../facts/apt-sources.js';
import { diffOf, writeFileSteps } from './lib/files.js';
import { updateCacheSteps } from './lib/packages.js';

const SOURCES_D = '/etc/apt/sources.list.d';

const argsSchema = z
  .object({
    repo: z
      .string()
      .regex(/^deb(-src)?\s+\S/, 'a one-line sources entry: deb [options] URL SUITE [COMPONENTS] (ppa: is not supported)')
      .refine((r) => !r.includes('\n'), 'one line')
      .describe('The sources line, e.g. "deb [signed-by=/etc/apt/keyrings/k.asc] https://pkgs.k8s.io/core:/stable:/v1.30/deb/ /"'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the line is in the sources; absent: in none of them'),
    filename: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'a file name without .list or /')
      .optional()
      .describe("Name of the file in /etc/apt/sources.list.d (.list is added); default from the repo's URL, as Ansible"),
    update_cache: z.boolean().default(true).describe('apt-get update after a change (default true, as Ansible)'),
  })
  .strict();

export type AptRepositoryArgs = z.output<typeof argsSchema>;

const normalize = (line: string): string => line.trim().split(/\s+/).join(' ');

/** Ansible's _suggest_filename: the first word after options, protocol and credentials, other characters as `_`. */
export function suggestFilename(repo: string): string {
  const stripped = repo.replace(/\[[^\]]+\]/g, '').replace(/\w+:\/\//g, '');
  const first = stripped.split(/\s+/).filter((p) => p !== '' && p !== 'deb' && p !== 'deb-src')[0] ?? '';
  const host = first.includes('@') ? first.slice(first.indexOf('@') + 1) : first;
  return host.replace(/[^a-zA-Z0-9]/g, ' ').split(/\s+/).filter(Boolean).join('_');
}

const linesOf = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

export const aptRepository = defineTask({
  name: 'apt_repository',
  description: "Add or remove an apt sources line (Ansible's apt_repository), in /etc/apt/sources.list.d/FILENAME.list, then apt-get update",
  example: '- name: Kubernetes packages\n  apt_repository:\n    repo: deb [signed-by=/etc/apt/keyrings/kubernetes.asc] https://pkgs.k8s.io/core:/stable:/v1.30/deb/ /\n    filename: kubernetes',
  schema: argsSchema,
  facts: () => ({ sources: aptSources() }),
  plan(a, facts, ctx) {
    if (ctx.host.packageManager !== 'apt') throw new TaskError(`apt_repository: this host's package manager is ${ctx.host.packageManager}, not apt`);
    const want = normalize(a.repo);
    const sources: AptSources = facts.sources;
    const holding = Object.keys(sources).filter((f) => linesOf(sources[f] as string).some((l) => normalize(l) === want));
    const refresh = a.update_cache ? updateCacheSteps(ctx.host) : [];
    if (a.state === 'present') {
      if (holding.length > 0) return ok(`${a.repo} is in ${holding.join(', ')}`);
      const name = a.filename ?? suggestFilename(a.repo);
      if (name === '') throw new TaskError(`cannot tell a file name from ${JSON.stringify(a.repo)}: give filename`);
      const path = `${SOURCES_D}/${name}.list`;
      const before = sources[path] ?? '';
      const after = `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${a.repo.trim()}\n`;
      return change(`add ${a.repo.trim()} to ${path}`, [...writeFileSteps({ path, content: after, mode: '0644' }), ...refresh], {
        diffs: [diffOf(path, before, after)],
        predictions: [{ request: aptSources(), value: { ...sources, [path]: after } } as Prediction],
      });
    }
    if (holding.length === 0) return ok(`${a.repo} is in no apt sources file`);
    const after: Record<string, string> = { ...sources };
    const steps: Step[] = [];
    for (const path of holding) {
      const kept = linesOf(sources[path] as string).filter((l) => normalize(l) !== want);
      const text = kept.length === 0 ? '' : `${kept.join('\n')}\n`;
      if (text === '' && path !== '/etc/apt/sources.list') {
        steps.push({ command: sh`rm -f -- ${path}` });
        delete after[path];
      } else {
        steps.push(...writeFileSteps({ path, content: text }));
        after[path] = text;
      }
    }
    return change(`remove ${a.repo.trim()} from ${holding.join(', ')}`, [...steps, ...refresh], {
      diffs: holding.map((p) => diffOf(p, sources[p] as string, after[p] ?? '')),
      predictions: [{ request: aptSources(), value: after } as Prediction],
    });
  },
});
