/**
 * Streams across real processes (issue 13 item 3): a host in a child process
 * (fixtures/stream-host.ts) whose methods return async generators and an object-mode Readable,
 * read by this process (and by a second child that is killed mid-stream). Checks: items in order;
 * the credit window (the host's generator never ran more than the window ahead of what was read,
 * measured by the host's own count); a consumer break runs the host's finally; an error mid-stream
 * arrives with its class name, code, own props and cause; a killed client ends the host's iterator
 * (its finally runs); requests of this and other clients are answered while a stream is open;
 * an async iterable passed as an argument reaches the host as one; and 1,000,000 items to a slow
 * reader keep the host's memory flat.
 */
import { connect, DEFAULT_STREAM_WINDOW, MAX_STREAM_WINDOW, type Remote, STREAM_WINDOW_BYTES } from 'remoteobj';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

interface Feed {
  produced: number;
  finallyRan: number;
  pid: number;
  ping(): string;
  count(n: number): AsyncGenerator<{ i: number }>;
  sized(n: number, bytes: number): AsyncGenerator<{ i: number; pad: string }>;
  forever(ms?: number): AsyncGenerator<number>;
  idle(): AsyncGenerator<never>;
  failing(): AsyncGenerator<number>;
  readable(n: number): import('node:stream').Readable;
  quietReadable(): import('node:stream').Readable;
  destroyed: number;
  sum(values: AsyncIterable<number>): Promise<number>;
  takeFirst(values: AsyncIterable<number>, n: number): Promise<number[]>;
  heap(): number;
}

let sock: string;
const remotes: Remote<Feed>[] = [];

async function open(): Promise<Remote<Feed>> {
  const r = await connect<Feed>(sock, { localBypass: false });
  remotes.push(r);
  return r;
}

beforeAll(async () => {
  sock = tmpSock('streams');
  const host = spawnTs('__tests__/fixtures/stream-host.ts', [sock]);
  await until(() => host.output().includes('ready'), { timeout: 20000 });
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.$close();
});

afterAll(async () => {
  await killChildren();
});

test('items arrive in order, and a method returning an async generator gives an async iterable', async () => {
  const remote = await open();
  const stream = await remote.count(1000);
  expect(typeof stream[Symbol.asyncIterator]).toBe('function');
  let expected = 0;
  for await (const item of stream) expect(item).toEqual({ i: expected++ });
  expect(expected).toBe(1000);
});

test('an object-mode Readable streams too', async () => {
  const remote = await open();
  const lines: unknown[] = [];
  for await (const x of await remote.readable(5)) lines.push(x);
  expect(lines).toEqual([0, 1, 2, 3, 4].map((line) => ({ line })));
});

test('a consumer break runs the host iterator’s finally before the loop ends', async () => {
  const remote = await open();
  const before = await remote.finallyRan;
  for await (const n of await remote.forever()) {
    if (n === 10) break;
  }
  // return() resolved once the host's return() had run: no polling needed.
  expect(await remote.finallyRan).toBe(before + 1);
});

test('an error mid-stream rejects with its class name, message, code, own props and cause', async () => {
  const remote = await open();
  const got: number[] = [];
  let caught: (Error & { code?: string; at?: number }) | undefined;
  try {
    for await (const n of await remote.failing()) got.push(n);
  } catch (e) {
    caught = e as Error & { code?: string; at?: number };
  }
  expect(got).toEqual([1, 2]);
  expect(caught).toBeInstanceOf(Error);
  expect(caught!.name).toBe('FeedError');
  expect(caught!.message).toBe('the feed broke');
  expect(caught!.code).toBe('E_FEED');
  expect(caught!.at).toBe(2);
  expect((caught!.cause as Error).name).toBe('RangeError');
  expect((caught!.cause as Error).message).toBe('disk full');
  expect(caught!.stack).toContain('failing');
});

test('while a stream is open and idle, this client’s and other clients’ requests are answered, and break does not wait for the next item', async () => {
  const remote = await open();
  const other = await open();
  // A generator waiting inside an await for its next item, outside the lock.
  const idle = await remote.idle();
  const waiting = idle.next();
  expect(await remote.ping()).toBe('pong');
  expect(await other.ping()).toBe('pong');
  // Leaving resolves at once: the host's generator cannot be interrupted inside its await (its
  // return() takes effect at its next yield), and nobody waits for that.
  await idle.return();
  await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  // An idle Readable is destroyed at once by its iterator's return().
  const before = await other.destroyed;
  const quiet = await remote.quietReadable();
  const pending = quiet.next();
  expect(await other.ping()).toBe('pong');
  await quiet.return();
  await expect(pending).resolves.toEqual({ done: true, value: undefined });
  await until(async () => (await other.destroyed) === before + 1);
});

test('a client killed mid-stream ends the host’s iterator (its finally runs)', async () => {
  const remote = await open();
  const before = await remote.finallyRan;
  const client = spawnTs('__tests__/fixtures/stream-client.ts', [sock]);
  await until(() => client.output().includes('reading'), { timeout: 20000 });
  client.kill('SIGKILL');
  await exited(client);
  await until(async () => (await remote.finallyRan) === before + 1);
});

test('an async iterable passed as an argument reaches the host as one, both read to the end and left early', async () => {
  const remote = await open();
  async function* numbers(n: number) {
    for (let i = 1; i <= n; i++) yield i;
  }
  expect(await remote.sum(numbers(1000))).toBe(500500);
  let finallyRan = false;
  async function* endless() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      finallyRan = true;
    }
  }
  expect(await remote.takeFirst(endless(), 3)).toEqual([0, 1, 2]);
  // The host's break returned our generator (the return travelled back here).
  await until(() => finallyRan);
});

test('1,000,000 items to a slow reader: the host never runs more than the window ahead, and its memory stays flat', async () => {
  const remote = await open();
  const N = 1_000_000;
  const stream = await remote.count(N);
  const producedAtStart = await remote.produced;
  let read = 0;
  let worstAhead = 0;
  const heaps: number[] = [];
  for await (const item of stream) {
    if (item.i !== read) throw new Error(`item ${read} arrived as ${item.i}`);
    read++;
    if (read % 50_000 === 0) {
      // The reader is slow now and then: it stops to ask the host (requests are answered between items).
      const ahead = (await remote.produced) - producedAtStart - read;
      worstAhead = Math.max(worstAhead, ahead);
      if (read % 200_000 === 0) heaps.push(await remote.heap());
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  expect(read).toBe(N);
  // The generator ran at most the window ahead of what this side had read: for items this small
  // the window grew to its largest (the next test), and no further.
  expect(worstAhead).toBeLessThanOrEqual(MAX_STREAM_WINDOW);
  // Memory flat: after the first samples, the host's heap after a full GC does not grow with items sent.
  const growth = Math.max(...heaps) - heaps[0]!;
  expect(growth).toBeLessThan(8 * 1024 * 1024);
}, 180_000);

test('by default the window follows the items’ size: small items get a large one, 100 kB items about STREAM_WINDOW_BYTES of them', async () => {
  const remote = await open();
  /** Read `n` items, pausing every `every` items; the most the host's generator ran ahead of the reader after `settled` items. */
  const worstAhead = async (stream: AsyncIterable<{ i: number }>, n: number, every: number, settled: number) => {
    const start = await remote.produced;
    let read = 0;
    let worst = 0;
    for await (const item of stream) {
      expect(item.i).toBe(read);
      read++;
      if (read % every === 0) {
        // A pause: the host produces as far as its credit lets it.
        await new Promise((r) => setTimeout(r, 30));
        if (read >= settled) worst = Math.max(worst, (await remote.produced) - start - read);
      }
    }
    expect(read).toBe(n);
    return worst;
  };
  // Tiny items (~15 bytes each on the wire): the window grows past its first 64, to at most 4096.
  const small = await worstAhead(await remote.count(20_000), 20_000, 1000, 1000);
  expect(small).toBeGreaterThan(DEFAULT_STREAM_WINDOW);
  expect(small).toBeLessThanOrEqual(MAX_STREAM_WINDOW);
  // 100 kB items: after the first grant (64, before any size is known), the window is about
  // 1 MiB of them (10 items), so what the reader holds unread stays near STREAM_WINDOW_BYTES.
  const big = await worstAhead(await remote.sized(300, 100_000), 300, 10, 2 * DEFAULT_STREAM_WINDOW);
  expect(big).toBeGreaterThanOrEqual(2);
  expect(big).toBeLessThanOrEqual(Math.floor(STREAM_WINDOW_BYTES / 100_000));
});

test('a v1 client gets a clear NEEDS_PROTOCOL_2 error reply instead of a stream, and stays usable', async () => {
  const v1 = await connect<Feed>(sock, { localBypass: false, protocol: 1 });
  remotes.push(v1);
  await expect(v1.count(3).$get()).rejects.toMatchObject({ name: 'ProtocolError', code: 'NEEDS_PROTOCOL_2', message: expect.stringMatching(/a stream \(an async iterable\)/) });
  await expect(v1.readable(3).$get()).rejects.toMatchObject({ code: 'NEEDS_PROTOCOL_2' });
  expect(await v1.ping()).toBe('pong');
});

test('streamWindow sets the window a client grants (and the host never runs further ahead)', async () => {
  const narrow = await connect<Feed>(sock, { localBypass: false, streamWindow: 3 });
  remotes.push(narrow);
  const start = await narrow.produced;
  let read = 0;
  let worst = 0;
  for await (const item of await narrow.count(300)) {
    expect(item.i).toBe(read);
    read++;
    if (read % 30 === 0) worst = Math.max(worst, (await narrow.produced) - start - read);
  }
  expect(read).toBe(300);
  expect(worst).toBeLessThanOrEqual(3);
  await expect(connect<Feed>(sock, { localBypass: false, streamWindow: 0 })).rejects.toThrow(RangeError);
});
