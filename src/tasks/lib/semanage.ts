/**
 * What the SELinux tasks (seport, seboolean) share: the PATH semanage lives
 * on, and the refusals Ansible's modules make before touching the policy
 * store (SELinux disabled without ignore_selinux_state, semanage missing,
 * the store unreadable), each naming the way out.
 */
import { TaskError } from '../../contract/errors.js';
import type { SelinuxMode } from '../../facts/selinux.js';

export const SBIN_PATH = 'PATH="$PATH:/usr/sbin:/sbin"';
export const SEMANAGE_PACKAGE = 'policycoreutils-python-utils (policycoreutils-python on EL7)';

/** Throws what stops `task` from reading or editing the policy store. */
export function requireStore(task: string, f: { mode: SelinuxMode; semanage: boolean; storeError?: string }, ignoreState: boolean): void {
  if (f.mode === 'disabled' && !ignoreState) {
    throw new TaskError(`SELinux is disabled on this host (Ansible's ${task} fails the same way): enable it (selinux task, then reboot), or set ignore_selinux_state: true to edit the policy store anyway`);
  }
  if (!f.semanage) throw new TaskError(`${task} needs semanage, which is not installed: install ${SEMANAGE_PACKAGE} in an earlier task`);
  if (f.storeError !== undefined) {
    throw new TaskError(`semanage cannot read the SELinux policy store (${f.storeError}): install the policy (selinux-policy-targeted on RHEL, selinux-policy-default on Debian)`);
  }
}
