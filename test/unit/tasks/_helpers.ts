import type { TaskContext } from '../../../src/contract/task.js';
import type { HostFacts } from '../../../src/contract/host-facts.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import type { FileInfo, PresentFile } from '../../../src/facts/files.js';
import { sha256Hex } from '../../../src/tasks/lib/files.js';
import type { FirewallManagers } from '../../../src/facts/firewall-managers.js';

/** Built with the real parser so the fixture follows HostFacts as it grows. */
export const host: HostFacts = parseHostFacts(
  [
    '__osrelease_begin',
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
    'ID=debian',
    'VERSION_ID="12"',
    '__osrelease_end',
    'ssh_connection=10.0.0.1 50000 10.0.0.2 22',
    'uid=0',
    'user=root',
    'hostname=web1',
    'arch=x86_64',
    'kernel=6.1.0-18-amd64',
    'init=systemd',
    'pm=apt-get',
    'sudo=1',
    'sudo_nopasswd=1',
  ].join('\n'),
);

/** A task context for planner tests: no variables, local files looked up in /tmp. */
export const ctxOf = (host: HostFacts): TaskContext => ({
  host,
  check: false,
  become: true,
  vars: {},
  searchDirs: { templates: ['/tmp/templates', '/tmp'], files: ['/tmp/files', '/tmp'] },
});

export const ctx: TaskContext = ctxOf(host);

export const absent: FileInfo = { exists: false };

export function fileWith(content: string, over: Partial<PresentFile> = {}): PresentFile {
  return {
    exists: true,
    type: 'file',
    mode: '0644',
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    size: Buffer.byteLength(content),
    content,
    sha256: sha256Hex(content),
    ...over,
  };
}

export function dirInfo(over: Partial<PresentFile> = {}): PresentFile {
  return { exists: true, type: 'directory', mode: '0755', owner: 'root', group: 'root', uid: 0, gid: 0, size: 4096, ...over };
}

/** A host of either family for planner tests, with overrides. */
export function hostOf(kind: 'debian' | 'rhel', over: Partial<HostFacts> = {}): HostFacts {
  const debian = kind === 'debian';
  return {
    os: debian
      ? { id: 'debian', idLike: [], family: 'debian', versionId: '12', major: 12, prettyName: 'Debian GNU/Linux 12 (bookworm)' }
      : { id: 'rocky', idLike: ['rhel'], family: 'rhel', versionId: '9.4', major: 9, prettyName: 'Rocky Linux 9.4' },
    init: 'systemd', packageManager: debian ? 'apt' : 'dnf', uid: 0, user: 'root', sudo: true, sudoNoPassword: true,
    container: false, hostname: 'web1', arch: 'x86_64', kernel: '6.1.0', ssh: null, ...over,
  };
}

/** Neither ufw nor firewalld on the host (the firewall tasks' `managers` fact). */
export const noManagers: FirewallManagers = {
  ufw: { installed: false, enabled: false, active: false, masked: false },
  firewalld: { manager: 'systemd', exists: false, active: false, enabled: false, unitFileState: '', backend: 'nftables' },
};
