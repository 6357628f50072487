/**
 * `apt_key` and `rpm_key` over real SSH on debian12 (issue #14). The test
 * key is generated on this machine with gpg (the test needs gpg here), an
 * empty flat apt repository copied into the container has an InRelease
 * signed by it, and the key is served by an HTTP server in the container
 * (python3 on 127.0.0.1). The effect is read from
 * outside provision with docker exec: `apt-get update` of that repository
 * fails with NO_PUBKEY before apt_key and after state absent, and succeeds
 * in between; `rpm -q gpg-pubkey-ID` (Debian's rpm package) says whether
 * rpm_key imported the key. Each play is applied twice and check mode is
 * compared with the apply (converge).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

/** Run one shell command as root on the host through docker exec (outside provision). */
async function sh(fleet: Fleet, command: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await fleet.hosts[0]!.container.exec(['sh', '-c', command]);
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** Only the test repository, so nothing reaches Debian's archive: its output (stdout and stderr) and exit code. */
const UPDATE_TEST_REPO =
  "apt-get update -o Dir::Etc::sourcelist=/etc/apt/test-repo.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 2>&1; echo \"exit=$?\"";

/**
 * The test key and repository, made on this machine with gpg in a throwaway
 * home: the key armored (served at /key.asc) and binary, and a flat apt
 * repository (an empty Packages) whose InRelease it signs.
 */
function makeKeyAndRepo(): { fpr: string; files: Record<string, Buffer> } {
  const home = mkdtempSync(join(tmpdir(), 'provision-keys-'));
  const gpg = (...args: string[]): Buffer => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', ...args]);
  try {
    gpg('--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'provision apt_key test <keys@example.org>', 'ed25519', 'sign', 'never');
    const fpr = gpg('--with-colons', '--list-keys', 'keys@example.org').toString().split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] as string;
    const empty = createHash('sha256').update('').digest('hex');
    const release = `Origin: provision-test\nLabel: provision-test\nSuite: stable\nCodename: stable\nDate: ${new Date().toUTCString()}\nSHA256:\n ${empty} 0 Packages\n`;
    writeFileSync(join(home, 'Release'), release);
    gpg('--yes', '--clearsign', '-o', join(home, 'InRelease'), join(home, 'Release'));
    return {
      fpr,
      files: {
        '/srv/keys/key.asc': gpg('--armor', '--export', 'keys@example.org'),
        '/srv/keys/key.gpg': gpg('--export', 'keys@example.org'),
        '/srv/repo/Packages': Buffer.alloc(0),
        '/srv/repo/InRelease': readFileSync(join(home, 'InRelease')),
      },
    };
  } finally {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(home, { recursive: true, force: true });
  }
}

/** rpm (Debian's package) and curl for the downloads, from bookworm main only; the key server on 127.0.0.1:8080. */
const SETUP = String.raw`set -e
echo 'deb http://deb.debian.org/debian bookworm main' > /tmp/main.list
o='-o Dir::Etc::sourcelist=/tmp/main.list -o Dir::Etc::sourceparts=-'
DEBIAN_FRONTEND=noninteractive apt-get $o update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get $o install -y -qq --no-install-recommends rpm curl >/dev/null
echo 'deb file:/srv/repo ./' > /etc/apt/test-repo.list
cd /srv/keys && nohup python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 </dev/null &`;

describe.each(images)('apt_key and rpm_key on $name', ({ name, present }) => {
  let fleet: Fleet;
  let fpr: string;
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 1, image: name });
    const made = makeKeyAndRepo();
    fpr = made.fpr;
    expect(fpr).toMatch(/^[0-9A-F]{40}$/);
    for (const [path, bytes] of Object.entries(made.files)) {
      const put = await sh(fleet, `mkdir -p "$(dirname ${path})" && echo ${bytes.toString('base64') || '""'} | base64 -d > ${path}`);
      expect(put.exitCode, put.stderr).toBe(0);
    }
    const setup = await sh(fleet, SETUP);
    expect(setup.exitCode, setup.stderr).toBe(0);
    // the key server is up once it serves the key
    // (curl's own status: in `curl | head` the pipeline's is head's, 0 before the server is up)
    const served = await sh(fleet, 'for i in $(seq 50); do k=$(curl -fsS http://127.0.0.1:8080/key.asc 2>/dev/null) && { printf "%s\\n" "$k" | head -1; exit 0; }; sleep 0.2; done; exit 1');
    expect(served.stdout).toBe('-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
  }, 600_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('apt_key url: apt trusts the key for the signed repository (NO_PUBKEY before and after absent); the file holds the served bytes', async () => {
    const before = await sh(fleet, UPDATE_TEST_REPO);
    expect(before.stdout).toContain(`NO_PUBKEY ${fpr.slice(-16)}`);
    expect(before.stdout).toMatch(/exit=100\n$/);

    const play = (state: string) => `
- hosts: all
  tasks:
    - name: key
      apt_key: url=http://127.0.0.1:8080/key.asc state=${state}
`;
    const c = await converge(fleet, play('present'));
    expect(keysOf(c.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: key`]);
    const path = '/etc/apt/trusted.gpg.d/127_0_0_1_8080_key.asc';
    expect((await sh(fleet, `cmp ${path} /srv/keys/key.asc && stat -c %a:%U ${path}`)).stdout).toBe('644:root\n');
    const after = await sh(fleet, UPDATE_TEST_REPO);
    expect(after.stdout).not.toContain('NO_PUBKEY');
    expect(after.stdout).toMatch(/exit=0\n$/);

    const gone = await converge(fleet, play('absent'));
    expect(keysOf(gone.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: key`]);
    expect((await sh(fleet, `test -e ${path}; echo $?`)).stdout).toBe('1\n');
    expect((await sh(fleet, UPDATE_TEST_REPO)).stdout).toContain(`NO_PUBKEY ${fpr.slice(-16)}`);
  });

  it.skipIf(!present)('apt_key file + id + keyring: a binary key for a signed-by source; present by id; a key without that id fails and writes nothing', async () => {
    const keyring = '/etc/apt/keyrings/test.gpg';
    await sh(fleet, `echo 'deb [signed-by=${keyring}] file:/srv/repo ./' > /etc/apt/test-repo.list`);
    // apt warns and exits 0 when a signed-by keyring is missing: the refusal is the NO_PUBKEY line
    expect((await sh(fleet, UPDATE_TEST_REPO)).stdout).toContain(`NO_PUBKEY ${fpr.slice(-16)}`);
    const play = (id: string) => `
- hosts: all
  tasks:
    - name: key
      ansible.builtin.apt_key: { file: /srv/keys/key.gpg, id: "${id}", keyring: ${keyring} }
`;
    await converge(fleet, play(fpr.slice(-8)));
    expect((await sh(fleet, `cmp ${keyring} /srv/keys/key.gpg && echo same`)).stdout).toBe('same\n');
    const trusted = await sh(fleet, UPDATE_TEST_REPO);
    expect(trusted.stdout).not.toContain('NO_PUBKEY');
    expect(trusted.stdout).toMatch(/exit=0\n$/);

    const wrong = await runPlaybook(fleet, play('0123456789ABCDEF').replace(keyring, '/etc/apt/keyrings/other.gpg'));
    expect(failures(wrong)).toEqual([`${fleet.hosts[0]!.name}: key: the key from /srv/keys/key.gpg does not have id 0123456789ABCDEF (it has ${fpr})`]);
    expect((await sh(fleet, 'test -e /etc/apt/keyrings/other.gpg; echo $?')).stdout).toBe('1\n');
  });

  it.skipIf(!present)('rpm_key: the Ansible corpus spelling with a loop imports the key (rpm -q gpg-pubkey-ID); absent by key id removes it', async () => {
    const id = fpr.slice(-8).toLowerCase();
    const rpmQ = `rpm -q gpg-pubkey-${id} >/dev/null 2>&1; echo $?`;
    expect((await sh(fleet, rpmQ)).stdout).toBe('1\n');
    const play = `
- hosts: all
  tasks:
    - name: keys
      rpm_key: "key={{ item }} state=present"
      with_items:
        - http://127.0.0.1:8080/key.asc
        - /srv/keys/key.asc
`;
    const c = await converge(fleet, play);
    // the second item is the same key, already imported by the first: only the first changes
    expect(keysOf(c.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: keys (item=http://127.0.0.1:8080/key.asc)`]);
    expect((await sh(fleet, rpmQ)).stdout).toBe('0\n');
    expect((await sh(fleet, `rpm -q gpg-pubkey --qf '%{VERSION}\\n'`)).stdout).toBe(`${id}\n`);

    const gone = await converge(fleet, `- hosts: all\n  tasks:\n    - name: drop\n      ansible.builtin.rpm_key: { key: "0x${fpr.slice(-16)}", state: absent }\n`);
    expect(keysOf(gone.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: drop`]);
    expect((await sh(fleet, rpmQ)).stdout).toBe('1\n');
  });
});
