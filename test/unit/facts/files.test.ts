import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fileAt, fileFact, parseFileFact } from '../../../src/facts/files.js';
import { FactError } from '../../../src/contract/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/file-${name}.txt`, import.meta.url), 'utf8');
const parse = (name: string) => parseFileFact(fixture(name), '/x');

describe('fileFact parser (recorded outputs)', () => {
  it('regular file with content and sha256', () => {
    expect(parse('regular')).toEqual({
      exists: true,
      type: 'file',
      mode: '0600',
      owner: 'root',
      group: 'root',
      uid: 0,
      gid: 0,
      size: 27,
      content: 'Port 22\nPermitRootLogin no\n',
      sha256: '21f261d76ad5b2ec1f58b5650caf2ed93775f928c7fe428b31ccc3b7b41d463c',
    });
  });

  it('base64 wrapped over several lines, non-root owner', () => {
    const info = parse('multiline');
    expect(info).toMatchObject({ exists: true, type: 'file', mode: '0640', owner: 'deploy', group: 'adm', uid: 1000, gid: 1001 });
    expect(info.exists && info.content).toBe(
      '# managed\n' + [0, 1, 2, 3, 4].map((i) => `line ${i}: some text here to wrap base64 output\n`).join(''),
    );
  });

  it('directory with setgid bit', () => {
    expect(parse('directory')).toEqual({ exists: true, type: 'directory', mode: '2755', owner: 'root', group: 'root', uid: 0, gid: 0, size: 4096 });
  });

  it('symlink with its target', () => {
    expect(parse('link')).toEqual({
      exists: true,
      type: 'link',
      mode: '0777',
      owner: 'root',
      group: 'root',
      uid: 0,
      gid: 0,
      size: 22,
      target: '/etc/target with space',
    });
  });

  it('binary file: sha256 only, no content', () => {
    const info = parse('binary');
    expect(info.exists && info.sha256).toBe('a24dfbe514cfc933f181693f8fdac2c1a4d836a9bc8ecf85bab83eb9ff132844');
    expect(info).not.toHaveProperty('content');
  });

  it('file over 1 MiB: sha256 only', () => {
    const info = parse('big');
    expect(info).toMatchObject({ size: 1048577, sha256: '4a3f0c0c213adea174f9a3d4c13177315b588bdb2e9c1012d3d0bf0453ca0f6a' });
    expect(info).not.toHaveProperty('content');
  });

  it('empty file has empty content', () => {
    expect(parse('empty')).toMatchObject({ size: 0, content: '' });
  });

  it('hostile name and UTF-8 content without trailing newline', () => {
    expect(parse('hostile')).toMatchObject({ type: 'file', content: 'héllo\nno newline at end', size: 24 });
  });

  it('unreadable content: no content, no error', () => {
    const info = parse('unreadable');
    expect(info).toMatchObject({ exists: true, type: 'file', size: 27 });
    expect(info).not.toHaveProperty('content');
  });

  it('absent paths', () => {
    expect(parse('absent')).toEqual({ exists: false });
    expect(parse('absent_parent')).toEqual({ exists: false });
  });

  it('garbage output is a FactError', () => {
    expect(() => parseFileFact('stat: cannot stat\n', '/x', 3)).toThrow(/no output for this path/);
    expect(() => parseFileFact('path=L3g=\ntype=file\nstat=abc\n', '/x', 0)).toThrow(/cannot parse stat output/);
  });

  it('reads its own path\'s part of a merged output, and no other', () => {
    const two = `path=L3k=\nexists=0\n${fixture('regular')}`; // /y is absent, /x a regular file
    expect(parseFileFact(two, '/y')).toEqual({ exists: false });
    expect(parseFileFact(two, '/x')).toMatchObject({ exists: true, type: 'file', content: 'Port 22\nPermitRootLogin no\n' });
    expect(() => parseFileFact(two, '/z')).toThrow(FactError);
  });
});

describe('fileFact command', () => {
  it('quotes the path and keys the request by path', () => {
    const r = fileAt("/tmp/it's $(reboot)");
    expect(r.id).toBe("file:/tmp/it's $(reboot)");
    expect(r.command.split('\n').at(-1)).toBe(`echo path=${Buffer.from("/tmp/it's $(reboot)").toString('base64')}; __pv_file '/tmp/it'\\''s $(reboot)'`);
  });

  it('runs on this machine and round-trips through the parser', () => {
    const out = execFileSync('/bin/sh', ['-c', fileFact.command({ path: '/bin/sh' })], { encoding: 'utf8' });
    expect(parseFileFact(out, '/bin/sh')).toMatchObject({ exists: true });
  });

  it('merged, one shell reads every path, and each read parses as it would alone', () => {
    const paths = ['/bin/sh', '/etc', '/no/such/path', '/etc/hostname', "/tmp/it's\nodd"];
    const merged = fileFact.merge!(paths.map((path) => ({ path })));
    const out = execFileSync('/bin/sh', ['-c', fileFact.command(merged)], { encoding: 'utf8' });
    for (const path of paths) {
      const alone = execFileSync('/bin/sh', ['-c', fileFact.command({ path })], { encoding: 'utf8' });
      expect(parseFileFact(out, path)).toEqual(parseFileFact(alone, path));
    }
    expect(parseFileFact(out, '/etc')).toMatchObject({ exists: true, type: 'directory' });
    expect(parseFileFact(out, '/no/such/path')).toEqual({ exists: false });
  });
});
