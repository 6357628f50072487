/** Report formats for `--report FORMAT=FILE`; each renders a finished run to text. */
import { renameSync, writeFileSync } from 'node:fs';
import { ValidationError } from '../contract/errors.js';
import type { RunSummary } from '../core/results.js';
import { htmlReport } from './html.js';
import { jsonReport, type ReportMeta } from './json.js';
import { junitReport } from './junit.js';
import { markdownReport } from './markdown.js';
import { sarifReport } from './sarif.js';

export type ReportRenderer = (summary: RunSummary, meta: ReportMeta) => string;

export const reportFormats: Readonly<Record<string, ReportRenderer>> = {
  json: jsonReport,
  junit: junitReport,
  sarif: sarifReport,
  markdown: markdownReport,
  html: htmlReport,
};

export interface ReportTarget {
  format: string;
  file: string;
}

export function parseReportTarget(spec: string): ReportTarget {
  const eq = spec.indexOf('=');
  const format = eq > 0 ? spec.slice(0, eq) : '';
  const file = spec.slice(eq + 1);
  if (!format || !file || !(format in reportFormats)) {
    throw new ValidationError([
      { path: '--report', message: `expected FORMAT=FILE with FORMAT one of ${Object.keys(reportFormats).join(', ')}, got "${spec}"` },
    ]);
  }
  return { format, file };
}

/** Write a file atomically on the control machine: temp file beside it, then rename. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

export function writeReports(targets: readonly ReportTarget[], summary: RunSummary, meta: ReportMeta): void {
  for (const t of targets) writeFileAtomic(t.file, reportFormats[t.format]!(summary, meta));
}
