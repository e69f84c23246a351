/**
 * Piped input for the REPL, one line at a time: a line reaches the REPL only once it is done with
 * the one before (that line's turn has ended, see repl-turns.ts), as if it were typed at the prompt.
 *
 * Node's REPL reads a line, and whether it continues a multi-line input (`function f() {` …) at
 * the moment it arrives; readline hands over every line of a chunk at once. So while a line
 * waited for the host, the lines after it were taken one by one: the body of a function
 * defined after `await remote.load()` was evaluated on its own (SyntaxError: Illegal return).
 */
import { PassThrough, type Readable } from 'node:stream';
import readline from 'node:readline';
import type { ReplTurns } from './repl-turns';

export interface GatedInput {
  /** What the REPL reads. */
  stream: PassThrough;
  /** Stop feeding (the REPL has exited). */
  stop(): void;
}

export function gateLines(source: Readable, turns: ReplTurns): GatedInput {
  const stream = new PassThrough();
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  let stopped = false;
  void (async () => {
    try {
      for await (const line of lines) {
        if (stopped) break;
        stream.write(line + '\n');
        // The REPL takes the line (and queues its turn, if it has one) before a macrotask runs.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await turns.drained();
      }
    } finally {
      if (!stream.writableEnded) stream.end();
    }
  })();
  return {
    stream,
    stop() {
      stopped = true;
      lines.close();
    },
  };
}
