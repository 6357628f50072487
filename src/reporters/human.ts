/**
 * Human output: a line per host per task as results arrive (hosts run in
 * parallel, so lines interleave by host), diffs under --diff; at the end of
 * every run, every result that is not ok (changed or drift, failed,
 * unreachable) grouped by task where hosts share one, the compliance controls
 * that are not met (when tasks name controls), then a recap table and a
 * one-line verdict.
 *
 * Every value from hosts, variables or playbooks goes through
 * `escapeControls` (text.ts) before it is printed: it cannot forge a line or
 * drive the terminal.
 */
import type { PlayDef } from '../core/playbook.js';
import { controlRows, hostsAt, type HostRecap, type RunEvents, type RunSummary, type TaskResult, type TaskStatus } from '../core/results.js';
import { paintDiff, unifiedDiff } from './diff.js';
import { paintStatus, statusWord, type Style } from './style.js';
import { displayWidth, escapeControls as esc, fitWidth, hostList, padEnd } from './text.js';

export interface HumanOptions {
  write: (text: string) => void;
  style: Style;
  check: boolean;
  diff: boolean;
  /** 0 quiet (only failures and the recap, at the end), 1 normal, 2 verbose (reasons for ok/skipped, stdout). */
  verbosity: 0 | 1 | 2;
  /**
   * Width of the terminal, for the end-of-run list (one screen line per
   * entry) and the recap; undefined when output is not a terminal (a CI log):
   * nothing is cut then.
   */
  columns?: () => number | undefined;
}

/** More hosts than this: recap rows of hosts with identical counts are merged. */
export const RECAP_GROUP_OVER = 10;

/** Host names listed per group when output is not a terminal (the JSON report has every one). */
const MAX_NAMES_IN_LOG = 50;

export function humanReporter(o: HumanOptions): RunEvents {
  const { style } = o;
  let hostWidth = 8;
  const line = (s: string) => o.write(`${s}\n`);
  return {
    playStart(play: PlayDef, hosts: string[]) {
      hostWidth = Math.max(8, ...hosts.map((h) => displayWidth(esc(h))));
      if (o.verbosity === 0) return;
      line('');
      line(style.bold(`PLAY ${esc(play.name)}`) + style.dim(` · ${hosts.length} host${hosts.length === 1 ? '' : 's'}${o.check ? ' · check mode: nothing is changed' : ''}`));
      if (hosts.length === 0) line(style.dim(`  no hosts matched "${esc(play.hosts)}"`));
    },
    taskEnd(r: TaskResult) {
      // quiet: failures are listed at the end, grouped
      if (o.verbosity === 0) return;
      const word = statusWord(r.status, o.check) + (r.ignored ? ' (ignored)' : '');
      // why something changed, failed or was skipped is always worth a glance; why it is ok, on -v; a debug task's message is its point
      const showMessage = r.status !== 'ok' || o.verbosity === 2 || r.module === 'debug';
      const msg = showMessage && r.message && r.message !== r.task ? style.dim(` — ${esc(r.message)}`) : '';
      const handler = r.handler ? style.dim('handler ') : '';
      line(`  ${paintStatus(style, r.status, padEnd(word, 8))} ${padEnd(esc(r.host), hostWidth)}  ${handler}${esc(r.task)}${msg}`);
      if (r.status === 'failed') line(style.dim(`           at ${esc(r.location)}${r.code ? ` (${esc(r.code)})` : ''}`));
      if (o.verbosity === 2 && r.stdout) line(style.dim(r.stdout.split('\n').map((l) => `           | ${esc(l)}`).join('\n')));
      if (o.diff) for (const d of r.diffs) line(paintDiff(escapeLines(unifiedDiff(d)), style).replace(/^/gm, '      '));
    },
    hostUnreachable(host: string, message: string) {
      if (o.verbosity === 0) return;
      line(`  ${paintStatus(style, 'unreachable', padEnd('unreachable', 8))} ${padEnd(esc(host), hostWidth)}  ${esc(message)}`);
    },
    runEnd(s: RunSummary) {
      const columns = o.columns?.();
      const listed = notOkSection(s, { style, quiet: o.verbosity === 0, ...(columns !== undefined ? { columns } : {}) });
      const controls = controlsSection(s, { style, ...(columns !== undefined ? { columns } : {}) });
      for (const block of [listed, controls]) {
        if (block.length === 0) continue;
        line('');
        for (const l of block) line(l);
      }
      line('');
      for (const l of recapTable(s, { style, ...(columns !== undefined ? { columns } : {}) })) line(l);
      line('');
      line(verdict(s, style));
    },
  };
}

/** Escape each line of a multi-line text on its own (the line breaks are ours). */
function escapeLines(text: string): string {
  return text.split('\n').map(esc).join('\n');
}

type Kind = 'changed' | 'failed' | 'unreachable';

interface Group {
  kind: Kind;
  ignored: boolean;
  handler: boolean;
  task: string;
  message: string;
  /** Hosts of this group whose reason differs from `message` (more than MAX_REASONS reasons for one task). */
  otherReasons: number;
  /** The host `message` is from, when there are other reasons. */
  reasonOf?: string;
  /** Failures: `file:line (CODE)` of the task. */
  where: string;
  hosts: string[];
}

/** Distinct reasons of one task listed on lines of their own; more are counted on the task's line. */
const MAX_REASONS = 3;

/**
 * Non-ok results grouped by task: hosts that share task and status are one
 * entry per reason; a task with more than MAX_REASONS reasons (a path with the
 * host's name in it, ...) is one entry showing the first reason and how many
 * others there are.
 */
export function notOkGroups(s: RunSummary, quiet = false): Group[] {
  const tasks = new Map<string, { base: Omit<Group, 'hosts' | 'message' | 'otherReasons' | 'reasonOf'>; reasons: Map<string, string[]> }>();
  const add = (base: Omit<Group, 'hosts' | 'message' | 'otherReasons' | 'reasonOf'>, message: string, host: string) => {
    const key = JSON.stringify([base.kind, base.ignored, base.handler, base.task, base.where]);
    let t = tasks.get(key);
    if (!t) tasks.set(key, (t = { base, reasons: new Map() }));
    const hosts = t.reasons.get(message) ?? [];
    if (!hosts.includes(host)) hosts.push(host);
    t.reasons.set(message, hosts);
  };
  for (const r of s.results) {
    if (r.status !== 'changed' && r.status !== 'failed') continue;
    // a task cut off by a lost connection: the host is listed as unreachable, with why
    if (r.code === 'E_UNREACHABLE') continue;
    if (quiet && (r.status !== 'failed' || r.ignored)) continue;
    const message = r.message && r.message !== r.task ? r.message : '';
    const where = r.status === 'failed' ? `${r.location}${r.code ? ` (${r.code})` : ''}` : '';
    add({ kind: r.status, ignored: r.ignored, handler: r.handler, task: r.task, where }, message, r.host);
  }
  for (const h of s.hosts) {
    if (h.unreachable) add({ kind: 'unreachable', ignored: false, handler: false, task: '', where: '' }, h.error ?? 'unreachable', h.host);
  }
  // hosts in run (inventory) order, not in the order their results arrived
  const pos = new Map(s.hosts.map((h, i) => [h.host, i]));
  const byRun = (a: string, b: string) => (pos.get(a) ?? Infinity) - (pos.get(b) ?? Infinity);
  const groups: Group[] = [];
  for (const { base, reasons } of tasks.values()) {
    const sorted = [...reasons].map(([message, hosts]) => ({ message, hosts: hosts.sort(byRun) })).sort((a, b) => byRun(a.hosts[0]!, b.hosts[0]!));
    if (sorted.length <= MAX_REASONS || base.kind === 'unreachable') {
      for (const { message, hosts } of sorted) groups.push({ ...base, message, otherReasons: 0, hosts });
    } else {
      const first = sorted[0]!;
      const hosts = sorted.flatMap((r) => r.hosts).sort(byRun);
      groups.push({ ...base, message: first.message, reasonOf: first.hosts[0]!, otherReasons: sorted.length - 1, hosts });
    }
  }
  const order: Record<Kind, number> = { changed: 0, failed: 1, unreachable: 2 };
  return groups.sort((a, b) => order[a.kind] - order[b.kind]);
}

/**
 * What was not ok, one line per group: `drift  web1, web2, … (37 hosts)  task — reason`.
 * Failures and hosts that could not be reached come last, nearest the recap.
 * Quiet: failures and unreachable hosts only.
 */
export function notOkSection(s: RunSummary, o: { style: Style; quiet?: boolean; columns?: number }): string[] {
  const { style } = o;
  const groups = notOkGroups(s, o.quiet ?? false);
  if (groups.length === 0) return [];
  const word = (g: Group) => (g.kind === 'unreachable' ? 'unreachable' : statusWord(g.kind, s.check)) + (g.ignored ? ' (ignored)' : '');
  const kinds = [...new Set(groups.map((g) => g.kind))];
  const heading = kinds.map((k) => (k === 'changed' ? (s.check ? 'DRIFT' : 'CHANGED') : k.toUpperCase())).join(' · ');
  const wordWidth = Math.max(...groups.map((g) => word(g).length));
  const budget = o.columns !== undefined ? Math.max(16, Math.floor(o.columns / 3)) : undefined;
  const lines = [style.bold(heading)];
  for (const g of groups) {
    const hosts = hostList(g.hosts, { total: s.hosts.length, ...(budget !== undefined ? { budget } : { maxNames: MAX_NAMES_IN_LOG }) });
    const status = paintStatus(style, g.kind, padEnd(word(g), wordWidth));
    const text =
      g.kind === 'unreachable'
        ? `${hosts}  ${esc(g.message)}`
        : `${hosts}  ${g.handler ? style.dim('handler ') : ''}${esc(g.task)}${g.message ? style.dim(` — ${esc(g.message)}`) : ''}${g.otherReasons ? style.dim(` (on ${esc(g.reasonOf ?? '')}; ${g.otherReasons} other reason${g.otherReasons > 1 ? 's' : ''})`) : ''}${g.where ? style.dim(` · ${esc(g.where)}`) : ''}`;
    const l = `  ${status}  ${text}`;
    // one column short of the terminal: a full-width line wraps on some terminals
    lines.push(o.columns !== undefined ? fitWidth(l, Math.max(20, o.columns - 1)) : l);
  }
  return lines;
}

/**
 * The compliance controls the tasks name (`controls:`), when they name any:
 * how many stand at each status, then a line per control and status that is
 * not met somewhere, e.g. `CIS 5.1.20 PermitRootLogin: drift on web3`.
 */
export function controlsSection(s: RunSummary, o: { style: Style; columns?: number }): string[] {
  const { style } = o;
  const rows = controlRows(s.results);
  if (rows.length === 0) return [];
  const word = (st: TaskStatus) => (st === 'ok' ? 'met' : statusWord(st, s.check));
  const counts = (['ok', 'changed', 'failed', 'skipped'] as const)
    .map((st) => [st, rows.filter((r) => r.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => paintStatus(style, st, `${n} ${word(st)}`));
  const lines = [`${style.bold('CONTROLS')}  ${counts.join(style.dim(' · '))}${style.dim(` (of ${rows.length})`)}`];
  const budget = o.columns !== undefined ? Math.max(16, Math.floor(o.columns / 3)) : undefined;
  for (const row of rows) {
    for (const st of ['failed', 'changed'] as const) {
      const hosts = hostsAt(row, st);
      if (hosts.length === 0) continue;
      const on = hostList(hosts, { total: s.hosts.length, ...(budget !== undefined ? { budget } : { maxNames: MAX_NAMES_IN_LOG }) });
      const l = `  ${esc(row.id)} ${esc(row.subjects.join(', '))}: ${paintStatus(style, st, word(st))} on ${on}`;
      lines.push(o.columns !== undefined ? fitWidth(l, Math.max(20, o.columns - 1)) : l);
    }
  }
  return lines;
}

/** The recap: a row per host; over RECAP_GROUP_OVER hosts, hosts with identical counts share a row. */
export function recapTable(s: RunSummary, o: { style: Style; columns?: number }): string[] {
  const { style } = o;
  const rows: { label: string; h: HostRecap }[] = [];
  const grouped = s.hosts.length > RECAP_GROUP_OVER;
  if (grouped) {
    const byCounts = new Map<string, { hosts: string[]; h: HostRecap }>();
    for (const h of s.hosts) {
      const key = [h.ok, h.changed, h.failed, h.skipped, h.ignored, h.unreachable].join(',');
      const cur = byCounts.get(key);
      if (cur) cur.hosts.push(h.host);
      else byCounts.set(key, { hosts: [h.host], h });
    }
    // a table column: as wide as half the terminal, or 40 columns in a log
    const budget = o.columns !== undefined ? Math.max(16, Math.floor(o.columns / 2)) : 40;
    for (const { hosts, h } of byCounts.values()) rows.push({ label: hostList(hosts, { total: s.hosts.length, budget }), h });
  } else {
    for (const h of s.hosts) rows.push({ label: esc(h.host), h });
  }
  const w = Math.max(5, ...rows.map((r) => displayWidth(r.label)));
  const changedCol = s.check ? 'drift' : 'changed';
  const out = [style.bold(s.check ? 'RECAP (check mode)' : 'RECAP')];
  out.push(style.dim(`  ${padEnd(grouped ? 'hosts' : 'host', w)}  ${padEnd('ok', 5)} ${padEnd(changedCol, 8)} ${padEnd('failed', 7)} ${padEnd('skipped', 8)} unreachable`));
  for (const { label, h } of rows) {
    const cell = (n: number, width: number, paint: (t: string) => string) => (n > 0 ? paint(padEnd(String(n), width)) : style.dim(padEnd(String(n), width)));
    out.push(
      `  ${padEnd(label, w)}  ${cell(h.ok, 5, style.green)} ${cell(h.changed, 8, style.yellow)} ${cell(h.failed, 7, style.red)} ${cell(h.skipped, 8, style.cyan)} ${h.unreachable ? style.magenta('yes') : style.dim('no')}${h.ignored ? style.dim(`  (${h.ignored} failure${h.ignored > 1 ? 's' : ''} ignored)`) : ''}`,
    );
  }
  return out;
}

export function verdict(s: RunSummary, style: Style): string {
  const secs = (s.durationMs / 1000).toFixed(1);
  const failed = s.hosts.filter((h) => h.failed > 0).length;
  const unreachable = s.hosts.filter((h) => h.unreachable).length;
  const drifted = s.hosts.filter((h) => h.changed > 0).length;
  const parts: string[] = [];
  if (s.interrupted) parts.push(style.red('interrupted'));
  if (failed) parts.push(style.red(`${failed} host${failed > 1 ? 's' : ''} failed`));
  if (unreachable) parts.push(style.magenta(`${unreachable} unreachable`));
  if (s.check) parts.push(drifted ? style.yellow(`${drifted} host${drifted > 1 ? 's' : ''} drifted`) : style.green('no drift'));
  else parts.push(drifted ? style.yellow(`${drifted} host${drifted > 1 ? 's' : ''} changed`) : style.green('no host changed'));
  return `${parts.join(', ')} · ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'} in ${secs} s · exit ${s.exitCode}`;
}
