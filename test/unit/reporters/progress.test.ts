import { describe, expect, it } from 'vitest';
import type { PlayDef, TaskDef } from '../../../src/core/playbook.js';
import { initialProgress, progressReporter, progressUpdate, renderProgress, visibleWidth } from '../../../src/reporters/progress.js';
import { makeStyle } from '../../../src/reporters/style.js';
import { result, summary } from './_summary.js';

const plain = makeStyle(false);
const task = (name: string) => ({ name }) as TaskDef;
const play = (name: string, n: number) => ({ name, tasks: Array.from({ length: n }, (_, i) => task(`t${i}`)), hosts: 'all' }) as unknown as PlayDef;

describe('progress renderer (state → lines)', () => {
  it('status line and one line per running host, longest-running first', () => {
    const st = initialProgress(true, 0);
    progressUpdate.playStart(st, play('harden', 4), ['web1', 'web2', 'db1']);
    progressUpdate.taskStart(st, 'web1', task('sshd hardening'), 1, 4, 1000);
    progressUpdate.taskStart(st, 'db1', task('packages'), 0, 4, 500);
    st.done = 5;
    st.counts.ok = 3;
    st.counts.changed = 2;
    expect(renderProgress(st, { now: 2500, columns: 100, style: plain })).toEqual([
      '[#######.........] 5/12 tasks · 3 ok · 2 drift · 2 running · 2.5s',
      '  db1   packages  1/4 · 2.0s',
      '  web1  sshd hardening  2/4 · 1.5s',
    ]);
  });

  it('caps the host lines and says how many more run; never wider than the terminal', () => {
    const st = initialProgress(false, 0);
    const hosts = Array.from({ length: 40 }, (_, i) => `host-${String(i).padStart(2, '0')}.a-very-long-domain-name.example.com`);
    progressUpdate.playStart(st, play('p', 3), hosts);
    hosts.forEach((h, i) => progressUpdate.taskStart(st, h, task(`a task with a rather long name number ${i} that goes on`), 0, 3, i));
    const lines = renderProgress(st, { now: 65_000, columns: 60, style: plain, maxHosts: 10 });
    expect(lines).toHaveLength(12);
    expect(lines[11]).toBe('  … and 30 more hosts running');
    expect(lines[0]).toBe('[.........] 0/120 tasks · 0 ok · 0 changed · 40 running · …');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(59);
    expect(lines[1]).toBe('  host-00.a-very-long-domain-na…  a task with…  1/3 · 1m05s');
  });

  it('host and task names are escaped and cut by terminal columns, never inside a character', () => {
    const st = initialProgress(false, 0);
    progressUpdate.playStart(st, play('p', 2), ['web1', 'evil\nhost']);
    progressUpdate.taskStart(st, 'web1', task('日本語のタスク名と絵文字 🎉🎉🎉🎉🎉🎉 and more words after it'), 0, 2, 0);
    progressUpdate.taskStart(st, 'evil\nhost', task('clear \x1b[2J\x1b[H the screen \u202e'), 0, 2, 0);
    const lines = renderProgress(st, { now: 1000, columns: 40, style: plain });
    for (const l of lines) {
      expect(visibleWidth(l)).toBeLessThanOrEqual(39);
      expect(l).not.toMatch(/[\x00-\x1f\u202e\ufffd]/);
    }
    expect(lines[1]).toBe('  evil\\nhost  clear \\e[2J\\…  1/2 · 1.0s');
    expect(lines[2]).toBe('  web1        日本語のタス…  1/2 · 1.0s');
  });

  it('colours failures without breaking widths', () => {
    const st = initialProgress(false, 0);
    st.counts.failed = 2;
    st.counts.unreachable = 1;
    const [line] = renderProgress(st, { now: 0, columns: 80, style: makeStyle(true) });
    expect(line).toContain('\x1b[31m2 failed\x1b[39m');
    expect(visibleWidth(line!)).toBeLessThanOrEqual(79);
  });

  it('tag-filtered task counts, failed and unreachable hosts correct the total', () => {
    const st = initialProgress(true, 0);
    progressUpdate.playStart(st, play('p', 5), ['a', 'b', 'c']);
    expect(st.total).toBe(15);
    progressUpdate.taskStart(st, 'a', task('t0'), 0, 2, 0); // tags leave 2 of 5
    expect(st.total).toBe(12);
    progressUpdate.taskStart(st, 'b', task('t0'), 0, 5, 0);
    progressUpdate.hostStopped(st, 'b'); // failed at 1/5: 4 never run
    expect(st.total).toBe(8);
    progressUpdate.hostStopped(st, 'c'); // unreachable before its first task
    expect(st.total).toBe(3);
    expect(st.running.size).toBe(1);
  });
});

describe('progress reporter (live area)', () => {
  function harness() {
    let out = '';
    let now = 0;
    const r = progressReporter({ write: (s) => (out += s), style: plain, check: true, columns: () => 80, now: () => now, intervalMs: 60_000 });
    return { r, out: () => out, tick: (ms: number) => (now += ms), reset: () => (out = '') };
  }

  it('redraws in place, prints failures above the live area, ends with the recap', () => {
    const h = harness();
    h.r.playStart!(play('harden', 2), ['web1', 'web2']);
    h.r.taskStart!('web1', task('motd'), 0, 2);
    h.r.taskStart!('web2', task('motd'), 0, 2);
    h.r.flush();
    expect(h.out()).toContain('PLAY harden');
    expect(h.out()).toContain('0/4 tasks');
    h.reset();
    h.r.taskEnd!(result({ host: 'web1', task: 'motd', status: 'changed' }));
    h.r.flush();
    // moved up over the 3 drawn lines, cleared, drew again
    expect(h.out().startsWith('\x1b[3F\x1b[0J')).toBe(true);
    expect(h.out()).toContain('1/4 tasks · 0 ok · 1 drift');
    h.reset();
    h.r.taskEnd!(result({ host: 'web2', task: 'motd', status: 'failed', message: 'boom' }));
    const printed = h.out();
    expect(printed).toMatch(/^\x1b\[3F\x1b\[0J  failed +web2 +motd — boom\n/);
    h.r.flush();
    expect(h.out()).toContain('2/3 tasks');
    h.reset();
    h.r.hostUnreachable!('db9', 'refused');
    expect(h.out()).toContain('unreachable db9');
    h.reset();
    h.r.runEnd!(summary([result({ host: 'web1', task: 'motd', status: 'changed' })], { check: true }));
    expect(h.out()).toContain('RECAP (check mode)');
    expect(h.out()).toMatch(/exit 3\n$/);
  });

  it('nothing is redrawn when nothing changed', () => {
    const h = harness();
    h.r.playStart!(play('p', 1), ['a']);
    h.r.flush();
    h.reset();
    h.r.flush();
    expect(h.out()).toBe('');
    h.r.stop();
  });
});
