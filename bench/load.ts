/**
 * How loading a playbook grows with its size: `provision validate` (the built
 * CLI) on generated playbooks of 1, 2.5, 5 and 10 MB, printing wall time, CPU
 * and peak RSS for each, so growth can be seen to be linear. A script that
 * prints numbers, not a test: `npm run build && npx tsx bench/load.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/launcher.cjs');
const dir = mkdtempSync(join(tmpdir(), 'provision-load-'));

/** A playbook of about `mb` megabytes of ordinary tasks (block style, a templated value in each). */
function playbook(mb: number): string {
  const lines = ['- hosts: all', '  vars:', '    root: /srv/app', '  tasks:'];
  let size = 0;
  for (let i = 0; size < mb * 1024 * 1024; i++) {
    const task = [
      `    - name: config file number ${i} for the application`,
      '      copy:',
      `        dest: "{{ root }}/conf.d/${i}.conf"`,
      `        content: "setting_${i}=value ${i}\\n"`,
      '        mode: "0644"',
    ];
    size += task.reduce((n, l) => n + l.length + 1, 0);
    lines.push(...task);
  }
  return `${lines.join('\n')}\n`;
}

console.log('size      wall      cpu       peak RSS   (load average while measured)');
try {
  for (const mb of [1, 2.5, 5, 10]) {
    const file = join(dir, `pb-${mb}.yaml`);
    writeFileSync(file, playbook(mb * 0.98));
    const rss = join(dir, `rss-${mb}`);
    const cpu = join(dir, `cpu-${mb}`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['-r', join(root, 'bench/maxrss.cjs'), cli, 'validate', file], {
      env: { ...process.env, PROVISION_BENCH_RSS: rss, PROVISION_BENCH_CPU: cpu },
      encoding: 'utf8',
    });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`validate failed on ${mb} MB: ${r.stderr}`);
    const peak = Number(readFileSync(rss, 'utf8')) / 1024;
    const cpuS = Number(readFileSync(cpu, 'utf8')) / 1000;
    console.log(`${String(mb).padEnd(6)}MB ${wall.toFixed(2).padStart(6)} s  ${cpuS.toFixed(2).padStart(6)} s  ${peak.toFixed(0).padStart(6)} MiB   (${loadavg()[0]!.toFixed(1)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
