/**
 * The built CLI (dist/cli/main.js), for tests that drive it as a user does.
 * A dist/ older than src/ would test yesterday's code: that fails loudly
 * (`npm run build`; `npm ci` builds it too, through `prepare`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'dist/cli/main.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The path of the built CLI; throws when it is missing or older than a file in src/. */
export function builtCli(): string {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  if (statSync(CLI).mtimeMs < newest(join(root, 'src'))) throw new Error(`${CLI} is older than src/: run \`npm run build\` first`);
  return CLI;
}
