/** Every task type a playbook can use, by its key. */
import { assertTask } from './assert.js';
import { authorizedKey } from './authorized_key.js';
import { command } from './command.js';
import { copy } from './copy.js';
import { cron } from './cron.js';
import { debug } from './debug.js';
import { fail } from './fail.js';
import { fail2ban } from './fail2ban.js';
import { file } from './file.js';
import { firewalld } from './firewalld.js';
import { firewallPersist } from './firewall_persist.js';
import { getUrl } from './get_url.js';
import { git } from './git.js';
import { groupTask } from './group.js';
import { includeVars } from './include_vars.js';
import { iptables } from './iptables.js';
import { lineinfile } from './lineinfile.js';
import { listeners } from './listeners.js';
import { meta } from './meta.js';
import { npmTask } from './npm.js';
import { aptTask } from './apt.js';
import { aptRepository } from './apt_repository.js';
import { dnfTask, packageTask, yumTask } from './package.js';
import { ping } from './ping.js';
import { reboot } from './reboot.js';
import { serviceTask } from './service.js';
import { setFact } from './set_fact.js';
import { script } from './script.js';
import { seboolean } from './seboolean.js';
import { selinux } from './selinux.js';
import { seport } from './seport.js';
import { systemdServiceTask, systemdTask } from './systemd.js';
import { shell } from './shell.js';
import { sshHostKeys } from './ssh_host_keys.js';
import { sysctl } from './sysctl.js';
import { template } from './template.js';
import { sshd_config } from './sshd_config.js';
import { statTask } from './stat.js';
import { unarchive } from './unarchive.js';
import { unattended_upgrades } from './unattended_upgrades.js';
import { ufw } from './ufw.js';
import { userTask } from './user.js';
import { waitFor } from './wait_for.js';

export const registry = {
  command,
  shell,
  file,
  copy,
  template,
  lineinfile,
  package: packageTask,
  apt: aptTask,
  apt_repository: aptRepository,
  dnf: dnfTask,
  yum: yumTask,
  service: serviceTask,
  systemd: systemdTask,
  systemd_service: systemdServiceTask,
  user: userTask,
  group: groupTask,
  authorized_key: authorizedKey,
  get_url: getUrl,
  stat: statTask,
  wait_for: waitFor,
  ping,
  reboot,
  sshd_config,
  ssh_host_keys: sshHostKeys,
  sysctl,
  iptables,
  firewall_persist: firewallPersist,
  firewalld,
  fail2ban,
  unattended_upgrades,
  ufw,
  listeners,
  set_fact: setFact,
  debug,
  assert: assertTask,
  fail,
  meta,
  include_vars: includeVars,
  script,
  cron,
  git,
  unarchive,
  npm: npmTask,
  seport,
  seboolean,
  selinux,
} as const;

export type TaskName = keyof typeof registry;

export { command, copy, file, lineinfile, shell };
