/**
 * Human output: a line per host per task as results arrive (hosts run in
 * parallel, so lines interleave by host), diffs under --diff, then a recap
 * table per host and a one-line verdict.
 */
import type { PlayDef } from '../core/playbook.js';
import type { RunEvents, RunSummary, TaskResult } from '../core/results.js';
import { paintDiff, unifiedDiff } from './diff.js';
import { paintStatus, statusWord, type Style } from './style.js';

export interface HumanOptions {
  write: (text: string) => void;
  style: Style;
  check: boolean;
  diff: boolean;
  /** 0 quiet (only failures, drift and the recap), 1 normal, 2 verbose (reasons for ok/skipped, stdout). */
  verbosity: 0 | 1 | 2;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function humanReporter(o: HumanOptions): RunEvents {
  const { style } = o;
  let hostWidth = 8;
  const line = (s: string) => o.write(`${s}\n`);
  return {
    playStart(play: PlayDef, hosts: string[]) {
      hostWidth = Math.max(8, ...hosts.map((h) => h.length));
      if (o.verbosity === 0) return;
      line('');
      line(style.bold(`PLAY ${play.name}`) + style.dim(` · ${hosts.length} host${hosts.length === 1 ? '' : 's'}${o.check ? ' · check mode: nothing is changed' : ''}`));
      if (hosts.length === 0) line(style.dim(`  no hosts matched "${play.hosts}"`));
    },
    taskEnd(r: TaskResult) {
      const interesting = r.status === 'failed' || r.status === 'changed';
      if (o.verbosity === 0 && !interesting) return;
      const word = statusWord(r.status, o.check) + (r.ignored ? ' (ignored)' : '');
      // why something changed, failed or was skipped is always worth a glance; why it is ok, on -v
      const showMessage = r.status !== 'ok' || o.verbosity === 2;
      const msg = showMessage && r.message && r.message !== r.task ? style.dim(` — ${r.message}`) : '';
      const handler = r.handler ? style.dim('handler ') : '';
      line(`  ${paintStatus(style, r.status, pad(word, 8))} ${pad(r.host, hostWidth)}  ${handler}${r.task}${msg}`);
      if (r.status === 'failed') line(style.dim(`           at ${r.location}${r.code ? ` (${r.code})` : ''}`));
      if (o.verbosity === 2 && r.stdout) line(style.dim(r.stdout.split('\n').map((l) => `           | ${l}`).join('\n')));
      if (o.diff) for (const d of r.diffs) line(paintDiff(unifiedDiff(d), style).replace(/^/gm, '      '));
    },
    hostUnreachable(host: string, message: string) {
      line(`  ${paintStatus(style, 'unreachable', pad('unreachable', 8))} ${pad(host, hostWidth)}  ${message}`);
    },
    runEnd(s: RunSummary) {
      line('');
      line(style.bold(s.check ? 'RECAP (check mode)' : 'RECAP'));
      const w = Math.max(4, ...s.hosts.map((h) => h.host.length));
      const changedCol = s.check ? 'drift' : 'changed';
      line(style.dim(`  ${pad('host', w)}  ${pad('ok', 5)} ${pad(changedCol, 8)} ${pad('failed', 7)} ${pad('skipped', 8)} unreachable`));
      for (const h of s.hosts) {
        const cell = (n: number, width: number, paint: (t: string) => string) => (n > 0 ? paint(pad(String(n), width)) : style.dim(pad(String(n), width)));
        line(
          `  ${pad(h.host, w)}  ${cell(h.ok, 5, style.green)} ${cell(h.changed, 8, style.yellow)} ${cell(h.failed, 7, style.red)} ${cell(h.skipped, 8, style.cyan)} ${h.unreachable ? style.magenta('yes') : style.dim('no')}${h.ignored ? style.dim(`  (${h.ignored} failure${h.ignored > 1 ? 's' : ''} ignored)`) : ''}`,
        );
      }
      line('');
      line(verdict(s, style));
    },
  };
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
