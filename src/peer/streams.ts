/**
 * Streams of protocol v2 (docs/protocol.md "Streams", docs/api.md "Streams"): an async iterable
 * that crosses a connection as `{"$stream": N}` and is pulled item by item under a credit window.
 *
 *  - The PRODUCER side (StreamProducers: the streams this peer exported) pulls from the local
 *    async iterator only while it holds credit: it never calls next() more times than the
 *    consumer granted, so at most `window` items are ever in flight or buffered, whatever the
 *    iterable is (an async generator, an object-mode Readable, anything with
 *    Symbol.asyncIterator). It runs beside the host's lock: between two items, every other
 *    request (of this client and others) is served. `return` from the consumer, the connection
 *    closing, or an item that cannot be encoded run the iterator's return(), so its `finally`
 *    blocks run; an error thrown by the iterator ends the stream with that error.
 *  - The CONSUMER side (StreamConsumers: stand-ins for the far side's streams) is a
 *    RemoteStream: an AsyncIterableIterator that grants credit as it is read (the first grant at
 *    the first next(), so a stream never iterated never starts the producer), buffers at most
 *    the window, and whose return() (a `break` out of `for await`) asks the producer to stop and
 *    resolves once the producer has: after the iterator's return() has run when the iterator was
 *    waiting at a yield (the usual case: its window full), or at once when it was busy producing
 *    its next item (an async generator inside an await cannot be interrupted; its return() takes
 *    effect at its next yield), so a `break` never waits for the host's next event.
 *
 * Nothing here builds a line: the peer gives both sides a StreamOutput that writes the messages
 * with protocol/wire.ts (`credit`, `item`, `items`, `end`, `return`), and feeds them the messages
 * it reads. When the far side reads `items` (a feature named in the handshake), a producer sends
 * its items several to a line: it encodes each as it takes it, and sends the batch once 16 wait,
 * when its credit is spent, or at the end of the tick; a consumer writes each credit at once.
 * Both keep the two processes working at the same time under a small window (case (f) of
 * docs/performance.md: they took turns before, each idle ~70 %).
 * Why credit and not the transport's back-pressure: a stream shares its connection with requests
 * and other streams, so pausing the socket for a slow reader of one stream would stall them all
 * (Cap'n Web multiplexes streams per id the same way; fork() uses the same window for yields).
 */
import { ConnectionClosedError, ProtocolError } from '../errors';
import type { CodecContext } from '../protocol/codec';
import { errorFromWire, errorToWire, type WireError } from '../protocol/error-wire';
import { type ControlMessage, MAX_ITEMS_PER_LINE } from '../protocol/wire-types';
import { creditLine, endLine, ItemBatch, itemLine, returnLine } from '../protocol/wire';
import type { StreamHooks } from './peer';

/**
 * Items a consumer lets a producer send ahead of what it has read at first, unless told otherwise
 * (`streamWindow`): before any item has arrived, their size is unknown. A refill is sent each
 * time half the window has been read.
 */
export const DEFAULT_STREAM_WINDOW = 64;

/**
 * Unless `streamWindow` fixes it, the window then adapts to the items' size: as many items as
 * make about this many bytes on the wire (from 2 to MAX_STREAM_WINDOW items). Small items get a
 * large window: under a fixed 64, every 32 items of a fast reader waited for a credit round trip
 * (two wake-ups across CPUs), and case (f) (1,000,000 items `{n}`, ~15 bytes each in an `items`
 * line) ran at 0.25x a raw NDJSON socket's rate; with 4096 at 0.65-0.92x in the same harness
 * (docs/performance.md, "(f) Streams"). Large items get a small one, so what a reader holds
 * unread stays near this size rather than at 64 items of any size.
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

/** The smallest adaptive window: one item read while the next is on its way. */
const MIN_ADAPTIVE_WINDOW = 2;

/**
 * The most credit a producer accepts to hold at once. A credit past it ends the stream with a
 * protocol error: the producer would otherwise buffer whatever a hostile consumer asks for
 * (items it sends wait in memory until the far side reads them).
 */
export const MAX_STREAM_WINDOW = MAX_ITEMS_PER_LINE;

/**
 * A producer sends what it has batched once this many items wait (or half its last grant, when
 * that is more), and writes at once, rather than at the end of the tick when its credit is spent:
 * the consumer parses them while the producer makes the next ones. Case (f) (1,000,000 items `{n}`,
 * default window 64, grants of 32; five alternating runs, medians): batches of 16 gave 354k
 * items/s and 1.31 / 1.39 µs of CPU per item (client / host), 32 gave 235k and 1.66 / 1.74,
 * 64 262k; 8 and 12 were slower too (250k, 279k) with more CPU (more writes).
 */
const BATCH_ITEMS = 16;
/** A batch is sent once its text may pass this (ItemBuffer.chars, an upper bound; a line stays far below any maxMessageBytes: at most this plus one item). */
const BATCH_CHARS = 16 * 1024;

/** Throws a RangeError unless `window` is a valid streamWindow (checked by connect() and serve(), before anything opens). */
export function checkStreamWindow(window: number | undefined): void {
  if (window === undefined) return;
  if (!Number.isSafeInteger(window) || window < 1 || window > MAX_STREAM_WINDOW) {
    throw new RangeError(`streamWindow must be an integer from 1 to ${MAX_STREAM_WINDOW}, not ${window}`);
  }
}

/** How a peer writes stream messages (each one line of protocol/wire.ts). */
export interface StreamOutput {
  /** An item of stream `id` this side produces. Throws (an EncodeError...) when the value cannot be sent. */
  item(id: number, value: unknown): void;
  /**
   * Several items in one message, when the far side reads them (feature `items`): `open` gives an
   * empty buffer a producer fills, and `items` sends what a buffer holds as stream `id`'s next
   * items, in order, and empties it. Without them a producer sends each item with item().
   */
  batch?: { open(): ItemBuffer; items(id: number, buffer: ItemBuffer): void };
  /** Write what was sent now rather than at the end of the tick (a credit; a batch while more items are made). */
  flush?(): void;
  /** Stream `id` this side produces is over: done, or failed with `error`. */
  end(id: number, error?: unknown): void;
  /** This side (the consumer) lets the producer of `id` send `n` more items. */
  credit(id: number, n: number): void;
  /** This side (the consumer) wants no more of `id`: the producer runs its iterator's return(). */
  return(id: number): void;
}

/** Items a producer has taken and not yet sent, for one message (wire.ts ItemBatch). */
export interface ItemBuffer {
  /** Take one more item, encoded now. Throws as StreamOutput.item() does; nothing is kept then. */
  add(value: unknown): void;
  /** Items held. */
  readonly count: number;
  /** An upper bound of the characters they take in the message. */
  readonly chars: number;
}

// ---------------------------------------------------------------------------------------------
// Producer side.

/** Whether `v` can be exported as a stream: it has Symbol.asyncIterator. */
export function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

type ProducerState = 'open' | 'returning' | 'done';

/** One exported stream: pulls from its iterator while it holds credit. */
class Producer {
  readonly id: number;
  readonly #iterable: AsyncIterable<unknown>;
  readonly #table: StreamProducers;
  #iterator: AsyncIterator<unknown> | undefined;
  #credit = 0;
  /** Items batched before they are sent: BATCH_ITEMS, or half the last grant when the consumer grants more at a time. */
  #batchItems = BATCH_ITEMS;
  /** A next() of the iterator is running: no other next() may start meanwhile. */
  #busy = false;
  #state: ProducerState = 'open';
  /** The connection is gone: nothing more is sent. */
  #silent = false;
  /** The iterator's return(), once called (it is called at most once). */
  #returning: Promise<unknown> | undefined;
  /** Items taken and encoded, not yet sent (feature `items`); made at the first. */
  #batch: ItemBuffer | undefined;
  /** Settles when the stream is over for this side (its end sent, or its connection gone). */
  readonly finished: Promise<void>;
  #finish!: () => void;

  constructor(id: number, iterable: AsyncIterable<unknown>, table: StreamProducers) {
    this.id = id;
    this.#iterable = iterable;
    this.#table = table;
    this.finished = new Promise((resolve) => (this.#finish = resolve));
  }

  get iterable(): AsyncIterable<unknown> {
    return this.#iterable;
  }

  credit(n: number): void {
    if (this.#state !== 'open') return; // a grant that crossed our end: nothing to do
    if (this.#credit + n > MAX_STREAM_WINDOW) {
      this.#stop(new ProtocolError('BAD_MESSAGE', `stream ${this.id}: the consumer granted ${this.#credit + n} items of credit at once; at most ${MAX_STREAM_WINDOW} are accepted`));
      return;
    }
    this.#credit += n;
    this.#batchItems = Math.max(BATCH_ITEMS, n >> 1);
    if (!this.#busy) void this.#pump();
  }

  /** The consumer wants no more: run the iterator's return(), then end. */
  return(): void {
    this.#stop(undefined);
  }

  /** The connection is gone: run the iterator's return(); nothing more is sent. */
  abandon(): void {
    this.#silent = true;
    this.#stop(undefined);
  }

  #iter(): AsyncIterator<unknown> {
    // Taken at the first pull, not at export: a stream nobody reads never starts.
    this.#iterator ??= this.#iterable[Symbol.asyncIterator]();
    return this.#iterator;
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    const out = this.#table.out;
    const batch = out.batch;
    while (this.#credit > 0 && this.#state === 'open') {
      this.#credit--;
      let r: IteratorResult<unknown>;
      try {
        r = await this.#iter().next();
      } catch (e) {
        // The iterator threw: it is finished by its own doing (no return() to run).
        this.#busy = false;
        this.#end(e);
        return;
      }
      if (this.#state !== 'open') break; // stopped while next() ran (#stop has dealt with it): the item is not wanted
      if (r.done) {
        this.#busy = false;
        this.#end(undefined);
        return;
      }
      try {
        if (batch === undefined) out.item(this.id, r.value);
        else this.#add((this.#batch ??= batch.open()), r.value);
      } catch (e) {
        // The item cannot be sent (a symbol in it, say): the stream fails with why (after the items
        // before it), and the iterator is closed.
        this.#busy = false;
        this.#state = 'returning';
        await this.#callReturn();
        this.#end(e);
        return;
      }
    }
    this.#busy = false;
    // The credit is spent (or the stream stopped): what is batched goes now.
    this.#send(false);
  }

  /** One more item for the batch (throws, keeping nothing, if it cannot be sent); sent once the batch is big enough, else at the end of the tick at the latest. */
  #add(buffer: ItemBuffer, value: unknown): void {
    buffer.add(value);
    if (buffer.count === 1) process.nextTick(this.#sendAtTickEnd);
    if (buffer.count >= this.#batchItems || buffer.chars >= BATCH_CHARS) this.#send(true);
  }

  /** An iterator that makes its items with real waits in between: each goes out at the end of its tick. */
  readonly #sendAtTickEnd = (): void => this.#send(false);

  /** Send the batched items, if any (`now`: written at once, while the pump goes on). */
  #send(now: boolean): void {
    const buffer = this.#batch;
    if (buffer === undefined || buffer.count === 0 || this.#silent) return;
    const out = this.#table.out;
    out.batch!.items(this.id, buffer);
    if (now) out.flush?.();
  }

  /**
   * Stop: the iterator's return() runs (its finally blocks), then the end goes out (with `error`,
   * else with return()'s own failure). When a next() is running, the iterator is between two items
   * (an async generator waiting inside an await, which nothing can interrupt): its return() is
   * called now and takes effect where it can (at the generator's next yield; at once for a
   * Readable, which it destroys), and the end goes out at once, so the consumer never waits on the
   * producer's next item.
   */
  #stop(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'returning';
    if (this.#busy) {
      void this.#callReturn();
      // A Node stream waiting for data: its iterator (an async generator too) would only destroy
      // it once the read it waits for ends; destroying it now is what that return() does, at once.
      const destroy = (this.#iterable as { destroy?: unknown }).destroy;
      if (typeof destroy === 'function') {
        try {
          destroy.call(this.#iterable);
        } catch {
          // it was not a stream after all, or already gone: its return() still runs
        }
      }
      this.#end(error);
      return;
    }
    void this.#callReturn().then((failure) => this.#end(error ?? failure));
  }

  /** Call the iterator's return() once; resolves with its failure (undefined when it returned). */
  #callReturn(): Promise<unknown> {
    if (this.#returning) return this.#returning;
    const it = this.#iterator;
    if (it === undefined || typeof it.return !== 'function') return (this.#returning = Promise.resolve(undefined));
    this.#returning = (async () => {
      try {
        await it.return!();
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    return this.#returning;
  }

  #end(error: unknown): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#table.forget(this);
    if (!this.#silent) {
      try {
        this.#send(false); // the items taken before the end go before it
        this.#table.out.end(this.id, error);
      } catch {
        // The connection is gone meanwhile: nobody is left to tell.
      }
    }
    this.#finish();
  }
}

/** The streams one peer exported on one connection, by id. */
export class StreamProducers {
  readonly out: StreamOutput;
  readonly #byId = new Map<number, Producer>();
  readonly #byIterable = new Map<object, Producer>();
  #nextId = 1;
  #closed = false;

  constructor(out: StreamOutput) {
    this.out = out;
  }

  /** Streams exported and not yet over. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Export an async iterable: its id for `{"$stream": N}`. The same iterable exported again
   * while its stream is open gets the same id (one iterator, one consumer stand-in).
   */
  export(iterable: AsyncIterable<unknown>): number {
    if (this.#closed) throw new ConnectionClosedError('the connection is closed: a stream cannot be sent on it');
    const known = this.#byIterable.get(iterable);
    if (known) return known.id;
    const p = new Producer(this.#nextId++, iterable, this);
    this.#byId.set(p.id, p);
    this.#byIterable.set(iterable, p);
    return p.id;
  }

  /** The consumer's `credit` message. Unknown ids (a stream already over) are ignored: the grant crossed its end. */
  credit(id: number, n: number): void {
    this.#byId.get(id)?.credit(n);
  }

  /** The consumer's `return` message. */
  return(id: number): void {
    this.#byId.get(id)?.return();
  }

  /**
   * The connection is gone: every open stream's iterator is returned (its finally runs), nothing
   * more is sent. Resolves once all of them are over.
   */
  closeAll(): Promise<void> {
    this.#closed = true;
    const all = [...this.#byId.values()];
    for (const p of all) p.abandon();
    return Promise.all(all.map((p) => p.finished)).then(() => undefined);
  }

  /** A producer is over. */
  forget(p: Producer): void {
    this.#byId.delete(p.id);
    if (this.#byIterable.get(p.iterable) === p) this.#byIterable.delete(p.iterable);
  }
}

// ---------------------------------------------------------------------------------------------
// Consumer side.

interface Waiter<T> {
  resolve(r: IteratorResult<T, undefined>): void;
  reject(e: unknown): void;
}

type ConsumerState = 'open' | 'returning' | 'ended';

/**
 * The far side's stream, read here: `for await (const x of stream)`. One reader: items are taken
 * in order by whoever calls next(). Credit is granted as items are read (never more than
 * `window` ahead of them). `break`, `return()` or `await using` end it early: the producer's
 * iterator is returned, and return() resolves once the producer has answered (see the top of this
 * file; it rejects if the iterator's return() threw).
 */
export class RemoteStream<T = unknown> implements AsyncIterator<T, undefined, undefined>, AsyncIterable<T>, AsyncDisposable {
  readonly #id: number;
  readonly #table: StreamConsumers;
  /** Items the producer may be ahead of the reader: fixed (`streamWindow`), or adapted to the items' size. */
  #window: number;
  readonly #adaptive: boolean;
  /** Adaptive: bytes per item on the wire lately (0 before the first item). */
  #itemBytes = 0;
  /** Items arrived and not yet read (a queue: `#head` is the next one). */
  #items: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  /** Credit granted in all. */
  #granted = 0;
  /** Items handed to the reader. */
  #read = 0;
  #state: ConsumerState = 'open';
  /** How the stream ended: an error to reject with after the buffered items, or undefined when done. */
  #error: unknown;
  #ended = false;
  #returned: Promise<IteratorResult<T, undefined>> | undefined;
  #onEnd: (() => void) | undefined;

  /** `window`: a fixed window (`streamWindow`); undefined: DEFAULT_STREAM_WINDOW at first, then adapted to the items' size. */
  constructor(id: number, table: StreamConsumers, window: number | undefined) {
    this.#id = id;
    this.#table = table;
    this.#adaptive = window === undefined;
    this.#window = window ?? DEFAULT_STREAM_WINDOW;
  }

  /** The window now: how many items the producer may be ahead of the reader. */
  get window(): number {
    return this.#window;
  }

  /**
   * Items of `bytes` each on the wire arrived (an `items` line: its bytes over its items). An
   * adaptive window follows them: at once when items grow (the estimate takes the larger size),
   * gradually when they shrink (an eighth of the way per line), so one small line among large
   * ones does not open the window wide.
   */
  sized(bytes: number): void {
    if (!this.#adaptive || !(bytes > 0)) return;
    const was = this.#itemBytes;
    this.#itemBytes = was === 0 || bytes >= was ? bytes : was + (bytes - was) / 8;
    this.#window = Math.max(MIN_ADAPTIVE_WINDOW, Math.min(MAX_STREAM_WINDOW, Math.floor(STREAM_WINDOW_BYTES / this.#itemBytes)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#items.length) {
      const value = this.#take();
      this.#refill();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended || this.#state !== 'open') return this.#finalResult();
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#refill();
    });
  }

  /** Stop reading: the producer's iterator is returned (its finally blocks run); resolves once it has been. */
  return(): Promise<IteratorResult<T, undefined>> {
    if (this.#returned) return this.#returned;
    const done: IteratorResult<T, undefined> = { done: true, value: undefined };
    this.#items = [];
    this.#head = 0;
    if (this.#ended) {
      this.#state = 'ended';
      this.#flushWaiters();
      this.#returned = Promise.resolve(done);
      return this.#returned;
    }
    this.#state = 'returning';
    this.#flushWaiters();
    this.#returned = new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      this.#onEnd = () => (this.#error === undefined || this.#error instanceof ConnectionClosedError ? resolve(done) : reject(this.#error));
    });
    this.#table.out.return(this.#id);
    return this.#returned;
  }

  /** As a generator's throw(): stop reading (as return()), then reject with `e`. */
  async throw(e?: unknown): Promise<IteratorResult<T, undefined>> {
    await this.return();
    throw e;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.return().then(() => undefined);
  }

  get [Symbol.toStringTag](): string {
    return 'RemoteStream';
  }

  /** An item arrived (already decoded). */
  item(value: T): boolean {
    if (this.#state !== 'open' || this.#ended) return true; // after our return(): not wanted, dropped
    if (this.#granted - this.#read - (this.#items.length - this.#head) <= 0) return false; // past its credit: the producer broke the protocol
    const w = this.#waiters.shift();
    if (w) {
      this.#read++;
      w.resolve({ done: false, value });
      this.#refill();
    } else {
      this.#items.push(value);
    }
    return true;
  }

  /** The producer ended the stream (error: how it failed). */
  end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (this.#state === 'returning') this.#state = 'ended';
    this.#flushWaiters();
    this.#onEnd?.();
  }

  #take(): T {
    const value = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T; // let it go
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#read++;
    return value;
  }

  /**
   * Keep the producer's credit at most `window` items ahead of what was read: once half of it
   * has been used up, grant the rest in one message. Nothing is granted before the first next().
   */
  #refill(): void {
    if (this.#ended || this.#state !== 'open') return;
    const ahead = this.#granted - this.#read;
    if (ahead > this.#window / 2 && ahead >= this.#waiters.length) return;
    const n = this.#window - ahead;
    if (n <= 0) return;
    this.#granted += n;
    this.#table.out.credit(this.#id, n);
  }

  #finalResult(): Promise<IteratorResult<T, undefined>> {
    if (this.#state === 'open' && this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined; // reject once, then done (as a generator that threw)
      this.#state = 'ended';
      return Promise.reject(e);
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Settle waiting next() calls: with the error once the buffer is empty, else done. */
  #flushWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      this.#finalResult().then(w.resolve, w.reject);
    }
  }
}

/** The far side's streams this peer holds stand-ins for, by id. */
export class StreamConsumers {
  readonly out: StreamOutput;
  /** A fixed window for every stream (`streamWindow`), or undefined: each adapts to its items' size. */
  readonly #window: number | undefined;
  readonly #byId = new Map<number, RemoteStream<unknown>>();
  #closed: Error | undefined;

  constructor(out: StreamOutput, window?: number) {
    checkStreamWindow(window);
    this.out = out;
    this.#window = window;
  }

  /** Streams being read (not yet ended). */
  get size(): number {
    return this.#byId.size;
  }

  /** `{"$stream": N}` from the far side: its stand-in (the same one while the stream is open). */
  import(id: number): RemoteStream<unknown> {
    let s = this.#byId.get(id);
    if (s) return s;
    s = new RemoteStream(id, this, this.#window);
    if (this.#closed) s.end(this.#closed);
    else this.#byId.set(id, s);
    return s;
  }

  /**
   * An `item` message. Returns false when the producer broke the protocol (an unknown stream or
   * an item past its credit); the stream then fails with a ProtocolError and is returned.
   */
  item(id: number, value: unknown, bytes?: number): boolean {
    const s = this.#byId.get(id);
    if (!s) return true; // an item that crossed our return(): dropped
    if (s.item(value)) {
      // Sized after the credit check: a window that grows takes effect from the next grant on.
      if (bytes !== undefined) s.sized(bytes);
      return true;
    }
    this.fail(id, new ProtocolError('BAD_MESSAGE', `stream ${id}: the producer sent more items than it was granted`));
    return false;
  }

  /**
   * The items of an `items` message, in order (decoded): as many item messages. The items within
   * the credit are kept (read before the failure) when the producer sent more than it was granted.
   */
  items(id: number, values: readonly unknown[], bytes?: number): boolean {
    const s = this.#byId.get(id);
    if (!s) return true; // items that crossed our return(): dropped
    for (let i = 0; i < values.length; i++) {
      if (s.item(values[i])) continue;
      this.fail(id, new ProtocolError('BAD_MESSAGE', `stream ${id}: the producer sent more items than it was granted (an items message of ${values.length})`));
      return false;
    }
    // Sized after the credit checks: a window that grows takes effect from the next grant on.
    if (bytes !== undefined && values.length > 0) s.sized(bytes / values.length);
    return true;
  }

  /** An `end` message: `error` decoded, undefined when the stream is done. */
  end(id: number, error?: unknown): void {
    const s = this.#byId.get(id);
    if (!s) return;
    this.#byId.delete(id);
    s.end(error);
  }

  /** This side cannot take stream `id` any more (an item it could not decode): it fails with `error`, and the producer is told to stop. */
  fail(id: number, error: Error): void {
    const s = this.#byId.get(id);
    if (!s) return;
    this.#byId.delete(id);
    s.end(error);
    try {
      this.out.return(id);
    } catch {
      // connection gone
    }
  }

  /** The connection is gone: each stream still open ends with `error` (a ConnectionClosedError) once its items are read. */
  closeAll(error: Error): void {
    this.#closed = error;
    const all = [...this.#byId.values()];
    this.#byId.clear();
    for (const s of all) s.end(error);
  }
}

// ---------------------------------------------------------------------------------------------
// The peer's side: both tables of one connection, speaking wire.ts lines (peer.ts StreamHooks).

/** What PeerStreams needs of its peer. */
export interface StreamPeer {
  /** Send a line as it is. */
  send(line: string): void;
  /** Write what was sent now, not at the end of the tick. */
  flush?(): void;
  /** The codec context for values this side sends (items may hold references too). */
  readonly codec: CodecContext | undefined;
  /** Decode a value of the far side's (the connection's context, a host's refusal of `$regexp`). Throws ProtocolError. */
  decodeValue(json: unknown): unknown;
  /** This side's origin, for the errors it sends. */
  readonly origin: WireError['origin'];
}

type StreamMessage = Extract<ControlMessage, { kind: 'credit' | 'item' | 'items' | 'end' | 'return' }>;

/**
 * The streams of one v2 connection, both ways: what this side exported (StreamProducers) and
 * what it reads of the far side's (StreamConsumers). `window`: the credit this side grants
 * (streamWindow of connect() or serve()). `batch`: the far side reads `items` lines (it named the
 * feature in the handshake), so this side's streams send their items several to a line.
 */
export class PeerStreams implements StreamHooks {
  readonly producers: StreamProducers;
  readonly consumers: StreamConsumers;
  readonly #peer: StreamPeer;

  constructor(peer: StreamPeer, window?: number, batch = false) {
    this.#peer = peer;
    const out: StreamOutput = {
      item: (id, value) => peer.send(itemLine(id, value, peer.codec)),
      batch: batch ? { open: () => new ItemBatch(peer.codec), items: (id, buffer) => peer.send((buffer as ItemBatch).line(id)) } : undefined,
      end: (id, error) => peer.send(endLine(id, error === undefined ? undefined : errorToWire(error, peer.origin))),
      // A credit is written at once: a reader looping over buffered items keeps this side in
      // microtasks until its buffer is empty, and a credit written at the end of the tick reached
      // the producer only then, both halves of the window in one line (case (f)).
      credit: (id, n) => {
        peer.send(creditLine(id, n));
        peer.flush?.();
      },
      return: (id) => peer.send(returnLine(id)),
      flush: () => peer.flush?.(),
    };
    this.producers = new StreamProducers(out);
    this.consumers = new StreamConsumers(out, window);
  }

  export(iterable: object, _path: string): number {
    return this.producers.export(iterable as AsyncIterable<unknown>);
  }

  import(id: number): unknown {
    return this.consumers.import(id);
  }

  /** `bytes`: the line's size on the wire (an adaptive window follows the items' size). */
  message(m: StreamMessage, bytes?: number): void {
    switch (m.kind) {
      case 'credit':
        return this.producers.credit(m.stream, m.n);
      case 'return':
        return this.producers.return(m.stream);
      case 'item': {
        let value: unknown;
        try {
          value = this.#peer.decodeValue(m.value);
        } catch (e) {
          // An item this side cannot decode fails its stream (and stops the producer), not the connection.
          return this.consumers.fail(m.stream, e as Error);
        }
        this.consumers.item(m.stream, value, bytes);
        return;
      }
      case 'items': {
        const values = m.values; // zod's copy: decoded in place
        let i = 0;
        try {
          for (; i < values.length; i++) values[i] = this.#peer.decodeValue(values[i]);
        } catch (e) {
          // As with item lines: the items before the one that cannot be decoded are read, then
          // the stream fails (and its producer is told to stop), not the connection.
          if (i > 0 && !this.consumers.items(m.stream, values.slice(0, i))) return;
          return this.consumers.fail(m.stream, e as Error);
        }
        this.consumers.items(m.stream, values, bytes);
        return;
      }
      case 'end':
        return this.consumers.end(m.stream, m.error === undefined ? undefined : errorFromWire(m.error));
    }
  }

  closed(reason: Error): void {
    void this.producers.closeAll();
    this.consumers.closeAll(reason instanceof ConnectionClosedError ? reason : new ConnectionClosedError(reason.message, { cause: reason }));
  }
}
