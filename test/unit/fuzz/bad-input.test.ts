/**
 * The bad input corpus (test/fixtures/bad-input/) through the real CLI: every
 * file gives a clear message (file:line:col where there is a position), exit
 * code 2, no stack trace, and returns within a couple of seconds, as a
 * playbook and, where it makes sense, as an inventory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type Io } from '../../../src/cli/program.js';

const DIR = new URL('../../fixtures/bad-input/', import.meta.url).pathname;
const OK = join(DIR, 'ok.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'provision-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: {}, onInterrupt: () => () => {} };
  const t0 = performance.now();
  const code = await run(argv, io);
  return { code, out: out.join(''), err: err.join(''), ms: performance.now() - t0 };
}

function expectRefused(r: { code: number; out: string; err: string; ms: number }, message: RegExp): void {
  expect(r.err, r.err).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/^error: invalid input\n/);
  expect(r.err + r.out).not.toMatch(/\n\s+at /);
  expect(r.err).not.toMatch(/internal error/);
  expect(r.ms).toBeLessThan(2000);
}

const f = (name: string) => join(DIR, name);
const at = (name: string, line: number, col: number) => new RegExp(`${f(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:${col} `);

describe('bad input corpus as a playbook', () => {
  const cases: [string, RegExp[]][] = [
    ['malformed.yaml', [at('malformed.yaml', 4, 44), /YAML syntax error: Missing closing "quote/]],
    ['wrong-types.yaml', [at('wrong-types.yaml', 2, 11), /\[0\]\.become: expected boolean, got string "sometimes"/, /copy\.content: expected string, got number/, /copy\.mode: expected string or number, got list/]],
    ['unknown-task.yaml', [at('unknown-task.yaml', 4, 7), /unknown task type "copyy" \(did you mean "copy"\?/]],
    ['unknown-key.yaml', [at('unknown-key.yaml', 4, 46), /copy: unknown key "destination" \(allowed: dest, content/]],
    ['duplicate-key.yaml', [at('duplicate-key.yaml', 2, 3), /duplicate key "hosts"/]],
    ['scalar.yaml', [at('scalar.yaml', 1, 1), /a playbook is a list of plays \(- hosts: \.\.\.\), got string/]],
    ['alias-bomb.yaml', [/alias-bomb\.yaml: aliases expand to more than 100000 extra nodes: refusing a possible alias bomb/]],
    ['deep-nesting.yaml', [at('deep-nesting.yaml', 3, 208), /nesting deeper than 100 levels/]],
    ['deep-block.yaml', [at('deep-block.yaml', 100, 199), /nesting deeper than 100 levels/]],
    ['garbage.bin', [at('garbage.bin', 2, 139), /YAML syntax error: null byte is not allowed in input/]],
    ['inventory.ini', [at('inventory.ini', 2, 1), /YAML syntax error/]],
    ['recursive-alias.yaml', [at('recursive-alias.yaml', 4, 11), /the alias \*v refers to a node that contains it/]],
    ['bad-regex-pattern.yaml', [at('bad-regex-pattern.yaml', 1, 3), /host pattern "~\[x" is not a valid regular expression/]],
    ['iptables-newline.yaml', [at('iptables-newline.yaml', 6, 21), /iptables\.chains\.INPUT\.rules\[0\]: must be one line without control characters: a newline would inject iptables-restore lines/]],
    ['recursive-vars.yaml', [at('recursive-vars.yaml', 3, 5), /vars\.a: variable "a" is defined through itself \(a → b → a\)/]],
  ];
  it.each(cases)('%s', async (name, messages) => {
    const r = await cli(['-i', 'localhost,', f(name)]);
    for (const m of messages) expectRefused(r, m);
    // validate gives the same answer without a host
    const v = await cli(['validate', f(name)]);
    expect(v.code).toBe(2);
    expect(v.err).toBe(r.err);
  });

  it('a playbook file larger than 10 MiB is refused before parsing', async () => {
    const big = join(tmp, 'huge.yaml');
    writeFileSync(big, `- hosts: all\n  vars:\n    pad: "${'x'.repeat(10 * 1024 * 1024 + 16)}"\n  tasks: []\n`);
    expectRefused(await cli(['-i', 'localhost,', big]), /huge\.yaml: file is larger than 10485760 bytes \(\d+\)/);
  });

  it('a missing playbook, a directory', async () => {
    expectRefused(await cli(['-i', 'localhost,', join(tmp, 'nope.yaml')]), /nope\.yaml: file not found/);
    expectRefused(await cli(['-i', 'localhost,', tmp]), /not a regular file/);
  });
});

describe('a variable nothing defines', () => {
  it('is refused before any host with the task location; validate without an inventory warns', async () => {
    const r = await cli(['-i', 'localhost,', f('undefined-var.yaml')]);
    expectRefused(r, new RegExp(`${at('undefined-var.yaml', 3, 7).source}command: undefined variable "admin_usr"`));
    expect(r.out).not.toMatch(/PLAY/);
    expect((await cli(['-i', 'localhost,', '-e', 'admin_usr=x', '--check', f('undefined-var.yaml')])).code).not.toBe(2);
    const v = await cli(['validate', f('undefined-var.yaml')]);
    expect(v.code).toBe(0);
    expect(v.err).toMatch(/^warning: .*undefined variable "admin_usr".*\(unless the inventory defines it\)/m);
  });
});

describe('bad command-line input', () => {
  it.each([
    ['-e @file that does not exist', ['-e', `@${join(tmp, 'missing.yaml')}`], /missing\.yaml: file not found/],
    ['-e with broken YAML', ['-e', '{bad: ['], /-e '\{bad: \[':1:\d+ YAML syntax error/],
    ['-e that is not a mapping', ['-e', '[1, 2]'], /"\[1, 2\]" must give a mapping of variables/],
    ['--report into a missing directory', ['--report', 'json=/no/such/dir/r.json'], /--report: cannot write the json report \/no\/such\/dir\/r\.json: directory \/no\/such\/dir does not exist/],
    ['--report onto a directory', ['--report', `json=${tmp}`], /--report: cannot write the json report .*: .* is a directory/],
    ['-l with an invalid regex', ['-l', '~[x'], /--limit: host pattern "~\[x" is not a valid regular expression/],
  ])('%s', async (_name, flags, message) => {
    const r = await cli(['-i', 'localhost,', ...flags, OK]);
    expectRefused(r, message);
    expect(r.out).not.toMatch(/PLAY/); // refused before any host was contacted
  });
});

describe('bad input corpus as an inventory', () => {
  const cases: [string, RegExp][] = [
    ['broken.ini', /broken\.ini:2:19 web\.hosts\.web1\.ansible_port: must be at most 65535, got 70000/],
    ['broken.ini', /broken\.ini:3:6 expected key=value after the host name, got "just-a-word"/],
    ['broken.ini', /broken\.ini:4:1 section \[db:vars\] is for a group this file does not define/],
    ['garbage.bin', /garbage\.bin: not UTF-8 text/],
    ['scalar.yaml', /scalar\.yaml:1:1 expected mapping, got string "just a string/],
    ['alias-bomb.yaml', /refusing a possible alias bomb/],
    ['malformed.yaml', /malformed\.yaml:4:44 YAML syntax error/],
    ['deep-nesting.yaml', /nesting deeper than 100 levels/],
  ];
  it.each(cases)('%s', async (name, message) => {
    expectRefused(await cli(['-i', f(name), OK]), message);
  });

  it('an INI inventory is read as INI: no YAML parser noise before or after its own errors', async () => {
    const r = await cli(['-i', f('broken.ini'), OK]);
    expect(r.err).not.toMatch(/YAML/);
    expect(r.code).toBe(2);
    expect((await cli(['validate', '-i', f('inventory.ini'), OK])).code).toBe(0);
  });

  it('an inventory larger than 10 MiB', async () => {
    const big = join(tmp, 'huge-inv.yaml');
    writeFileSync(big, `all:\n  vars:\n    pad: "${'y'.repeat(10 * 1024 * 1024 + 16)}"\n`);
    expectRefused(await cli(['-i', big, OK]), /file is larger than 10485760 bytes/);
  });
});
