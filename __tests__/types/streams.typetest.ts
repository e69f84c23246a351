/**
 * Remote<T> and streams (issue 13 item 3): checked by `tsc --noEmit`, never run.
 *
 *  - a method returning an async iterable (an async generator, an object-mode Readable, anything
 *    with Symbol.asyncIterator) gives Promise<RemoteIterable<X>>: an AsyncIterable of its items'
 *    data, with return() and Symbol.asyncDispose;
 *  - an async iterable may be passed as an argument (it reaches the host as one);
 *  - I/O handles that happen to be async iterable (sockets, file streams) stay NotSendable.
 * __tests__/streams-process.test.ts checks the run time side.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { NotSendable, Remote, RemoteData, RemoteIterable } from 'remoteobj';
import { assert, type Equal, expectType } from './expect';

class Event {
  constructor(
    public seq: number,
    public at: Date,
  ) {}
  label(): string {
    return `#${this.seq}`;
  }
}

interface Watcher {
  watch(path: string): AsyncGenerator<Event>;
  ticks(): AsyncIterable<number>;
  lines(): Readable;
  later(): Promise<AsyncIterable<string>>;
  feed: AsyncIterable<{ n: bigint }>;
  sum(values: AsyncIterable<number>): Promise<number>;
  socket(): Socket;
}

declare const remote: Remote<Watcher>;

export async function resultsAreStreams(): Promise<void> {
  const events = await remote.watch('/tmp');
  expectType<RemoteIterable<RemoteData<Event>>>()(events);
  // It is an AsyncIterable of the items' data: Promise<AsyncIterable<X>> as the issue asks.
  const asIterable: AsyncIterable<RemoteData<Event>> = events;
  void asIterable;
  for await (const ev of events) {
    expectType<number>()(ev.seq);
    expectType<Date>()(ev.at);
    // @ts-expect-error items are data: methods stay on the host
    void ev.label();
    break;
  }
  expectType<Promise<IteratorResult<RemoteData<Event>, undefined>>>()(events.return());
  await using disposable = await remote.ticks();
  expectType<RemoteIterable<number>>()(disposable);
  // A method whose promise resolves to an async iterable, and a property holding one.
  expectType<RemoteIterable<string>>()(await remote.later());
  expectType<RemoteIterable<{ n: bigint }>>()(await remote.feed);
  // An object-mode Readable yields `any`.
  expectType<RemoteIterable<any>>()(await remote.lines());
  assert<Equal<Awaited<ReturnType<Remote<Watcher>['ticks']>>, RemoteIterable<number>>>();
}

export async function iterablesAreArguments(): Promise<void> {
  async function* numbers() {
    yield 1;
    yield 2;
  }
  expectType<number>()(await remote.sum(numbers()));
  // A stream received from the host can be passed back in.
  expectType<number>()(await remote.sum(await remote.ticks()));
  // @ts-expect-error an async iterable of the wrong items does not fit
  void remote.sum((async function* () { yield 'x'; })());
}

export async function ioHandlesAreNotStreams(): Promise<void> {
  expectType<NotSendable<'a live resource (an EventEmitter: a socket, a stream, a server...) cannot be sent'>>()(await remote.socket());
}
