// Preloaded into the provision CLI by bench/run.ts (node -r): writes the process's
// peak RSS in KiB to $PROVISION_BENCH_RSS when it exits.
const file = process.env.PROVISION_BENCH_RSS;
if (file) {
  process.on('exit', () => {
    require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
