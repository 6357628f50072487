#!/usr/bin/env node
import { ssh2 } from '../connections/ssh2.js';
import { run } from './program.js';

// A reader that stops early (`provision --help | head -1`) closes the pipe: what is
// left to print is dropped, and the run goes on to its end and its exit code, as it
// would with no reader (stopping a run halfway on a host is what must not happen).
const dropAfterClose = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
};
process.stdout.on('error', dropAfterClose);
process.stderr.on('error', dropAfterClose);

// Exit 1 unless run settles with its code: a run that never settles must not look like success.
// No top-level await: the build bundles this file as CommonJS (scripts/bundle.ts).
process.exitCode = 1;
void run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

/**
 * The launcher calls this when it writes the code cache (PROVISION_CODE_CACHE=write,
 * scripts/bundle.ts): the cache is made from a run of `validate`, which connects to no
 * host, so ssh2, loaded on a run's first connection, is loaded here to be in it too.
 */
export function warmCodeCache(): void {
  ssh2();
}
