import { describe, expect, it } from 'vitest';
import { buildMatrix, escapeHtml, htmlReport } from '../../../src/reporters/html.js';
import { fleetRun, mixedRun, NASTY } from './_summary.js';

const META = { playbooks: ['playbooks/harden.yaml'], inventory: ['inventory.yaml'] };

describe('html report', () => {
  it('matrix: a column per task (loop items merged, handler kept apart), worst status per cell', () => {
    const m = buildMatrix(mixedRun(true));
    expect(m.columns.map((c) => c.task)).toEqual(['motd', 'sshd hardening', 'packages', 'reload sshd', NASTY, 'optional']);
    expect(m.rows.map((r) => r.host)).toEqual(['web1', 'web2', 'db1', 'db2.example.com']);
    expect(m.rows[0]!.cells.map((c) => c.status)).toEqual(['ok', 'drift', 'drift', 'skipped', 'none', 'none']);
    expect(m.rows[0]!.cells[2]!.results).toEqual([2, 3]);
    expect(m.rows[2]!.cells.map((c) => c.status)).toEqual(['skipped', 'none', 'none', 'none', 'none', 'ignored']);
    expect(m.rows[3]!.cells.every((c) => c.status === 'unreachable')).toBe(true);
  });

  it('is self-contained: no external URL, a CSP that forbids the network', () => {
    const page = htmlReport(fleetRun(20, 6), META);
    expect(page).toContain(`content="default-src 'none'`);
    expect(page).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });

  it('escapes every untrusted string; embedded data cannot end its <script>', () => {
    const page = htmlReport(mixedRun(true), META);
    expect(page.match(/<script/g)).toHaveLength(2); // the data block and the page script, nothing injected
    expect(page).toContain(escapeHtml(NASTY));
    const data = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(page)![1]!;
    expect(data).not.toMatch(/[<>]/);
    const parsed = JSON.parse(data);
    expect(parsed.results[6].task).toBe(NASTY);
    expect(parsed.results[1].diffs[0]).toContain('+PermitRootLogin no');
  });

  it('renders 200 hosts compactly', () => {
    const page = htmlReport(fleetRun(200, 14), META);
    expect(page.match(/<tr data-host=/g)).toHaveLength(200);
    expect(page.length).toBeLessThan(3_000_000);
  });
});
