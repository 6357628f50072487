/** Terminal colours: on for TTYs, off when piped, with NO_COLOR, or --no-color. */
import type { TaskStatus } from '../core/results.js';

export type Paint = (text: string) => string;

export interface Style {
  enabled: boolean;
  green: Paint;
  yellow: Paint;
  red: Paint;
  cyan: Paint;
  magenta: Paint;
  dim: Paint;
  bold: Paint;
}

const code = (open: number, close: number, on: boolean): Paint => (on ? (t) => `\x1b[${open}m${t}\x1b[${close}m` : (t) => t);

export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    green: code(32, 39, enabled),
    yellow: code(33, 39, enabled),
    red: code(31, 39, enabled),
    cyan: code(36, 39, enabled),
    magenta: code(35, 39, enabled),
    dim: code(2, 22, enabled),
    bold: code(1, 22, enabled),
  };
}

export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** The word shown for a status; in check mode a change is drift. */
export function statusWord(status: TaskStatus, check: boolean): string {
  return status === 'changed' && check ? 'drift' : status;
}

export function paintStatus(style: Style, status: TaskStatus | 'unreachable', text: string): string {
  switch (status) {
    case 'ok':
      return style.green(text);
    case 'changed':
      return style.yellow(text);
    case 'failed':
      return style.red(text);
    case 'skipped':
      return style.cyan(text);
    case 'unreachable':
      return style.magenta(text);
  }
}
