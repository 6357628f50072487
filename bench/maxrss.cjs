// Preloaded into the provision CLI by bench/run.ts and bench/load.ts (node -r): writes
// the process's peak RSS in KiB to $PROVISION_BENCH_RSS when it exits, its CPU time
// (user + system, ms) to $PROVISION_BENCH_CPU, and the event-loop delay (max and p99
// in ms, as JSON) to $PROVISION_BENCH_ELD.
const { writeFileSync } = require('node:fs');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const file = process.env.PROVISION_BENCH_RSS;
const cpu = process.env.PROVISION_BENCH_CPU;
const eld = process.env.PROVISION_BENCH_ELD;
const h = eld ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
h?.enable();
process.on('exit', () => {
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
  if (cpu) {
    const u = process.cpuUsage();
    writeFileSync(cpu, String(Math.round((u.user + u.system) / 1000)));
  }
  if (eld && h) {
    h.disable();
    writeFileSync(eld, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6 }));
  }
});
