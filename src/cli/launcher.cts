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
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import zlib = require('node:zlib');

const bundleFile = join(__dirname, '../bin/provision.cjs');
const cacheFile = join(__dirname, '../bin/provision.cache');
const HEADER = 8;

/** zlib.crc32, where this Node has it (20.15 and later). */
const crc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32;

function cachedData(bundle: Buffer): Buffer | undefined {
  if (!crc32) return undefined;
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const data = file.subarray(HEADER);
  if (data.length === 0 || file.readUInt32BE(0) !== crc32(bundle) || file.readUInt32BE(4) !== crc32(data)) return undefined;
  return data;
}

function runBundle(): void {
  // checked as bytes: the string would have to be encoded to UTF-8 again
  let bundle: Buffer;
  try {
    bundle = readFileSync(bundleFile);
  } catch (err) {
    // `npm run build` removes dist/bin first: a build that failed leaves no bundle rather than an old one
    process.stderr.write(`provision: ${bundleFile} cannot be read (${(err as Error).message}): run \`npm run build\`\n`);
    process.exitCode = 1;
    return;
  }
  const source = bundle.toString('utf8');
  const write = process.env.PROVISION_CODE_CACHE === 'write';
  delete process.env.PROVISION_CODE_CACHE;
  // the bundle's value as a script is the function of the module bindings (scripts/bundle.ts)
  const script = new Script(source, {
    filename: bundleFile,
    ...(write ? {} : { cachedData: cachedData(bundle) }),
  });
  const bundleModule = { exports: {} };
  if (write) process.on('exit', () => writeCache(bundle, script.createCachedData()));
  (script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void)(
    bundleModule.exports,
    createRequire(bundleFile),
    bundleModule,
    bundleFile,
    dirname(bundleFile),
  );
}

function writeCache(bundle: Buffer, data: Buffer): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    if (!crc32) throw new Error('this Node has no zlib.crc32 (Node 20.15 or later has)');
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(crc32(bundle), 0);
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
