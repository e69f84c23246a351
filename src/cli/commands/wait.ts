/** wait: exit 0 once a host answers on the path; 4 at the timeout; 3 for errors waiting cannot fix. */
import { waitUntilListening } from '../../client/connect';
import { checkPath, cliTransport } from '../client';
import type { Command } from '../context';
import { EXIT } from '../exit-codes';

/** wait's limit when --timeout is not given. */
export const DEFAULT_WAIT_MS = 30_000;

export const wait: Command = {
  arity: [1, 1],
  async run(ctx) {
    const socketPath = ctx.args.positionals[0]!;
    checkPath(socketPath, 'wait');
    const limit = ctx.timeoutMs ?? DEFAULT_WAIT_MS;
    const started = Date.now();
    await waitUntilListening(socketPath, { timeout: Number.isFinite(limit) ? limit : undefined, ...cliTransport(socketPath, 'wait') });
    if (ctx.verbose) ctx.io.stderr.write(`remoteobj: a host answers on ${socketPath} (waited ${Date.now() - started} ms)\n`);
    return EXIT.OK;
  },
};
