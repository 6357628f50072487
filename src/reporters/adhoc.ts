/**
 * Human output of the ad-hoc commands:
 *
 * - `provision exec`: hosts grouped by identical output and exit status, the
 *   biggest group first (`37 hosts · exit 0: …`, `web3, web9 (2 hosts) · exit 1`
 *   with the output below), unreachable hosts grouped by reason, a verdict;
 * - `provision facts`: a table of what playbooks see, one row per host.
 *
 * Every value from a host goes through escapeControls, as in human.ts.
 */
import type { FactFailure, FactsReport, HostFactsReport } from '../core/adhoc.js';
import type { RunSummary } from '../core/results.js';
import type { Style } from './style.js';
import { displayWidth, escapeControls as esc, fitWidth, hostList, padEnd } from './text.js';

interface OutputGroup {
  hosts: string[];
  /** null: killed by a signal; undefined: no exit status (sudo refused, timed out before the command ran, …). */
  rc: number | null | undefined;
  failed: boolean;
  stdout: string;
  stderr: string;
  /** What went wrong when there is no exit status to show. */
  message: string;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The message with its host's own name (as a whole word) replaced by `<host>`. */
function withoutHost(message: string, host: string): string {
  return message.replace(new RegExp(`(?<![\\w.-])${escapeRe(host)}(?![\\w-])`, 'g'), '<host>');
}

/** Reached hosts grouped by identical output and exit status; the biggest group first, then by inventory order. */
export function execGroups(s: RunSummary): OutputGroup[] {
  const groups = new Map<string, OutputGroup>();
  for (const r of s.results) {
    const rc = r.rc;
    const failed = r.status === 'failed';
    // an error before or around the command (sudo refused, timed out) rather than its own exit status
    // errors name their host ("sudo on web1 needs a password"): hosts with the same error group as one, shown as <host>
    const message = failed && r.message !== `exit ${r.rc}` && r.message !== 'killed by a signal' ? withoutHost(r.message, r.host) : '';
    const key = JSON.stringify([rc, failed, r.stdout ?? '', r.stderr ?? '', message]);
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], rc, failed, stdout: r.stdout ?? '', stderr: r.stderr ?? '', message });
  }
  const pos = new Map(s.hosts.map((h, i) => [h.host, i]));
  return [...groups.values()].sort((a, b) => b.hosts.length - a.hosts.length || (pos.get(a.hosts[0]!) ?? 0) - (pos.get(b.hosts[0]!) ?? 0));
}

export interface AdhocTextOptions {
  style: Style;
  /** Terminal width (undefined: a log; nothing is cut, up to 50 names a group). */
  columns?: number;
}

function names(hosts: readonly string[], total: number, o: AdhocTextOptions): string {
  return hostList(hosts, { total, ...(o.columns !== undefined ? { budget: Math.max(20, Math.floor(o.columns / 2)) } : { maxNames: 50 }) });
}

/** What `provision exec` prints when every host is done. */
export function execOutput(s: RunSummary, o: AdhocTextOptions): string[] {
  const { style } = o;
  const total = s.hosts.length;
  const out: string[] = [];
  for (const g of execGroups(s)) {
    const status = g.message ? style.red('failed') : g.rc === 0 ? style.green('exit 0') : g.rc === null ? style.red('killed by a signal') : style.red(`exit ${g.rc ?? '?'}`);
    const head = `${style.bold(names(g.hosts, total, o))} · ${status}`;
    const stdout = g.stdout === '' ? [] : g.stdout.split('\n');
    const stderr = g.stderr === '' ? [] : g.stderr.split('\n');
    if (g.message) out.push(`${head}: ${style.red(esc(g.message))}`);
    else if (stdout.length === 0 && stderr.length === 0) out.push(`${head} · ${style.dim('no output')}`);
    else if (stdout.length === 1 && stderr.length === 0) out.push(`${head}: ${esc(stdout[0]!)}`);
    else {
      out.push(head);
      for (const l of stdout) out.push(`  ${style.dim('|')} ${esc(l)}`);
      for (const l of stderr) out.push(`  ${style.red('!')} ${esc(l)}`);
    }
  }
  const unreachable = new Map<string, string[]>();
  for (const h of s.hosts) {
    if (!h.unreachable) continue;
    const why = withoutHost(h.error ?? 'unreachable', h.host).replace(/^<host>: /, '');
    unreachable.set(why, [...(unreachable.get(why) ?? []), h.host]);
  }
  for (const [error, hosts] of unreachable) out.push(`${style.bold(names(hosts, total, o))} · ${style.magenta('unreachable')}: ${esc(error)}`);
  return out;
}

/**
 * `37 succeeded, 2 failed, 1 unreachable · 40 hosts in 1.2 s · exit 2`;
 * `selected`: how many hosts the pattern selected, to say how many an
 * interrupt left out.
 */
export function execVerdict(s: RunSummary, style: Style, selected?: number): string {
  const notStarted = selected !== undefined ? selected - s.hosts.length : 0;
  const ok = s.results.filter((r) => r.status !== 'failed').length;
  const failed = s.results.filter((r) => r.status === 'failed').length;
  const unreachable = s.hosts.filter((h) => h.unreachable).length;
  const parts = [
    ...(s.interrupted ? [style.red(`interrupted${notStarted > 0 ? ` (${notStarted} host${notStarted === 1 ? '' : 's'} not started)` : ''}`)] : []),
    ...(ok ? [style.green(`${ok} succeeded`)] : []),
    ...(failed ? [style.red(`${failed} failed`)] : []),
    ...(unreachable ? [style.magenta(`${unreachable} unreachable`)] : []),
  ];
  if (parts.length === 0) parts.push('no host selected');
  return `${parts.join(', ')} · ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'} in ${(s.durationMs / 1000).toFixed(1)} s · exit ${s.exitCode}`;
}

const isFailure = (v: unknown): v is FactFailure => typeof v === 'object' && v !== null && 'error' in v && Object.keys(v).length === 1;

/** One row per host; facts that could not be read say so in their cell and, with why, under the table. */
export function factsTable(r: FactsReport, o: AdhocTextOptions): string[] {
  const { style } = o;
  const header = ['HOST', 'OS', 'INIT', 'PKG', 'CONTAINER', 'SSH PORT', 'ROOT LOGIN', 'PASSWORDS', 'FIREWALL', 'LISTENING'];
  const notes: string[] = [];
  const cell = (h: HostFactsReport, what: string, v: unknown, show: () => string): string => {
    if (isFailure(v)) {
      notes.push(`${esc(h.host)}: ${what}: ${esc(v.error)}`);
      return style.red('error');
    }
    return show();
  };
  const rows = r.hosts.map((h): string[] => {
    if (h.unreachable !== undefined) {
      notes.push(`${esc(h.host)}: unreachable: ${esc(h.unreachable)}`);
      return [esc(h.host), style.magenta('unreachable')];
    }
    if (h.error !== undefined) {
      notes.push(`${esc(h.host)}: ${esc(h.error)}`);
      return [esc(h.host), style.red('error')];
    }
    const sshd = h.sshd;
    const ssh = (f: (x: Exclude<typeof sshd, FactFailure | undefined>) => string) =>
      cell(h, 'sshd', sshd, () => (sshd && !isFailure(sshd) ? (sshd.installed ? f(sshd) : style.dim('no sshd')) : ''));
    return [
      esc(h.host),
      esc(h.os ? `${h.os.distribution} ${h.os.version}`.trim() : ''),
      esc(h.init ?? ''),
      esc(h.packageManager ?? ''),
      h.container ? 'yes' : 'no',
      ssh((x) => x.port.join(',')),
      ssh((x) => esc(x.permitRootLogin)),
      ssh((x) => esc(x.passwordAuthentication)),
      cell(h, 'firewall', h.firewall, () => {
        const f = h.firewall;
        if (!f || isFailure(f)) return '';
        return f.available ? esc(`${f.backend}, INPUT ${f.inputPolicy}, ${f.filterRules} rule${f.filterRules === 1 ? '' : 's'}`) : style.dim('no iptables');
      }),
      cell(h, 'listeners', h.listeners, () => {
        const l = h.listeners;
        if (!l || isFailure(l)) return '';
        return esc(l.map((x) => `${x.proto}/${x.port}${x.process ? ` ${x.process}` : ''}`).filter((v, i, a) => a.indexOf(v) === i).join(', ')) || style.dim('none');
      }),
    ];
  });
  const widths = header.map((t, i) => Math.max(t.length, ...rows.filter((row) => row.length === header.length).map((row) => displayWidth(row[i]!))));
  const line = (cells: string[]) => {
    const l = cells.length === header.length ? cells.map((c, i) => (i === cells.length - 1 ? c : padEnd(c, widths[i]!))).join('  ') : cells.join('  ');
    return o.columns !== undefined ? fitWidth(l, Math.max(20, o.columns - 1)) : l;
  };
  const out = [line(header.map((t) => style.dim(t))), ...rows.map(line)];
  if (notes.length) out.push('', ...notes.map((n) => (o.columns !== undefined ? fitWidth(`${style.red('!')} ${n}`, Math.max(20, o.columns - 1)) : `${style.red('!')} ${n}`)));
  return out;
}

/** The live line while an ad-hoc command runs on a terminal: `12/50 hosts done · 38 running · 1.2s`. */
export function adhocProgress(o: { write: (s: string) => void; columns: () => number; now?: () => number; intervalMs?: number }) {
  const now = o.now ?? Date.now;
  let total = 0;
  let done = 0;
  let started = now();
  let shown = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    const line = `${done}/${total} hosts done · ${total - done} running · ${((now() - started) / 1000).toFixed(1)}s`;
    o.write(`\r\x1b[K${fitWidth(line, Math.max(20, o.columns() - 1))}`);
    shown = true;
  };
  return {
    start(hosts: string[]) {
      total = hosts.length;
      started = now();
      if (total === 0) return;
      draw();
      timer = setInterval(draw, o.intervalMs ?? 100);
      timer.unref?.();
    },
    hostDone() {
      done++;
    },
    /** Clear the line (before the output is printed). */
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (shown) o.write('\r\x1b[K');
      shown = false;
    },
  };
}
