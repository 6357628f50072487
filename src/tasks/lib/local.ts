/**
 * Files on the control machine that a task sends (copy `src:`, template
 * `src:`): found like Ansible finds them, read as UTF-8 text.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { TaskError } from '../../contract/errors.js';

export interface LocalText {
  /** The file that was found. */
  readonly path: string;
  readonly content: string;
  /** Its permission bits, four octal digits (`0644`): template `mode: preserve`. */
  readonly mode: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Find `src`: an absolute path as it is; a relative one in the first of
 * `dirs` that holds it (the TaskContext's `searchDirs`). Not found or not a
 * file: a TaskError naming every place looked at.
 */
export async function findLocalFile(src: string, dirs: readonly string[]): Promise<{ path: string; mode: string }> {
  const candidates = isAbsolute(src) ? [src] : dirs.map((d) => join(d, src));
  for (const path of candidates) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) continue;
    if (!info.isFile()) throw new TaskError(`src ${path} is not a regular file`);
    return { path, mode: (info.mode & 0o7777).toString(8).padStart(4, '0') };
  }
  throw new TaskError(`cannot find src ${src}: looked for ${candidates.join(', ')}`);
}

/** Read `src` found as `findLocalFile` finds it, as UTF-8 text (anything else is a TaskError). */
export async function readLocalText(src: string, dirs: readonly string[]): Promise<LocalText> {
  const { path, mode } = await findLocalFile(src, dirs);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new TaskError(`cannot read src ${path}: ${(err as Error).message}`, { cause: err });
  }
  let content: string;
  try {
    content = utf8.decode(bytes);
  } catch {
    throw new TaskError(`src ${path} is not UTF-8 text; binary files are not supported`);
  }
  return { path, content, mode };
}
