/**
 * Privilege escalation as pure functions above the connections: turn a
 * command into its sudo form. A sudo password travels on stdin, never argv.
 */
import { quote } from '../contract/quote.js';
import { SHELL_VARS } from '../facts/host.js';

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

/**
 * sudo to `user`: `-n` fails at once with "a password is required" instead of
 * hanging on a prompt; with a password, `-k` ignores cached credentials so sudo
 * always reads exactly one password line from stdin, and the fixed prompt marks
 * where sudo's own words (lecture, prompt) end in stderr. `shell` runs the
 * command (its words follow `--`).
 */
const sudo = (user: string, withPassword: boolean, shell: string): string =>
  `sudo ${withPassword ? `-k -S -p ${quote(SUDO_PROMPT)}` : '-n'} -u ${quote(user)} -H -- ${shell}`;

export function wrapBecome(command: string, opts: BecomeOptions): Wrapped {
  if (!opts.become || opts.user === opts.connectedAs) return { command, stdinPrefix: '' };
  const inner = `/bin/sh -c ${quote(command)}`;
  const withPassword = !opts.noPassword && opts.password !== undefined;
  return { command: sudo(opts.user, withPassword, inner), stdinPrefix: withPassword ? `${opts.password}\n` : '' };
}

/**
 * wrapBecome decided on the host, for a batch written before the host facts are
 * known: the variables the host facts script leaves set (facts/host.ts
 * SHELL_VARS: the login user, sudo without a password) choose between no sudo,
 * `sudo -n` and the password on stdin. `args` are shell words handed to the
 * command as $1...
 */
export function becomeOnHost(command: string, opts: Pick<BecomeOptions, 'become' | 'user' | 'password'>, args: string): Wrapped {
  const inner = `/bin/sh -c "$__pv_c" sh ${args}`;
  const set = `__pv_c=${quote(command)}\n`;
  if (!opts.become) return { command: `${set}${inner}`, stdinPrefix: '' };
  const self = `[ "$${SHELL_VARS.user}" = ${quote(opts.user)} ]`;
  if (opts.password === undefined) return { command: `${set}if ${self}; then ${inner}; else ${sudo(opts.user, false, inner)}; fi`, stdinPrefix: '' };
  return {
    command: `${set}if ${self}; then ${inner}; elif [ "$${SHELL_VARS.noPassword}" = 1 ]; then ${sudo(opts.user, false, inner)}; else ${sudo(opts.user, true, inner)}; fi`,
    stdinPrefix: `${opts.password}\n`,
  };
}
