/**
 * `reboot` (Ansible's reboot action): reboot the host, wait until it is back
 * (a new boot id), check it with `test_command`, and continue the run over a
 * new connection. Always a change; check mode says it would reboot and does
 * not (as Ansible: changed, rebooted).
 *
 * Arguments as Ansible 2.14's: `reboot_timeout` (alias reboot_timeout_sec,
 * default 600 s) bounds the wait for the new boot id and then for the test
 * command; `msg` is shutdown's message; `pre_reboot_delay` is passed to
 * shutdown in whole minutes (seconds // 60: under 60 is now, as Ansible on
 * Linux); `post_reboot_delay` is waited after the reboot command, before
 * checking; `test_command` (default whoami); `boot_time_command` (default
 * `cat /proc/sys/kernel/random/boot_id`); `reboot_command` replaces
 * `shutdown -r N "msg"`. `connect_timeout` and `search_paths` are refused by
 * name: each new connection uses the inventory's connect timeout, and the
 * shutdown command is found by the shell's PATH (with /sbin and /usr/sbin).
 */
import { z } from 'zod';
import { change, defineTask } from '../contract/task.js';
import { sh } from '../contract/quote.js';
import { BOOT_ID_COMMAND, bootId } from '../facts/boot.js';
import { aliasedOptional } from './lib/args.js';

const seconds = z.number().int().min(0);

const argsSchema = z
  .object({
    reboot_timeout: seconds.optional().describe('Seconds to wait for the host to come back and pass test_command (default 600)'),
    reboot_timeout_sec: seconds.optional().describe('Alias of reboot_timeout'),
    msg: z.string().default('Reboot initiated by Ansible').describe("Message shutdown broadcasts to the host's users"),
    pre_reboot_delay: seconds.default(0).describe('Seconds before the reboot, passed to shutdown in whole minutes (under 60: now)'),
    post_reboot_delay: seconds.default(0).describe('Seconds to wait after the reboot command before checking that the host is back'),
    test_command: z.string().min(1).default('whoami').describe('Command that must succeed on the host after the reboot'),
    boot_time_command: z.string().min(1).default(BOOT_ID_COMMAND).describe('Command whose output changes with each boot'),
    reboot_command: z.string().min(1).optional().describe('Command that reboots the host, instead of shutdown -r'),
  })
  .strict()
  .transform(({ reboot_timeout_sec, ...a }, ctx) => ({
    ...a,
    reboot_timeout: aliasedOptional({ reboot_timeout: a.reboot_timeout, reboot_timeout_sec }, ['reboot_timeout', 'reboot_timeout_sec'], ctx) ?? 600,
  }));

export type RebootArgs = z.output<typeof argsSchema>;

/** Ansible's Linux default: `shutdown -r {pre_reboot_delay // 60} "{msg}"`, with the sbin directories on PATH (sudo's secure_path has them; a plain login may not). */
export const rebootCommand = (a: Pick<RebootArgs, 'reboot_command' | 'pre_reboot_delay' | 'msg'>): string =>
  a.reboot_command ?? `PATH="$PATH:/sbin:/usr/sbin" ${sh`shutdown -r ${Math.floor(a.pre_reboot_delay / 60)} ${a.msg}`}`;

export const reboot = defineTask({
  name: 'reboot',
  description: 'Reboot the host and wait until it is back (a new boot id, then test_command), then continue the run over a new connection',
  example: '- name: Reboot if the upgrade asks for it\n  reboot: { reboot_timeout: 300 }\n  when: reboot_required.stat.exists',
  schema: argsSchema,
  facts: (a) => ({ boot: bootId(a.boot_time_command) }),
  plan(a, facts) {
    return change(`reboot (boot id now ${facts.boot})`, [], {
      reboot: {
        command: rebootCommand(a),
        bootTimeCommand: a.boot_time_command,
        bootIdBefore: facts.boot,
        testCommand: a.test_command,
        timeoutSec: a.reboot_timeout,
        postDelaySec: a.post_reboot_delay,
      },
      // check mode registers what Ansible's does: rebooted, elapsed 0
      data: { rebooted: true, elapsed: 0 },
    });
  },
});
