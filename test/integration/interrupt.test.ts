/**
 * Ctrl-C during a run, through the built CLI: no new task starts, the running one
 * finishes, the recap is printed, exit code 130, and no temp file is left on the host.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';

const cli = builtCli();
const image = (await fleetImages()).find((i) => i.present && !i.name.endsWith('-systemd'))?.name;

describe.skipIf(!image)(`Ctrl-C (${image ?? 'no image'})`, () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image! });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('finishes the running task, prints the recap, exits 130, leaves no temp file', async () => {
    const inv = join(fleet.dir, 'inv.yaml');
    await fleet.writeInventory(inv);
    const pb = join(fleet.dir, 'slow.yaml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: slow
      shell: touch /root/slow-started && sleep 3 && echo done > /root/slow-done
    - name: never started
      copy: { dest: /root/after-interrupt, content: "x" }
`,
    );
    const child = spawn(process.execPath, [cli, '-i', inv, pb], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const host = fleet.hosts[0]!;
    // interrupt once the slow task is running on the host
    for (let i = 0; i < 300; i++) {
      if ((await host.container.exec(['test', '-e', '/root/slow-started'])).exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).toBe(130);
    expect(out).toMatch(/interrupt: no new tasks are started/);
    expect(out).toMatch(/RECAP/);
    expect(out).toMatch(/interrupted/);
    expect((await host.container.exec(['cat', '/root/slow-done'])).stdout).toBe('done\n');
    expect((await host.container.exec(['test', '-e', '/root/after-interrupt'])).exitCode).not.toBe(0);
    const temps = await host.container.exec(['sh', '-c', 'find / -xdev -name ".*.provision-*" 2>/dev/null']);
    expect(temps.stdout).toBe('');
  });
});
