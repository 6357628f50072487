/**
 * Archives on the control machine (`unarchive` without remote_src): read,
 * and unpacked into a temporary directory with this machine's tar or unzip,
 * so that what dest must hold (every member's type and sha256) is known
 * before anything is sent.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { TaskError } from '../../contract/errors.js';
import type { ArchiveFormat, Member } from '../../facts/archive.js';

const run = promisify(execFile);

const TAR_LOCAL: Readonly<Record<Exclude<ArchiveFormat, 'zip'>, string[]>> = { tar: [], gz: ['-z'], xz: ['-J'], bz2: ['-j'] };

/** Every path under `root`, relative, directories before their content, sorted. */
async function walk(root: string, dir = root): Promise<Member[]> {
  const out: Member[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const full = join(dir, name);
    const path = relative(root, full);
    const info = await lstat(full);
    if (info.isSymbolicLink()) out.push({ path, type: 'link' });
    else if (info.isDirectory()) out.push({ path, type: 'dir' }, ...(await walk(root, full)));
    else out.push({ path, type: 'file', sha256: createHash('sha256').update(await readFile(full)).digest('hex') });
  }
  return out;
}

/** The archive's bytes (base64) and its members, unpacked here. */
export async function unpackLocally(path: string, format: ArchiveFormat): Promise<{ base64: string; members: Member[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'provision-unarchive-'));
  try {
    const [cmd, args] = format === 'zip' ? ['unzip', ['-q', path, '-d', dir]] : ['tar', ['-x', ...TAR_LOCAL[format], '-C', dir, '-f', path]];
    await run(cmd as string, args as string[]).catch((err: Error) => {
      throw new TaskError(`cannot unpack ${path} on the control machine with ${cmd as string}: ${err.message}`, { cause: err });
    });
    return { base64: (await readFile(path)).toString('base64'), members: await walk(dir) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
