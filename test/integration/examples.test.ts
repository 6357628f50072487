/**
 * examples/day-one.yaml on a real host: check predicts the apply, the apply
 * converges, a second apply changes nothing (harness.converge); then the
 * effect is proven from outside: the deploy user logs in over SSH with its
 * key (the OpenSSH client), the drop-in reads back with plain `cat`, the
 * package is installed as dpkg says, and the running sshd was reloaded: it now
 * refuses a password login it accepted before.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, startFleet, type Fleet } from './fleet.js';
import { converge, failures } from './harness.js';

const execFileP = promisify(execFile);
const image = (await fleetImages()).find((i) => i.present)?.name;
const dayOne = readFileSync(new URL('../../examples/day-one.yaml', import.meta.url), 'utf8');

/** Does sshd on the host accept this password? (ssh2 as an independent client) */
function passwordAccepted(host: string, port: number, username: string, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Client();
    c.on('ready', () => {
      c.end();
      resolve(true);
    });
    c.on('error', () => resolve(false));
    c.connect({ host, port, username, password, tryKeyboard: false, readyTimeout: 20_000, hostVerifier: () => true });
  });
}

describe.skipIf(!image)(`examples/day-one.yaml on ${image ?? 'no image'}`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('converges, changes nothing the second time, and its effect shows from outside', async () => {
    const h = fleet.hosts[0]!;
    expect(await passwordAccepted(h.host, h.port, 'secure', 'secure-pass')).toBe(true);
    // as the example's inventory says: the admin user with sudo; the key is the fleet's
    const c = await converge(fleet, dayOne, { user: 'admin', defaults: { become: true }, extraVars: { deploy_keys: [fleet.publicKey] } });
    expect(failures(c.apply)).toEqual([]);
    expect(c.apply.results.filter((r) => r.handler && r.status === 'changed').map((r) => r.task)).toEqual(['reload sshd']);

    const login = await execFileP('ssh', [
      '-i', fleet.identityFile, '-p', String(h.port), '-o', `UserKnownHostsFile=${fleet.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', `deploy@${h.host}`, 'id -un; echo $SHELL',
    ]);
    expect(login.stdout).toBe('deploy\n/bin/bash\n');
    const dropIn = await h.container.exec(['cat', '/etc/ssh/sshd_config.d/10-day-one.conf']);
    expect(dropIn.stdout).toBe('# Managed by provision (examples/day-one.yaml)\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n');
    expect((await h.container.exec(['dpkg-query', '-W', '-f=${Status}', 'htop'])).stdout).toBe('install ok installed');
    expect(await passwordAccepted(h.host, h.port, 'secure', 'secure-pass')).toBe(false);
  });
});
