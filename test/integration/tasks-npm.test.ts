/**
 * npm against a real npm on a fleet host: this machine's own Node.js and npm
 * are copied into a debian12 container (Debian's npm package is 365 packages),
 * npm is made offline there (no registry is reachable from tests), and the
 * packages are local tarballs made with `npm pack` inside the container. The
 * effect is read through docker exec: the installed package's package.json,
 * and node requiring it; never through our planner.
 */
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, keysOf, runPlaybook } from './harness.js';

const image = (await fleetImages()).find((i) => i.name === 'debian12');
const npmDir = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');

async function sh(fleet: Fleet, command: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return fleet.hosts[0]!.container.exec(['sh', '-c', command]);
}

describe.skipIf(!image?.present)('npm on debian12', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: 'debian12' });
    const c = fleet.hosts[0]!.container;
    await c.copyFilesToContainer([{ source: process.execPath, target: '/usr/local/bin/node' }]);
    await c.copyDirectoriesToContainer([{ source: npmDir, target: '/usr/local/lib/node_modules/npm' }]);
    const setup = await sh(
      fleet,
      [
        'set -e',
        'chmod 755 /usr/local/bin/node',
        'ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm',
        'mkdir -p /usr/local/etc && printf "offline=true\\naudit=false\\nfund=false\\nupdate-notifier=false\\n" > /usr/local/etc/npmrc',
        'mkdir -p /srv/pkg /srv/app && cd /srv/pkg',
        `printf '{"name":"leftish","version":"1.0.0","main":"index.js"}' > package.json`,
        `echo 'module.exports = (s, n) => String(s).padStart(n, "*")' > index.js`,
        'npm pack --silent',
        'cd /srv/app',
        `printf '{"name":"app","version":"1.0.0","dependencies":{"leftish":"file:/srv/pkg/leftish-1.0.0.tgz"}}' > package.json`,
      ].join('\n'),
    );
    expect(setup.exitCode, setup.stderr).toBe(0);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('installs what package.json asks for, then removes a named package, each proven by node itself', async () => {
    const install = `
- hosts: all
  tasks:
    - name: app dependencies
      npm: path=/srv/app
`;
    const c = await converge(fleet, install);
    expect(keysOf(c.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: app dependencies`]);
    const run = await sh(fleet, 'cd /srv/app && node -e \'console.log(require("leftish")("x", 3)); console.log(require("leftish/package.json").version)\'');
    expect(run.stdout).toBe('**x\n1.0.0\n');

    const remove = `
- hosts: all
  tasks:
    - name: leftish gone
      community.general.npm: { name: leftish, path: /srv/app, state: absent }
`;
    const r = await converge(fleet, remove);
    expect(keysOf(r.apply, 'changed')).toEqual([`${fleet.hosts[0]!.name}: leftish gone`]);
    expect((await sh(fleet, 'test -e /srv/app/node_modules/leftish; echo $?')).stdout).toBe('1\n');
    // package.json no longer asks for it (npm uninstall saves), so the project is complete again
    const again = await runPlaybook(fleet, install, { check: true });
    expect(keysOf(again, 'changed')).toEqual([]);
  });

  it('names what is missing instead of failing obscurely', async () => {
    const s = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: nowhere\n      npm: { path: /srv/nowhere }\n');
    expect(s.results.map((r) => r.message)).toEqual(['fact npm: path /srv/nowhere does not exist on the host']);
    const t = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: no npm\n      npm: { path: /srv/app, executable: /opt/none/npm }\n');
    expect(t.results.map((r) => r.message)).toEqual(['fact npm: /opt/none/npm not found on the host: install Node.js and npm first']);
  });
});
