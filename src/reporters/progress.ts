/**
 * Live progress on a terminal: a few lines redrawn in place (at most ~10 times
 * a second) with tasks done/total, result counts, and the task each running
 * host is on (the longest-running first, capped, then "… and N more").
 * Failures and unreachable hosts are printed above the live area as they
 * happen; the PLAY headers and the recap are the human reporter's.
 *
 * Used on a TTY unless --verbose, --diff or --quiet ask for per-line output
 * (see cli/program.ts); the renderer is a pure function of the state.
 */
import type { PlayDef, TaskDef } from '../core/playbook.js';
import type { RunEvents, RunSummary, TaskResult } from '../core/results.js';
import { humanReporter } from './human.js';
import type { Style } from './style.js';
import { displayWidth, escapeControls, fitWidth, padEnd } from './text.js';

export interface RunningHost {
  task: string;
  /** ms timestamp when the current task started. */
  since: number;
  /** 1-based position of the task in the host's play. */
  index: number;
  total: number;
}

export interface ProgressState {
  play: string;
  check: boolean;
  startedAt: number;
  /** Expected tasks over all hosts of the plays started so far (refined as hosts report their task count). */
  total: number;
  done: number;
  counts: { ok: number; changed: number; failed: number; skipped: number; unreachable: number };
  hostsInPlay: number;
  /** Tasks per host in the current play (before tag filtering). */
  playTasks: number;
  /** Hosts that started a task in the current play. */
  started: Set<string>;
  running: Map<string, RunningHost>;
}

export function initialProgress(check: boolean, now: number): ProgressState {
  return { play: '', check, startedAt: now, total: 0, done: 0, counts: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 }, hostsInPlay: 0, playTasks: 0, started: new Set(), running: new Map() };
}

export interface RenderOptions {
  now: number;
  /** Terminal width: lines are cut to it (at a grapheme, never inside a character or an escape sequence). */
  columns: number;
  /** Running hosts listed at most (default 10). */
  maxHosts?: number;
  style: Style;
}

function secs(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** The live area for a state: a status line, then one line per running host (capped). */
export function renderProgress(st: ProgressState, o: RenderOptions): string[] {
  const { style } = o;
  // one column short of the terminal: a full-width line would wrap on some terminals and break the redraw
  const width = Math.max(20, o.columns - 1);
  const maxHosts = o.maxHosts ?? 10;
  const total = Math.max(st.total, st.done);
  const barWidth = Math.min(24, Math.max(8, Math.floor(width / 6)));
  const filled = total ? Math.round((st.done / total) * barWidth) : 0;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
  const c = st.counts;
  const parts = [
    `${c.ok} ok`,
    `${c.changed} ${st.check ? 'drift' : 'changed'}`,
    ...(c.failed ? [`${c.failed} failed`] : []),
    ...(c.skipped ? [`${c.skipped} skipped`] : []),
    ...(c.unreachable ? [`${c.unreachable} unreachable`] : []),
  ];
  const head = `${bar} ${st.done}/${total} tasks · ${parts.join(' · ')} · ${st.running.size} running · ${secs(o.now - st.startedAt)}`;
  const lines = [fitWidth(head, width)];
  const busiest = [...st.running.entries()].sort((a, b) => a[1].since - b[1].since || (a[0] < b[0] ? -1 : 1));
  const shown = busiest.slice(0, maxHosts);
  // names come from the inventory and the playbook: escaped, so they cannot move the cursor or forge lines
  const names = shown.map(([h, r]) => ({ host: escapeControls(h), task: escapeControls(r.task), r }));
  const hostWidth = Math.min(30, Math.max(0, ...names.map((n) => displayWidth(n.host))));
  for (const { host, task, r } of names) {
    const prefix = `  ${padEnd(fitWidth(host, hostWidth), hostWidth)}  `;
    const suffix = `  ${r.index}/${r.total} · ${secs(o.now - r.since)}`;
    const room = width - displayWidth(prefix) - displayWidth(suffix);
    lines.push(room >= 8 ? `${prefix}${fitWidth(task, room)}${suffix}` : fitWidth(`${prefix}${task}`, width));
  }
  if (busiest.length > shown.length) lines.push(`  … and ${busiest.length - shown.length} more host${busiest.length - shown.length === 1 ? '' : 's'} running`);
  // colour after cutting, so widths are right
  return lines.map((l, i) => (i === 0 ? l.replace(/(\d+ failed)/, style.red('$1')).replace(/(\d+ unreachable)/, style.magenta('$1')) : style.dim(l)));
}

/** Apply one event to the state (pure apart from mutating `st`). */
export const progressUpdate = {
  playStart(st: ProgressState, play: PlayDef, hosts: string[]): void {
    st.play = play.name;
    st.hostsInPlay = hosts.length;
    st.playTasks = play.tasks.length;
    st.total += hosts.length * play.tasks.length;
    st.started.clear();
    st.running.clear();
  },
  taskStart(st: ProgressState, host: string, task: TaskDef, index: number, total: number, now: number): void {
    // the runner filters tasks by tags per host: correct the estimate on a host's first task
    if (!st.started.has(host)) st.total += total - st.playTasks;
    st.started.add(host);
    st.running.set(host, { task: task.name, since: now, index: index + 1, total });
  },
  taskEnd(st: ProgressState, r: TaskResult, counted: boolean): void {
    // an ignored failure counts as nothing: the recap shows it apart
    if (!(r.status === 'failed' && r.ignored)) st.counts[r.status]++;
    if (!r.handler && !counted) st.done++;
  },
  hostStopped(st: ProgressState, host: string): void {
    const cur = st.running.get(host);
    // tasks the host will not run (failed or unreachable) leave the total
    if (cur) st.total -= cur.total - cur.index;
    else if (!st.started.has(host)) st.total -= st.playTasks;
    st.started.add(host);
    st.running.delete(host);
  },
};

export interface ProgressOptions {
  write: (text: string) => void;
  style: Style;
  check: boolean;
  columns: () => number;
  /** Redraw period (default 100 ms: at most 10 redraws a second). */
  intervalMs?: number;
  now?: () => number;
  maxHosts?: number;
}

export interface ProgressReporter extends RunEvents {
  /** Draw now if something changed (the timer calls this). */
  flush(): void;
  /** Clear the live area and stop the timer (also done at runEnd). */
  stop(): void;
}

export function progressReporter(o: ProgressOptions): ProgressReporter {
  const now = o.now ?? Date.now;
  const st = initialProgress(o.check, now());
  const human = humanReporter({ write: o.write, style: o.style, check: o.check, diff: false, verbosity: 1, columns: o.columns });
  let drawn = 0; // lines of the live area on screen
  let dirty = true;
  const counted = new Map<string, boolean>();
  let timer: ReturnType<typeof setInterval> | undefined;

  const clear = () => {
    if (drawn > 0) o.write(`\x1b[${drawn}F\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const lines = renderProgress(st, { now: now(), columns: o.columns(), style: o.style, ...(o.maxHosts !== undefined ? { maxHosts: o.maxHosts } : {}) });
    clear();
    o.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
    dirty = false;
  };
  /** Print permanent text above the live area. */
  const above = (fn: () => void) => {
    clear();
    fn();
    dirty = true;
  };
  const start = () => {
    if (timer) return;
    timer = setInterval(() => {
      // the elapsed clocks tick, so redraw even without events
      dirty = true;
      flush();
    }, o.intervalMs ?? 100);
    timer.unref?.();
  };
  const flush = () => {
    if (dirty) draw();
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    clear();
  };

  return {
    flush,
    stop,
    playStart(play, hosts) {
      above(() => human.playStart?.(play, hosts));
      progressUpdate.playStart(st, play, hosts);
      start();
    },
    taskStart(host, task, index, total) {
      progressUpdate.taskStart(st, host, task, index, total, now());
      counted.set(host, false);
      dirty = true;
    },
    taskEnd(r) {
      progressUpdate.taskEnd(st, r, counted.get(r.host) ?? true);
      if (!r.handler) counted.set(r.host, true);
      if (r.status === 'failed' || r.module === 'debug') above(() => human.taskEnd?.(r));
      if (r.status === 'failed' && !r.ignored) progressUpdate.hostStopped(st, r.host);
      dirty = true;
    },
    hostUnreachable(host, message) {
      st.counts.unreachable++;
      progressUpdate.hostStopped(st, host);
      above(() => human.hostUnreachable?.(host, message));
    },
    runEnd(s: RunSummary) {
      stop();
      human.runEnd?.(s);
    },
  };
}

export { displayWidth as visibleWidth };
