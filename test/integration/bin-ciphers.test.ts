/**
 * The built bin (dist/cli/launcher.cjs, the bundle) against a real sshd that
 * offers one cipher at a time. The bundle's ssh2 does not wait for its
 * WebAssembly Poly1305 when its native addon is loaded (scripts/bundle.ts):
 * chacha20-poly1305 must then work through the addon, as the AES ciphers do.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';
import { imageAvailability, startFleet, type Fleet } from './fleet.js';

const execFileP = promisify(execFile);
const avail = await imageAvailability();
const image = avail.present.includes('debian12') ? 'debian12' : avail.present[0];

describe.skipIf(!image)('the bin with each cipher', () => {
  let fleet: Fleet;
  let inventory: string;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image!, namePrefix: 'cipher' });
    inventory = join(fleet.dir, 'inventory.yaml');
    await fleet.writeInventory(inventory);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.each(['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr'])('%s', async (cipher) => {
    const c = fleet.hosts[0]!.container;
    // sshd re-executes itself on SIGHUP with the new setting (a connection refused meanwhile is tried again);
    // at LogLevel DEBUG it logs the cipher each connection agreed on
    const set = await c.exec(['sh', '-c', `printf 'Ciphers ${cipher}\\nLogLevel DEBUG\\n' > /etc/ssh/sshd_config.d/00-cipher.conf && sshd -T | grep -x 'ciphers ${cipher}' && kill -HUP "$(cat /run/sshd.pid)"`]);
    expect(set.exitCode, set.output).toBe(0);
    let r: { stdout: string; stderr: string } | undefined;
    for (let i = 0; i < 50 && !r; i++) {
      r = await execFileP(process.execPath, [builtCli(), 'exec', '-i', inventory, 'all', '--', 'echo spoke-$((6*7))'], { env: { ...process.env, NO_COLOR: '1' } }).catch((err: { stdout: string; stderr: string }) => {
        if (!/unreachable|refused/i.test(err.stdout + err.stderr)) throw new Error(`${err.stdout}${err.stderr}`);
        return new Promise<undefined>((res) => setTimeout(() => res(undefined), 100));
      });
    }
    expect(r?.stdout).toContain('spoke-42');
    const logs = await execFileP('docker', ['logs', c.getId()]);
    expect(logs.stdout + logs.stderr).toContain(`kex: client->server cipher: ${cipher} `);
  }, 60_000);
});
