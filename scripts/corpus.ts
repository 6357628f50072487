/**
 * How much real Ansible validates unchanged: `provision validate` (the same
 * planRun, without an inventory) on every playbook under a directory, then
 * how many validate and every refusal's messages, grouped by the feature the
 * refusal names.
 *
 * A playbook is a YAML file whose top level is a list of plays (`hosts:` or
 * `import_playbook:`), outside roles/; a directory with a manifest.json (the
 * measurement corpus' layout) counts as the one playbook its `entry` names
 * (or as nothing when its `kind` is not `playbook`),
 * with Ansible's own `--syntax-check` answer in truth.txt beside it.
 *
 *   npm run corpus -- /work/corpus              # the totals and the refusals by cause
 *   npm run corpus -- /work/corpus --verbose    # also every message of every playbook
 *
 * The corpus stays outside the repository (copied files of other projects).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { errorMessage, formatIssue, ValidationError, type ValidationIssue } from '../src/contract/errors.js';
import { parseYaml } from '../src/schema/yaml.js';
import { planRun, registry } from '../src/api.js';

/** The feature a refusal is about, from its message: the first thing it names. */
function featureOf(message: string): string {
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^unknown task type "[^"]+" \(provision has no task type "([^"]+)"\)/, (m) => `module ${m[1]}`],
    [/^unknown task type "([^"]+)"/, (m) => `module ${m[1]}`],
    [/^([\w.]+) is not supported/, (m) => m[1] as string],
    [/^unknown key "([^"]+)" on (\w+)/, (m) => `${m[2]} keyword ${m[1]}`],
    [/^unknown key "([^"]+)"/, (m) => `keyword ${m[1]}`],
    [/^no handler named/, () => 'notify of a handler the play does not have'],
    [/not found/, () => 'a file the playbook names is missing'],
    [/^undefined variable "([^"]+)"/, (m) => `undefined variable ${m[1]}`],
  ];
  for (const [re, name] of patterns) {
    const m = re.exec(message);
    if (m) return name(m);
  }
  return message.length > 80 ? `${message.slice(0, 77)}...` : message;
}

/** An issue inside a task type's arguments names the task type: `copy argument remote_src`, `user.groups: expected list...`. */
function issueFeature(i: ValidationIssue, modules: ReadonlySet<string>): string {
  // a task type written with its collection is quoted in paths: `tasks[0]["ansible.builtin.copy"]`
  const segments = i.path.replace(/\["[\w.]+\.(\w+)"\]/g, '.$1').split(/[.[\]]+/).filter(Boolean);
  const at = segments.findIndex((s) => modules.has(s));
  const generic = featureOf(i.message);
  if (at < 0) return generic;
  const key = /^unknown key "([^"]+)"/.exec(i.message)?.[1];
  return key !== undefined ? `${segments[at]} argument ${key}` : `${segments.slice(at).join('.')}: ${generic}`;
}

interface Entry {
  name: string;
  playbook: string;
  /** False when Ansible's --syntax-check (truth.txt) refuses it too. */
  ansibleOk: boolean;
}

/** A list of plays: every item has hosts or imports a playbook (a file that does not parse counts when a line says `hosts:`, so its error is reported). */
function isPlaybook(file: string): boolean {
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text, file, { yaml11: 'booleans' }).value;
  } catch {
    return /^[- ]*hosts:/m.test(text);
  }
  const play = (p: unknown): boolean => typeof p === 'object' && p !== null && Object.keys(p).some((k) => k === 'hosts' || k.endsWith('import_playbook'));
  return Array.isArray(doc) && doc.length > 0 && doc.every(play);
}

function entries(root: string, dir = root): Entry[] {
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) {
    const { entry, kind } = JSON.parse(readFileSync(manifest, 'utf8')) as { entry: string; kind?: string };
    if (kind !== undefined && kind !== 'playbook') return [];
    const truth = join(dir, 'truth.txt');
    return [{ name: relative(root, dir), playbook: join(dir, entry), ansibleOk: !existsSync(truth) || /^exit: 0$/m.test(readFileSync(truth, 'utf8')) }];
  }
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => {
      const path = join(dir, d.name);
      if (d.isDirectory()) return d.name === 'roles' || d.name.startsWith('.') ? [] : entries(root, path);
      return /\.ya?ml$/.test(d.name) && isPlaybook(path) ? [{ name: relative(root, path), playbook: path, ansibleOk: true }] : [];
    });
}

function main(): void {
  const [root, flag] = process.argv.slice(2);
  if (!root) {
    console.error('usage: npm run corpus -- DIR [--verbose]');
    process.exit(2);
  }
  const list = entries(root);
  const modules = new Set(Object.keys(registry));
  const causes = new Map<string, { who: Set<string>; messages: Set<string> }>();
  let valid = 0;
  let refusedAlso = 0;
  for (const e of list) {
    let issues: ValidationIssue[] = [];
    try {
      planRun({ playbooks: [e.playbook], env: {} });
    } catch (err) {
      issues = err instanceof ValidationError ? err.issues : [{ path: '', message: `internal error: ${errorMessage(err)}` }];
    }
    const ansible = e.ansibleOk ? '' : ' (Ansible refuses it too)';
    if (!e.ansibleOk) refusedAlso++;
    if (issues.length === 0) {
      valid++;
      console.log(`valid    ${e.name}${ansible}`);
      continue;
    }
    const features = issues.map((i) => issueFeature(i, modules));
    issues.forEach((i, k) => {
      const cause = causes.get(features[k] as string) ?? { who: new Set<string>(), messages: new Set<string>() };
      cause.who.add(e.name);
      cause.messages.add(formatIssue({ ...i, ...(i.location ? { location: { ...i.location, file: relative(root, i.location.file) } } : {}) }));
      causes.set(features[k] as string, cause);
    });
    const distinct = [...new Set(features)];
    console.log(`refused  ${e.name}${ansible}: ${distinct[0]}${distinct.length > 1 ? ` (and ${distinct.slice(1).join(', ')})` : ''}`);
    if (flag === '--verbose') for (const i of issues) console.log(`           ${formatIssue(i)}`);
  }
  const pct = (n: number): string => `${Math.round((n / Math.max(list.length, 1)) * 100)}%`;
  console.log(`\n${valid} of ${list.length} playbooks validate unchanged (${pct(valid)}); ${list.length - valid} refused, each naming what it refuses${refusedAlso > 0 ? `; ${refusedAlso} refused by Ansible's syntax check too` : ''}`);
  console.log('\nrefusals by cause (playbooks, then each message):');
  for (const [cause, { who, messages }] of [...causes].sort((a, b) => b[1].who.size - a[1].who.size || a[0].localeCompare(b[0]))) {
    console.log(`  ${String(who.size).padStart(3)}  ${cause}  (${[...who].join(' ')})`);
    // the list of known task types is the same in every unknown-module message
    for (const m of messages) console.log(`         ${m.replace(/ \(known: [^)]*\)$/, '')}`);
  }
}

main();
