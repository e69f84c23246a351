/**
 * The engine of `remoteobj batch`: request lines in, result lines out, in the same order.
 *
 * Requests are pipelined: each line is sent as soon as it is read, without waiting for the
 * replies before it (the host runs them one at a time, in order, so pipelining only removes the
 * round trips). At most `maxInFlight` requests are sent and not yet written out; past that, and
 * while the output cannot take more (a slow reader after the pipe), reading stops — exactly, in
 * the middle of a chunk if need be — so memory stays bounded however long the input is.
 *
 * Input lines are split by the transport's LineSplitter (a byte limit, UTF-8 checked, CRLF and
 * blank lines handled), not by ndjson's parser: that one ends its stream at a line `null`, turns
 * a malformed line into a stream error that unpipes the input (or, non-strict, drops it
 * silently), and cannot give a result for that line in its place. Results are written through
 * ndjson's stringify stream, which puts one JSON document on each line and carries the output's
 * back-pressure.
 */
import type { Readable, Writable } from 'node:stream';
import ndjson from 'ndjson';
import type { Result } from '../client/connection';
import type { Op } from '../protocol/wire-types';
import { DEFAULT_MAX_MESSAGE_BYTES, LineSplitter } from '../transport/lines';
import { BatchLineError, type BatchRequest, errorLine, okLine, parseBatchLine, type ResultLine } from './batch-format';
import { EXIT } from './exit-codes';

/** Requests sent and not yet written out, at most (the host runs one at a time: a few hide the round trips). */
export const MAX_IN_FLIGHT = 64;

export interface BatchOptions {
  /** Sends one request; resolves with its reply. */
  send(ops: Op[]): Promise<Result>;
  input: Readable;
  output: Writable;
  verbose: boolean;
  maxInFlight?: number;
  /** Longest input line, in bytes (default 16 MiB, the host's default request limit). */
  maxLineBytes?: number;
}

export interface BatchOutcome {
  /** 0 when every request succeeded, else the highest `exit` of the failed ones. */
  exit: number;
  requests: number;
  failed: number;
}

const BLANK = /^\s*$/;

interface Slot {
  line?: ResultLine;
}

export function runBatch(opts: BatchOptions): Promise<BatchOutcome> {
  return new Promise((resolve) => {
    const maxInFlight = opts.maxInFlight ?? MAX_IN_FLIGHT;
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const { input, output } = opts;
    const results = ndjson.stringify();
    results.pipe(output, { end: false });

    const slots: Slot[] = []; // in input order, from the oldest not yet written
    let exit: number = EXIT.OK;
    let requests = 0;
    let failed = 0;
    let inputEnded = false;
    let stopped = false; // no more input is read: the connection is gone, a line was too long, or the output is
    let outputGone = false;
    let outputBlocked = false;
    let waitingForDrain = false;
    let paused = false;
    let finished = false;

    const splitter = new LineSplitter(
      {
        line: (text) => onLine(text),
        badUtf8: (bytes) => onUnreadable(new BatchLineError(`the line is not UTF-8 text (${bytes} bytes)`)),
        overflow: (bytes) => {
          onUnreadable(new BatchLineError(`the line is longer than ${maxLineBytes} bytes (${bytes} so far); nothing after it is read`));
          stop();
        },
      },
      maxLineBytes,
    );

    const onData = (chunk: Buffer | string) => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const onEnd = () => {
      splitter.push(Buffer.from('\n')); // the last line may have no newline
      inputEnded = true;
      maybeFinish();
    };
    const onOutputError = () => {
      // The reader went away (`… | head -n1`): nothing more can be written, so nothing more is sent.
      outputGone = true;
      stop();
      flush();
    };
    input.on('data', onData);
    input.once('end', onEnd);
    output.on('error', onOutputError);

    function onLine(text: string): void {
      if (BLANK.test(text)) return; // blank lines have no result (the splitter skips empty ones)
      const slot: Slot = {};
      slots.push(slot);
      requests++;
      let req: BatchRequest;
      try {
        req = parseBatchLine(text);
      } catch (e) {
        settle(slot, errorLine(e, { id: (e as { id?: unknown }).id, verbose: opts.verbose }));
        return backPressure();
      }
      opts.send(req.ops).then(
        (result) => {
          let line: ResultLine;
          try {
            line = okLine(req, result);
          } catch (e) {
            line = errorLine(e, { id: req.id, verbose: opts.verbose });
          }
          settle(slot, line);
        },
        (e: unknown) => {
          const line = errorLine(e, { id: req.id, verbose: opts.verbose });
          // The connection is gone: no later request can succeed, so stop reading.
          if ((line.error as { exit: number }).exit === EXIT.UNAVAILABLE) stop();
          settle(slot, line);
        },
      );
      backPressure();
    }

    /** A line the splitter could not hand over as text still gets its result, in its place. */
    function onUnreadable(err: BatchLineError): void {
      const slot: Slot = {};
      slots.push(slot);
      requests++;
      settle(slot, errorLine(err, { verbose: opts.verbose }));
    }

    function settle(slot: Slot, line: ResultLine): void {
      slot.line = line;
      if (line.ok === false) {
        failed++;
        exit = Math.max(exit, (line.error as { exit: number }).exit);
      }
      flush();
    }

    /** Write the results that are next in order; then read on, or finish. */
    function flush(): void {
      while (slots.length > 0 && slots[0]!.line) {
        const { line } = slots.shift()!;
        if (!outputGone && !results.write(line)) outputBlocked = true;
      }
      if (outputBlocked && !outputGone && !waitingForDrain) {
        waitingForDrain = true;
        results.once('drain', () => {
          waitingForDrain = false;
          outputBlocked = false;
          flush();
        });
      }
      if (paused && !stopped && !outputBlocked && slots.length < maxInFlight) {
        paused = false;
        input.resume();
        splitter.resume(); // emits the lines held back, which may pause again
      }
      maybeFinish();
    }

    function backPressure(): void {
      if (!paused && (slots.length >= maxInFlight || outputBlocked)) {
        paused = true;
        splitter.pause();
        input.pause();
      }
    }

    function stop(): void {
      if (stopped) return;
      stopped = true;
      splitter.pause();
      input.pause();
      input.off('data', onData);
    }

    function maybeFinish(): void {
      if (finished || slots.length > 0) return;
      if (!stopped && !(inputEnded && !splitter.holding)) return;
      finished = true;
      input.off('data', onData);
      input.off('end', onEnd);
      const done = () => {
        output.off('error', onOutputError);
        resolve({ exit, requests, failed });
      };
      if (outputGone) return done();
      results.once('end', done);
      results.end();
    }
  });
}
