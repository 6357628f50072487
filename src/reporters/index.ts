/** Report formats for `--report FORMAT=FILE`; each renders a finished run to text. */
import { accessSync, constants, rmSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValidationError, errorMessage } from '../contract/errors.js';
import type { RunSummary } from '../core/results.js';
import type { ReportMeta } from './json.js';

export type ReportRenderer = (summary: RunSummary, meta: ReportMeta) => string;

/** Each format's renderer, loaded when a report of that format is written (not at start-up: `provision --version` stays fast). */
export const reportFormats: Readonly<Record<string, () => Promise<ReportRenderer>>> = {
  json: async () => (await import('./json.js')).jsonReport,
  junit: async () => (await import('./junit.js')).junitReport,
  sarif: async () => (await import('./sarif.js')).sarifReport,
  markdown: async () => (await import('./markdown.js')).markdownReport,
  html: async () => (await import('./html.js')).htmlReport,
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

/**
 * Refuse report targets that cannot be written before any host is contacted:
 * the directory must exist and be writable, and the target must not be a directory.
 */
export function checkReportTargets(targets: readonly ReportTarget[]): void {
  const issues = targets.flatMap((t) => {
    const file = resolve(t.file);
    const dir = dirname(file);
    let problem: string | undefined;
    try {
      if (!statSync(dir).isDirectory()) problem = `${dir} is not a directory`;
      else accessSync(dir, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problem = code === 'ENOENT' ? `directory ${dir} does not exist` : code === 'EACCES' || code === 'EROFS' ? `directory ${dir} is not writable` : errorMessage(err);
    }
    try {
      if (!problem && statSync(file).isDirectory()) problem = `${file} is a directory`;
    } catch {
      /* does not exist yet: fine */
    }
    return problem ? [{ path: '--report', message: `cannot write the ${t.format} report ${t.file}: ${problem}` }] : [];
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Write a file atomically on the control machine: temp file beside it, then rename; no temp file is left on failure. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write every report; one that fails does not stop the others. Returns what could not be written. */
export async function writeReports(targets: readonly ReportTarget[], summary: RunSummary, meta: ReportMeta): Promise<string[]> {
  const errors: string[] = [];
  if (targets.length > 0) await (await import('./diff.js')).prepareDiffs(summary.results);
  for (const t of targets) {
    try {
      const render = await reportFormats[t.format]!();
      writeFileAtomic(t.file, render(summary, meta));
    } catch (err) {
      errors.push(`cannot write the ${t.format} report ${t.file}: ${errorMessage(err)}`);
    }
  }
  return errors;
}
