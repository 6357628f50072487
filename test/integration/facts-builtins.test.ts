/**
 * The fact commands that now use shell builtins where they started utilities
 * (files: the sha256 from the content read; stat: field splitting; user: the
 * shadow line and home directory; iptables, host keys, firewall managers), and
 * the packages reads a batch merges into one dpkg-query, read the way a run
 * reads them (one batch, as admin with sudo, over SSH), against what plain
 * commands print in the container (`docker exec`: sha256sum, getent,
 * ssh-keygen, iptables -V, dpkg-query), which never go through our fact code.
 * sysctl stays `sysctl -n`: dash's `read` takes /proc/sys one byte at a time,
 * and the kernel answers a read past offset 0 of `kernel.printk` with nothing
 * (a builtin read gave "4" for "4\t4\t1\t7"); its case here keeps that so.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories } from '../../src/api.js';
import { connectHost } from '../../src/core/connect.js';
import { HostSession, type FactRead } from '../../src/core/host.js';
import type { FactRequest } from '../../src/contract/fact.js';
import { fileAt, type FileInfo } from '../../src/facts/files.js';
import { statOf, type StatResult } from '../../src/facts/stat.js';
import { userInfo, type UserInfo } from '../../src/facts/users.js';
import { sysctlValue } from '../../src/facts/sysctl.js';
import { packagesInstalled, type PackagesInfo } from '../../src/facts/packages.js';
import { iptablesSave, type IptablesSave } from '../../src/facts/iptables.js';
import { hostKeysFact, type HostKeysFacts } from '../../src/facts/hostkeys.js';
import { firewallManagers, type FirewallManagers } from '../../src/facts/firewall-managers.js';
import { req } from '../../src/contract/fact.js';
import { imageAvailability, startFleet, type Fleet } from './fleet.js';
import { onHost } from './harness.js';

const avail = await imageAvailability();
const image = avail.present.includes('debian12') ? 'debian12' : undefined;

const SYSCTLS = ['net.ipv4.ip_forward', 'kernel.printk', 'net.ipv4.ip_local_port_range', 'kernel.randomize_va_space', 'net.ipv4.conf.all.rp_filter', 'fs.protected_regular', 'kernel.core_pattern'];

describe.skipIf(!image)('facts read with shell builtins, against plain commands', () => {
  let fleet: Fleet;
  let session: HostSession;
  const sh = (command: string): Promise<string> => onHost(fleet, command);
  const values = new Map<string, unknown>();
  const asRoot = { become: true, becomeUser: 'root' };
  const get = <T>(r: FactRequest<T>): T => values.get(r.id) as T;

  const requests: FactRequest[] = [
    ...['/tmp/f/text', '/tmp/f/big', '/tmp/f/binary', '/tmp/f/empty', '/tmp/f/link', '/etc', '/tmp/f/missing'].map((p) => fileAt(p)),
    statOf({ path: '/tmp/f/text', follow: false, checksum: 'sha1', md5: true, mime: false, attributes: false }),
    statOf({ path: '/tmp/f/owned', follow: false, checksum: null, mime: false, attributes: false }),
    ...['admin', 'keyed', 'nosuchuser'].map((n) => userInfo(n)),
    ...[...SYSCTLS, 'no.such.key', 'net.ipv4', 'net/ipv4/ip_forward'].map((n) => sysctlValue(n)),
    iptablesSave(4),
    req(hostKeysFact, { moduliMinBits: null }),
    firewallManagers('none'),
    packagesInstalled(['openssh-server', 'no-such-package']),
    packagesInstalled(['sudo']),
    packagesInstalled(['tree', 'openssh-server']),
  ];

  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image!, namePrefix: 'fb' });
    await sh(
      [
        'mkdir -p /tmp/f',
        "printf 'héllo\\nno newline' > /tmp/f/text",
        'head -c 1100000 /dev/zero | tr "\\0" a > /tmp/f/big',
        'printf "\\377\\376\\0\\1" > /tmp/f/binary',
        ': > /tmp/f/empty',
        'ln -s /tmp/f/text /tmp/f/link',
        'touch /tmp/f/owned && chown 4242:4343 /tmp/f/owned',
        'useradd -m -d /srv/keyed keyed && echo "keyed:\\$6\\$salt\\$hash" | chpasswd -e',
        'mkdir -p /srv/keyed/.ssh && echo "ssh-ed25519 AAAAkey me" > /srv/keyed/.ssh/authorized_keys && chmod 700 /srv/keyed/.ssh && chown -R keyed: /srv/keyed/.ssh',
      ].join(' && '),
    );
    const inv = `${fleet.dir}/inventory-admin.yaml`;
    await fleet.writeInventory(inv, { user: 'admin' });
    const spec = [...loadInventories([inv]).hosts.values()][0]!;
    session = new HostSession(spec.name, await connectHost(spec), undefined);
    const reads: FactRead[] = requests.map((request) => ({ request, as: asRoot }));
    await session.read(reads, { gather: true });
    for (const r of requests) values.set(r.id, (await session.readFacts([r], asRoot)).get(r.id));
  }, 120_000);
  afterAll(async () => {
    await session?.close();
    await fleet?.stop();
  });

  it('file: sha256 and content as sha256sum and cat see them, for text, binary, empty and over 1 MiB', async () => {
    for (const p of ['/tmp/f/text', '/tmp/f/big', '/tmp/f/binary', '/tmp/f/empty']) {
      const info = get(fileAt(p)) as FileInfo;
      expect(info.exists && info.sha256, p).toBe((await sh(`sha256sum < ${p}`)).split(' ')[0]);
    }
    expect(get(fileAt('/tmp/f/text'))).toMatchObject({ type: 'file', content: 'héllo\nno newline', size: 17 });
    expect(get(fileAt('/tmp/f/big'))).not.toHaveProperty('content');
    expect(get(fileAt('/tmp/f/binary'))).not.toHaveProperty('content');
    expect(get(fileAt('/tmp/f/empty'))).toMatchObject({ content: '', size: 0 });
    expect(get(fileAt('/tmp/f/link'))).toMatchObject({ type: 'link', target: '/tmp/f/text' });
    expect(get(fileAt('/tmp/f/link'))).not.toHaveProperty('sha256');
    expect(get(fileAt('/etc'))).toMatchObject({ type: 'directory' });
    expect(get(fileAt('/tmp/f/missing'))).toEqual({ exists: false });
  });

  it('stat: owner names from getent, checksums as sha1sum and md5sum print them', async () => {
    const s = get(statOf({ path: '/tmp/f/text', follow: false, checksum: 'sha1', md5: true, mime: false, attributes: false })) as StatResult;
    expect(s).toMatchObject({ uid: 0, gid: 0, pw_name: 'root', gr_name: 'root' });
    expect(s).toMatchObject({ checksum: (await sh('sha1sum < /tmp/f/text')).split(' ')[0], md5: (await sh('md5sum < /tmp/f/text')).split(' ')[0] });
    // ids without a name: no pw_name, no gr_name
    const owned = get(statOf({ path: '/tmp/f/owned', follow: false, checksum: null, mime: false, attributes: false })) as StatResult;
    expect(owned).toMatchObject({ uid: 4242, gid: 4343 });
    expect(owned).not.toHaveProperty('pw_name');
    expect(owned).not.toHaveProperty('gr_name');
  });

  it('user: the password hash from /etc/shadow, the home directory from getent', async () => {
    const keyed = get(userInfo('keyed')) as UserInfo;
    const hash = (await sh('getent shadow keyed')).split(':')[1]!;
    expect(hash).toBe('$6$salt$hash');
    expect(keyed).toMatchObject({ exists: true, home: '/srv/keyed', password: { state: 'set', locked: false, hashDigest: createHash('sha256').update(hash).digest('hex') } });
    expect(keyed).toMatchObject({ authorizedKeys: 'ssh-ed25519 AAAAkey me\n', sshDir: { mode: '0700', owner: 'keyed', group: 'keyed' } });
    const admin = get(userInfo('admin')) as UserInfo;
    const adminShadow = (await sh('getent shadow admin')).split(':')[1]!;
    expect(admin).toMatchObject({ exists: true, home: (await sh('getent passwd admin')).split(':')[5] });
    expect(admin.exists && admin.password?.state).toBe(adminShadow === '' ? 'empty' : adminShadow.startsWith('$') || adminShadow.startsWith('!$') ? 'set' : 'none');
    expect(get(userInfo('nosuchuser'))).toEqual({ exists: false });
  });

  it('sysctl: what sysctl -n prints, tabs and all (all read by one merged grep); none for an unknown key or a directory', async () => {
    for (const name of SYSCTLS) expect(get(sysctlValue(name)), name).toBe((await sh(`sysctl -n ${name}`)).replace(/\n$/, '') || null);
    expect(get(sysctlValue('kernel.printk'))).toContain('\t');
    // the path form of a name read in the same grep: the file's value once, not twice
    expect(get(sysctlValue('net/ipv4/ip_forward'))).toBe((await sh('sysctl -n net.ipv4.ip_forward')).trim());
    expect(get(sysctlValue('no.such.key'))).toBeNull();
    // a directory is not a parameter (sysctl -n would print every value under it)
    expect(get(sysctlValue('net.ipv4'))).toBeNull();
  });

  it('packages: three reads in one dpkg-query, each with the versions dpkg-query prints for its names', async () => {
    const version = async (p: string) => (await sh(`dpkg-query -W -f='\${Version}' ${p}`)).trim();
    expect(get(packagesInstalled(['openssh-server', 'no-such-package']))).toEqual({ 'openssh-server': { version: await version('openssh-server') }, 'no-such-package': null } satisfies PackagesInfo);
    expect(get(packagesInstalled(['sudo']))).toEqual({ sudo: { version: await version('sudo') } });
    const tree = (await fleet.hosts[0]!.container.exec(['dpkg-query', '-W', 'tree'])).exitCode === 0 ? { version: await version('tree') } : null;
    expect(get(packagesInstalled(['tree', 'openssh-server']))).toEqual({ tree, 'openssh-server': { version: await version('openssh-server') } });
  });

  it('iptables version, host key sizes and firewall managers as the tools print them', async () => {
    const v = (await sh('iptables -V')).trim();
    expect(get(iptablesSave(4))).toMatchObject({ version: /v(\d+\.\d+\.\d+)/.exec(v)![1], backend: v.includes('nf_tables') ? 'nft' : 'legacy' } satisfies Partial<IptablesSave>);
    const keys = get(req(hostKeysFact, { moduliMinBits: null })) as HostKeysFacts;
    const rsaBits = Number((await sh('ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key')).split(' ')[0]);
    expect(keys.keys.rsa).toMatchObject({ bits: rsaBits });
    expect(keys.keys.ed25519).toMatchObject({ bits: 256 });
    const fw = get(firewallManagers('none')) as FirewallManagers;
    expect(fw.ufw).toMatchObject({ installed: false });
    // no firewalld.conf: no sed started, the default backend
    expect(fw.firewalld.backend).toBe('iptables');
  });
});
