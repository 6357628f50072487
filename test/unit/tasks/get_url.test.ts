/**
 * `get_url`: the plan from hand-made file and URL facts (each decision:
 * missing, existing without checksum, checksum match and mismatch, force),
 * the arguments, and the download itself run by /bin/sh on this machine
 * against a local HTTP server, with curl, with wget, and with neither.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, Step } from '../../../src/contract/task.js';
import { NO_DOWNLOADER, downloadCommand, parseUrlDigest, urlDigestFact, type Download } from '../../../src/facts/url.js';
import { destOf, getUrl } from '../../../src/tasks/get_url.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const BODY = 'release 1.0\n';
const SHA256 = createHash('sha256').update(BODY).digest('hex');
const MD5 = createHash('md5').update(BODY).digest('hex');
const parse = (raw: unknown) => getUrl.schema.parse(raw);
const invalid = (raw: unknown) => getUrl.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const plan = (raw: unknown, facts: Record<string, unknown>): Plan => getUrl.plan(parse(raw), facts as never, ctx);
const URL_ = 'http://files.example/dist/app-1.0.tar.gz';

describe('get_url planner', () => {
  it('dest missing: download through the atomic write, verifying the checksum before the rename', () => {
    const p = plan({ url: URL_, dest: '/opt/app.tgz', checksum: `sha256:${SHA256.toUpperCase()}`, mode: '0644' }, { dest: absent });
    expect(p).toMatchObject({ kind: 'change', summary: `download ${URL_} to /opt/app.tgz (missing)`, diffs: [{ before: 'state: absent\n', after: `sha256: ${SHA256}\n` }], data: { url: URL_, dest: '/opt/app.tgz' } });
    if (p.kind !== 'change') return;
    const d: Download = { url: URL_, headers: {}, timeout: 10, validateCerts: true, agent: 'ansible-httpget' };
    expect(p.steps).toEqual(
      writeFileSteps({
        path: '/opt/app.tgz',
        generate: downloadCommand(d),
        mode: '0644',
        backup: false,
        validate: `c=$(sha256sum < %s | cut -d' ' -f1); [ "$c" = ${SHA256} ] || { echo "The checksum did not match ${SHA256}; it was $c." >&2; exit 1; }`,
      }),
    );
    expect(p.predictions?.[0]?.value).toMatchObject({ exists: true, type: 'file', mode: '0644', sha256: SHA256 });
  });

  it('dest exists, no checksum, force false: nothing downloaded, only attributes set', () => {
    expect(plan({ url: URL_, dest: '/opt/app.tgz' }, { dest: fileWith('old') })).toEqual({ kind: 'ok', reason: '/opt/app.tgz exists (force: false, no checksum)', data: { url: URL_, dest: '/opt/app.tgz' } });
    expect(plan({ url: URL_, dest: '/opt/app.tgz', mode: '0600' }, { dest: fileWith('old') })).toMatchObject({ kind: 'change', summary: 'set mode of /opt/app.tgz', steps: [{ command: 'chmod 0600 /opt/app.tgz' }] });
  });

  it('checksum: kept when dest has it (sha256 from the file fact, others from the stat fact), downloaded again when not', () => {
    expect(plan({ url: URL_, dest: '/opt/a', checksum: `sha256:${SHA256}` }, { dest: fileWith(BODY) })).toMatchObject({ kind: 'ok', reason: `/opt/a exists with sha256 ${SHA256}` });
    const md5 = { url: URL_, dest: '/opt/a', checksum: `md5:${MD5}` };
    expect(getUrl.facts(parse(md5), ctx).digest?.args).toEqual({ path: '/opt/a', follow: true, checksum: 'md5', mime: false, attributes: false });
    expect(plan(md5, { dest: fileWith(BODY), digest: { exists: true, checksum: MD5 } })).toMatchObject({ kind: 'ok' });
    expect(plan(md5, { dest: fileWith('tampered'), digest: { exists: true, checksum: 'ffff' } })).toMatchObject({ kind: 'change', summary: `download ${URL_} to /opt/a (md5 differs)` });
  });

  it('force: compared with what the URL serves now (the url fact), so an unchanged file stays ok', () => {
    const raw = { url: URL_, dest: '/opt/a', force: true };
    expect(Object.keys(getUrl.facts(parse(raw), ctx))).toEqual(['dest', 'remote']);
    expect(plan(raw, { dest: fileWith(BODY), remote: { sha256: SHA256, size: 12 } })).toMatchObject({ kind: 'ok', reason: `/opt/a holds what ${URL_} serves (sha256 ${SHA256})` });
    expect(plan(raw, { dest: fileWith('old'), remote: { sha256: SHA256, size: 12 } })).toMatchObject({
      kind: 'change',
      summary: `download ${URL_} to /opt/a (changed at the URL)`,
      diffs: [{ after: `sha256: ${SHA256}\n` }],
      predictions: [{ value: { sha256: SHA256, size: 12 } }],
    });
  });

  it('dest/ is a directory to download into; an existing directory without / is refused', () => {
    expect(destOf({ url: URL_, dest: '/opt/' })).toBe('/opt/app-1.0.tar.gz');
    expect(destOf({ url: 'http://h/a%20b.txt?x=1', dest: '/tmp/' })).toBe('/tmp/a b.txt');
    expect(() => destOf({ url: 'http://h/', dest: '/opt/' })).toThrow('http://h/ has no file name to put into /opt/: give dest a file name');
    expect(() => plan({ url: URL_, dest: '/opt' }, { dest: dirInfo() })).toThrow('/opt is a directory: end dest with / to download into a directory');
  });
});

describe('get_url arguments', () => {
  it('refuses what it does not support, naming it', () => {
    expect(invalid({ url: URL_, dest: '/x', checksum: 'sha256:https://h/SHA256SUMS' })).toMatch(/^checksum: ALGORITHM:HEX with ALGORITHM one of md5, sha1/);
    expect(invalid({ url: URL_, dest: '/x', checksum: 'crc32:abcd' })).toMatch(/^checksum: /);
    expect(invalid({ url: 'file:///etc/passwd', dest: '/x' })).toBe('url: an http://, https:// or ftp:// URL without spaces');
    expect(invalid({ url: URL_, dest: 'rel' })).toBe('dest: an absolute path');
    expect(invalid({ url: URL_, dest: '/x', headers: { 'X-A': 'a\r\nX-B: b' } })).toBe('headers.X-A: a single line');
    expect(invalid({ url: URL_, dest: '/x', headers: { 'bad name': 'v' } })).toBe('headers.bad name: not an HTTP header name');
    for (const key of ['url_username', 'url_password', 'tmp_dest', 'use_proxy', 'client_cert', 'ciphers']) {
      expect(invalid({ url: URL_, dest: '/x', [key]: 'v' })).toMatch(new RegExp(`Unrecognized key: "${key}"`));
    }
  });
});

describe('the download on this machine', () => {
  let server: Server;
  let base: string;
  let dir: string;
  const seen: IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'provision-get-url-'));
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/app') res.end(BODY);
      else if (req.url === '/moved') res.writeHead(302, { Location: '/app' }).end();
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run steps with /bin/sh (asynchronously: the server must answer); PATH may hide curl or wget. */
  const runSteps = (steps: readonly Step[], path = process.env.PATH): Promise<{ code: number | null; stderr: string }> =>
    steps.reduce<Promise<{ code: number | null; stderr: string }>>(
      (prev, s) =>
        prev.then(
          (last) =>
            new Promise((resolve) => {
              if (last.code !== 0) return resolve(last);
              const c = spawn('/bin/sh', ['-c', s.command], { env: { ...process.env, PATH: path } });
              let stderr = '';
              c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
              c.on('close', (code) => resolve({ code, stderr }));
              c.stdin.end(s.stdin ?? '');
            }),
        ),
      Promise.resolve({ code: 0, stderr: '' }),
    );

  /** A PATH with the system's tools but only one of curl and wget (or neither). */
  function pathWith(tool: 'curl' | 'wget' | 'none'): string {
    const bin = join(dir, `bin-${tool}`);
    if (existsSync(bin)) return bin;
    mkdirSync(bin);
    if (tool !== 'none') symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    for (const t of ['mktemp', 'cat', 'wc', 'sha256sum', 'md5sum', 'cut', 'stat', 'chmod', 'chown', 'mv', 'cp', 'date', 'printf', 'tail', 'tr', 'rm']) {
      try {
        symlinkSync(`/usr/bin/${t}`, join(bin, t));
      } catch {
        // a tool the test does not need on this machine
      }
    }
    return bin;
  }

  it.each(['curl', 'wget'] as const)('with %s only: downloads (following a redirect), sends the headers and user agent, verifies the checksum', async (tool) => {
    const dest = join(dir, `app-${tool}`);
    const p = plan({ url: `${base}/moved`, dest, checksum: `sha256:${SHA256}`, headers: { 'X-Token': 'abc' }, http_agent: 'provision-test' }, { dest: absent });
    seen.length = 0;
    const r = await runSteps(p.kind === 'change' ? p.steps : [], pathWith(tool));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe(BODY);
    expect(seen.at(-1)).toMatchObject({ 'x-token': 'abc', 'user-agent': 'provision-test' });

    const wrong = plan({ url: `${base}/app`, dest: join(dir, `bad-${tool}`), checksum: `sha256:${'0'.repeat(64)}` }, { dest: absent });
    const bad = await runSteps(wrong.kind === 'change' ? wrong.steps : [], pathWith(tool));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`The checksum did not match ${'0'.repeat(64)}; it was ${SHA256}.`);
    expect(() => readFileSync(join(dir, `bad-${tool}`))).toThrow(/ENOENT/);

    const missing = plan({ url: `${base}/nope`, dest: join(dir, `nope-${tool}`) }, { dest: absent });
    const notFound = await runSteps(missing.kind === 'change' ? missing.steps : [], pathWith(tool));
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/404/);
  });

  it('with neither curl nor wget the step fails saying so', async () => {
    const p = plan({ url: `${base}/app`, dest: join(dir, 'none') }, { dest: absent });
    const r = await runSteps(p.kind === 'change' ? p.steps : [], pathWith('none'));
    expect(r.code).toBe(NO_DOWNLOADER);
    expect(r.stderr).toContain('cannot download: the host has neither curl nor wget');
  });

  it('the url fact: sha256 and size of what the URL serves, or the download\'s error', async () => {
    const d: Download = { url: `${base}/app`, headers: {}, timeout: 5, validateCerts: true, agent: 'a' };
    const out = await new Promise<string>((resolve) => {
      const c = spawn('/bin/sh', ['-c', urlDigestFact.command(d)]);
      let stdout = '';
      c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      c.on('close', () => resolve(stdout));
    });
    expect(parseUrlDigest(out, d)).toEqual({ sha256: SHA256, size: 12 });
    expect(() => parseUrlDigest('failed=22\nerror=curl: (22) The requested URL returned error: 404\n', d)).toThrow(`cannot download ${base}/app: curl: (22) The requested URL returned error: 404`);
    expect(() => parseUrlDigest('garbage', d)).toThrow(/unexpected output/);
  });
});
