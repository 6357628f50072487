/**
 * Host facts, gathered in ONE round trip at connect time: OS family and
 * version, init system, package manager, privileges, container or not.
 */
import type { Fact } from '../contract/fact.js';
import type { HostFacts, OsFamily } from '../contract/host-facts.js';

const SCRIPT = [
  'echo "__osrelease_begin"',
  'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null',
  'echo "__osrelease_end"',
  'echo "ssh_connection=$SSH_CONNECTION"',
  'echo "uid=$(id -u)"',
  'echo "user=$(id -un)"',
  'echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"',
  'echo "arch=$(uname -m)"',
  'echo "kernel=$(uname -r)"',
  // systemd is the init only when it is PID 1 and running
  'if [ -d /run/systemd/system ]; then echo init=systemd; elif [ -d /etc/init.d ] && [ "$(cat /proc/1/comm 2>/dev/null)" = init ]; then echo init=sysv; else echo init=none; fi',
  'for pm in apt-get dnf yum; do if command -v $pm >/dev/null 2>&1; then echo "pm=$pm"; break; fi; done',
  'if command -v sudo >/dev/null 2>&1; then echo sudo=1; if sudo -n true >/dev/null 2>&1; then echo sudo_nopasswd=1; fi; fi',
  'if [ -f /.dockerenv ] || [ -f /run/.containerenv ] || grep -qE "(docker|lxc|kubepods|containerd)" /proc/1/cgroup 2>/dev/null || [ "$container" != "" ]; then echo container=1; fi',
].join('\n');

function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2] ?? '';
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1] as string] = v;
  }
  return out;
}

export function osFamily(id: string, idLike: readonly string[]): OsFamily {
  const ids = [id, ...idLike];
  if (ids.some((i) => i === 'debian' || i === 'ubuntu')) return 'debian';
  if (ids.some((i) => ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol'].includes(i))) return 'rhel';
  return 'unknown';
}

function parseSshConnection(value: string): HostFacts['ssh'] {
  const [clientIp, clientPort, serverIp, serverPort] = value.split(/\s+/);
  if (!clientIp || !clientPort || !serverIp || !serverPort) return null;
  return { clientIp, clientPort: Number(clientPort), serverIp, serverPort: Number(serverPort) };
}

export function parseHostFacts(stdout: string): HostFacts {
  const begin = stdout.indexOf('__osrelease_begin');
  const end = stdout.indexOf('__osrelease_end');
  const osText = begin >= 0 && end > begin ? stdout.slice(begin + '__osrelease_begin'.length, end) : '';
  const rest = end >= 0 ? stdout.slice(end) : stdout;
  const kv: Record<string, string> = {};
  for (const line of rest.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  const os = parseOsRelease(osText);
  const id = (os.ID ?? 'unknown').toLowerCase();
  const idLike = (os.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const versionId = os.VERSION_ID ?? '';
  const pm = kv.pm === 'apt-get' ? 'apt' : kv.pm === 'dnf' || kv.pm === 'yum' ? kv.pm : 'none';
  const init = kv.init === 'systemd' || kv.init === 'sysv' ? kv.init : 'none';
  return {
    os: {
      id,
      idLike,
      family: osFamily(id, idLike),
      versionId,
      major: Number.parseInt(versionId, 10),
      prettyName: os.PRETTY_NAME ?? id,
    },
    init,
    packageManager: pm,
    uid: Number.parseInt(kv.uid ?? '-1', 10),
    user: kv.user ?? '',
    sudo: kv.sudo === '1',
    sudoNoPassword: kv.sudo_nopasswd === '1',
    container: kv.container === '1',
    hostname: kv.hostname ?? '',
    arch: kv.arch ?? '',
    kernel: kv.kernel ?? '',
    ssh: parseSshConnection(kv.ssh_connection ?? ''),
  };
}

export const hostFacts: Fact<null, HostFacts> = {
  name: 'host',
  command: () => SCRIPT,
  parse: (stdout) => parseHostFacts(stdout),
};
