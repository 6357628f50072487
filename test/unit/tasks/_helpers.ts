import type { TaskContext } from '../../../src/core/module.js';
import type { HostFacts } from '../../../src/facts/host.js';
import type { FileInfo, PresentFile } from '../../../src/facts/files.js';
import { sha256Hex } from '../../../src/tasks/lib/files.js';

export const host: HostFacts = {
  os: { id: 'debian', idLike: [], family: 'debian', versionId: '12', major: 12, prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  init: 'systemd',
  packageManager: 'apt',
  uid: 0,
  user: 'root',
  sudo: true,
  sudoNoPassword: true,
  container: false,
  hostname: 'web1',
  arch: 'x86_64',
  kernel: '6.1.0-18-amd64',
};

export const ctx: TaskContext = { host, check: false, become: true, baseDir: '/tmp' };

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
