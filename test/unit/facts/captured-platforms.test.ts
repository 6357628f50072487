/**
 * Outputs captured on real Ubuntu and RHEL-family hosts (provenance of every
 * file: test/fixtures/facts/SOURCES.md), run through the fact parsers as they
 * are. Where a parser gets a real output wrong the case is `it.fails` with the
 * reason: those are bugs to fix in src/facts/, not fixtures to change.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFileFact } from '../../../src/facts/files.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import { parseListeners, type Listener } from '../../../src/facts/listeners.js';
import { parseServiceFact } from '../../../src/facts/services.js';
import { parseConfigLine, parseEffective } from '../../../src/facts/sshd.js';

const captured = (rel: string): string => readFileSync(new URL(`../../fixtures/facts/${rel}`, import.meta.url), 'utf8');

/**
 * The host fact's stdout around a captured os-release. Only the os-release
 * part is captured; the lines after it are what the fact script prints for a
 * root login on a systemd host with this package manager.
 */
function hostOutput(osRelease: string, pm: 'apt-get' | 'dnf' | 'yum'): string {
  return [
    '__osrelease_begin',
    osRelease,
    '__osrelease_end',
    'ssh_connection=192.0.2.10 50000 192.0.2.20 22',
    'uid=0',
    'user=root',
    'hostname=host1',
    'arch=x86_64',
    'kernel=5.14.0',
    'init=systemd',
    `pm=${pm}`,
    'sudo=1',
    'sudo_nopasswd=1',
  ].join('\n');
}

describe('host facts from captured /etc/os-release', () => {
  it.each([
    // file, package manager the fact would find, id, family, VERSION_ID, major, PRETTY_NAME
    ['ubuntu2204/os-release', 'apt-get', 'ubuntu', 'debian', '22.04', 22, 'Ubuntu 22.04.4 LTS'],
    ['ubuntu2404/os-release', 'apt-get', 'ubuntu', 'debian', '24.04', 24, 'Ubuntu 24.04.3 LTS'],
    ['rocky8/os-release', 'dnf', 'rocky', 'rhel', '8.3', 8, 'Rocky Linux 8.3'],
    ['rocky9/os-release', 'dnf', 'rocky', 'rhel', '9.3', 9, 'Rocky Linux 9.3 (Blue Onyx)'],
    ['alma8/os-release', 'dnf', 'almalinux', 'rhel', '8.3', 8, 'AlmaLinux 8.3 Beta (Purple Manul)'],
    ['alma9/os-release', 'dnf', 'almalinux', 'rhel', '9.1', 9, 'AlmaLinux 9.1 (Lime Lynx)'],
    ['rhel7/os-release', 'yum', 'rhel', 'rhel', '7.2', 7, 'Employee SKU'],
    ['rhel8/os-release', 'dnf', 'rhel', 'rhel', '8.7', 8, 'Red Hat Enterprise Linux 8.7 (Ootpa)'],
    ['rhel9/os-release', 'dnf', 'rhel', 'rhel', '9.6', 9, 'Red Hat Enterprise Linux 9.6 (Plow)'],
    ['rhel9/os-release-rhel-ai', 'dnf', 'rhel', 'rhel', '9.4', 9, 'Red Hat Enterprise Linux 9.20240630.0.4 (Plow)'],
    ['centos7/os-release', 'yum', 'centos', 'rhel', '7', 7, 'CentOS Linux 7 (Core)'],
  ] as const)('%s: %s, id %s, family %s, version %s', (file, pm, id, family, versionId, major, prettyName) => {
    const f = parseHostFacts(hostOutput(captured(file), pm));
    expect(f.os).toMatchObject({ id, family, versionId, major, prettyName });
    expect(f.packageManager).toBe(pm === 'apt-get' ? 'apt' : pm);
    expect(f.init).toBe('systemd');
    expect(f.ssh).toEqual({ clientIp: '192.0.2.10', clientPort: 50000, serverIp: '192.0.2.20', serverPort: 22 });
  });

  it('ID_LIKE as the distributions write it (Rocky 8.3 still said "rhel fedora", Alma pads lines with spaces)', () => {
    expect(parseHostFacts(hostOutput(captured('rocky8/os-release'), 'dnf')).os.idLike).toEqual(['rhel', 'fedora']);
    expect(parseHostFacts(hostOutput(captured('alma8/os-release'), 'dnf')).os.idLike).toEqual(['rhel', 'centos', 'fedora']);
    expect(parseHostFacts(hostOutput(captured('rhel9/os-release'), 'dnf')).os.idLike).toEqual(['fedora']);
  });
});

const tcp = (info: { listeners: readonly Listener[] }, port: number) => info.listeners.filter((l) => l.proto === 'tcp' && l.port === port);

describe('listeners from captured ss -tulpn', () => {
  it('Ubuntu with socket-activated ssh (sshd and systemd share the socket): sshd on 0.0.0.0 and ::, resolved stubs on loopback', () => {
    const info = parseListeners(`__tool=ss\n${captured('ubuntu2404/ss-tulpn.txt')}`);
    expect(info.tool).toBe('ss');
    expect(info.listeners).toHaveLength(8);
    expect(tcp(info, 22)).toEqual([
      { proto: 'tcp', address: '::', port: 22, process: 'sshd', pid: 2952 },
      { proto: 'tcp', address: '0.0.0.0', port: 22, process: 'sshd', pid: 2952 },
    ]);
    expect(tcp(info, 53).map((l) => l.address)).toEqual(['127.0.0.53', '127.0.0.54']);
    expect(info.listeners.find((l) => l.proto === 'udp' && l.port === 68)).toEqual({ proto: 'udp', address: '192.0.2.40', port: 68, process: 'systemd-network', pid: 529 });
  });

  it('RHEL 8 (iproute2 with [::] brackets, run without -p: no processes)', () => {
    const info = parseListeners(`__tool=ss\n${captured('rhel8/ss-tulpn.txt')}`);
    expect(info.listeners).toHaveLength(22);
    expect(tcp(info, 22)).toEqual([
      { proto: 'tcp', address: '::', port: 22 },
      { proto: 'tcp', address: '0.0.0.0', port: 22 },
    ]);
    expect(info.listeners.find((l) => l.port === 67)).toEqual({ proto: 'udp', address: '0.0.0.0', port: 67 });
    expect(tcp(info, 80)).toEqual([{ proto: 'tcp', address: '*', port: 80 }]);
  });

  it('RHEL 7: every socket, IPv6 written :::port, sshd with the pid= process format', () => {
    const info = parseListeners(`__tool=ss\n${captured('rhel7/ss-tulpn.txt')}`);
    expect(info.listeners).toHaveLength(13);
    expect(tcp(info, 2223)).toEqual([{ proto: 'tcp', address: '::', port: 2223, process: 'sshd', pid: 1416 }]);
    expect(info.listeners.find((l) => l.port === 37968)).toMatchObject({ proto: 'udp', address: '::', process: 'rpc.statd' });
  });

  // iproute2 before 3.18 (RHEL/CentOS 7.0-7.4 ship 3.10) prints users:(("sshd",1231,3)) without
  // `pid=`/`fd=`: without the process the listeners task could not tell sshd from an unexpected daemon.
  it('RHEL 7 with iproute 3.10: the old users:(("sshd",1231,3)) format names the process', () => {
    const info = parseListeners(`__tool=ss\n${captured('rhel7/ss-tulpn.txt')}`);
    expect(tcp(info, 22)).toEqual([{ proto: 'tcp', address: '*', port: 22, process: 'sshd', pid: 1231 }]);
  });

  it('RHEL 7 with iproute 3.10, whole ss -tupna capture: every listener named', () => {
    const info = parseListeners(`__tool=ss\n${captured('rhel7/ss-tupna-iproute-3.10.txt')}`);
    const listening = info.listeners.filter((l) => l.port === 22 || l.port === 111 || l.port === 25);
    expect(listening.length).toBeGreaterThan(0);
    expect(listening.every((l) => l.process !== undefined)).toBe(true);
  });

  it('RHEL 7 with iproute 3.10: addresses and ports are still read', () => {
    const info = parseListeners(`__tool=ss\n${captured('rhel7/ss-tupna-iproute-3.10.txt')}`);
    expect(tcp(info, 22).map((l) => l.address).sort()).toEqual(['*', '192.168.0.106', '::']);
  });
});

describe('service fact from a captured systemctl show (RHEL 7)', () => {
  it('tuned.service: loaded, active, enabled (the fact prints manager=systemd before systemctl show)', () => {
    const out = `manager=systemd\n${captured('rhel7/systemctl-show-tuned.txt')}`;
    expect(parseServiceFact(out, { name: 'tuned', manager: 'systemd' })).toEqual({
      manager: 'systemd',
      exists: true,
      active: true,
      enabled: true,
      masked: false,
      unitFileState: 'enabled',
      needsDaemonReload: false,
    });
  });
});

describe('sshd from captured RHEL 9 files', () => {
  it('sshd -T (first 53 lines, as published): port, listen addresses, auth settings', () => {
    const text = captured('rhel9/sshd-T-partial.txt');
    const eff = parseEffective(text);
    expect(text.trim().split('\n')).toHaveLength(53);
    expect(Object.keys(eff)).toHaveLength(52); // listenaddress twice
    expect(eff.port).toEqual(['22']);
    expect(eff.listenaddress).toEqual(['[::]:22', '0.0.0.0:22']);
    expect(eff.permitrootlogin).toEqual(['yes']);
    expect(eff.passwordauthentication).toEqual(['no']);
    expect(eff.kbdinteractiveauthentication).toEqual(['no']);
    expect(eff.requiredrsasize).toEqual(['2048']);
    expect(eff.gssapikexalgorithms).toEqual(['gss-curve25519-sha256-,gss-nistp256-sha256-,gss-group14-sha256-,gss-group16-sha512-']);
  });

  it('crypto-policies opensshserver.config (RHEL 9 format: sshd_config lines, read through 50-redhat.conf)', () => {
    const lines = captured('rhel9/opensshserver.config').split('\n').map(parseConfigLine).filter((l) => l !== null);
    expect(lines.map((l) => l.key)).toEqual(['ciphers', 'macs', 'gssapikexalgorithms', 'casignaturealgorithms', 'requiredrsasize']);
    expect(lines[0]?.args).toEqual(['aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr']);
  });
});

describe('file fact around captured configuration files', () => {
  /** What the file fact prints for a root-owned 0644 regular file at `path` with this content. */
  const fileOutput = (content: string, path: string): string =>
    [
      `path=${Buffer.from(path).toString('base64')}`,
      'type=file',
      `stat=644:0:0:root:root:${Buffer.byteLength(content)}`,
      `sha256=${createHash('sha256').update(content).digest('hex')}`,
      'content_begin',
      Buffer.from(content).toString('base64'),
      'content_end',
      '',
    ].join('\n');

  it('/etc/dnf/automatic.conf as dnf 4 ships it: [commands] with upgrade_type and apply_updates, no reboot option', () => {
    const text = captured('rhel9/dnf-automatic.conf');
    const f = parseFileFact(fileOutput(text, '/etc/dnf/automatic.conf'), '/etc/dnf/automatic.conf');
    expect(f).toMatchObject({ exists: true, type: 'file', mode: '0644', owner: 'root', size: 1510, content: text });
    expect(text).toMatch(/^\[commands\]\n/);
    expect(text).toMatch(/^upgrade_type = default$/m);
    expect(text).toMatch(/^apply_updates = no$/m);
    expect(text).not.toMatch(/^[ \t]*#?[ \t]*reboot[ \t]*=/m);
  });

  it('ufw status verbose (no fact parses it yet): captured as a reference for the coming ufw fact', () => {
    const text = captured('ubuntu/ufw-status-verbose.txt');
    expect(text.split('\n')[0]).toBe('Status: active');
    expect(text).toMatch(/^Default: deny \(incoming\), allow \(outgoing\), deny \(routed\)$/m);
  });
});
