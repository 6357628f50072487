/**
 * Host keys against a real sshd: an unknown host is refused by default with its
 * SHA256 fingerprint in the message; a changed key for [127.0.0.1]:PORT is
 * refused always, even with accept-new, showing the fingerprint; accept-new
 * connects and appends the key to the inventory's known_hosts_file, after
 * which strict works.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import { run } from '../../src/core/runner.js';
import { generateKeyPair, imageAvailability, renderInventory, startFleet, type Fleet } from './fleet.js';

const execFileP = promisify(execFile);
const avail = await imageAvailability();
const image = avail.present.includes('debian12') ? 'debian12' : avail.present[0];

async function fingerprintOf(pubLine: string, dir: string): Promise<string> {
  const f = join(dir, `fp-${Date.now()}.pub`);
  writeFileSync(f, `${pubLine}\n`);
  const { stdout } = await execFileP('ssh-keygen', ['-l', '-E', 'sha256', '-f', f]);
  return /(SHA256:\S+)/.exec(stdout)![1]!;
}

describe.skipIf(!image)('host keys', () => {
  let fleet: Fleet;
  let hostKeyLine: string;
  let fp: string;
  let pb: string;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image!, namePrefix: 'hk' });
    hostKeyLine = readFileSync(fleet.knownHostsFile, 'utf8').trim().split(' ').slice(1).join(' ');
    fp = await fingerprintOf(hostKeyLine, fleet.dir);
    pb = join(fleet.dir, 'probe.yaml');
    writeFileSync(pb, '- hosts: all\n  tasks:\n    - name: probe\n      command: "true"\n');
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  const go = (knownHostsFile: string, policy?: 'strict' | 'accept-new') => {
    const inv = join(fleet.dir, `inv-${Math.random().toString(36).slice(2)}.yaml`);
    let text = renderInventory(fleet.hosts, { user: 'root', identityFile: fleet.identityFile, knownHostsFile });
    if (policy) text = text.replace('  vars:\n', `  vars:\n    host_key_policy: ${policy}\n`);
    writeFileSync(inv, text);
    return run({ inventory: loadInventories([inv]), playbook: loadPlaybooks([pb]), registry });
  };
  const name = () => `[127.0.0.1]:${fleet.hosts[0]!.port}`;

  it('an unknown host is refused by default, naming its SHA256 fingerprint', async () => {
    const s = await go(join(fleet.dir, 'empty_known_hosts'));
    expect(s.exitCode).toBe(4);
    expect(s.results).toEqual([]);
    const h = s.hosts[0]!;
    expect(h.unreachable).toBe(true);
    expect(h.error).toContain(`unknown host key for ${name()} (${fp})`);
    expect(h.error).toMatch(/ssh-keyscan -p \d+ 127\.0\.0\.1|host_key_policy: accept-new/);
    expect(existsSync(join(fleet.dir, 'empty_known_hosts'))).toBe(false);
  });

  it('a changed host key is refused always, even with accept-new, showing both fingerprints', async () => {
    const other = await generateKeyPair(fleet.dir, 'impostor');
    const otherLine = other.publicKey.split(' ').slice(0, 2).join(' ');
    const otherFp = await fingerprintOf(otherLine, fleet.dir);
    const kh = join(fleet.dir, 'changed_known_hosts');
    writeFileSync(kh, `${name()} ${otherLine}\n`);
    for (const policy of ['strict', 'accept-new'] as const) {
      const s = await go(kh, policy);
      expect(s.exitCode, policy).toBe(4);
      expect(s.results).toEqual([]);
      expect(s.hosts[0]!.error).toContain(`HOST KEY CHANGED for ${name()}: it presents ${fp}, known_hosts has ${otherFp}`);
      expect(s.hosts[0]!.error).toContain('ssh-keygen -R');
    }
    // nothing was appended: the impostor line is still the only one
    expect(readFileSync(kh, 'utf8')).toBe(`${name()} ${otherLine}\n`);
  });

  it('accept-new records the key in the inventory known_hosts_file, then strict works', async () => {
    const kh = join(fleet.dir, 'sub', 'new_known_hosts');
    const first = await go(kh, 'accept-new');
    expect(first.exitCode, JSON.stringify(first.hosts)).toBe(0);
    expect(readFileSync(kh, 'utf8')).toBe(`${name()} ${hostKeyLine}\n`);
    const second = await go(kh, 'strict');
    expect(second.exitCode, JSON.stringify(second.hosts)).toBe(0);
    expect(second.results.map((r) => r.status)).toEqual(['changed']);
    // a third accept-new run does not append a duplicate line
    await go(kh, 'accept-new');
    expect(readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('accept-new with a known_hosts_file that cannot be written: the host is refused, naming the file and why', async () => {
    const blocker = join(fleet.dir, 'a-file');
    writeFileSync(blocker, '');
    const kh = join(blocker, 'known_hosts');
    const s = await go(kh, 'accept-new');
    expect(s.exitCode).toBe(4);
    expect(s.results).toEqual([]);
    expect(s.hosts[0]!.error).toContain(`cannot record the host key of ${name()} (${fp}) in ${kh}: `);
    expect(s.hosts[0]!.error).toMatch(/ENOTDIR|not a directory/);
  });
});
