#!/usr/bin/env node
/** The `remoteobj` command (package.json "bin"). Everything but the process lives in run.ts. */
import { processIo } from './io';
import { run } from './run';

// A reader that goes away (`remoteobj get … | head -c1`) is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

run(process.argv.slice(2), processIo).then(
  (code) => exit(code),
  (err: unknown) => {
    process.stderr.write(`remoteobj: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    exit(1);
  },
);

/** Exit once what was written has reached the OS (stdout may be an asynchronous pipe). */
function exit(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  // dial-stdio may have half-closed stdout already (writing to it now would be an error).
  if (process.stdout.writableEnded) done();
  else process.stdout.write('', done);
  process.stderr.write('', done);
}
