#!/usr/bin/env node
/**
 * The `provision` command. It runs the CLI bundled in one file by the build
 * (dist/bin/provision.cjs, see scripts/bundle.ts), compiled with the V8 code
 * cache made there (dist/bin/provision.cache): one file read and few functions to
 * compile, where dist/cli/main.js resolves and loads its ES modules one by one.
 * It does the same as dist/cli/main.js; test/unit/cli/launcher.test.ts compares them.
 *
 * The cache file is the SHA-1 of the bundle it was made from, the SHA-1 of the V8
 * data, then the data. It is used only when both match: a cache left from another
 * build, or damaged, is left out (V8 could crash on damaged data, and would run
 * nothing wrong on a stale one only by luck).
 *
 * PROVISION_CODE_CACHE=write (the build) writes the cache when the run ends,
 * with every function the run compiled and what the bundle's warmCodeCache
 * loads; the variable does not reach the commands the run starts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundleFile = join(__dirname, '../bin/provision.cjs');
const cacheFile = join(__dirname, '../bin/provision.cache');
const DIGEST = 20;

const sha1 = (data: Buffer): Buffer => createHash('sha1').update(data).digest();

function cachedData(bundle: Buffer): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const data = file.subarray(2 * DIGEST);
  if (file.length <= 2 * DIGEST || !file.subarray(0, DIGEST).equals(sha1(bundle)) || !file.subarray(DIGEST, 2 * DIGEST).equals(sha1(data))) return undefined;
  return data;
}

function runBundle(): void {
  // hashed as bytes: hashing the string would encode 2 MB to UTF-8 again (~25 ms)
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
  const bundleModule: { exports: { warmCodeCache?: () => void } } = { exports: {} };
  if (write) {
    process.on('exit', () => {
      bundleModule.exports.warmCodeCache?.();
      writeCache(bundle, script.createCachedData());
    });
  }
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
    writeFileSync(tmp, Buffer.concat([sha1(bundle), sha1(data), data]));
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
