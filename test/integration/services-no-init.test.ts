/**
 * Services on a host without an init system (the plain debianNN images: sshd
 * is PID 1), the way Ansible treats them: an /etc/init.d script runs the
 * daemon and update-rc.d writes its boot links; and check mode on a fresh host
 * predicts the day-one playbook (install a daemon, write its config with a
 * handler, start and enable it) instead of failing on the service the package
 * would install.
 *
 * Everything is proven from outside with docker exec: the daemon's process and
 * port, the S links in /etc/rc2.d. The day-one test installs nginx from the
 * Debian archive (the slow one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, startFleet, type Fleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => !i.name.endsWith('-systemd'));

/** A tiny LSB init script in the start-stop-daemon style of Debian's: an HTTP server on port 8077. */
const PINGD = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          pingd
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: test daemon
### END INIT INFO
PIDFILE=/run/pingd.pid
case "$1" in
  start) start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile $PIDFILE --exec /usr/bin/python3 -- -m http.server 8077 --bind 127.0.0.1 --directory /srv ;;
  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile $PIDFILE --remove-pidfile ;;
  restart|reload) "$0" stop && "$0" start ;;
  status) start-stop-daemon --status --pidfile $PIDFILE ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
`;

/** Answers on 127.0.0.1:port inside the container (a plain TCP connect, not through provision). */
const PROBE = (port: number) => `python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(s.connect_ex(("127.0.0.1", ${port})))'`;

describe.each(images)('services without an init system on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  const sh = async (command: string) => {
    const r = await fleet.hosts[0]!.container.exec(['sh', '-c', command]);
    return { exitCode: r.exitCode, stdout: r.stdout };
  };
  const host = () => fleet.hosts[0]!.name;

  it.skipIf(!present)('an /etc/init.d script is started and enabled (update-rc.d), then stopped and disabled', async () => {
    expect((await sh(`cat > /etc/init.d/pingd <<'EOF'\n${PINGD}EOF\nchmod 755 /etc/init.d/pingd`)).exitCode).toBe(0);
    const play = (state: string, enabled: boolean) => `- hosts: all\n  tasks:\n    - name: pingd\n      service: { name: pingd, state: ${state}, enabled: ${enabled} }\n`;

    const on = await converge(fleet, play('started', true));
    expect(keysOf(on.apply, 'changed')).toEqual([`${host()}: pingd`]);
    expect(on.apply.results[0]?.message).toBe('enable pingd, start pingd');
    expect((await sh(PROBE(8077))).exitCode, 'pingd answers on its port').toBe(0);
    expect((await sh('ps -o args= -p "$(cat /run/pingd.pid)"')).stdout).toContain('http.server 8077');
    expect((await sh('ls /etc/rc2.d')).stdout).toMatch(/^S\d\dpingd$/m);

    const off = await converge(fleet, play('stopped', false));
    expect(off.apply.results[0]?.message).toBe('disable pingd, stop pingd');
    expect((await sh(PROBE(8077))).exitCode, 'nothing listens any more').not.toBe(0);
    expect((await sh('pgrep -f "http[.]server 8077"')).exitCode).not.toBe(0);
    expect((await sh('ls /etc/rc2.d')).stdout).not.toMatch(/S\d\dpingd/);
    expect((await sh('ls /etc/rc2.d')).stdout).toMatch(/^K\d\dpingd$/m);
  });

  it.skipIf(!present)('day one: check predicts installing nginx, its config with a handler, starting it; apply converges; nginx serves', async () => {
    const dayOne = `- hosts: all
  tasks:
    - name: nginx installed
      package: { name: nginx }
    - name: health endpoint
      copy:
        dest: /etc/nginx/conf.d/health.conf
        content: |
          server { listen 8088; location /health { return 200 "ok\\n"; } }
      notify: restart nginx
    - name: nginx running and started at boot
      service: { name: nginx, state: started, enabled: true }
  handlers:
    - name: restart nginx
      service: { name: nginx, state: restarted }
`;
    const all = ['nginx installed', 'health endpoint', 'nginx running and started at boot', 'restart nginx'].map((t) => `${host()}: ${t}`).sort();
    const check = await runPlaybook(fleet, dayOne, { check: true });
    expect(failures(check)).toEqual([]);
    expect(keysOf(check, 'changed')).toEqual(all);
    expect(check.results.find((r) => r.task === 'nginx running and started at boot')?.message).toBe('enable nginx, start nginx (not installed yet: an earlier task would install it)');
    expect(check.exitCode, 'check mode reports drift').toBe(3);
    expect((await sh('test -e /etc/init.d/nginx')).exitCode, 'check mode installed nothing').not.toBe(0);

    const apply = await runPlaybook(fleet, dayOne);
    expect(failures(apply)).toEqual([]);
    // what apply changed, check predicted (the package's own scripts may already have started or enabled it)
    for (const k of keysOf(apply, 'changed')) expect(all).toContain(k);
    expect(keysOf(apply, 'changed')).toEqual(expect.arrayContaining([`${host()}: nginx installed`, `${host()}: health endpoint`, `${host()}: restart nginx`]));
    const again = await runPlaybook(fleet, dayOne);
    expect(failures(again)).toEqual([]);
    expect(keysOf(again, 'changed'), 'second apply changes nothing').toEqual([]);
    const audit = await runPlaybook(fleet, dayOne, { check: true });
    expect(keysOf(audit, 'changed')).toEqual([]);
    expect(audit.exitCode).toBe(0);

    expect((await sh('pgrep -x nginx')).exitCode, 'nginx runs').toBe(0);
    expect((await sh(`python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8088/health").read().decode(), end="")'`)).stdout).toBe('ok\n');
    expect((await sh('ls /etc/rc2.d')).stdout).toMatch(/^S\d\dnginx$/m);
  }, 600_000);

  it.skipIf(!present)('apply still fails on a service nothing installs', async () => {
    const play = `- hosts: all\n  tasks:\n    - name: nosuchd\n      service: { name: nosuchd, state: started }\n`;
    for (const check of [true, false]) {
      const s = await runPlaybook(fleet, play, { check });
      expect(failures(s)).toEqual([`${host()}: nosuchd: service nosuchd not found on ${s.results[0]?.message.match(/found on (\S+)/)?.[1]} (no init script, unit file or process)`]);
    }
  });
});
