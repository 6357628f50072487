#!/usr/bin/env node
/**
 * The `provision` command. It runs the CLI bundled in one file by the build
 * (dist/bin/provision.cjs, see scripts/bundle.ts), compiled with the V8 code
 * cache made there (dist/bin/provision.cache): one file read and few functions to
 * compile, where dist/cli/main.js resolves and loads its ES modules one by one.
 * It does the same as dist/cli/main.js; test/unit/cli/launcher.test.ts compares them.
 *
 * The cache file is the CRC-32 of the bundle it was made from, the CRC-32 of the
 * V8 data, then the data. It is used only when both match: a cache left from
 * another build, or damaged, is left out (V8 could crash on damaged data, and would
 * run nothing wrong on a stale one only by luck). CRC-32 (zlib's, about 1 ms for
 * both) guards against accidents, as a hash must here: whoever can write the cache
 * can write the bundle. Node 20 before 20.15 has no zlib.crc32: the bundle then
 * runs without the cache.
 *
 * PROVISION_CODE_CACHE=write (the build) writes the cache when the run ends,
 * with every function the run compiled; the variable does not reach the commands
 * the run starts.
 *
 * Run as a command, this file is a shell script first (its first two lines, written
 * by scripts/bundle.ts): unless NODE_OPTIONS is set (its preloads may need the
 * variable), it starts Node without NODE_EXTRA_CA_CERTS, which would make Node 20
 * build its root certificate store before the first line of this file, and passes
 * the value on in PROVISION_NODE_EXTRA_CA_CERTS. It is set again here, before
 * anything runs, so the commands a run starts see the environment the user gave.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import zlib = require('node:zlib');

const extraCa = process.env.PROVISION_NODE_EXTRA_CA_CERTS;
if (extraCa !== undefined) {
  delete process.env.PROVISION_NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS ??= extraCa;
}

const bundleFile = join(__dirname, '../bin/provision.cjs');
const cacheFile = join(__dirname, '../bin/provision.cache');
const HEADER = 8;

/** zlib.crc32, where this Node has it (20.15 and later). */
const crc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32;

/** The whole file, read into `into` from its start, or into a buffer of its own when it does not fit. */
function readWhole(file: string, into: Buffer): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = size <= into.length ? into : Buffer.allocUnsafeSlow(size);
    let n = 0;
    for (let got = 1; n < size && got > 0; n += got) got = readSync(fd, buf, n, size - n, n);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The cache's V8 data, read into `buf`, when it was made from the bundle whose CRC-32 is `bundleSum` and is whole. */
function cachedData(bundleSum: number, buf: Buffer): Buffer | undefined {
  if (!crc32) return undefined;
  let file: Buffer;
  try {
    file = readWhole(cacheFile, buf);
  } catch {
    return undefined;
  }
  const data = file.subarray(HEADER);
  if (data.length === 0 || file.readUInt32BE(0) !== bundleSum || file.readUInt32BE(4) !== crc32(data)) return undefined;
  return data;
}

function runBundle(): void {
  const write = process.env.PROVISION_CODE_CACHE === 'write';
  delete process.env.PROVISION_CODE_CACHE;
  // One buffer holds the bundle, then the cache: each 4 KiB a process touches for the
  // first time costs a page fault, and a second buffer of 1.7 MB put the TCP connect of a
  // one-host audit some 11 ms later (bench/results/2026-11-28.md).
  // The bundle is checked as bytes (the string would have to be encoded to UTF-8 again),
  // before the cache is read over them.
  let source: string;
  let bundleSum = 0;
  let buf: Buffer;
  try {
    // a cache more than twice the bundle's size is not the build's: it gets a buffer of its own, whose failure cachedData answers
    const size = statSync(bundleFile).size;
    buf = Buffer.allocUnsafeSlow(Math.max(size, write ? 0 : Math.min(sizeOf(cacheFile), 2 * size)));
    const bundle = readWhole(bundleFile, buf);
    source = bundle.toString('utf8');
    if (crc32) bundleSum = crc32(bundle);
  } catch (err) {
    // `npm run build` removes dist/bin first: a build that failed leaves no bundle rather than an old one
    process.stderr.write(`provision: ${bundleFile} cannot be read (${(err as Error).message}): run \`npm run build\`\n`);
    process.exitCode = 1;
    return;
  }
  // the bundle's value as a script is the function of the module bindings (scripts/bundle.ts)
  const script = new Script(source, {
    filename: bundleFile,
    ...(write ? {} : { cachedData: cachedData(bundleSum, buf) }),
  });
  const bundleModule = { exports: {} };
  if (write) process.on('exit', () => writeCache(bundleSum, script.createCachedData()));
  (script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void)(
    bundleModule.exports,
    createRequire(bundleFile),
    bundleModule,
    bundleFile,
    dirname(bundleFile),
  );
}

function writeCache(bundleSum: number, data: Buffer): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    if (!crc32) throw new Error('this Node has no zlib.crc32 (Node 20.15 or later has)');
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(bundleSum, 0);
    header.writeUInt32BE(crc32(data), 4);
    writeFileSync(tmp, Buffer.concat([header, data]));
    renameSync(tmp, cacheFile);
  } catch (err) {
    rmSync(tmp, { force: true });
    process.stderr.write(`provision: could not write the code cache ${cacheFile}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // `provision --version` alone prints what the CLI would print, without reading and compiling it
  process.stdout.on('error', () => {}); // a reader that closed early (`provision -V | true`): nothing left to say
  process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
} else if (process.sourceMapsEnabled) {
  // Node maps stack traces through a source map (`node --enable-source-maps`) only for
  // code its module loader read: then the bundle is required as a plain module, without the cache.
  require(bundleFile);
} else runBundle();
