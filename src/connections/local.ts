/** Runs commands on the control machine itself with /bin/sh. */
import { spawn } from 'node:child_process';
import { TimeoutError } from '../contract/errors.js';
import type { Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js';

/** Process groups of the commands running now, so an exit (a second Ctrl-C) can end them too. */
const running = new Set<number>();
let exitHook = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** On any exit of this process, end the local commands it started (they run detached, in their own groups). */
function ensureExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const pid of running) killGroup(pid, 'SIGKILL');
  });
}

export class LocalConnection implements Connection {
  readonly kind = 'local' as const;
  readonly stats: ConnectionStats = { commands: 0, roundTrips: 0, authRoundTrips: 0, keepaliveRoundTrips: 0, bytesIn: 0, bytesOut: 0 };

  constructor(readonly name: string) {}

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.stats.commands++;
    return new Promise((resolve, reject) => {
      // own process group, so a timeout kills the whole command tree
      const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      ensureExitHook();
      if (child.pid !== undefined) running.add(child.pid);
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      let timedOut = false;
      const timer = options.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            killGroup(child.pid!, 'SIGKILL');
          }, options.timeoutMs)
        : undefined;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => errs.push(d));
      child.on('error', (err) => {
        if (child.pid !== undefined) running.delete(child.pid);
        if (timer) clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code) => {
        if (child.pid !== undefined) running.delete(child.pid);
        if (timer) clearTimeout(timer);
        if (timedOut) return reject(new TimeoutError(command, options.timeoutMs!));
        const stdout = Buffer.concat(out).toString('utf8');
        this.stats.bytesIn += stdout.length;
        resolve({ stdout, stderr: Buffer.concat(errs).toString('utf8'), code });
      });
      child.stdin.on('error', () => {
        /* the command may exit without reading its stdin */
      });
      if (options.stdin !== undefined) this.stats.bytesOut += Buffer.byteLength(options.stdin);
      child.stdin.end(options.stdin);
    });
  }

  async close(): Promise<void> {}
}
