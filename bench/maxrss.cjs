// Preloaded into the provision CLI by the bench scripts (node -r): writes the process's
// peak RSS in KiB (VmHWM, see peakRssKiB) to $PROVISION_BENCH_RSS when it exits, its CPU time (user + system,
// ms) to $PROVISION_BENCH_CPU, and the event-loop delay to $PROVISION_BENCH_ELD as JSON:
// max, p99 and mean in ms (perf_hooks histogram), and `stalls`, the five longest
// blocks of the loop with when they began (ms since start) and the process's CPU
// time during each (`cpuMs`: on a loaded machine a block's wall time is mostly
// waiting for a core, its CPU time is what the code costs), so a stall while
// modules load can be told from one while hundreds of hosts are connected;
// `cpuStalls`: the five blocks that took the most CPU; `sockets` on each: the TCP
// sockets open when it ended, `socketsBefore`: open when it began (the previous
// tick); `connectedCpuStalls`: the five that took the most CPU with a socket open
// when they began and when they ended, so a block in which the first connections
// were opened (start-up, before any host waited on us) is not counted as one.
const { readFileSync, writeFileSync } = require('node:fs');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const file = process.env.PROVISION_BENCH_RSS;
const cpu = process.env.PROVISION_BENCH_CPU;
const eld = process.env.PROVISION_BENCH_ELD;
const h = eld ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
h?.enable();
const TICK = 10;
const t0 = performance.now();
const stalls = [];
if (eld) {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let lastSockets = 0;
  setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    const blocked = now - last - TICK;
    const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    if (blocked > 20) {
      stalls.push({ atMs: Math.round(last - t0), ms: Math.round(blocked), cpuMs: Math.round((used.user + used.system) / 1000), sockets, socketsBefore: lastSockets });
    }
    last = now;
    lastSockets = sockets;
  }, TICK).unref();
}
// Peak RSS is VmHWM, the high-water mark of this process's own memory since exec.
// getrusage's maxRSS (process.resourceUsage().maxRSS) is not: Linux carries it across
// fork and exec, so a child of a parent holding 500 MB reports 500 MB.
// Linux only, like the fleet the bench starts.
const peakRssKiB = () => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
process.on('exit', () => {
  if (file) writeFileSync(file, String(peakRssKiB()));
  if (cpu) {
    const u = process.cpuUsage();
    writeFileSync(cpu, String(Math.round((u.user + u.system) / 1000)));
  }
  if (eld && h) {
    h.disable();
    const top = (key, among = stalls) => [...among].sort((a, b) => b[key] - a[key]).slice(0, 5);
    const connected = stalls.filter((x) => x.sockets > 0 && x.socketsBefore > 0);
    writeFileSync(eld, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6, stalls: top('ms'), cpuStalls: top('cpuMs'), connectedCpuStalls: top('cpuMs', connected) }));
  }
});
