/**
 * src/peer/streams.ts on its own: a producer table and a consumer table joined by a real
 * MessageChannel (messages cross as JSON text, asynchronously, as over a connection). Covers the
 * credit window (the iterator is never pulled past the granted credit), break running the
 * producer's finally, errors, an unsendable item, a hostile credit, and a dropped connection on
 * either side. The same behaviour across processes is in streams-process.test.ts.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ConnectionClosedError, ProtocolError } from '../src/errors';
import { DEFAULT_STREAM_WINDOW, MAX_STREAM_WINDOW, RemoteStream, STREAM_WINDOW_BYTES, StreamConsumers, StreamProducers, type StreamOutput } from '../src/peer/streams';

type Msg = { kind: 'item'; stream: number; value: unknown } | { kind: 'end'; stream: number; error?: string } | { kind: 'credit'; stream: number; n: number } | { kind: 'return'; stream: number };

interface Pair {
  producers: StreamProducers;
  consumers: StreamConsumers;
  /** Every message the consumer side sent, in order. */
  sentByConsumer: Msg[];
  close(): void;
}

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

function pair(window?: number, encodeItem: (v: unknown) => unknown = (v) => v): Pair {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const send = (port: MessagePort, m: Msg) => port.postMessage(JSON.stringify(m));
  const producerOut: StreamOutput = {
    item: (stream, value) => send(port1, { kind: 'item', stream, value: encodeItem(value) }),
    end: (stream, error) => send(port1, error === undefined ? { kind: 'end', stream } : { kind: 'end', stream, error: (error as Error).message }),
    credit: () => {
      throw new Error('the producer side never grants');
    },
    return: () => {
      throw new Error('the producer side never returns');
    },
  };
  const sentByConsumer: Msg[] = [];
  const consumerOut: StreamOutput = {
    item: () => {
      throw new Error('the consumer side never produces');
    },
    end: () => {
      throw new Error('the consumer side never ends');
    },
    credit: (stream, n) => (sentByConsumer.push({ kind: 'credit', stream, n }), send(port2, { kind: 'credit', stream, n })),
    return: (stream) => (sentByConsumer.push({ kind: 'return', stream }), send(port2, { kind: 'return', stream })),
  };
  const producers = new StreamProducers(producerOut);
  const consumers = new StreamConsumers(consumerOut, window);
  port1.on('message', (text: string) => {
    const m = JSON.parse(text) as Msg;
    if (m.kind === 'credit') producers.credit(m.stream, m.n);
    else if (m.kind === 'return') producers.return(m.stream);
  });
  port2.on('message', (text: string) => {
    const m = JSON.parse(text) as Msg;
    if (m.kind === 'item') consumers.item(m.stream, m.value);
    else if (m.kind === 'end') consumers.end(m.stream, m.error === undefined ? undefined : new Error(m.error));
  });
  return {
    producers,
    consumers,
    sentByConsumer,
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

/** Export on one side, import on the other. */
function across<T>(p: Pair, iterable: AsyncIterable<T>): RemoteStream<T> {
  return p.consumers.import(p.producers.export(iterable)) as RemoteStream<T>;
}

const tick = () => new Promise((r) => setImmediate(r));

test('items arrive in order and the iterator is never pulled past the credit the reader granted', async () => {
  const p = pair(8);
  let produced = 0;
  async function* gen() {
    for (let i = 0; i < 5000; i++) {
      produced++;
      yield i;
    }
  }
  const s = across(p, gen());
  let read = 0;
  let worst = 0;
  for await (const x of s) {
    expect(x).toBe(read);
    read++;
    worst = Math.max(worst, produced - read);
    if (read % 97 === 0) for (let i = 0; i < 5; i++) await tick(); // a slow reader now and then
  }
  expect(read).toBe(5000);
  // The reader has taken `read` items; the producer pulled at most the window more.
  expect(worst).toBeLessThanOrEqual(8);
  expect(worst).toBeGreaterThan(0);
  // Credit is granted in batches (half a window), not per item.
  expect(p.sentByConsumer.length).toBeLessThan(5000 / 4 + 2);
  expect(p.producers.size).toBe(0);
  expect(p.consumers.size).toBe(0);
});

test('the default window is documented and bounded', () => {
  expect(DEFAULT_STREAM_WINDOW).toBe(64);
  expect(() => new StreamConsumers({} as StreamOutput, MAX_STREAM_WINDOW + 1)).toThrow(RangeError);
  expect(() => new StreamConsumers({} as StreamOutput, 0)).toThrow(RangeError);
});

test('the adaptive window: 64 before any item, then STREAM_WINDOW_BYTES of items (2 to 4096); larger items shrink it at once, smaller ones grow it gradually', () => {
  const credits: number[] = [];
  const out = { credit: (_id: number, n: number) => void credits.push(n) } as unknown as StreamOutput;
  const adaptive = new StreamConsumers(out).import(1) as RemoteStream<unknown>;
  expect(adaptive.window).toBe(DEFAULT_STREAM_WINDOW);
  adaptive.sized(1000);
  expect(adaptive.window).toBe(Math.floor(STREAM_WINDOW_BYTES / 1000));
  adaptive.sized(100_000); // larger: at once
  expect(adaptive.window).toBe(Math.floor(STREAM_WINDOW_BYTES / 100_000));
  adaptive.sized(10 * 1024 * 1024); // past the byte budget: never below 2 (one read while the next comes)
  expect(adaptive.window).toBe(2);
  adaptive.sized(100); // smaller: an eighth of the way per line, so one small line does not open it wide
  expect(adaptive.window).toBe(2);
  for (let i = 0; i < 200; i++) adaptive.sized(10);
  expect(adaptive.window).toBe(MAX_STREAM_WINDOW);
  adaptive.sized(0); // nothing to go by (an empty size): unchanged
  expect(adaptive.window).toBe(MAX_STREAM_WINDOW);
  // The first read grants the window as it is then.
  void adaptive.next();
  expect(credits).toEqual([MAX_STREAM_WINDOW]);
  // A fixed window (streamWindow) never moves.
  const fixed = new StreamConsumers(out, 8).import(2) as RemoteStream<unknown>;
  fixed.sized(10);
  fixed.sized(10 * 1024 * 1024);
  expect(fixed.window).toBe(8);
});

test('a stream nobody reads never starts its generator', async () => {
  const p = pair();
  let started = false;
  async function* gen() {
    started = true;
    yield 1;
  }
  across(p, gen());
  for (let i = 0; i < 5; i++) await tick();
  expect(started).toBe(false);
  expect(p.sentByConsumer).toEqual([]);
});

test('break runs the producer’s finally before return() resolves, and nothing more is pulled', async () => {
  const p = pair(4);
  const events: string[] = [];
  async function* gen() {
    try {
      for (let i = 0; ; i++) {
        events.push(`yield ${i}`);
        yield i;
      }
    } finally {
      await tick();
      events.push('finally');
    }
  }
  const s = across(p, gen());
  for await (const x of s) {
    if (x === 2) break;
  }
  // for-await awaited return(), which waited for the producer's return() (its finally) to run.
  expect(events.at(-1)).toBe('finally');
  expect(events.filter((e) => e.startsWith('yield')).length).toBeLessThanOrEqual(2 + 4 + 1);
  expect(p.sentByConsumer.at(-1)).toEqual({ kind: 'return', stream: 1 });
  expect(p.producers.size).toBe(0);
  expect(await s.next()).toEqual({ done: true, value: undefined });
});

test('an error thrown mid-stream rejects the reader after the items before it', async () => {
  const p = pair();
  async function* gen() {
    yield 'a';
    yield 'b';
    throw new TypeError('disk on fire');
  }
  const got: unknown[] = [];
  await expect(
    (async () => {
      for await (const x of across(p, gen())) got.push(x);
    })(),
  ).rejects.toThrow('disk on fire');
  expect(got).toEqual(['a', 'b']);
});

test('an item that cannot be sent fails the stream with why, and the iterator is returned', async () => {
  const p = pair(4, (v) => {
    if (typeof v === 'symbol') throw new TypeError('cannot send a symbol');
    return v;
  });
  let finallyRan = false;
  async function* gen() {
    try {
      yield 1;
      yield Symbol('x');
      yield 3;
    } finally {
      finallyRan = true;
    }
  }
  const s = across(p, gen());
  expect(await s.next()).toEqual({ done: false, value: 1 });
  await expect(s.next()).rejects.toThrow('cannot send a symbol');
  expect(finallyRan).toBe(true);
});

test('a credit past the maximum ends the stream with a protocol error instead of buffering', async () => {
  // A hostile consumer grants far more than any window: the producer refuses rather than buffer.
  let ended: unknown = 'not yet';
  let items = 0;
  const producers = new StreamProducers({
    item: () => void items++,
    end: (_id, error) => void (ended = error),
    credit: () => undefined,
    return: () => undefined,
  });
  let pulled = 0;
  let finallyRan = false;
  async function* gen() {
    try {
      for (;;) yield pulled++;
    } finally {
      finallyRan = true;
    }
  }
  const id = producers.export(gen());
  producers.credit(id, MAX_STREAM_WINDOW);
  producers.credit(id, MAX_STREAM_WINDOW);
  while (ended === 'not yet') await tick();
  expect(ended).toBeInstanceOf(ProtocolError);
  expect((ended as Error).message).toMatch(/at most 4096/);
  expect(items).toBeLessThanOrEqual(MAX_STREAM_WINDOW);
  // It was refused while a next() ran: the generator's return() takes effect at its next yield.
  while (!finallyRan) await tick();
  expect(producers.size).toBe(0);
});

test('items past the credit the reader granted fail the stream (a producer that breaks the protocol)', async () => {
  const returned: number[] = [];
  const consumers = new StreamConsumers({ item: () => undefined, end: () => undefined, credit: () => undefined, return: (id) => void returned.push(id) }, 4);
  const s = consumers.import(7);
  const first = s.next(); // grants 4: 'a' goes to this reader, three more may wait
  for (const x of ['a', 'b', 'c', 'd']) expect(consumers.item(7, x)).toBe(true);
  expect(consumers.item(7, 'e')).toBe(false);
  expect(await first).toEqual({ done: false, value: 'a' });
  // What arrived within the credit is still read, then the failure.
  for (const x of ['b', 'c', 'd']) expect(await s.next()).toEqual({ done: false, value: x });
  await expect(s.next()).rejects.toThrow(/more items than it was granted/);
  expect(returned).toEqual([7]);
});

test('a dropped connection returns every open iterator on the producer side and fails readers with ConnectionClosedError', async () => {
  const p = pair(4);
  let finallyRan = 0;
  async function* gen() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      finallyRan++;
    }
  }
  const a = across(p, gen());
  const b = across(p, gen());
  expect((await a.next()).value).toBe(0);
  expect((await b.next()).value).toBe(0);
  p.close();
  await p.producers.closeAll();
  expect(finallyRan).toBe(2);
  p.consumers.closeAll(new ConnectionClosedError('gone'));
  // Items already arrived are still read, then the reader learns the connection is gone.
  const rest: unknown[] = [];
  await expect(
    (async () => {
      for await (const x of a) rest.push(x);
    })(),
  ).rejects.toBeInstanceOf(ConnectionClosedError);
  expect(rest.length).toBeLessThanOrEqual(4);
  // return() after the drop resolves: there is nothing left to stop.
  await expect(b.return()).resolves.toEqual({ done: true, value: undefined });
});

test('an async iterable that is not a generator (an object-mode Readable) streams too, and return() destroys it', async () => {
  const { Readable } = await import('node:stream');
  const p = pair(4);
  let destroyed = false;
  const r = new Readable({
    objectMode: true,
    read() {
      this.push({ at: Date.now() });
    },
    destroy(err, cb) {
      destroyed = true;
      cb(err);
    },
  });
  const s = across(p, r);
  let n = 0;
  for await (const x of s) {
    expect(typeof (x as { at: number }).at).toBe('number');
    if (++n === 10) break;
  }
  expect(destroyed).toBe(true);
});
