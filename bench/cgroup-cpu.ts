/**
 * What a fleet container has spent, read from outside on this machine: its
 * cgroup CPU counter (cgroup v1 `cpuacct.usage` or v2 `cpu.stat`), and how many
 * processes (and threads) were started in it, from the last PID its PID
 * namespace handed out (`/proc/loadavg` read inside the namespace with nsenter,
 * which itself starts one: subtract a baseline).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** CPU the container has used so far (µs), or undefined where no cgroup file is found. */
export function containerCpuUs(id: string): number | undefined {
  for (const file of [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('cpuacct.usage')) return Number(text) / 1000; // ns
    const m = /^usage_usec (\d+)$/m.exec(text);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** A counter of the processes started in the container (its last PID); undefined where nsenter cannot read it. */
export function containerPidCounter(id: string): () => number | undefined {
  let pid: string | undefined;
  try {
    pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', id], { encoding: 'utf8' }).trim();
  } catch {
    return () => undefined;
  }
  return () => {
    try {
      const text = execFileSync('nsenter', ['-t', pid!, '-p', '-m', 'cat', '/proc/loadavg'], { encoding: 'utf8' });
      const last = Number(text.trim().split(/\s+/)[4]);
      return Number.isInteger(last) ? last : undefined;
    } catch {
      return undefined;
    }
  };
}
