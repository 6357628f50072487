/**
 * The built CLI, for tests that drive it as a user does: the `provision` bin
 * (dist/cli/launcher.cjs), which runs the bundle dist/bin/provision.cjs with its
 * code cache. A build older than src/ would test yesterday's code: that fails
 * loudly (`npm run build`; `npm ci` builds it too, through `prepare`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'dist/cli/launcher.cjs');
export const BUNDLE = join(root, 'dist/bin/provision.cjs');
const CACHE = join(root, 'dist/bin/provision.cache');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The path of the `provision` bin; throws when it, the bundle or its cache is missing or older than a file in src/. */
export function builtCli(): string {
  const src = newest(join(root, 'src'));
  for (const file of [CLI, BUNDLE, CACHE]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
    if (statSync(file).mtimeMs < src) throw new Error(`${file} is older than src/: run \`npm run build\` first`);
  }
  return CLI;
}
