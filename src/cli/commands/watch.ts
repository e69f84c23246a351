/**
 * watch: read a stream (protocol v2, docs/cli.md): send the expression's op chain once, and print
 * each item of the async iterable it gives as one JSON line (NDJSON; `--raw` prints strings as
 * they are) until the stream ends, the host goes away, or the user interrupts (Ctrl-C, SIGTERM,
 * or the reader of stdout closing it, as `| head -n 3` does).
 *
 * Interrupting is a `break`: the host's iterator is returned (its `finally` blocks run) before
 * the connection closes, and watch exits 0. An error the stream ends with is printed like any
 * remote error (exit 1). `--timeout` bounds connecting and getting the stream, not the wait
 * between items: a watch is expected to sit idle.
 */
import { Connection } from '../../client/connection';
import { wireOps } from '../../protocol/wire';
import { flag } from '../args';
import { checkPath, DEFAULT_CONNECT_MS } from '../client';
import type { Command } from '../context';
import { EXIT, UsageError } from '../exit-codes';
import { parseChain } from '../grammar';
import { formatValue } from '../output';

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> & { return?(): Promise<unknown> } {
  return v !== null && typeof v === 'object' && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

export const watch: Command = {
  options: [{ name: 'allow-missing' }],
  arity: [2, 2],
  async run(ctx) {
    const socketPath = ctx.args.positionals[0]!;
    const chain = parseChain(ctx.args.positionals[1] ?? '');
    ctx.chain = chain;
    if (chain.ops.length === 0) throw new UsageError('watch needs an expression that gives an async iterable, e.g. events.watch()', 'watch');
    checkPath(socketPath, 'watch');
    const limited = ctx.timeoutMs !== undefined && Number.isFinite(ctx.timeoutMs);
    const started = Date.now();
    const conn = await Connection.open(socketPath, { connectTimeout: limited ? ctx.timeoutMs : DEFAULT_CONNECT_MS, captureStack: false, localBypass: false });
    // Interrupted: stop reading, which returns the host's iterator; the loop below then ends.
    let stop: (() => void) | undefined;
    let stopped = false;
    const interrupt = () => {
      stopped = true;
      stop?.();
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const out = ctx.io.stdout as NodeJS.WritableStream & { once?: (e: string, f: (err: Error) => void) => void };
    const onOutError = () => interrupt(); // EPIPE: nobody reads any more
    out.once?.('error', onOutError);
    try {
      if (ctx.verbose) {
        ctx.io.stderr.write(`remoteobj: connected to pid ${conn.hostPid} at ${conn.path}\n`);
        ctx.io.stderr.write(`remoteobj: sending ops ${JSON.stringify(wireOps(chain.ops))}\n`);
      }
      const remaining = limited ? Math.max(1, ctx.timeoutMs! - (Date.now() - started)) : undefined;
      const result = await conn.request(chain.ops, { timeout: remaining, strict: !flag(ctx.args, 'allow-missing') });
      if (result.kind !== 'value' || !isAsyncIterable(result.value)) {
        const what = result.kind === 'self' ? 'the hosted object itself' : formatValue(result.value, 'json', { isTTY: false } as NodeJS.WriteStream).trim().slice(0, 80);
        throw new UsageError(`watch needs an expression that gives an async iterable (a stream); ${chain.source.trim()} gave ${what}`, 'watch');
      }
      const stream = result.value;
      const iterator = stream[Symbol.asyncIterator]();
      const stopping = new Promise<void>((resolve) => (stop = resolve));
      if (stopped) stop!();
      const mode = ctx.mode === 'raw' ? 'raw' : 'json'; // one line per item, whatever the terminal
      for (;;) {
        const next = await Promise.race([iterator.next(), stopping.then(() => undefined)]);
        if (next === undefined) {
          await iterator.return?.(); // the host's finally runs before we hang up
          break;
        }
        if (next.done) break;
        ctx.io.stdout.write(formatValue(next.value, mode, ctx.io.stdout));
      }
      if (ctx.verbose) ctx.io.stderr.write(`remoteobj: ${stopped ? 'interrupted' : 'the stream ended'} after ${Date.now() - started} ms\n`);
      return EXIT.OK;
    } finally {
      process.removeListener('SIGINT', interrupt);
      process.removeListener('SIGTERM', interrupt);
      (out as { removeListener?: (e: string, f: () => void) => void }).removeListener?.('error', onOutError);
      await conn.close();
    }
  },
};
