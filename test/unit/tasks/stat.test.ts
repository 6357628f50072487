/**
 * `stat`: the fact parser on outputs recorded on a debian12 fleet host (the
 * fact's own command run through docker exec), Ansible's result shape, the
 * arguments and aliases, and check mode's view of a file an earlier task
 * would change.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStatFact, statFact, type StatArgs, type StatResult } from '../../../src/facts/stat.js';
import type { FileInfo } from '../../../src/facts/files.js';
import { statTask } from '../../../src/tasks/stat.js';
import { ctx, fileWith } from './_helpers.js';

const args = (over: Partial<StatArgs> = {}): StatArgs => ({ path: '/etc/hostname', follow: false, checksum: 'sha1', mime: true, attributes: true, ...over });
const recorded = (name: string, over: Partial<StatArgs> = {}): StatResult =>
  parseStatFact(readFileSync(new URL(`../../fixtures/facts/stat-${name}-debian12.txt`, import.meta.url), 'utf8'), args(over));
const parse = (raw: unknown) => statTask.schema.parse(raw);
const invalid = (raw: unknown) => statTask.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

describe('stat fact (recorded on debian12)', () => {
  it('a regular file: every key Ansible\'s stat returns on Linux', () => {
    expect(recorded('regular')).toEqual({
      exists: true, path: '/etc/hostname', mode: '0644',
      isdir: false, ischr: false, isblk: false, isreg: true, isfifo: false, islnk: false, issock: false,
      uid: 0, gid: 0, size: 13, inode: 2827321, dev: 65024, nlink: 1,
      atime: 1795771214.654957569, mtime: 1795771214.654957569, ctime: 1795771214.660045773,
      wusr: true, rusr: true, xusr: false, wgrp: false, rgrp: true, xgrp: false, woth: false, roth: true, xoth: false, isuid: false, isgid: false,
      blocks: 8, block_size: 4096, device_type: 0,
      readable: true, writeable: true, executable: false,
      pw_name: 'root', gr_name: 'root',
      checksum: '344cb2d1480c04934c385a888faff87abe8bcb8c',
      mimetype: 'unknown', charset: 'unknown',
      version: '2182123679', attributes: ['extents'], attr_flags: 'e',
    });
  });

  it('a directory, a link (not followed, then followed), a character device, nothing', () => {
    expect(recorded('directory', { path: '/etc' })).toMatchObject({ isdir: true, mode: '0755', executable: true, version: null, attributes: [], attr_flags: '' });
    expect(recorded('directory', { path: '/etc' })).not.toHaveProperty('checksum');
    const link = recorded('link', { path: '/tmp/lnk', checksum: 'sha256' });
    expect(link).toMatchObject({ islnk: true, isreg: false, mode: '0777', lnk_target: '/etc/hostname', lnk_source: '/etc/hostname' });
    expect(link).not.toHaveProperty('checksum');
    const followed = recorded('link-follow', { path: '/tmp/lnk', follow: true, checksum: 'md5' });
    expect(followed).toMatchObject({ islnk: false, isreg: true, inode: 2827321, checksum: 'cf0cbe40367f129e4a4a8974ad07ea10' });
    expect(followed).not.toHaveProperty('lnk_target');
    expect(recorded('chardev', { path: '/dev/null', checksum: null })).toMatchObject({ ischr: true, mode: '0666', device_type: 259 });
    expect(recorded('absent', { path: '/nonexistent' })).toEqual({ exists: false });
  });

  it('file\'s mime answer; a missing checksum tool or unreadable output is a fact error', () => {
    const base = readFileSync(new URL('../../fixtures/facts/stat-regular-debian12.txt', import.meta.url), 'utf8');
    expect(parseStatFact(`${base}mime=text/plain; charset=us-ascii\n`, args())).toMatchObject({ mimetype: 'text/plain', charset: 'us-ascii' });
    expect(parseStatFact(base, args({ mime: false, attributes: false }))).not.toHaveProperty('mimetype');
    expect(() => parseStatFact(base.replace(/checksum=.*\n/, 'checksum_tool=0\n'), args({ checksum: 'sha224' }))).toThrow('/etc/hostname: no sha224sum on the host for checksum_algorithm sha224');
    expect(() => parseStatFact('garbage\n', args(), 3)).toThrow(/cannot parse stat output \(exit 3\)/);
  });

  it('the command quotes the path, follows with -L only when asked, asks only what is wanted', () => {
    const cmd = statFact.command(args({ path: "/x'$(id)", checksum: null, mime: false, attributes: false }));
    expect(cmd).toContain(`p='/x'\\''$(id)'`);
    expect(cmd).not.toMatch(/sum|file -b|lsattr|stat -L/);
    expect(statFact.command(args({ follow: true }))).toContain('stat -L -c');
  });
});

describe('stat get_md5 (accepted by Ansible 2.14, undocumented since 2.9)', () => {
  it('asks md5sum for a readable regular file and registers stat.md5; check mode predicts it from the content', () => {
    expect(statTask.facts(parse({ path: '/x', get_md5: true }), ctx).stat.args).toMatchObject({ md5: true });
    expect(statFact.command(args({ md5: true }))).toContain(`c=$(md5sum < "$p"); printf 'md5=%s\\n' "\${c%% *}"`);
    expect(statFact.command(args())).not.toContain('md5sum');
    const out = readFileSync(new URL('../../fixtures/facts/stat-regular-debian12.txt', import.meta.url), 'utf8');
    expect(parseStatFact(`${out}md5=0123\n`, args({ md5: true }))).toMatchObject({ md5: '0123' });
    expect(parseStatFact(`${out}md5=0123\n`, args())).not.toHaveProperty('md5');
    const p = statTask.plan(parse({ path: '/etc/hostname', get_md5: true }), { stat: { exists: false }, file: fileWith('web1\n') }, { ...ctx, check: true });
    expect(p.kind === 'ok' && (p.data?.stat as Record<string, unknown>).md5).toBe(createHash('md5').update('web1\n').digest('hex'));
  });
});

describe('stat task', () => {
  const file = (over: Partial<Extract<FileInfo, { exists: true }>> = {}) => fileWith('web1\n', { size: 13, ...over });
  const hostSt = recorded('regular');

  it('is ok and registers the result under stat, with the reason', () => {
    expect(statTask.plan(parse({ path: '/etc/hostname' }), { stat: hostSt, file: file() }, ctx)).toEqual({
      kind: 'ok',
      reason: '/etc/hostname: regular file, mode 0644, owner root, 13 bytes',
      data: { stat: hostSt },
    });
    expect(statTask.plan(parse({ path: '/nope' }), { stat: { exists: false }, file: { exists: false } }, ctx)).toEqual({ kind: 'ok', reason: '/nope: does not exist', data: { stat: { exists: false } } });
  });

  it('asks the fact for what the arguments say; aliases', () => {
    expect(statTask.facts(parse({ name: '/x', get_checksum: false, get_mime: false, get_attributes: false, follow: true }), ctx).stat.args).toEqual({
      path: '/x', follow: true, checksum: null, mime: false, attributes: false,
    });
    expect(statTask.facts(parse({ dest: '/x', checksum: 'sha256' }), ctx).stat.args).toMatchObject({ checksum: 'sha256' });
    expect(statTask.facts(parse({ path: '/x', checksum_algo: 'md5' }), ctx).stat.args).toMatchObject({ checksum: 'md5' });
    expect(statTask.facts(parse({ path: '/x' }), ctx).stat.args).toMatchObject({ checksum: 'sha1', mime: true, attributes: true });
    expect(invalid({ path: '/x', checksum: 'md5', checksum_algorithm: 'sha1' })).toBe('checksum: give only one of checksum_algorithm, checksum (aliases)');
    expect(invalid({ path: '/x', checksum_algorithm: 'crc32' })).toMatch(/^checksum_algorithm: Invalid option/);
    expect(statTask.facts(parse({ path: '/x', get_md5: false }), ctx).stat.args).not.toHaveProperty('md5');
    expect(invalid({})).toBe('path: path is required');
  });

  it('check mode: a file an earlier task would create or change is reported as it would be', () => {
    const check = { ...ctx, check: true };
    const created = statTask.plan(parse({ path: '/etc/hostname', checksum_algorithm: 'sha256' }), { stat: { exists: false }, file: file({ mode: '0600', owner: 'app', uid: 1001 }) }, check);
    expect(created).toMatchObject({ kind: 'ok', reason: '/etc/hostname: regular file, mode 0600, owner app, 13 bytes (check mode: as an earlier task would leave it)' });
    expect(created.kind === 'ok' && created.data).toEqual({
      stat: {
        exists: true, path: '/etc/hostname', mode: '0600', isdir: false, isreg: true, islnk: false, uid: 1001, gid: 0, size: 13, pw_name: 'app', gr_name: 'root',
        wusr: true, rusr: true, xusr: false, wgrp: false, rgrp: false, xgrp: false, woth: false, roth: false, xoth: false, isuid: false, isgid: false,
        checksum: createHash('sha256').update('web1\n').digest('hex'),
      },
    });
    expect(statTask.plan(parse({ path: '/etc/hostname' }), { stat: hostSt, file: { exists: false } }, check)).toMatchObject({ data: { stat: { exists: false } } });
    // same type, mode, owner, size and content: the host's own answer
    const sameContent = 'x'.repeat(13);
    const same = fileWith(sameContent, { size: 13 });
    const hostWithSame = { ...hostSt, checksum: createHash('sha1').update(sameContent).digest('hex') } as StatResult;
    expect(statTask.plan(parse({ path: '/etc/hostname' }), { stat: hostWithSame, file: same }, check)).toMatchObject({ data: { stat: hostWithSame } });
    // outside check mode the host's answer always
    expect(statTask.plan(parse({ path: '/etc/hostname' }), { stat: hostSt, file: { exists: false } }, ctx)).toMatchObject({ data: { stat: hostSt } });
  });
});
