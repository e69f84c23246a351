/**
 * batch: request lines (NDJSON) from stdin, one result line each on stdout, in order, over one
 * connection with the requests pipelined (batch-run.ts; the line formats: batch-format.ts).
 */
import { Writable } from 'node:stream';
import { Connection } from '../../client/connection';
import { runBatch } from '../batch-run';
import { checkPath, cliTransport, DEFAULT_CONNECT_MS } from '../client';
import type { Command } from '../context';
import { UsageError } from '../exit-codes';
import type { Out } from '../io';
import { escapeJsonForTerminal } from '../terminal-text';

export const batch: Command = {
  arity: [1, 1],
  async run(ctx) {
    if (ctx.mode !== 'json') throw new UsageError('batch writes one JSON result per line: --raw and --pretty do not apply', 'batch');
    const socketPath = ctx.args.positionals[0]!;
    checkPath(socketPath, 'batch');
    const limited = ctx.timeoutMs !== undefined && Number.isFinite(ctx.timeoutMs);
    const conn = await Connection.open(socketPath, {
      connectTimeout: limited ? ctx.timeoutMs : DEFAULT_CONNECT_MS,
      captureStack: false,
      localBypass: false,
      ...cliTransport(socketPath, 'batch'),
    });
    try {
      if (ctx.verbose) ctx.io.stderr.write(`remoteobj: connected to pid ${conn.hostPid} at ${conn.path}; reading requests from stdin\n`);
      const started = Date.now();
      const outcome = await runBatch({
        // --timeout bounds each request (and the connect), not the whole batch.
        send: (ops) => conn.request(ops, { timeout: limited ? ctx.timeoutMs : undefined }),
        input: process.stdin,
        output: writableOf(ctx.io.stdout),
        verbose: ctx.verbose,
      });
      if (ctx.verbose) ctx.io.stderr.write(`remoteobj: ${outcome.requests} request(s), ${outcome.failed} failed, in ${Date.now() - started} ms\n`);
      return outcome.exit;
    } finally {
      await conn.close();
    }
  },
};

/**
 * The process's stdout as it is (its back-pressure included); on a terminal, with the code points
 * JSON.stringify leaves raw escaped (the same JSON values); any other writer (tests) wrapped.
 */
function writableOf(out: Out): Writable {
  const terminal = out.isTTY === true;
  if (out instanceof Writable && !terminal) return out;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      const ok = out.write(terminal ? escapeJsonForTerminal(text) : text);
      if (ok === false && out instanceof Writable) out.once('drain', () => done());
      else done();
    },
  });
}
