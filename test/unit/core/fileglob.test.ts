/**
 * `with_fileglob`: Ansible's fileglob lookup on the control machine. A
 * relative term is looked up in the task's files/ search path (the
 * playbook's `files/`, then its own directory), as ansible-core 2.14's
 * find_file_in_search_path does; only regular files, absolute paths.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileglob } from '../../../src/core/local-files.js';
import { loadPlaybook } from '../../../src/core/playbook.js';
import { loopItems } from '../../../src/core/pipeline.js';
import { registry } from '../../../src/tasks/index.js';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fileglob-'));
  mkdirSync(join(dir, 'files', 'fooapp', 'sub'), { recursive: true });
  for (const f of ['b.conf', 'a.conf', 'notes.txt', '.hidden.conf']) writeFileSync(join(dir, 'files', 'fooapp', f), f);
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'other', 'x.conf'), 'x');
  return dir;
}

describe('fileglob', () => {
  it('globs the last segment over regular files of the first search dir that has the directory, sorted', () => {
    const dir = tree();
    const dirs = [join(dir, 'files'), dir];
    const foo = join(dir, 'files', 'fooapp');
    expect(fileglob(['fooapp/*'], dirs)).toEqual([join(foo, 'a.conf'), join(foo, 'b.conf'), join(foo, 'notes.txt')]);
    expect(fileglob(['fooapp/*.conf', 'other/?.conf'], dirs)).toEqual([join(foo, 'a.conf'), join(foo, 'b.conf'), join(dir, 'other', 'x.conf')]);
    expect(fileglob(['fooapp/[ab].conf'], dirs)).toEqual([join(foo, 'a.conf'), join(foo, 'b.conf')]);
    expect(fileglob(['fooapp/[!a]*.conf'], dirs)).toEqual([join(foo, 'b.conf')]);
    expect(fileglob(['fooapp/.*.conf'], dirs)).toEqual([join(foo, '.hidden.conf')]);
    expect(fileglob([`${foo}/a.*`], [])).toEqual([join(foo, 'a.conf')]);
    expect(fileglob(['nowhere/*', '/nonexistent/*'], dirs)).toEqual([]);
  });

  it('with_fileglob: a task loops over those files, relative to the playbook\'s files/', () => {
    const dir = tree();
    const file = join(dir, 'site.yml');
    writeFileSync(file, '- hosts: all\n  tasks:\n    - copy: src={{ item }} dest=/etc/fooapp/ mode=600\n      with_fileglob:\n        - fooapp/*.conf\n');
    const task = loadPlaybook(file, registry).plays[0]!.tasks[0]!;
    expect(task.loopWith).toBe('fileglob');
    expect(loopItems(task, {})).toEqual([join(dir, 'files', 'fooapp', 'a.conf'), join(dir, 'files', 'fooapp', 'b.conf')]);
  });
});
