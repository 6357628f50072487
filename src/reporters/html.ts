/**
 * HTML (`--report html=FILE`): one self-contained page (inline CSS and JS, a
 * CSP that forbids any network access) with a hosts × tasks matrix coloured by
 * status, filters by host, task (its name, type or compliance control ids) and
 * status, how many of the tasks' controls are met, and each cell's details
 * (message, location, diffs, controls) in a side panel. Every string is untrusted (task names,
 * messages, diffs): markup is escaped, and the details travel as JSON that the
 * page only ever puts into the DOM as text.
 */
import { controlRows, type RunSummary, type TaskResult, type TaskStatus } from '../core/results.js';
import { unifiedDiff } from './diff.js';
import { verdict } from './human.js';
import type { ReportMeta } from './json.js';
import { baseTaskName } from './junit.js';
import { makeStyle } from './style.js';

export type CellStatus = 'failed' | 'drift' | 'changed' | 'ignored' | 'ok' | 'skipped' | 'unreachable' | 'none';

/** Worst first: the colour of a cell holding several results (loop items). */
const RANK: Record<CellStatus, number> = { failed: 0, unreachable: 1, drift: 2, changed: 3, ignored: 4, ok: 5, skipped: 6, none: 7 };
const GLYPH: Record<CellStatus, string> = { failed: '✕', unreachable: '!', drift: '~', changed: '±', ignored: '✕', ok: '', skipped: '–', none: '' };

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON that can sit inside <script> without ending it or opening a comment. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A control's status as the page says it. */
const controlWord = (st: TaskStatus, check: boolean): string => (st === 'ok' ? 'met' : st === 'changed' ? (check ? 'drift' : 'changed') : st);

function statusOf(r: TaskResult, check: boolean): CellStatus {
  if (r.status === 'failed') return r.ignored ? 'ignored' : 'failed';
  if (r.status === 'changed') return check ? 'drift' : 'changed';
  return r.status;
}

interface Column {
  play: string;
  task: string;
  handler: boolean;
  location: string;
  module: string;
  /** Compliance controls the task names (`controls:`). */
  controls: string[];
}

export interface Matrix {
  columns: Column[];
  rows: { host: string; unreachable: boolean; error?: string; cells: { status: CellStatus; results: number[] }[] }[];
}

/** The hosts × tasks matrix; loop items share their task's cell; a column per play × task. */
export function buildMatrix(s: RunSummary): Matrix {
  const columns: Column[] = [];
  const colIndex = new Map<string, number>();
  const keyOf = (r: TaskResult) => `${r.play}\u0000${r.handler ? 'h' : 't'}\u0000${baseTaskName(r)}\u0000${r.location}`;
  for (const r of s.results) {
    const k = keyOf(r);
    if (!colIndex.has(k)) {
      colIndex.set(k, columns.length);
      columns.push({ play: r.play, task: baseTaskName(r), handler: r.handler, location: r.location, module: r.module, controls: [] });
    }
    const col = columns[colIndex.get(k)!]!;
    for (const c of r.controls ?? []) if (!col.controls.includes(c.id)) col.controls.push(c.id);
  }
  const rowIndex = new Map<string, number>();
  const rows: Matrix['rows'] = s.hosts.map((h, i) => {
    rowIndex.set(h.host, i);
    return { host: h.host, unreachable: h.unreachable, ...(h.error ? { error: h.error } : {}), cells: columns.map(() => ({ status: 'none' as CellStatus, results: [] as number[] })) };
  });
  s.results.forEach((r, i) => {
    let ri = rowIndex.get(r.host);
    if (ri === undefined) {
      ri = rows.length;
      rowIndex.set(r.host, ri);
      rows.push({ host: r.host, unreachable: false, cells: columns.map(() => ({ status: 'none', results: [] })) });
    }
    const cell = rows[ri]!.cells[colIndex.get(keyOf(r))!]!;
    cell.results.push(i);
    const st = statusOf(r, s.check);
    if (RANK[st] < RANK[cell.status]) cell.status = st;
  });
  for (const row of rows) {
    if (!row.unreachable) continue;
    for (const c of row.cells) if (c.status === 'none') c.status = 'unreachable';
  }
  return { columns, rows };
}

const CSS = `
:root{--ok:#8fd19e;--changed:#bf8700;--drift:#d4a72c;--failed:#cf222e;--ignored:#e8a5aa;--skipped:#c4cad1;--unreachable:#8250df;--none:#f6f8fa;--line:#d0d7de;--fg:#1f2328;--muted:#656d76;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);display:flex;flex-direction:column;height:100vh}
header{padding:10px 16px 8px;border-bottom:1px solid var(--line)}
h1{font-size:16px;margin:0 0 4px}
.verdict{font-weight:600}
.verdict.v0{color:#1a7f37}.verdict.v3{color:#9a6700}.verdict.vbad{color:var(--failed)}
.meta{color:var(--muted);font-size:12px;margin-top:2px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.badges{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}
.badge{border-radius:10px;padding:1px 8px;font-size:12px;color:#fff}
.controls{display:flex;gap:12px;align-items:center;flex-wrap:wrap;padding:6px 16px;border-bottom:1px solid var(--line);background:#f6f8fa}
.controls input[type=search]{width:14em;padding:3px 6px;border:1px solid var(--line);border-radius:6px;font:inherit}
.controls label{display:inline-flex;align-items:center;gap:3px;cursor:pointer;user-select:none}
.count{color:var(--muted);margin-left:auto}
.wrap{flex:1;overflow:auto;position:relative}
table{border-collapse:separate;border-spacing:0}
th,td{padding:0}
thead th{position:sticky;top:0;background:#fff;z-index:2;border-bottom:1px solid var(--line);vertical-align:bottom}
thead th.col{width:20px;min-width:20px;max-width:20px}
thead th.col div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-height:16em;padding:4px 2px;font-weight:500;font-size:11.5px;cursor:default}
thead th.col.handler div{font-style:italic;color:var(--muted)}
thead th.corner{left:0;z-index:3;text-align:left;padding:4px 8px;font-size:11px;color:var(--muted);font-weight:400;min-width:10em}
tbody th{position:sticky;left:0;background:#fff;z-index:1;text-align:left;font-weight:400;padding:0 8px;white-space:nowrap;max-width:22em;overflow:hidden;text-overflow:ellipsis;border-right:1px solid var(--line);font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
tbody th .tag{font-family:system-ui,sans-serif;font-size:10px;color:#fff;background:var(--unreachable);border-radius:6px;padding:0 4px;margin-left:4px}
tbody tr:hover th{background:#eaeef2}
td{width:20px;height:18px;min-width:20px;text-align:center;font-size:11px;line-height:16px;color:#fff;border:1px solid #fff;border-radius:3px;cursor:pointer}
td.s-none{background:var(--none);cursor:default}
td.s-ok{background:var(--ok)}td.s-skipped{color:#57606a}td.s-changed{background:var(--changed)}td.s-drift{background:var(--drift);color:#3d2e00}td.s-failed{background:var(--failed)}
td.s-ignored{background:var(--ignored)}td.s-skipped{background:var(--skipped)}td.s-unreachable{background:var(--unreachable);opacity:.55;cursor:default}
td.sel{outline:2px solid var(--fg);outline-offset:-1px}
tr.hidden{display:none}
#detail{position:fixed;top:0;right:0;bottom:0;width:min(46em,50vw);background:#fff;border-left:1px solid var(--line);box-shadow:-4px 0 16px rgba(0,0,0,.12);display:flex;flex-direction:column;z-index:10}
#detail[hidden]{display:none}
#detail header{display:flex;align-items:flex-start;gap:8px}
#detail h2{font-size:14px;margin:0;flex:1;word-break:break-all}
#detail .close{border:1px solid var(--line);background:#f6f8fa;border-radius:6px;cursor:pointer;font:inherit;padding:2px 8px}
#detail .body{overflow:auto;padding:8px 16px 16px}
.result{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:8px}
.result .st{display:inline-block;color:#fff;border-radius:6px;padding:0 6px;font-size:11px;margin-right:6px}
.result .where{color:var(--muted);font-size:12px}
.result .msg{margin:6px 0;white-space:pre-wrap;word-break:break-word}
pre.diff{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:6px 8px;overflow:auto;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;margin:6px 0}
pre.diff .add{color:#116329;background:#dafbe1;display:block}pre.diff .del{color:#82071e;background:#ffebe9;display:block}pre.diff .hunk{color:#0550ae;display:block}
.legend{display:inline-flex;gap:4px;align-items:center}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;vertical-align:middle}
.empty{padding:24px;color:var(--muted)}
`;

const JS = `
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var table = document.getElementById('matrix');
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var hostIn = document.getElementById('f-host'), taskIn = document.getElementById('f-task');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[data-status]'));
  var colStyle = document.getElementById('col-style');
  var count = document.getElementById('count');
  var hiddenCols = {};
  function apply(){
    var h = hostIn.value.trim().toLowerCase(), t = taskIn.value.trim().toLowerCase();
    var css = '';
    hiddenCols = {};
    data.columns.forEach(function(c, i){
      if (t && (c.play + ' ' + c.task + ' ' + c.module + ' ' + c.controls.join(' ')).toLowerCase().indexOf(t) < 0) { hiddenCols[i] = true; css += '.c' + i + '{display:none}'; }
    });
    colStyle.textContent = css;
    var want = {}, all = true;
    boxes.forEach(function(b){ if (b.checked) { want[b.getAttribute('data-status')] = true; } else { all = false; } });
    var shown = 0;
    rows.forEach(function(tr){
      var ok = !h || tr.getAttribute('data-host').indexOf(h) >= 0;
      if (ok && !all) {
        ok = false;
        for (var i = 1; i < tr.cells.length && !ok; i++) {
          var ci = i - 1;
          if (hiddenCols[ci]) continue;
          var st = tr.cells[i].getAttribute('data-s');
          if (st === 'ignored') st = 'failed';
          if (st === 'changed') st = 'drift';
          if (want[st]) ok = true;
        }
        if (!ok && tr.getAttribute('data-unreachable') === '1' && want.unreachable) ok = true;
      }
      tr.className = ok ? '' : 'hidden';
      if (ok) shown++;
    });
    count.textContent = 'showing ' + shown + ' of ' + rows.length + ' host' + (rows.length === 1 ? '' : 's');
  }
  [hostIn, taskIn].forEach(function(el){ el.addEventListener('input', apply); });
  boxes.forEach(function(el){ el.addEventListener('change', apply); });
  var panel = document.getElementById('detail'), title = document.getElementById('detail-title'), body = document.getElementById('detail-body');
  var selected = null;
  function el(tag, cls, text){ var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function showCell(td){
    var idx = (td.getAttribute('data-r') || '').split(',').filter(Boolean).map(Number);
    if (!idx.length) return;
    if (selected) selected.classList.remove('sel');
    selected = td; td.classList.add('sel');
    var tr = td.parentNode, ci = td.cellIndex - 1, col = data.columns[ci];
    title.textContent = tr.getAttribute('data-name') + ' \\u00b7 ' + col.task;
    body.textContent = '';
    idx.forEach(function(i){
      var r = data.results[i];
      var box = el('div', 'result');
      var st = el('span', 'st', r.word); st.style.background = 'var(--' + r.cell + ')';
      box.appendChild(st);
      box.appendChild(el('strong', '', r.task));
      box.appendChild(el('div', 'where', r.play + ' \\u00b7 ' + r.module + ' \\u00b7 ' + r.location + (r.code ? ' \\u00b7 ' + r.code : '') + ' \\u00b7 ' + r.ms + ' ms'));
      if (r.message) box.appendChild(el('div', 'msg', r.message));
      if (r.controls) box.appendChild(el('div', 'where', 'controls: ' + r.controls.map(function(c){ return c.id + ' ' + c.subject + ' ' + c.word; }).join(' \u00b7 ')));
      (r.diffs || []).forEach(function(d){
        var pre = el('pre', 'diff');
        d.split('\\n').forEach(function(line){
          var c = line.indexOf('@@') === 0 ? 'hunk' : (line[0] === '+' && line.indexOf('+++') !== 0) ? 'add' : (line[0] === '-' && line.indexOf('---') !== 0) ? 'del' : '';
          var span = el('span', c, line + '\\n'); pre.appendChild(span);
        });
        box.appendChild(pre);
      });
      if (r.stderr) { box.appendChild(el('div', 'where', 'stderr')); box.appendChild(el('pre', 'diff', r.stderr)); }
      body.appendChild(box);
    });
    panel.hidden = false;
  }
  if (table) table.addEventListener('click', function(e){
    var td = e.target.closest ? e.target.closest('td') : null;
    if (td) showCell(td);
  });
  document.getElementById('detail-close').addEventListener('click', function(){ panel.hidden = true; if (selected) selected.classList.remove('sel'); selected = null; });
  document.addEventListener('keydown', function(e){ if (e.key === 'Escape') document.getElementById('detail-close').click(); });
  apply();
})();
`;

export function htmlReport(s: RunSummary, meta: ReportMeta): string {
  const m = buildMatrix(s);
  const word = (st: CellStatus) => st;
  const results = s.results.map((r) => {
    const cell = statusOf(r, s.check);
    return {
      task: r.task,
      play: r.play,
      module: r.module,
      location: r.location,
      cell,
      word: cell === 'ignored' ? 'failed (ignored)' : cell === 'changed' ? 'changed' : word(cell),
      message: r.message,
      ms: r.durationMs,
      ...(r.code ? { code: r.code } : {}),
      ...(r.stderr && r.status === 'failed' ? { stderr: r.stderr } : {}),
      ...(r.diffs.length ? { diffs: r.diffs.map(unifiedDiff) } : {}),
      ...(r.controls ? { controls: r.controls.map((c) => ({ id: c.id, subject: c.subject, word: controlWord(c.status, s.check) })) } : {}),
    };
  });
  const data = { columns: m.columns.map((c) => ({ play: c.play, task: c.task, module: c.module, controls: c.controls })), results };
  const controls = controlRows(s.results);
  const controlBadge = controls.length
    ? `<span class="badge" style="background:var(--${controls.some((c) => c.status === 'failed') ? 'failed' : controls.some((c) => c.status === 'changed') ? 'drift' : 'ok'});color:#1f2328" title="${escapeHtml(
        controls.filter((c) => c.status !== 'ok').map((c) => `${c.id} ${c.subjects.join(', ')}: ${controlWord(c.status, s.check)}`).join('\n'),
      )}">${controls.filter((c) => c.status === 'ok').length} of ${controls.length} controls met</span>`
    : '';

  const count = (st: CellStatus) => s.results.filter((r) => statusOf(r, s.check) === st).length;
  const unreachable = s.hosts.filter((h) => h.unreachable).length;
  const changedName = s.check ? 'drift' : 'changed';
  const badges = [
    ['ok', count('ok')],
    [changedName, count(s.check ? 'drift' : 'changed')],
    ['failed', count('failed')],
    ['skipped', count('skipped')],
    ['unreachable', unreachable],
  ] as const;
  const vClass = s.exitCode === 0 ? 'v0' : s.exitCode === 3 ? 'v3' : 'vbad';
  const title = `provision ${s.check ? 'check' : 'apply'} · ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'}`;

  const thead = `<tr><th class="corner">host \\ task</th>${m.columns
    .map(
      (c, i) =>
        `<th class="col c${i}${c.handler ? ' handler' : ''}" title="${escapeHtml(`${c.play} · ${c.handler ? 'handler: ' : ''}${c.task} · ${c.module} · ${c.location}${c.controls.length ? ` · controls: ${c.controls.join(', ')}` : ''}`)}"><div>${escapeHtml(c.task)}</div></th>`,
    )
    .join('')}</tr>`;
  const tbody = m.rows
    .map((row) => {
      const cells = row.cells
        .map((c, i) => {
          const tip = `${row.host} · ${m.columns[i]!.task}: ${c.status === 'none' ? 'not run' : c.status}`;
          return `<td class="c${i} s-${c.status}" data-s="${c.status}"${c.results.length ? ` data-r="${c.results.join(',')}"` : ''} title="${escapeHtml(tip)}">${GLYPH[c.status]}</td>`;
        })
        .join('');
      const tag = row.unreachable ? `<span class="tag" title="${escapeHtml(row.error ?? '')}">unreachable</span>` : '';
      return `<tr data-host="${escapeHtml(row.host.toLowerCase())}" data-name="${escapeHtml(row.host)}" data-unreachable="${row.unreachable ? 1 : 0}"><th title="${escapeHtml(row.host + (row.error ? `: ${row.error}` : ''))}">${escapeHtml(row.host)}${tag}</th>${cells}</tr>`;
    })
    .join('\n');
  const statusBoxes = [
    ['ok', 'ok', 'ok'],
    ['drift', changedName, s.check ? 'drift' : 'changed'],
    ['failed', 'failed', 'failed'],
    ['skipped', 'skipped', 'skipped'],
    ['unreachable', 'unreachable', 'unreachable'],
  ]
    .map(([key, label, colour]) => `<label><input type="checkbox" data-status="${key}" checked><span class="sw" style="background:var(--${colour})"></span>${label}</label>`)
    .join('');
  const metaLine = [
    `started ${s.startedAt}`,
    `${(s.durationMs / 1000).toFixed(1)} s`,
    meta.playbooks.length ? `playbooks: ${meta.playbooks.join(', ')}` : '',
    meta.inventory.length ? `inventory: ${meta.inventory.join(', ')}` : '',
    meta.shard ? `shard ${meta.shard.index}/${meta.shard.count}` : '',
  ]
    .filter(Boolean)
    .join(' · ');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
<style id="col-style"></style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<div class="verdict ${vClass}" id="verdict">${escapeHtml(verdict(s, makeStyle(false)))}</div>
<div class="meta" title="${escapeHtml(metaLine)}">${escapeHtml(metaLine)}</div>
<div class="badges">${badges.map(([k, n]) => `<span class="badge" style="background:var(--${k});color:${k === 'failed' || k === 'unreachable' ? '#fff' : '#1f2328'}">${n} ${k}</span>`).join('')}${controlBadge}</div>
</header>
<div class="controls">
<label>host <input type="search" id="f-host" placeholder="filter hosts" autocomplete="off"></label>
<label>task <input type="search" id="f-task" placeholder="filter tasks" autocomplete="off"></label>
${statusBoxes}
<span class="count" id="count"></span>
</div>
<div class="wrap">
${m.rows.length ? `<table id="matrix"><thead>${thead}</thead><tbody>\n${tbody}\n</tbody></table>` : '<div class="empty">No host was selected.</div>'}
</div>
<aside id="detail" hidden><header><h2 id="detail-title"></h2><button class="close" id="detail-close" type="button">close</button></header><div class="body" id="detail-body"></div></aside>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${JS}</script>
</body>
</html>
`;
}
