/**
 * SARIF 2.1.0 (`--report sarif=FILE`) for code-scanning views (GitHub code
 * scanning, GitLab, IDE viewers): one rule per task (module + name), one result
 * per failure (level error) and per drift in check mode (level warning), placed
 * at the task in the playbook, with the host as logical location. A task that
 * names compliance controls (`controls:`) reports each control it failed or
 * drifted on as a result of that control's own rule (id `CIS 5.1.20`, name the
 * setting, help text saying which task enforces it). An unreachable host is an
 * error result of the rule `provision/unreachable`.
 */
import { VERSION } from '../contract/version.js';
import type { ControlResult, RunSummary, TaskResult } from '../core/results.js';
import { unifiedDiff } from './diff.js';
import type { ReportMeta } from './json.js';
import { baseTaskName, problemOf, splitLocation } from './junit.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

interface Rule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown: string };
  defaultConfiguration: { level: 'error' | 'warning' | 'note' };
  properties: { module: string; tags: string[] };
}

/** A rule's help: the control (or, for a task's own rule, its controls) and the task that enforces it, and how to restore it. */
function helpOf(r: TaskResult, task: string, control?: ControlResult): Rule['help'] {
  const md = (t: string) => t.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`);
  const code = (t: string) => `\`${t.replace(/`/g, '')}\``;
  const fix = 'Run the playbook without --check to restore it; the message and diff of each result say what differs.';
  const lead = control ? `${control.id} (${control.subject}) is enforced by the task` : 'The task';
  const tail = control ? '' : ` enforces ${[...new Set((r.controls ?? []).map((c) => c.id))].join(', ')}`;
  return {
    text: `${lead} "${task}" (${r.module}) at ${r.location}${tail}. ${fix}`,
    markdown: `${md(lead)} **${md(task)}** (${code(r.module)}) at ${code(r.location)}${md(tail)}.\n\n${fix}`,
  };
}

/** A playbook path as a SARIF uri-reference: relative paths stay relative (to the checkout root). */
function uriOf(file: string): string {
  const posix = file.replace(/\\/g, '/');
  return encodeURI(posix).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

function physical(file: string, line: number | undefined) {
  return {
    physicalLocation: {
      artifactLocation: { uri: uriOf(file) },
      ...(line !== undefined && line >= 1 ? { region: { startLine: line } } : {}),
    },
  };
}

export function sarifReport(s: RunSummary, meta: ReportMeta): string {
  const rules: Rule[] = [];
  const ruleIndex = new Map<string, number>();
  const ruleFor = (id: string, make: () => Rule): number => {
    let i = ruleIndex.get(id);
    if (i === undefined) {
      i = rules.length;
      rules.push(make());
      ruleIndex.set(id, i);
    }
    return i;
  };
  const results: unknown[] = [];

  const add = (r: TaskResult, problem: 'failed' | 'drift') => {
    const task = baseTaskName(r);
    const level = problem === 'failed' ? 'error' : 'warning';
    const loc = splitLocation(r.location);
    const diffs = r.diffs.map(unifiedDiff);
    const push = (id: string, index: number, what: string, extra: Record<string, unknown>) =>
      results.push({
        ruleId: id,
        ruleIndex: index,
        level,
        kind: 'fail',
        message: { text: diffs.length ? `${what}\n\n${diffs.join('\n\n')}` : what },
        locations: [{ ...physical(loc.file, loc.line), logicalLocations: [{ name: r.host, fullyQualifiedName: `${r.host}/${r.play}/${task}`, kind: 'resource' }] }],
        partialFingerprints: { 'provisionHostTask/v1': `${r.host}\u0000${id}\u0000${r.task}` },
        properties: {
          host: r.host,
          play: r.play,
          task: r.task,
          status: r.status,
          ...extra,
          ...(r.code ? { code: r.code } : {}),
          ...(r.rc !== undefined && r.rc !== null ? { rc: r.rc } : {}),
          ...(diffs.length ? { diffs: r.diffs.map((d, i) => ({ label: d.label, unified: diffs[i] })) } : {}),
        },
      });
    const word = problem === 'failed' ? 'failed' : 'drift';
    const controls = (r.controls ?? []).filter((c) => c.status === 'changed' || c.status === 'failed');
    for (const c of controls) {
      const index = ruleFor(c.id, () => ({
        id: c.id,
        name: c.subject,
        shortDescription: { text: `${c.id} ${c.subject}` },
        fullDescription: { text: `${c.id} ${c.subject}: enforced by the task "${task}" (${r.module}) at ${r.location}` },
        help: helpOf(r, task, c),
        defaultConfiguration: { level: s.check ? 'warning' : 'error' },
        properties: { module: r.module, tags: ['provision', 'compliance', c.id.split(' ')[0] ?? c.id, r.module] },
      }));
      push(c.id, index, `${c.id} ${c.subject}: ${word} on ${r.host}: ${r.message}`, { control: c.id, subject: c.subject });
    }
    if (controls.length > 0) return;
    const id = `${r.module}/${task}`;
    const index = ruleFor(id, () => ({
      id,
      name: task,
      shortDescription: { text: `${r.module}: ${task}` },
      fullDescription: { text: `Task "${task}" (${r.module}) at ${r.location}` },
      ...(r.controls?.length ? { help: helpOf(r, task) } : {}),
      defaultConfiguration: { level: s.check ? 'warning' : 'error' },
      properties: { module: r.module, tags: ['provision', r.module] },
    }));
    push(id, index, `${word} on ${r.host}: ${r.message}`, {});
  };

  for (const r of s.results) {
    const p = problemOf(r, s.check);
    if (p) add(r, p);
  }
  const playbook = meta.playbooks[0];
  for (const h of s.hosts.filter((x) => x.unreachable)) {
    const index = ruleFor('provision/unreachable', () => ({
      id: 'provision/unreachable',
      name: 'host unreachable',
      shortDescription: { text: 'The host could not be reached or stopped answering' },
      defaultConfiguration: { level: 'error' },
      properties: { module: 'connection', tags: ['provision'] },
    }));
    results.push({
      ruleId: 'provision/unreachable',
      ruleIndex: index,
      level: 'error',
      kind: 'fail',
      message: { text: `${h.host} is unreachable: ${h.error ?? 'no answer'}` },
      locations: [{ ...(playbook ? physical(playbook, 1) : {}), logicalLocations: [{ name: h.host, kind: 'resource' }] }],
      partialFingerprints: { 'provisionHostTask/v1': `${h.host}\u0000provision/unreachable` },
      properties: { host: h.host },
    });
  }

  const doc = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'provision',
            version: VERSION,
            semanticVersion: VERSION,
            rules,
          },
        },
        automationDetails: { id: `provision/${s.check ? 'check' : 'apply'}/${meta.shard ? `shard-${meta.shard.index}-of-${meta.shard.count}/` : ''}` },
        invocations: [
          {
            executionSuccessful: !s.interrupted,
            exitCode: s.exitCode,
            ...(Number.isNaN(Date.parse(s.startedAt)) ? {} : { startTimeUtc: s.startedAt }),
            ...(Number.isNaN(Date.parse(s.startedAt)) ? {} : { endTimeUtc: new Date(Date.parse(s.startedAt) + s.durationMs).toISOString() }),
            properties: { mode: s.check ? 'check' : 'apply', playbooks: meta.playbooks, inventory: meta.inventory, hosts: s.hosts.length },
          },
        ],
        results,
      },
    ],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
