/**
 * Markdown (`--report markdown=FILE`) for CI job summaries (GitHub
 * `$GITHUB_STEP_SUMMARY`, GitLab MR notes): the verdict, a row per host, the
 * compliance controls the tasks name (those not met first, with their hosts),
 * then drift and failures with their diffs folded in <details>. GitHub renders
 * HTML inside Markdown, so every value is HTML-escaped as well.
 */
import { controlRows, hostsAt, type ControlRow, type RunSummary, type TaskResult, type TaskStatus } from '../core/results.js';
import { unifiedDiff } from './diff.js';
import { verdict } from './human.js';
import type { ReportMeta } from './json.js';
import { problemOf } from './junit.js';
import { makeStyle } from './style.js';
import { hostList } from './text.js';

/** GitHub refuses job summaries over 1 MiB; diffs are cut well before that. */
const DIFF_BUDGET = 512 * 1024;
/** Above this many hosts the per-host table lists hosts with something to say; clean ones are folded. */
const FOLD_CLEAN_HOSTS_OVER = 20;

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A table cell: escaped, pipes and line breaks neutralised, inline-code-safe characters kept. */
function cell(s: string): string {
  return html(s).replace(/[\\`*_[\]]/g, (c) => `\\${c}`).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A fenced block that no line of the content can close. */
function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}

/** The compliance controls the tasks name: those not met on some host first, with the hosts; the others folded. */
function controlsTable(s: RunSummary): string[] {
  const rows = controlRows(s.results);
  if (rows.length === 0) return [];
  const word = (st: TaskStatus) => (st === 'ok' ? 'met' : st === 'changed' ? (s.check ? '⚠️ drift' : 'changed') : st === 'failed' ? '❌ failed' : 'skipped');
  const line = (r: ControlRow, hosts: boolean) => {
    const where = (['failed', 'changed'] as const).map((st) => hostsAt(r, st)).filter((h) => h.length).map((h) => hostList(h, { total: s.hosts.length, maxNames: 20 }));
    return `| ${cell(r.id)} | ${cell(r.subjects.join(', '))} | ${word(r.status)} |${hosts ? ` ${cell(where.join('; '))} |` : ''}`;
  };
  const notMet = rows.filter((r) => r.status === 'changed' || r.status === 'failed');
  const rest = rows.filter((r) => !notMet.includes(r));
  const out = [`### Controls (${notMet.length ? `${notMet.length} of ${rows.length} not met` : `all ${rows.length} met or skipped`})`, ''];
  if (notMet.length) out.push('| control | covers | status | hosts |', '| --- | --- | --- | --- |', ...notMet.map((r) => line(r, true)), '');
  if (rest.length) {
    const head = ['| control | covers | status |', '| --- | --- | --- |'];
    const table = [...head, ...rest.map((r) => line(r, false))];
    out.push(...(notMet.length ? [`<details><summary>${rest.length} other control${rest.length === 1 ? '' : 's'}</summary>`, '', ...table, '', '</details>'] : table), '');
  }
  return out;
}

export function markdownReport(s: RunSummary, meta: ReportMeta): string {
  const out: string[] = [];
  const changedWord = s.check ? 'drift' : 'changed';
  const icon = s.exitCode === 0 ? '✅' : s.exitCode === 3 ? '⚠️' : '❌';
  out.push(`## ${icon} provision ${s.check ? 'check (audit)' : 'apply'}${meta.shard ? ` · shard ${meta.shard.index}/${meta.shard.count}` : ''}`);
  out.push('');
  out.push(`**${cell(verdict(s, makeStyle(false)))}**`);
  out.push('');
  if (meta.playbooks.length) out.push(`Playbooks: ${meta.playbooks.map((p) => `\`${p.replace(/`/g, '')}\``).join(', ')}`);
  out.push('');

  const row = (h: RunSummary['hosts'][number]) =>
    `| ${cell(h.host)} | ${h.ok} | ${h.changed} | ${h.failed}${h.ignored ? ` (+${h.ignored} ignored)` : ''} | ${h.skipped} | ${h.unreachable ? `**yes** — ${cell(h.error ?? '')}` : 'no'} |`;
  const head = [`| host | ok | ${changedWord} | failed | skipped | unreachable |`, '| --- | ---: | ---: | ---: | ---: | --- |'];
  const noisy = s.hosts.filter((h) => h.failed > 0 || h.unreachable || h.changed > 0);
  const clean = s.hosts.filter((h) => !noisy.includes(h));
  out.push('### Hosts');
  out.push('');
  if (s.hosts.length === 0) out.push('_No host was selected._');
  else if (s.hosts.length <= FOLD_CLEAN_HOSTS_OVER) out.push(...head, ...s.hosts.map(row));
  else {
    if (noisy.length) out.push(...head, ...noisy.map(row));
    else out.push(`All ${s.hosts.length} hosts are clean.`);
    if (clean.length) {
      out.push('', `<details><summary>${clean.length} host${clean.length === 1 ? '' : 's'} with nothing to report</summary>`, '', ...head, ...clean.map(row), '', '</details>');
    }
  }
  out.push('');

  out.push(...controlsTable(s));

  const drift = s.results.filter((r) => problemOf(r, s.check) === 'drift' || (!s.check && r.status === 'changed'));
  const failures = s.results.filter((r) => problemOf(r, s.check) === 'failed');
  let budget = DIFF_BUDGET;
  const diffBlock = (r: TaskResult): string[] => {
    if (!r.diffs.length) return [];
    const text = r.diffs.map(unifiedDiff).join('\n');
    if (text.length > budget) {
      budget = 0;
      return ['', '<details><summary>diff</summary>', '', '_diff left out: the summary is at its size limit; see the JSON or HTML report_', '', '</details>'];
    }
    budget -= text.length;
    return ['', `<details><summary>diff: ${html(r.diffs.map((d) => d.label).join(', '))}</summary>`, '', fence(text, 'diff'), '', '</details>'];
  };

  if (drift.length) {
    out.push(s.check ? `### Drift (${drift.length})` : `### Changes (${drift.length})`);
    out.push('');
    out.push('| host | task | what | where |', '| --- | --- | --- | --- |');
    for (const r of drift) out.push(`| ${cell(r.host)} | ${cell(r.task)} | ${cell(r.message)} | ${cell(r.location)} |`);
    out.push('');
    const withDiffs = drift.filter((r) => r.diffs.length);
    for (const r of withDiffs) {
      const block = diffBlock(r);
      if (!block.length) continue;
      out.push(`**${cell(r.host)}** · ${cell(r.task)}`, ...block, '');
    }
  }
  if (failures.length) {
    out.push(`### Failures (${failures.length})`);
    out.push('');
    out.push('| host | task | error | where |', '| --- | --- | --- | --- |');
    for (const r of failures) out.push(`| ${cell(r.host)} | ${cell(r.task)} | ${cell(r.message)}${r.code ? ` (\`${r.code.replace(/`/g, '')}\`)` : ''} | ${cell(r.location)} |`);
    out.push('');
    for (const r of failures.filter((x) => x.stderr || x.diffs.length)) {
      out.push(`<details><summary>${html(r.host)} · ${html(r.task)}: output</summary>`, '');
      if (r.stderr) out.push(fence(r.stderr));
      out.push(...diffBlock(r), '', '</details>', '');
    }
  }
  const unreachable = s.hosts.filter((h) => h.unreachable);
  if (unreachable.length) {
    out.push(`### Unreachable (${unreachable.length})`, '', '| host | error |', '| --- | --- |');
    for (const h of unreachable) out.push(`| ${cell(h.host)} | ${cell(h.error ?? '')} |`);
    out.push('');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
