/**
 * `mkdir -p` on the control machine, for the files provision writes there (the
 * log file, known_hosts). One level at a time: Node 20's
 * `mkdirSync(dir, { recursive: true })` retries forever when mkdir answers ENOENT
 * under a parent that exists (`/proc/nope`), a busy loop that ignores Ctrl-C.
 * `mode` is given to every directory made.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export function makeDirs(dir: string, mode?: number): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent, mode);
  try {
    mkdirSync(dir, mode === undefined ? undefined : { mode });
  } catch (err) {
    // made meanwhile by another process: what was asked for is there
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw err;
  }
}
