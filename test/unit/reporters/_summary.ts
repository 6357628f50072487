/** Synthetic finished runs for the report format tests (and the HTML e2e test). */
import { exitCodeOf, type HostRecap, type RunSummary, type TaskResult } from '../../../src/core/results.js';

export const NASTY = `<script>alert("x")</script> & ]]> ' | \`code\` \u0001 *em* --> <!--`;

type Partial2 = Partial<TaskResult> & Pick<TaskResult, 'host' | 'task' | 'status'>;

export function result(p: Partial2): TaskResult {
  return {
    play: 'harden',
    module: 'copy',
    location: 'playbooks/harden.yaml:12',
    ignored: false,
    handler: false,
    message: p.status === 'ok' ? 'already as wanted' : p.status === 'skipped' ? 'condition is false (when)' : p.status === 'failed' ? 'exit 1: boom' : 'would write /etc/motd',
    diffs: [],
    durationMs: 12,
    ...p,
  };
}

/** Recaps computed from results, like the runner does; `unreachable` hosts get no results of their own. */
export function summary(results: TaskResult[], o: { check?: boolean; unreachable?: Record<string, string>; hosts?: string[]; interrupted?: boolean } = {}): RunSummary {
  const names = o.hosts ?? [...new Set([...results.map((r) => r.host), ...Object.keys(o.unreachable ?? {})])];
  const hosts: HostRecap[] = names.map((host) => {
    const mine = results.filter((r) => r.host === host);
    const n = (st: TaskResult['status']) => mine.filter((r) => r.status === st && !(st === 'failed' && r.ignored)).length;
    const err = o.unreachable?.[host];
    return {
      host,
      ok: n('ok'),
      changed: n('changed'),
      failed: n('failed'),
      skipped: n('skipped'),
      ignored: mine.filter((r) => r.status === 'failed' && r.ignored).length,
      unreachable: err !== undefined,
      ...(err !== undefined ? { error: err } : {}),
    };
  });
  const s: RunSummary = {
    check: o.check ?? false,
    startedAt: '2025-01-02T03:04:05.678Z',
    durationMs: 4321,
    interrupted: o.interrupted ?? false,
    hosts,
    results,
    exitCode: 0,
    stats: Object.fromEntries(names.filter((h) => !o.unreachable?.[h]).map((h) => [h, { commands: 3, roundTrips: 2 }])),
  };
  s.exitCode = exitCodeOf(s);
  return s;
}

/** A small check-mode run with every status, a loop, a handler, a diff, an ignored failure and hostile strings. */
export function mixedRun(check = true): RunSummary {
  const diff = { label: '/etc/ssh/sshd_config', before: 'PermitRootLogin yes\nX11Forwarding yes\n', after: 'PermitRootLogin no\nX11Forwarding yes\n' };
  return summary(
    [
      result({ host: 'web1', task: 'motd', status: 'ok' }),
      result({ host: 'web1', task: 'sshd hardening', module: 'sshd_config', location: 'playbooks/harden.yaml:20', status: 'changed', diffs: [diff], message: 'would set PermitRootLogin no' }),
      result({ host: 'web1', task: 'packages (pkg=curl)', module: 'package', location: 'playbooks/harden.yaml:30', status: 'ok', item: 'curl' }),
      result({ host: 'web1', task: 'packages (pkg=telnet)', module: 'package', location: 'playbooks/harden.yaml:30', status: 'changed', item: 'telnet' }),
      result({ host: 'web1', task: 'reload sshd', module: 'service', location: 'playbooks/harden.yaml:40', status: 'skipped', handler: true, message: 'check mode: would run' }),
      result({ host: 'web2', task: 'motd', status: 'ok' }),
      result({ host: 'web2', task: NASTY, module: 'command', location: 'playbooks/harden.yaml:25', status: 'failed', code: 'E_COMMAND', rc: 1, stderr: `bad ${NASTY}`, message: `exit 1: ${NASTY}` }),
      result({ host: 'db1', task: 'motd', status: 'skipped' }),
      result({ host: 'db1', task: 'optional', module: 'command', status: 'failed', ignored: true, message: 'exit 2: ignored' }),
    ],
    { check, unreachable: { 'db2.example.com': 'connect ECONNREFUSED 10.0.0.9:22' }, hosts: ['web1', 'web2', 'db1', 'db2.example.com'] },
  );
}

/** A big fleet: `hosts` hosts × `tasks` tasks, deterministic statuses, some drift with diffs, a few failures and unreachable hosts. */
export function fleetRun(hosts = 200, tasks = 14, check = true): RunSummary {
  const results: TaskResult[] = [];
  const unreachable: Record<string, string> = {};
  const names = Array.from({ length: hosts }, (_, i) => `${['web', 'db', 'cache', 'edge'][i % 4]}-${String(i + 1).padStart(3, '0')}.dc${(i % 3) + 1}.example.net`);
  const taskNames = Array.from({ length: tasks }, (_, t) => ['sshd: PermitRootLogin no', 'sshd: PasswordAuthentication no', 'firewall: default deny', 'package: remove telnet', 'package: install auditd', 'user: remove games', 'file: /etc/motd', 'sysctl: rp_filter', 'service: auditd running', 'file: /etc/issue', 'cron: permissions', 'file: /var/log perms', 'lineinfile: umask 027', 'copy: login.defs'][t % 14]! + (t >= 14 ? ` #${t}` : ''));
  names.forEach((host, h) => {
    if (h % 37 === 5) {
      unreachable[host] = `connect ETIMEDOUT ${host}:22`;
      return;
    }
    for (let t = 0; t < tasks; t++) {
      const k = (h * 7 + t * 13) % 23;
      const status: TaskResult['status'] = h % 53 === 7 && t === 6 ? 'failed' : k === 0 || k === 11 ? 'changed' : k === 5 ? 'skipped' : 'ok';
      results.push(
        result({
          host,
          task: taskNames[t]!,
          module: taskNames[t]!.split(':')[0]!,
          location: `playbooks/harden.yaml:${10 + t * 6}`,
          status,
          ...(status === 'changed'
            ? { diffs: [{ label: `/etc/provision/${t}.conf`, before: `setting_${t} = old\nkeep = 1\n`, after: `setting_${t} = new\nkeep = 1\n` }], message: `would change setting_${t}` }
            : {}),
          ...(status === 'failed' ? { message: 'exit 1: apt-get: lock held', code: 'E_COMMAND', rc: 1 } : {}),
        }),
      );
      if (status === 'failed') break;
    }
  });
  return summary(results, { check, unreachable, hosts: names });
}
