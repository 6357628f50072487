#!/usr/bin/env node
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
