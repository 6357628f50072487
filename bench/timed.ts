/**
 * Timing whole processes for the bench scripts: wall time, exit code and log of any
 * command, and for the built provision CLI also its peak RSS, CPU time and
 * event-loop delay (bench/maxrss.cjs preloaded).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
/** The built CLI (`npm run build` first). */
export const CLI = join(root, 'dist/cli/launcher.cjs');

export interface Timed {
  seconds: number;
  code: number | null;
  /** The machine's 1-minute load average when the command started and when it ended. */
  load: [number, number];
  rssKiB?: number;
  log: string;
}

/** A block of the event loop: when it began (ms after start), how long (ms) and the CPU the process used meanwhile (ms). */
export interface Stall {
  atMs: number;
  ms: number;
  cpuMs?: number;
  /** TCP sockets open when the stall ended (0: no host was waiting on us). */
  sockets?: number;
  /** TCP sockets open when it began (at the tick before). */
  socketsBefore?: number;
}

export interface TimedProvision extends Timed {
  /** provision's own CPU time (user + system), ms. */
  cpuMs?: number;
  /** Event-loop delay over the whole run, ms, and the five longest stalls with when they began (ms after start). */
  eld?: { maxMs: number; p99Ms: number; meanMs: number; stalls: Stall[]; cpuStalls?: Stall[]; connectedCpuStalls?: Stall[] };
}

/** Runs `cmd`, its stdout and stderr going to `<dir>/<label>.log`. */
export function runTimed(dir: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv, label: string, cwd?: string): Promise<Timed> {
  const log = join(dir, `${label}.log`);
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const load0 = loadavg()[0]!;
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      writeFileSync(log, Buffer.concat(out));
      res({ seconds, code, log, load: [load0, loadavg()[0]!] });
    });
  });
}

/** Runs the built CLI with `args`, measuring it from inside as well (peak RSS, CPU, event loop). */
export async function runProvision(dir: string, args: string[], label: string): Promise<TimedProvision> {
  const files = { rss: join(dir, `${label}.rss`), cpu: join(dir, `${label}.cpu`), eld: join(dir, `${label}.eld.json`) };
  const r: TimedProvision = await runTimed(dir, process.execPath, ['-r', join(root, 'bench/maxrss.cjs'), CLI, ...args], {
    PROVISION_BENCH_RSS: files.rss,
    PROVISION_BENCH_CPU: files.cpu,
    PROVISION_BENCH_ELD: files.eld,
  }, label);
  if (existsSync(files.rss)) r.rssKiB = Number(readFileSync(files.rss, 'utf8'));
  if (existsSync(files.cpu)) r.cpuMs = Number(readFileSync(files.cpu, 'utf8'));
  if (existsSync(files.eld)) r.eld = JSON.parse(readFileSync(files.eld, 'utf8')) as NonNullable<TimedProvision['eld']>;
  return r;
}
