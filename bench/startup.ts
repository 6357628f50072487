/**
 * Start-up and a one-host audit, measured from outside the CLI's own code.
 *
 *   npm run build && npx tsx bench/startup.ts [--runs 9] [--image debian12] [--playbook bench/provision/core.yaml]
 *                                             [--compare DIR]   (npm run bench:startup)
 *
 * Starts one fleet host, then runs the built bin (`dist/cli/launcher.cjs`) `--runs`
 * times each, as a command (by the interpreter its first line names, as a shell
 * would), for: a check-mode audit of the playbook on that host, `validate
 * playbooks/harden.yaml`, and `--version`. For the audit, bench/startup-marks.cjs
 * (preloaded by a `node` first on PATH) records, in ms since Node started, when the
 * first TCP connect began, when the first SSH byte went out (our version string), and
 * the process's CPU time then; the bin's /bin/sh line and that `node` run before Node
 * starts (about 2 ms each), so they are in the wall time only, which is the whole
 * command, as a shell sees it.
 * `--compare DIR` runs another checkout's built bin (DIR/dist/cli/launcher.cjs) in
 * alternation with this one, so both see the same machine.
 *
 * Node's own start is measured beside them: when an empty script's first line runs.
 * Where the environment sets NODE_EXTRA_CA_CERTS, Node 20 builds its whole root
 * certificate store (its own ~140 certificates, then the file's) before any script
 * runs (an eager load later Node versions dropped); the bin starts Node without the
 * variable (scripts/bundle.ts, writeBinHead). So Node's start and the audit are
 * measured both with the environment as it is and without that variable: for a bin
 * that does so, the two audits match. Prints medians with min and max, and the
 * machine's load average. A script that prints numbers, not a test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderInventory, startFleet } from '../test/integration/fleet.js';
import { median, opt } from './args.js';

const root = resolve(import.meta.dirname, '..');
const RUNS = Number(opt('--runs', '9'));
const IMAGE = opt('--image', 'debian12');
const PLAYBOOK = resolve(root, opt('--playbook', 'bench/provision/core.yaml'));
const compare = opt('--compare', '');
const bins: [string, string][] = [['this checkout', join(root, 'dist/cli/launcher.cjs')]];
if (compare) bins.push([compare, join(resolve(compare), 'dist/cli/launcher.cjs')]);
const MARKS = join(root, 'bench/startup-marks.cjs');

interface Sample {
  wallMs: number;
  connectMs?: number;
  firstByteMs?: number;
  cpuAtByteMs?: number;
}

const EXTRA_CA = 'NODE_EXTRA_CA_CERTS';
/** The environment of a run: this one's, or this one's without NODE_EXTRA_CA_CERTS. */
function envOf(withExtraCa: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' };
  if (!withExtraCa) delete env[EXTRA_CA];
  return env;
}

/** When an empty script's first line runs, in ms since its process started: Node's own start. */
function nodeStart(withExtraCa: boolean): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(performance.now()))'], { encoding: 'utf8', env: envOf(withExtraCa) });
  const ms = Number(r.stdout);
  if (r.status !== 0 || r.stdout === '' || !Number.isFinite(ms)) throw new Error(`node -e: exit ${r.status}, ${r.error?.message ?? r.stderr}`);
  return ms;
}

/** How the kernel runs `bin` as a command: the interpreter its `#!` line names, its argument if any, then the file. */
function asCommand(bin: string): [string, string[]] {
  const m = /^#!\s*(\S+)(?:[ \t]+(\S.*))?\n/.exec(readFileSync(bin, 'utf8'));
  if (!m) throw new Error(`${bin} has no #! line`);
  return [m[1]!, [...(m[2] ? [m[2].trim()] : []), bin]];
}

function timed(bin: string, argv: string[], marks: boolean, withExtraCa: boolean): Sample {
  const out = join(work, 'marks.json');
  rmSync(out, { force: true });
  const [command, args] = asCommand(bin);
  const t0 = performance.now();
  const r = spawnSync(command, [...args, ...argv], {
    encoding: 'utf8',
    env: { ...envOf(withExtraCa), ...(marks ? { PATH: `${markingNode}:${process.env.PATH ?? ''}`, PROVISION_STARTUP_MARKS: out } : {}) },
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0 && r.status !== 3) throw new Error(`${bin} ${argv.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  if (!marks) return { wallMs };
  const m = JSON.parse(readFileSync(out, 'utf8')) as { connect: number; firstByte: number; cpuAtByte: number };
  return { wallMs, connectMs: m.connect, firstByteMs: m.firstByte, cpuAtByteMs: m.cpuAtByte };
}

const stats = (xs: number[]): string => `${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;

const work = mkdtempSync(join(tmpdir(), 'provision-startup-'));
// the marks are preloaded on Node's command line by a `node` first on PATH, which both
// `#!/usr/bin/env node` and the bin's `exec node` find: with NODE_OPTIONS set, the bin
// would leave NODE_EXTRA_CA_CERTS to Node (scripts/bundle.ts, writeBinHead)
const markingNode = join(work, 'marking-node');
mkdirSync(markingNode);
writeFileSync(join(markingNode, 'node'), `#!/bin/sh\nexec "${process.execPath}" --require "${MARKS}" "$@"\n`, { mode: 0o755 });
const fleet = await startFleet({ count: 1, image: IMAGE, namePrefix: 'st' });
try {
  const inv = join(work, 'inventory.yaml');
  writeFileSync(inv, renderInventory(fleet.hosts, { user: 'root', identityFile: fleet.identityFile, knownHostsFile: fleet.knownHostsFile }));
  const extraCa = Boolean(process.env[EXTRA_CA]); // Node reads no file for an empty value
  const audit = { name: `check ${PLAYBOOK.slice(root.length + 1)} on 1 host`, argv: ['--check', '-i', inv, PLAYBOOK], marks: true };
  const jobs: { name: string; argv: string[]; marks: boolean; withExtraCa: boolean }[] = [
    { ...audit, withExtraCa: true },
    ...(extraCa ? [{ ...audit, name: `${audit.name}, without ${EXTRA_CA}`, withExtraCa: false }] : []),
    { name: 'validate playbooks/harden.yaml', argv: ['validate', join(root, 'playbooks/harden.yaml')], marks: false, withExtraCa: true },
    { name: '--version', argv: ['--version'], marks: false, withExtraCa: true },
  ];
  // one untimed run each: the page cache holds the files afterwards, as it does for a user's second run
  for (const [, bin] of bins) for (const j of jobs) timed(bin, j.argv, j.marks, j.withExtraCa);
  const load0 = loadavg()[0]!;
  const samples = new Map<string, Sample[]>();
  const starts: number[] = [];
  const startsWithout: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    starts.push(nodeStart(true));
    if (extraCa) startsWithout.push(nodeStart(false));
    for (const j of jobs) {
      for (const [label, bin] of bins) {
        const key = `${label}\0${j.name}`;
        samples.set(key, [...(samples.get(key) ?? []), timed(bin, j.argv, j.marks, j.withExtraCa)]);
      }
    }
  }
  const load1 = loadavg()[0]!;
  console.log(`startup: ${RUNS} runs each, medians (min–max), load ${load0.toFixed(1)}–${load1.toFixed(1)}, image ${IMAGE}, ${process.version}`);
  console.log(`  Node's own start (an empty script's first line): ${stats(starts)}${extraCa ? `; without ${EXTRA_CA}: ${stats(startsWithout)}` : ''}`);
  for (const j of jobs) {
    for (const [label] of bins) {
      const xs = samples.get(`${label}\0${j.name}`)!;
      const who = bins.length > 1 ? ` [${label}]` : '';
      if (j.marks) {
        console.log(`  ${j.name}${who}: first TCP connect ${stats(xs.map((x) => x.connectMs!))}, first SSH byte sent ${stats(xs.map((x) => x.firstByteMs!))} (CPU by then ${stats(xs.map((x) => x.cpuAtByteMs!))}), whole audit ${stats(xs.map((x) => x.wallMs))}`);
      } else console.log(`  ${j.name}${who}: ${stats(xs.map((x) => x.wallMs))}`);
    }
  }
} finally {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
}
