/**
 * Privilege escalation as one pure function above the connections: turns a
 * command into its sudo form. A sudo password travels on stdin, never argv.
 */
import { quote } from '../contract/quote.js';

export interface BecomeOptions {
  become: boolean;
  /** Target user (default root). */
  user: string;
  /** The user we are connected as. */
  connectedAs: string;
  /** sudo works without a password for the connected user (fact gathered at connect time). */
  noPassword: boolean;
  password?: string;
}

export interface Wrapped {
  command: string;
  /** Bytes to put in front of the command's own stdin (the sudo password line). */
  stdinPrefix: string;
}

/**
 * The prompt sudo prints to stderr when it reads a password. Everything sudo
 * says before it (the first-use lecture on Debian 11) is sudo's, not the
 * command's, and {@link sudoNoise} removes it with the prompt.
 */
export const SUDO_PROMPT = '[provision: sudo password]';

/** The command's own stderr: what sudo printed up to its password prompt removed. */
export function sudoNoise(stderr: string): string {
  const at = stderr.indexOf(SUDO_PROMPT);
  return at < 0 ? stderr : stderr.slice(at + SUDO_PROMPT.length);
}

export function wrapBecome(command: string, opts: BecomeOptions): Wrapped {
  if (!opts.become || opts.user === opts.connectedAs) return { command, stdinPrefix: '' };
  const target = `-u ${quote(opts.user)} -H`;
  const inner = `/bin/sh -c ${quote(command)}`;
  if (opts.noPassword || opts.password === undefined) {
    // -n: fail at once with "a password is required" instead of hanging on a prompt
    return { command: `sudo -n ${target} -- ${inner}`, stdinPrefix: '' };
  }
  // -k ignores cached credentials, so sudo always reads exactly one password line from stdin;
  // the fixed prompt marks where sudo's own words (lecture, prompt) end in stderr.
  return { command: `sudo -k -S -p ${quote(SUDO_PROMPT)} ${target} -- ${inner}`, stdinPrefix: `${opts.password}\n` };
}
