/**
 * The `provision` bin (dist/cli/launcher.cjs) runs the CLI bundled by the build
 * with a V8 code cache (scripts/bundle.ts). What a user sees must be what
 * dist/cli/main.js, the unbundled CLI, does: same output, same exit code. The
 * cache must be used when it is the build's own, and left out when it is stale
 * or damaged (V8's own answer, read through test/fixtures/startup/script-cache.cjs).
 * Needs `npm run build` (npm ci does it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, builtCli, root } from '../../support/built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'provision-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(root, 'test/fixtures/startup/script-cache.cjs');

/**
 * Runs `fn` with the port of a server, in a process of its own, that answers every
 * connection with an SSH-1.5 version line and closes it: ssh2 loads, reads it and
 * gives up at once ("Invalid identification string"), with no retry.
 */
/** An identity file for runs that never get as far as using it (read before dialling, parsed only when sshd asks). */
const key = join(dir, 'id_unused');
writeFileSync(key, 'not parsed\n');

async function withIdentServer<T>(fn: (port: number) => T): Promise<T> {
  const server = spawn(
    process.execPath,
    ['-e', "const s = require('node:net').createServer((c) => { c.on('error', () => {}); c.end('SSH-1.5-test\\r\\n'); }).listen(0, '127.0.0.1', () => console.log(s.address().port));"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [line] = (await once(server.stdout, 'data')) as [Buffer];
    return fn(Number(line.toString().trim()));
  } finally {
    server.kill();
  }
}

function cli(entry: string, args: string[], preload: string[] = []) {
  const r = spawnSync(process.execPath, [...preload, entry, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' } });
  // the run's duration is the one thing two runs may print differently
  const clean = (s: string) => s.replace(/ in \d+(\.\d+)? ?m?s/g, ' in T');
  return { status: r.status, stdout: clean(r.stdout), stderr: clean(r.stderr) };
}

describe('the provision bin', () => {
  const playbook = join(dir, 'site.yaml');
  writeFileSync(
    playbook,
    [
      '- hosts: all',
      '  vars: { workers: 4 }',
      '  tasks:',
      '    - name: a rendered file',
      '      copy: { dest: "DIR/out/app.conf", content: "workers={{ workers * 2 }}\\n" }',
      '    - name: a bad mode',
      '      file: { path: DIR/out, state: directory }',
      '',
    ]
      .join('\n')
      .replaceAll('DIR', dir),
  );
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, '- hosts: all\n  tasks:\n    - copy: { dest: /tmp/x, mode: [1] }\n');

  it.each([
    ['--version'],
    ['-V'],
    ['--version', '--help'],
    ['--help'],
    ['validate', join(root, 'playbooks/harden.yaml')],
    ['validate', bad],
    ['-i', 'localhost,', '--check', '--diff', playbook],
    ['-i', 'localhost,', '--check', '--log-file', join(dir, 'logs/run.log'), playbook],
    ['-i', 'localhost,', '--check', join(dir, 'missing.yaml')],
  ])('prints and exits as dist/cli/main.js: %s', (...args) => {
    const bin = cli(builtCli(), args);
    const unbundled = cli(join(root, 'dist/cli/main.js'), args);
    expect(bin).toEqual(unbundled);
  }, 60_000);

  it('compiles the bundle with the build’s code cache, and V8 accepts it', () => {
    const r = cli(builtCli(), ['validate', join(root, 'playbooks/harden.yaml')], ['--require', hook]);
    expect(r.stderr).toContain('code-cache: accepted');
    expect(r.status).toBe(0);
  }, 60_000);

  it('leaves a stale or damaged cache out and still runs right', () => {
    const copy = join(dir, 'copy');
    for (const d of ['dist/bin', 'dist/cli']) mkdirSync(join(copy, d), { recursive: true });
    cpSync(join(root, 'dist/bin'), join(copy, 'dist/bin'), { recursive: true });
    cpSync(join(root, 'dist/cli/launcher.cjs'), join(copy, 'dist/cli/launcher.cjs'));
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    const launcher = join(copy, 'dist/cli/launcher.cjs');
    const bundle = join(copy, 'dist/bin/provision.cjs');
    const cache = join(copy, 'dist/bin/provision.cache');
    expect(cli(launcher, ['--help'], ['--require', hook]).stderr).toContain('code-cache: accepted');

    // damaged: one byte of V8's data changed
    const good = readFileSync(cache);
    const damaged = Buffer.from(good);
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] as number) ^ 0xff;
    writeFileSync(cache, damaged);
    const d = cli(launcher, ['--help'], ['--require', hook]);
    expect(d.stderr).toContain('code-cache: none');
    expect(d.stdout).toContain('Usage: provision');

    // stale: the bundle changed (same length) after the cache was made
    writeFileSync(cache, good);
    const source = readFileSync(bundle, 'utf8');
    writeFileSync(bundle, source.replace(/.$/s, ' '));
    const s = cli(launcher, ['--help'], ['--require', hook]);
    expect(s.stderr).toContain('code-cache: none');
    expect(s.status).toBe(0);

    // the version is package.json's at run time, in the launcher's answer and in the bundle's (`npm version` needs no rebuild)
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ version: '9.9.9' }));
    for (const args of [['--version'], ['-V', '-V']]) expect(cli(launcher, args).stdout).toBe('9.9.9\n');
    // and in what reports name the tool by
    const sarif = join(dir, 'version.sarif');
    cli(launcher, ['-i', 'localhost,', '--check', '--report', `sarif=${sarif}`, playbook]);
    const driver = (JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { tool: { driver: { version: string; semanticVersion: string } } }[] }).runs[0]!.tool.driver;
    expect([driver.version, driver.semanticVersion]).toEqual(['9.9.9', '9.9.9']);

    // no bundle (a build that failed removes it): said, exit 1, no stack
    rmSync(bundle);
    const gone = cli(launcher, ['--help']);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/provision\.cjs cannot be read .*run `npm run build`/);
    expect(gone.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('the cache switch does not reach what a run starts', () => {
    const r = cli(builtCli(), ['exec', '-i', 'localhost,', 'all', '--', 'echo "cache=${PROVISION_CODE_CACHE:-unset}"']);
    expect(r.stdout, r.stderr).toContain('cache=unset');
  }, 60_000);

  describe('run as a command, it starts Node without NODE_EXTRA_CA_CERTS unless NODE_OPTIONS is set, and gives the value back to what a run starts', () => {
    // Node 20 builds its root certificate store before any script runs when the variable is set
    // (scripts/bundle.ts, writeBinHead). A preload sees the environment Node started with: put on
    // Node's command line by a `node` first on PATH, or named by NODE_OPTIONS.
    const seen = join(dir, 'seen-at-start.cjs');
    writeFileSync(seen, "process.stderr.write(`node started with: ${process.env.NODE_EXTRA_CA_CERTS ?? 'unset'}\\n`);\n");
    const wrapperDir = join(dir, 'node-with-preload');
    mkdirSync(wrapperDir, { recursive: true });
    writeFileSync(join(wrapperDir, 'node'), `#!/bin/sh\nexec "${process.execPath}" --require "${seen}" "$@"\n`, { mode: 0o755 });
    const asCommand = (value: string | undefined, nodeOptions: boolean) => {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', NODE_OPTIONS: nodeOptions ? `--require ${seen}` : '' };
      if (!nodeOptions) env.PATH = `${wrapperDir}:${process.env.PATH ?? ''}`;
      delete env.NODE_EXTRA_CA_CERTS;
      if (value !== undefined) env.NODE_EXTRA_CA_CERTS = value;
      // spawned as a shell runs a command: by the kernel, through the file's #! line
      const r = spawnSync(builtCli(), ['exec', '-i', 'localhost,', 'all', '--', 'echo "the command sees: [${NODE_EXTRA_CA_CERTS-unset}] [${PROVISION_NODE_EXTRA_CA_CERTS-unset}]"'], { cwd: dir, encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      return { atStart: /node started with: (.*)/.exec(r.stderr)?.[1], command: /the command sees: (.*)/.exec(r.stdout)?.[1] };
    };
    const CA = '/etc/ssl/certs/ca-certificates.crt';
    it.each([
      ['set', CA, false, 'unset', `[${CA}] [unset]`],
      ['unset', undefined, false, 'unset', '[unset] [unset]'],
      ['empty (Node ignores it)', '', false, '', '[] [unset]'],
      ['set, with a preload in NODE_OPTIONS, which keeps it', CA, true, CA, `[${CA}] [unset]`],
    ])('%s', (_, value, nodeOptions, atStart, command) => {
      expect(asCommand(value, nodeOptions)).toEqual({ atStart, command });
    }, 60_000);
  });

  it('is a command for /bin/sh first, and npm does not install it on Windows, which has none (README: a POSIX control machine)', () => {
    expect(readFileSync(builtCli(), 'utf8').split('\n', 1)[0]).toBe('#!/bin/sh');
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { os?: string[] }).os).toEqual(['!win32']);
  });

  it.each([['--help'], ['--version']])('a reader that stops early ends the output, not the run: no stack trace, the run\'s exit code (%s)', (flag) => {
    const r = spawnSync('bash', ['-c', `"$0" "$1" "$3" 2>"$2" | :; echo "\${PIPESTATUS[0]}"`, process.execPath, builtCli(), join(dir, 'epipe.err'), flag], { encoding: 'utf8' });
    expect(readFileSync(join(dir, 'epipe.err'), 'utf8')).toBe('');
    expect(r.stdout).toBe('0\n');
  }, 60_000);

  it('node --enable-source-maps maps the bundle\'s stack traces to src/', () => {
    const boom = join(dir, 'boom.cjs');
    writeFileSync(boom, "process.stdout.write = () => { throw new Error('boom'); };\n");
    const r = spawnSync(process.execPath, ['--enable-source-maps', '--require', boom, builtCli(), '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const at = /at .*\/src\/cli\/program\.ts:(\d+):\d+/.exec(r.stderr);
    expect(at, r.stderr).not.toBeNull();
    // the very line that wrote: a map off by a line would name its neighbour
    expect(readFileSync(join(root, 'src/cli/program.ts'), 'utf8').split('\n')[Number(at![1]) - 1]).toContain('process.stdout.write');
    // without the flag the frames name the bundle, whose names the build shortened: the message says how to get the source's
    const plain = spawnSync(process.execPath, ['--require', boom, builtCli(), '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(plain.stderr).toMatch(/^internal error: boom\n(\s+at .*\n)+\(names shortened by the build: run with NODE_OPTIONS=--enable-source-maps for the source\)\n$/);
    expect(r.stderr).not.toContain('names shortened');
  }, 60_000);

  it('dials a host before it loads ssh2, and loads ssh2\'s native addon from node_modules then', async () => {
    // a preload that names every TCP connect and every native addon loaded, in order
    const trace = join(dir, 'trace.cjs');
    writeFileSync(
      trace,
      "const net = require('node:net'); const dial = net.Socket.prototype.connect; net.Socket.prototype.connect = function (...a) { process.stderr.write('dial\\n'); return dial.apply(this, a); };\n" +
        "const open = process.dlopen; process.dlopen = (m, file, ...rest) => { process.stderr.write(`addon: ${file}\\n`); return open(m, file, ...rest); };\n" +
        "for (const k of ['compile', 'instantiate']) { const f = WebAssembly[k]; WebAssembly[k] = (...a) => { process.stderr.write(`wasm ${k}\\n`); return f(...a); }; }\n",
    );
    const addon = `addon: ${createRequire(BUNDLE).resolve('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node')}`;
    const r = await withIdentServer((port) => cli(builtCli(), ['exec', '-i', `127.0.0.1:${port},`, '--private-key', key, 'all', '--', 'true'], ['--require', trace]));
    const lines = r.stderr.split('\n');
    expect(lines).toContain(addon);
    expect(lines.indexOf('dial')).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf('dial')).toBeLessThan(lines.indexOf(addon));
    expect(r.stdout + r.stderr).toMatch(/unreachable: Invalid identification string/);
    // with the addon, ssh2 neither compiles nor waits for its WebAssembly Poly1305 (scripts/bundle.ts)
    expect(r.stderr).not.toContain('wasm');
    // a run that connects to no host never loads it
    expect(cli(builtCli(), ['validate', join(root, 'playbooks/harden.yaml')], ['--require', trace]).stderr).not.toContain('addon:');
  }, 60_000);

  // the bin starts Node without NODE_EXTRA_CA_CERTS (scripts/bundle.ts, writeBinHead): it holds only while no TLS is made
  it("connects without loading Node's http, https or tls (ssh2's index would, for its HTTP agents)", async () => {
    const mods = join(dir, 'mods.cjs');
    writeFileSync(
      mods,
      "process.on('exit', () => process.stderr.write(`builtins: ${process.moduleLoadList.filter((m) => /^NativeModule (net|crypto|zlib|tls|https?|_http_\\w+)$/.test(m)).join(',')}\\nrequired: ${Object.keys(require.cache).join(',')}\\n`));\n",
    );
    const r = await withIdentServer((port) => cli(builtCli(), ['exec', '-i', `127.0.0.1:${port},`, '--private-key', key, 'all', '--', 'true'], ['--require', mods]));
    const loaded = /builtins: (.*)/.exec(r.stderr)?.[1]?.split(',') ?? [];
    // zlib (ssh2's compression) proves the hook saw ssh2 load; the HTTP stack must not come with it
    expect(loaded).toEqual(expect.arrayContaining(['NativeModule net', 'NativeModule crypto', 'NativeModule zlib']));
    expect(loaded.filter((m) => !/ (net|crypto|zlib)$/.test(m))).toEqual([]);
    // and ssh2's JavaScript comes from the bundle (with the code cache), not from node_modules
    const required = /required: (.*)/.exec(r.stderr)?.[1]?.split(',') ?? [];
    expect(required.some((f) => f.endsWith('launcher.cjs'))).toBe(true);
    expect(required.filter((f) => /node_modules\/ssh2\/.*\.js$/.test(f))).toEqual([]);
  }, 60_000);

  it('bundles the ssh2 its addon was built from: ssh2 is pinned to one version', () => {
    const pinned = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.ssh2;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect((createRequire(BUNDLE)('ssh2/package.json') as { version: string }).version).toBe(pinned);
  });
});
