/**
 * A Link over any Node duplex byte stream: a Unix socket or a named pipe today (TCP, TLS and an
 * ssh child's stdio are the same stream). NDJSON framing (lines.ts) on the way in, batched writes
 * on the way out, exact pause and resume, and byte accounting of what is not written yet.
 */
import type { Duplex } from 'node:stream';
import { RemoteObjError } from '../errors';
import type { Link, LinkEvents } from './link';
import { type BatchSealer, DEFAULT_MAX_MESSAGE_BYTES, LineSplitter, LineWriter } from './lines';

/** A net.Socket, or any duplex with the same end/close behaviour. */
export type LinkStream = Duplex & { setNoDelay?(noDelay?: boolean): unknown };

/** How long close() waits at most for a far side that does not read what we wrote. */
const MAX_CLOSE_WAIT_MS = 30_000;

export class StreamLink implements Link {
  readonly address: string;
  readonly inProcess = false;
  readonly #stream: LinkStream;
  readonly #splitter: LineSplitter;
  readonly #writer: LineWriter;
  #events?: LinkEvents;
  /** Sizes of the writes the stream has not finished yet, oldest first (their callbacks come in order). */
  #writes: number[] = [];
  #writesHead = 0;
  #paused = false;
  #closing = false;
  #failure?: Error;
  #closedReported = false;
  /** Whether someone wants `written` events: otherwise writes go without a callback (they cost one each). */
  #tracking = false;
  readonly #binding?: () => string | undefined;

  /**
   * `failure` turns an error of the stream into the typed reason the link closed (link.ts), or
   * undefined for an ordinary hang-up; by default only the library's own errors count (a
   * transport's stream may end itself with one). `binding`: the transport's channel binding
   * (Link.channelBinding), for a stream that has one.
   */
  constructor(
    stream: LinkStream,
    address: string,
    maxLineBytes = DEFAULT_MAX_MESSAGE_BYTES,
    failure: (e: Error) => Error | undefined = ownError,
    binding?: () => string | undefined,
  ) {
    this.#stream = stream;
    if (binding !== undefined) this.#binding = binding;
    this.address = address;
    stream.setNoDelay?.(true);
    // ECONNRESET, EPIPE and friends: the stream is being destroyed and 'close' follows (until
    // start(), nobody else listens). Report the close now: 'close' waits for the event loop's
    // close phase, which a host running a long queue of synchronous requests (in microtasks) does
    // not reach, so it went on building replies for a client that was gone (backpressure-bytes:
    // 2,000 replies of 8 MiB for 33 s after an EPIPE).
    stream.on('error', (e: Error) => {
      this.#failure ??= failure(e);
      if (this.#events) this.#reportClosed();
    });
    this.#splitter = new LineSplitter(
      {
        line: (text, bytes) => this.#events!.line(text, bytes),
        badUtf8: (bytes) => this.#events!.badLine(bytes),
        overflow: (bytes) => this.#events!.overflow(bytes),
      },
      maxLineBytes,
    );
    this.#writer = new LineWriter((data, chars) => {
      if (!this.#tracking) return stream.write(data);
      this.#writes.push(chars);
      return stream.write(data, this.#written);
    });
  }

  channelBinding(): string | undefined {
    return this.#binding?.();
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get maxLineBytes(): number {
    return this.#splitter.maxBytes;
  }

  set maxLineBytes(n: number) {
    this.#splitter.maxBytes = n;
  }

  start(events: LinkEvents): void {
    this.#events = events;
    this.#tracking = events.written !== undefined;
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => this.#splitter.push(chunk));
    stream.on('end', () => events.ended());
    stream.once('close', () => this.#reportClosed());
  }

  /** `closed`, once: at the stream's 'error' or at its 'close', whichever comes first. */
  #reportClosed(): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#events!.closed();
  }

  send(line: string): void {
    this.#writer.send(line);
  }

  flush(): void {
    this.#writer.flush();
  }

  sealWith(sealer: BatchSealer): void {
    this.#writer.sealWith(sealer);
  }

  pause(): void {
    this.#paused = true;
    this.#stream.pause();
    this.#splitter.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#splitter.resume(); // held lines first: a handler may pause again
    if (!this.#paused) this.#stream.resume();
  }

  get holding(): boolean {
    return this.#splitter.holding;
  }

  drainArrived(): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    while (stream.readableLength > 0 && stream.read() !== null) {
      /* read() hands the buffered bytes to the 'data' handler, i.e. to the (paused) splitter */
    }
    this.#splitter.drain();
  }

  end(): void {
    this.#writer.flush();
    if (!this.#stream.writableEnded) this.#stream.end();
  }

  close(lingerMs = 0): void {
    if (this.#closing) return;
    this.#closing = true;
    this.end();
    // The linger starts once our last bytes are with the OS: closing before would discard what is
    // still in this process's buffer (a far side slow to read lost replies; found by the fuzzer).
    const stream = this.#stream;
    const destroy = () => stream.destroy();
    const later = () => (lingerMs > 0 ? setTimeout(destroy, lingerMs).unref() : destroy());
    if (stream.writableFinished) later();
    else {
      stream.once('finish', later);
      setTimeout(destroy, MAX_CLOSE_WAIT_MS).unref();
    }
  }

  destroy(): void {
    this.#stream.destroy();
  }

  readonly #written = (): void => {
    const n = this.#writes[this.#writesHead];
    if (n === undefined) return;
    this.#writes[this.#writesHead++] = 0;
    if (this.#writesHead > 64 && this.#writesHead * 2 > this.#writes.length) {
      this.#writes = this.#writes.slice(this.#writesHead);
      this.#writesHead = 0;
    }
    this.#events?.written?.(n);
  };
}

function ownError(e: Error): Error | undefined {
  return e instanceof RemoteObjError ? e : undefined;
}
