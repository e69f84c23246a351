/**
 * The last lines a child process wrote to its stderr, for the error that says it exited
 * (waitUntilListening with `process`). Only when its stderr is a pipe (`stdio[2]: 'pipe'`, the
 * default of spawn); with 'inherit' the lines went to the terminal, with 'ignore' or a file
 * wherever they were sent, and nothing is captured.
 *
 * It never takes output from a reader of that stderr: while the child runs it listens only once
 * the stream flows (someone reads it), which a 'data' listener of its own does not change. Output
 * nobody read is taken when the child exits, which is when Node itself would drop it (an exited
 * child's unread stdio is resumed and discarded on the next tick).
 */
import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

/** How much is kept: the last lines, and the bytes they may take (a child may print megabytes). */
export const STDERR_TAIL_LINES = 20;
const KEEP_CHARS = 8192;
/** After the exit, how long to wait for the rest of the output when a grandchild still holds the pipe open. */
const END_GRACE_MS = 250;

export interface StderrTail {
  /** False when the child's stderr is not a pipe (nothing can be captured). */
  readonly piped: boolean;
  /** Call once the child has exited: resolves with its last lines ('' if none), once its stderr has ended. */
  finish(): Promise<string>;
  /** Stop listening (the wait is over for another reason). */
  stop(): void;
}

export function watchStderr(child: ChildProcess): StderrTail {
  const stream = child.stderr;
  if (!stream) return { piped: false, finish: async () => '', stop: () => {} };
  const decoder = new StringDecoder('utf8');
  let kept = '';
  let listening = false;
  const onData = (chunk: Buffer | string) => {
    kept += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (kept.length > 2 * KEEP_CHARS) kept = kept.slice(-KEEP_CHARS);
  };
  const listen = () => {
    if (listening) return;
    listening = true;
    stream.on('data', onData);
  };
  // Flowing: someone reads it, and one more listener changes nothing. Paused: wait until it flows.
  if (stream.readableFlowing === true) listen();
  else stream.once('resume', listen);
  const stop = () => {
    stream.off('resume', listen);
    stream.off('data', onData);
  };
  return {
    piped: true,
    stop,
    finish: async () => {
      if (!stream.readableEnded && !stream.destroyed) {
        listen(); // output nobody read: Node would drop it now
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, END_GRACE_MS);
          timer.unref();
          function done() {
            clearTimeout(timer);
            stream!.off('end', done).off('close', done).off('error', done);
            resolve();
          }
          stream.once('end', done).once('close', done).once('error', done);
        });
      }
      stop();
      kept += decoder.end();
      return lastLines(kept);
    },
  };
}

function lastLines(text: string): string {
  const lines = text.slice(-KEEP_CHARS).split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-STDERR_TAIL_LINES).join('\n');
}
