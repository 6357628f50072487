/**
 * Compliance controls (`controls:` on a task): how the loader reads both
 * forms, how a result leaves each control (a control of a named setting is in
 * drift only when the change names that setting), what a run records, and how
 * every report shows them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import { ValidationError } from '../../../src/contract/errors.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { controlResults, controlRows, hostsAt, type TaskResult } from '../../../src/core/results.js';
import { run } from '../../../src/core/runner.js';
import { htmlReport } from '../../../src/reporters/html.js';
import { controlsSection } from '../../../src/reporters/human.js';
import { jsonReport } from '../../../src/reporters/json.js';
import { markdownReport } from '../../../src/reporters/markdown.js';
import { parseJsonReport } from '../../../src/reporters/merge.js';
import { sarifReport } from '../../../src/reporters/sarif.js';
import { makeStyle } from '../../../src/reporters/style.js';
import { registry } from '../../../src/tasks/index.js';
import { result, summary } from '../reporters/_summary.js';

const SSHD = ['CIS 5.1.20', 'dev-sec sshd-06'];
const META = { playbooks: ['playbooks/harden.yaml'], inventory: ['inventory.yaml'] };

/** web3 drifted on PermitRootLogin; web1 is clean; the login.defs task was skipped on web1. */
function audit(): ReturnType<typeof summary> {
  const sshd = (host: string, status: TaskResult['status'], message: string) =>
    result({
      host,
      task: 'sshd hardened',
      module: 'sshd_config',
      location: 'playbooks/harden.yaml:40',
      status,
      message,
      controls: controlResults([...SSHD.map((id) => ({ id, subject: 'PermitRootLogin' })), { id: 'CIS 5.1.16', subject: 'MaxAuthTries' }], { task: 'sshd hardened', status, message }, 'sshd hardened'),
    });
  const defs = (host: string, status: TaskResult['status']) =>
    result({ host, task: 'PASS_MAX_DAYS', module: 'lineinfile', status, controls: controlResults([{ id: 'CIS 5.4.1.1' }], { task: 'PASS_MAX_DAYS', status, message: '' }, 'PASS_MAX_DAYS') });
  return summary(
    [
      sshd('web1', 'ok', 'effective sshd settings already as requested'),
      sshd('web3', 'changed', 'set PermitRootLogin no (effective yes)'),
      defs('web1', 'skipped'),
      defs('web3', 'ok'),
    ],
    { check: true },
  );
}

describe('controls in playbooks', () => {
  const load = (controls: string) => parsePlaybook(`- hosts: all\n  tasks:\n    - name: t\n      command: "true"\n      controls: ${controls}\n`, 'pb.yaml', registry).plays[0]!.tasks[0]!;

  it('a list (or one id) applies to the whole task; a mapping names the setting each control covers', () => {
    expect(load('["CIS 5.4.1.1", "dev-sec os-05"]').controls).toEqual([{ id: 'CIS 5.4.1.1' }, { id: 'dev-sec os-05' }]);
    expect(load('"CIS 5.4.1.1"').controls).toEqual([{ id: 'CIS 5.4.1.1' }]);
    expect(load('{ PermitRootLogin: ["CIS 5.1.20", "dev-sec sshd-06"], MaxAuthTries: "CIS 5.1.16" }').controls).toEqual([
      { id: 'CIS 5.1.20', subject: 'PermitRootLogin' },
      { id: 'dev-sec sshd-06', subject: 'PermitRootLogin' },
      { id: 'CIS 5.1.16', subject: 'MaxAuthTries' },
    ]);
    expect(parsePlaybook('- hosts: all\n  tasks:\n    - command: "true"\n', 'pb.yaml', registry).plays[0]!.tasks[0]!.controls).toEqual([]);
  });

  it('anything else is refused at its line', () => {
    expect(() => load('5')).toThrow(ValidationError);
    expect(() => load('[""]')).toThrow(/pb\.yaml:5:\d+/);
  });
});

describe('how a result leaves its controls', () => {
  it('a change leaves a setting\'s control ok unless it names the setting; other statuses carry over', () => {
    const refs = [{ id: 'CIS 5.1.20', subject: 'PermitRootLogin' }, { id: 'CIS 5.1.16', subject: 'MaxAuthTries' }, { id: 'CIS 5.1.1' }];
    expect(controlResults(refs, { task: 'sshd', status: 'changed', message: 'set MaxAuthTries 3 (effective 6)' }, 'sshd')).toEqual([
      { id: 'CIS 5.1.20', subject: 'PermitRootLogin', status: 'ok' },
      { id: 'CIS 5.1.16', subject: 'MaxAuthTries', status: 'changed' },
      { id: 'CIS 5.1.1', subject: 'sshd', status: 'changed' },
    ]);
    // a whole word: PermitRootLoginX or X.PermitRootLogin is another setting
    expect(controlResults(refs.slice(0, 1), { task: 'sshd', status: 'changed', message: 'set PermitRootLoginX' }, 'sshd')[0]?.status).toBe('ok');
    expect(controlResults(refs, { task: 'sshd', status: 'failed', message: 'exit 1' }, 'sshd').map((c) => c.status)).toEqual(['failed', 'failed', 'failed']);
    // a loop item names its setting by its label; the task's own name does not count
    const defs = [{ id: 'CIS 5.4.1.1', subject: 'PASS_MAX_DAYS' }, { id: 'CIS 5.4.1.2', subject: 'PASS_MIN_DAYS' }];
    expect(controlResults(defs, { task: 'login.defs (PASS_MAX_DAYS)', status: 'changed', message: '/etc/login.defs: replace line 12' }, 'login.defs').map((c) => c.status)).toEqual(['changed', 'ok']);
    expect(controlResults(defs, { task: 'PASS_MAX_DAYS and more', status: 'changed', message: 'x' }, 'PASS_MAX_DAYS and more').map((c) => c.status)).toEqual(['ok', 'ok']);
  });

  it('over a run: the worst status per host, controls not met first', () => {
    const rows = controlRows(audit().results);
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ['CIS 5.1.20', 'changed'],
      ['dev-sec sshd-06', 'changed'],
      ['CIS 5.1.16', 'ok'],
      ['CIS 5.4.1.1', 'ok'],
    ]);
    expect(hostsAt(rows[0]!, 'changed')).toEqual(['web3']);
    expect(hostsAt(rows[3]!, 'skipped')).toEqual(['web1']);
  });

  it('the runner records them on every result of the task, also when the task fails', async () => {
    const root = mkdtempSync(join(tmpdir(), 'provision-controls-'));
    const book = parsePlaybook(
      `- hosts: all\n  tasks:\n    - name: motd\n      copy: { dest: ${root}/motd, content: "hi\\n" }\n      controls: ["CIS 1.6.1"]\n    - name: broken\n      command: "false"\n      controls: { Banner: "CIS 5.1.5" }\n    - name: plain\n      command: "true"\n`,
      join(root, 'pb.yaml'),
      registry,
    );
    const s = await run({ inventory: parseInventory('all:\n  hosts:\n    h1:\n', 'inv.yaml'), playbook: book, registry, check: false, connect: async (spec) => new LocalConnection(spec.name) });
    expect(s.results.map((r) => [r.task, r.controls])).toEqual([
      ['motd', [{ id: 'CIS 1.6.1', subject: 'motd', status: 'changed' }]],
      ['broken', [{ id: 'CIS 5.1.5', subject: 'Banner', status: 'failed' }]],
    ]);
  });
});

describe('controls in the reports', () => {
  it('the end of the run reads as an audit: a line per control not met, with its hosts', () => {
    const lines = controlsSection(audit(), { style: makeStyle(false) });
    expect(lines).toEqual(['CONTROLS  2 met · 2 drift (of 4)', '  CIS 5.1.20 PermitRootLogin: drift on web3', '  dev-sec sshd-06 PermitRootLogin: drift on web3']);
    expect(controlsSection(summary([result({ host: 'a', task: 't', status: 'ok' })]), { style: makeStyle(false) })).toEqual([]);
  });

  it('JSON carries them, and report merge reads them back', () => {
    const text = jsonReport(audit(), META);
    const doc = JSON.parse(text) as { results: { controls?: unknown }[] };
    expect(doc.results[1]?.controls).toEqual([
      { id: 'CIS 5.1.20', subject: 'PermitRootLogin', status: 'changed' },
      { id: 'dev-sec sshd-06', subject: 'PermitRootLogin', status: 'changed' },
      { id: 'CIS 5.1.16', subject: 'MaxAuthTries', status: 'ok' },
    ]);
    expect(parseJsonReport(text).summary.results).toEqual(audit().results);
  });

  it('SARIF: a rule per control not met (id, setting, help naming the task), a result per control and host', () => {
    const doc = JSON.parse(sarifReport(audit(), META)) as {
      runs: { tool: { driver: { rules: { id: string; name: string; help?: { text: string; markdown: string }; properties: { tags: string[] } }[] } }; results: { ruleId: string; message: { text: string }; properties: Record<string, unknown> }[] }[];
    };
    const run0 = doc.runs[0]!;
    expect(run0.tool.driver.rules.map((r) => [r.id, r.name])).toEqual([
      ['CIS 5.1.20', 'PermitRootLogin'],
      ['dev-sec sshd-06', 'PermitRootLogin'],
    ]);
    expect(run0.tool.driver.rules[0]?.help?.text).toBe(
      'CIS 5.1.20 (PermitRootLogin) is enforced by the task "sshd hardened" (sshd_config) at playbooks/harden.yaml:40. Run the playbook without --check to restore it; the message and diff of each result say what differs.',
    );
    expect(run0.tool.driver.rules[0]?.properties.tags).toContain('CIS');
    expect(run0.results.map((r) => r.message.text)).toEqual([
      'CIS 5.1.20 PermitRootLogin: drift on web3: set PermitRootLogin no (effective yes)',
      'dev-sec sshd-06 PermitRootLogin: drift on web3: set PermitRootLogin no (effective yes)',
    ]);
    expect(run0.results[0]?.properties).toMatchObject({ control: 'CIS 5.1.20', subject: 'PermitRootLogin', host: 'web3' });
  });

  it('SARIF: a task that drifted on none of its controls keeps its own rule, whose help lists them', () => {
    const r = result({ host: 'web1', task: 'sshd hardened', module: 'sshd_config', status: 'changed', message: 'write the managed block (effective values already match)' });
    const s = summary([{ ...r, controls: controlResults([{ id: 'CIS 5.1.20', subject: 'PermitRootLogin' }], r, r.task) }], { check: true });
    const rule = (JSON.parse(sarifReport(s, META)) as { runs: { tool: { driver: { rules: { id: string; help: { markdown: string } }[] } } }[] }).runs[0]!.tool.driver.rules[0]!;
    expect(rule.id).toBe('sshd_config/sshd hardened');
    expect(rule.help.markdown).toMatch(/^The task \*\*sshd hardened\*\* \(`sshd_config`\) at `playbooks\/harden\.yaml:12` enforces CIS 5\.1\.20\./);
  });

  it('markdown lists the controls not met with their hosts, and folds the others', () => {
    const md = markdownReport(audit(), META);
    expect(md).toContain('### Controls (2 of 4 not met)');
    expect(md).toContain('| CIS 5.1.20 | PermitRootLogin | ⚠️ drift | web3 |');
    expect(md).toContain('<details><summary>2 other controls</summary>');
    expect(md).toContain('| CIS 5.4.1.1 | PASS\\_MAX\\_DAYS | met |');
  });

  it('HTML: the matrix columns carry their control ids (tooltip, filter), the cells their statuses, the header a count', () => {
    const page = htmlReport(audit(), META);
    expect(page).toContain('controls: CIS 5.1.20, dev-sec sshd-06, CIS 5.1.16');
    expect(page).toContain('2 of 4 controls met</span>');
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(page)![1]!) as { columns: { controls: string[] }[]; results: { controls?: { word: string }[] }[] };
    expect(data.columns.map((c) => c.controls)).toEqual([['CIS 5.1.20', 'dev-sec sshd-06', 'CIS 5.1.16'], ['CIS 5.4.1.1']]);
    expect(data.results[1]?.controls?.map((c) => c.word)).toEqual(['drift', 'drift', 'met']);
  });
});
