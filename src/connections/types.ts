/**
 * Connections only move bytes: run a command string through `sh -c`-like
 * semantics, feed stdin, collect stdout/stderr/exit code. Privilege escalation,
 * quoting and interpretation live above this layer.
 */
import type { SshConnection } from './ssh.js';

export interface ExecOptions {
  /** Bytes written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Kill the command (and report a TimeoutError) after this many ms. */
  timeoutMs?: number;
  /**
   * The command is a POSIX sh script of provision's own (a batch of fact reads),
   * not a user's command: the long-lived remote shell runs it in a subshell of
   * its own `/bin/sh` instead of a fresh login shell (`$SHELL -c`), which spares
   * the host a shell start per batch. Where a command goes over a channel of its
   * own (no shell, or the shell busy), sshd runs it with the login shell as before.
   */
  script?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the command was killed by a signal. */
  code: number | null;
}

export interface ConnectionStats {
  /** Commands executed (each is at least one network round trip on ssh). */
  commands: number;
  /** Network round trips spent (connect + commands), counted on the wire. */
  roundTrips: number;
  /** Of those, the ones until authenticated (TCP connect, SSH handshake, authentication). */
  authRoundTrips: number;
  /** Of those, the ones a keepalive opened (ssh2 sends one every 15 s of a session; nothing waits on them). */
  keepaliveRoundTrips: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Connection {
  /** Name used in messages (the inventory host name). */
  readonly name: string;
  readonly kind: 'ssh' | 'local';
  /** Run one command with /bin/sh on the target. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Close the connection. Idempotent. */
  close(): Promise<void>;
  readonly stats: ConnectionStats;
}

/** An SSH connection, told by its kind (no runtime import of ssh.ts: ssh2 loads with the first SSH connection). */
export function isSsh(c: Connection): c is SshConnection {
  return c.kind === 'ssh';
}
