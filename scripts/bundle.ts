/**
 * The second half of `npm run build`: the CLI tsc wrote to dist/ becomes one
 * CommonJS file, dist/bin/provision.cjs, and a V8 code cache for it,
 * dist/bin/provision.cache. `provision` (dist/cli/launcher.cjs) compiles the bundle
 * with that cache, so a run starts without resolving and loading some 300 ES
 * modules one by one and without compiling the functions the cache holds.
 *
 * - `createRequire(import.meta.url)` becomes the bundle's own `require`, so the
 *   packages it loads lazily are in the bundle too; `import()` of a module of ours
 *   stays lazy (esbuild runs its body when it is first imported).
 * - Native addons (ssh2's sshcrypto.node) stay in node_modules, required by package
 *   path from the bundle; cpu-features, an optional native package ssh2 asks for in
 *   a try, stays a package. ssh2 is pinned to one version in package.json, so the
 *   ssh2 JavaScript in the bundle is always the version its installed addon was built with.
 * - zod's locales other than English are left out (englishOnly, below), and
 *   ssh2 does not wait for a WebAssembly module its native addon replaces
 *   (poly1305OnlyWithoutAddon).
 * - Names are shortened (minifyIdentifiers): a smaller file to read and decode at
 *   each start. Stack traces name the bundle's short names; `node
 *   --enable-source-maps` (the launcher then requires the bundle) maps them to src/,
 *   and an internal error says so.
 * - The build fails on any esbuild warning and on any `import.meta` or `import(`
 *   left in the bundle, either of which would fail only at run time.
 * - The cache is made by running `provision --check scripts/cache-warmup.yaml`
 *   through the launcher (PROVISION_CODE_CACHE=write), over SSH to a server of this
 *   script's own (makeCodeCache, below): a read-only audit of the building machine
 *   that validates playbooks/harden.yaml and skips it, so the cache holds the
 *   functions that connect, parse, validate, read facts, plan and report.
 */
import { build, type Plugin } from 'esbuild';
import ssh2 from 'ssh2';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = join(root, 'dist/bin/provision.cjs');
const cacheFile = join(root, 'dist/bin/provision.cache');
const external = ['cpu-features'];

/** `createRequire(import.meta.url)(x)` and `const require = createRequire(import.meta.url)` in our modules: the bundle's require. */
const bundleRequire: Plugin = {
  name: 'bundle-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('createRequire(import.meta.url)')) return undefined;
      const contents = text
        .replace(/^const require = createRequire\(import\.meta\.url\);$/m, '')
        .replaceAll('createRequire(import.meta.url)', 'require')
        .replace(/^import \{ createRequire \} from 'node:module';$/m, '');
      return { contents, loader: 'js' };
    });
  },
};

/** `require('./build/Release/x.node')` inside a package: the same file by its package path, left to Node's resolution at run time. */
const nativeAddons: Plugin = {
  name: 'native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => {
      const file = join(args.resolveDir, args.path);
      const at = file.lastIndexOf('/node_modules/');
      if (at < 0) return { errors: [{ text: `native addon outside node_modules: ${file}` }] };
      return { path: file.slice(at + '/node_modules/'.length), external: true };
    });
  },
};

/** package.json stays a file read at run time, as dist/cli/main.js reads it: `npm version` then shows in both without a rebuild. */
const packageJson: Plugin = {
  name: 'package-json',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/\.\.\/package\.json$/ }, (args) => {
      if (join(args.resolveDir, args.path) !== join(root, 'package.json')) return undefined; // a package's own (ssh2 reads its version)
      // the bundle sits two levels below the root too (dist/bin/provision.cjs)
      return { path: args.path, external: true };
    });
  },
};

/**
 * zod re-exports its ~40 locales as namespaces (`z.locales`, `z.core.locales`), so
 * all of them (300 KB, an eighth of the bundle, read and decoded at every start)
 * would be bundled although messages are English: those namespaces hold `en` only.
 * zod's schemas import `en` themselves, so error messages are unchanged.
 */
const englishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(args.resolveDir, '../locales/index.js'), namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`, loader: 'js', resolveDir: dirname(args.path) }));
  },
};

/**
 * ssh2 sends its version line only once a WebAssembly Poly1305 has compiled (its
 * `init`), which only its pure-JavaScript chacha20-poly1305 uses: with the native
 * addon loaded, that cipher is the addon's. Then `init` is settled at once, and the
 * connection's first byte goes out some 10 ms sooner. The build fails if ssh2's
 * text is not the one this was written for.
 */
const INIT = '  init: (() => {';
const poly1305OnlyWithoutAddon: Plugin = {
  name: 'ssh2-poly1305-only-without-addon',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (text.split(INIT).length !== 2 || !text.includes('({ AESGCMCipher, ChaChaPolyCipher, GenericCipher,')) return { errors: [{ text: `${args.path}: not the ssh2 crypto.js whose init this plugin knows` }] };
      return { contents: text.replace(INIT, '  init: ChaChaPolyCipher && ChaChaPolyDecipher ? Promise.resolve() : (() => {'), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: [join(root, 'dist/cli/main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'silent',
  write: false,
  plugins: [bundleRequire, nativeAddons, packageJson, englishOnly, poly1305OnlyWithoutAddon],
});
const problems = [...result.errors, ...result.warnings].map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''} ${m.text}`);
const bundleOut = result.outputFiles.find((f) => f.path === outfile);
const mapOut = result.outputFiles.find((f) => f.path === `${outfile}.map`);
if (!bundleOut || !mapOut) throw new Error(`esbuild wrote ${result.outputFiles.map((f) => f.path).join(', ')}`);
// The file is one expression whose value is the bundle as a function of the CommonJS
// module bindings: compiled as a script (the launcher, with the code cache), it is that
// function, so V8 compiles the file's own string and no 2 MB copy with a wrapper around
// it; required as a module (`node --enable-source-maps`), where `this` is module.exports,
// it calls the function with the module's bindings. The body starts on the second line,
// so the source map gains one line, and its comment moves to the end of the file.
const MAP_COMMENT = /\n\/\/# sourceMappingURL=[^\n]*\n?$/;
const mapComment = MAP_COMMENT.exec(bundleOut.text)?.[0].trim();
if (!mapComment) throw new Error('esbuild wrote no sourceMappingURL comment');
const body = bundleOut.text.replace(/^#!.*/, '').replace(MAP_COMMENT, '');
const bundled = `(function (run) { return this === globalThis ? run : run(exports, require, module, __filename, __dirname); }).call(this, function (exports, require, module, __filename, __dirname) {\n${body}\n});\n${mapComment}\n`;
const map = JSON.parse(mapOut.text) as { mappings: string };
map.mappings = `;${map.mappings}`;
if (bundled.includes('import.meta')) problems.push('import.meta is left in the bundle');
if (/[^\w.$]import\(/.test(bundled)) problems.push('an import() is left in the bundle');
if (problems.length > 0) {
  console.error(`bundle: ${outfile} not made:\n${problems.join('\n')}`);
  process.exit(1);
}

rmSync(cacheFile, { force: true });
writeBinHead();
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(outfile, bundled);
writeFileSync(`${outfile}.map`, JSON.stringify(map));
const cache = await makeCodeCache();
console.log(`bundle: ${outfile} (${(bundled.length / 1024).toFixed(0)} KiB), ${cache}`);

/**
 * The bin's first two lines, which /bin/sh and Node both read. Where NODE_EXTRA_CA_CERTS
 * is set, Node 20 builds its whole root certificate store before any script runs: some
 * 45 ms of every start on our VM (bench/README.md), for TLS that provision never uses
 * (test/unit/cli/launcher.test.ts holds that). So the bin, run as a command, is a shell
 * script first: it starts Node on the same file without the variable, whose value it
 * passes on in PROVISION_NODE_EXTRA_CA_CERTS, and the launcher sets it again for the
 * commands a run starts. With NODE_OPTIONS set, the variable is left alone: a preload
 * it names runs before the launcher and may make TLS connections of its own (an agent
 * exporting telemetry, say). For the shell, `:` ignores its arguments; for Node, the second
 * line is a directive (as `"use strict"` after it is) and a comment. tsc writes the file
 * from src/cli/launcher.cts with a `#!/usr/bin/env node` line, which this replaces (tsc
 * would put a `;` between `':'` and `//`), and the source map gains one line.
 */
function writeBinHead(): void {
  const file = join(root, 'dist/cli/launcher.cjs');
  const tscHead = '#!/usr/bin/env node\n';
  const head = `#!/bin/sh\n':' //; [ -n "\${NODE_OPTIONS-}" ] || [ -z "\${NODE_EXTRA_CA_CERTS-}" ] || { PROVISION_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export PROVISION_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"\n`;
  // a command: npm makes it one when it installs the package, and the build does in a clone
  chmodSync(file, 0o755);
  const text = readFileSync(file, 'utf8');
  if (text.startsWith(head)) return; // tsc did not write it again since the last build
  if (!text.startsWith(tscHead)) throw new Error(`${file}: its first line is not ${JSON.stringify(tscHead)}`);
  writeFileSync(file, head + text.slice(tscHead.length));
  const mapFile = `${file}.map`;
  const launcherMap = JSON.parse(readFileSync(mapFile, 'utf8')) as { mappings: string };
  launcherMap.mappings = `;${launcherMap.mappings}`;
  writeFileSync(mapFile, JSON.stringify(launcherMap));
}

/**
 * The run that makes the code cache: `provision --check` of scripts/cache-warmup.yaml
 * over SSH to a server of this script's own on 127.0.0.1 (ssh2's, a fresh key pair
 * each build) that runs what it is sent with /bin/sh here. So the cache holds ssh2's
 * handshake and our shell session as well as the reading, planning and reporting of
 * an audit. The commands only read (check mode), and find a refusing `sudo` first on
 * their PATH (checked before the run), so the host facts' sudo probe never reaches the
 * real one. The run sees a HOME of its own (no ~/.ssh/config of the builder's) and no
 * agent. Where the cache cannot be made this way, the bin runs without one: said, not
 * fatal. Returns what to print about the cache.
 */
async function makeCodeCache(): Promise<string> {
  if (typeof (zlib as { crc32?: unknown }).crc32 !== 'function') return `no code cache: Node ${process.version} has no zlib.crc32 (20.15 and later have)`;
  // beside the bundle, not in the temp dir: a noexec /tmp would make `command -v sudo` pass the
  // shim by; and the next build's removal of dist/bin takes what an interrupted one left
  const work = mkdtempSync(join(dirname(outfile), 'warmup-'));
  try {
    writeFileSync(join(work, 'sudo'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${work}${delimiter}${process.env.PATH ?? ''}` };
    const found = spawnSync('/bin/sh', ['-c', 'command -v sudo && sudo -n true'], { env, encoding: 'utf8' });
    if (found.stdout.trim() !== join(work, 'sudo') || found.status !== 1) return `no code cache: the stand-in sudo in ${work} would not be the one found`;
    const code = await warmupRun(work, env);
    // drift is what it finds (3); 0 would do too
    if (code !== 3 && code !== 0) throw new Error(`the run that makes the code cache ended with ${code} (scripts/cache-warmup.yaml)`);
    return `code cache ${cacheFile} (${(readFileSync(cacheFile).length / 1024).toFixed(0)} KiB)`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Serves SSH on 127.0.0.1 for the cache-making run and returns its exit code (a signal's name if killed); at most two minutes. */
async function warmupRun(work: string, env: NodeJS.ProcessEnv): Promise<number | string> {
  const { Server, utils } = ssh2;
  const hostKey = utils.generateKeyPairSync('ed25519');
  const userKey = utils.generateKeyPairSync('ed25519');
  writeFileSync(join(work, 'id_ed25519'), userKey.private, { mode: 0o600 });
  const allowed = utils.parseKey(userKey.public);
  if (allowed instanceof Error) throw allowed;
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      const ok = ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH()) && (!ctx.signature || allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true);
      if (ok) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('session', (accept) =>
      accept().on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        const sh = spawn('/bin/sh', ['-c', info.command], { env, stdio: 'pipe' });
        sh.on('error', () => stream.close());
        stream.pipe(sh.stdin).on('error', () => {});
        // the channel ends when the command has: its exit status goes first
        sh.stdout.pipe(stream, { end: false });
        sh.stderr.pipe(stream.stderr, { end: false });
        stream.on('close', () => sh.kill());
        sh.on('close', (code) => {
          stream.exit(code ?? 1);
          stream.end();
        });
      }),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(join(work, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey.public}\n`);
    const inventory = join(work, 'inventory.yaml');
    writeFileSync(inventory, JSON.stringify({ all: { hosts: { warmup: { host: '127.0.0.1', port, user: userInfo().username, identity_file: join(work, 'id_ed25519'), known_hosts_file: join(work, 'known_hosts') } } } }));
    const { SSH_AUTH_SOCK: _agent, ...own } = process.env;
    const child = spawn(process.execPath, [join(root, 'dist/cli/launcher.cjs'), '--check', '-i', inventory, join(root, 'scripts/cache-warmup.yaml')], {
      env: { ...own, HOME: work, PROVISION_CODE_CACHE: 'write', NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => child.kill(), 120_000);
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    return code ?? signal ?? 'killed';
  } finally {
    server.close();
  }
}
