/**
 * Structured logs (pino): off unless --log-file or --log-level asks for them.
 * Every record passes through the run's secret masking; known secret fields are
 * redacted by name as well.
 */
import { openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ValidationError, errorMessage } from '../contract/errors.js';
import { makeDirs } from '../contract/local-dirs.js';
import type { RunEvents } from './results.js';
import type { Secrets } from './secrets.js';

export interface LogOptions {
  level?: string;
  file?: string;
  secrets: Secrets;
}

/**
 * The log file, its directory made, opened for appending before any host is
 * contacted. A path that cannot be written is the user's mistake (exit 2); left
 * to pino it was an internal error with a stack (`/etc/passwd/x.log`), or a
 * busy loop that ignored Ctrl-C (`/proc/nope/x.log`, the mkdir above).
 */
function openLogFile(file: string): number {
  try {
    makeDirs(dirname(file));
    return openSync(file, 'a');
  } catch (err) {
    throw new ValidationError([{ path: '--log-file', message: `cannot write the log file ${file}: ${errorMessage(err)}` }]);
  }
}

/** pino is loaded here, when logs are asked for, not at start-up. */
export async function createLogger(o: LogOptions): Promise<Logger> {
  const fd = o.file ? openLogFile(o.file) : 2;
  const { pino } = await import('pino');
  const level = o.level ?? (o.file ? 'info' : 'silent');
  const destination = pino.destination({ fd, sync: true });
  return pino(
    {
      level,
      base: { tool: 'provision' },
      redact: { paths: ['password', 'passphrase', 'becomePassword', '*.password', '*.passphrase', '*.becomePassword', 'stdin'], censor: '********' },
      formatters: { log: (obj) => o.secrets.maskDeep(obj) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? o.secrets.mask(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** Run events as log records. */
export function logEvents(log: Logger): RunEvents {
  return {
    playStart: (play, hosts) => log.info({ event: 'play', play: play.name, hosts }, 'play start'),
    taskStart: (host, task, index, total) => log.debug({ event: 'task_start', host, task: task.name, index, total }, 'task start'),
    taskEnd: (r) => log.info({ event: 'task', host: r.host, task: r.task, module: r.module, status: r.status, message: r.message, durationMs: r.durationMs, code: r.code }, `${r.status} ${r.host} ${r.task}`),
    hostUnreachable: (host, message) => log.warn({ event: 'unreachable', host, message }, `unreachable ${host}`),
    runEnd: (s) => log.info({ event: 'end', exitCode: s.exitCode, durationMs: s.durationMs, hosts: s.hosts }, 'run end'),
  };
}
