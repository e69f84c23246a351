/**
 * Stream items several to a line (protocol 2, feature `items`; docs/protocol.md "Streams"), over
 * real sockets to a host in a child process (fixtures/stream-host.ts):
 *  - the host's hello names the feature; a client that names it back in its opt-in gets `items`
 *    lines, in order, never more items in all than it granted; one that opts in without it (a
 *    client written from the protocol page before `items`) gets one `item` line per item;
 *  - our client and host use it both ways (a host stream read with for-await, a client stream
 *    the host sums), with the window still bounding the producer;
 *  - bad `items` lines from a client (malformed, past the credit, longer than any credit, values
 *    that do not decode) give typed errors: a BAD_MESSAGE error reply for a line that is not a
 *    valid message, the stream failed (and `return` sent) for a good line the stream cannot take,
 *    and the host stays up;
 *  - and a batching producer on its own keeps to its credit and sends the items before an
 *    unsendable one ahead of the end.
 */
import net from 'node:net';
import { connect } from 'remoteobj';
import { clientHelloLine, itemsLine, readLineV2 } from '../src/protocol/wire';
import { MAX_ITEMS_PER_LINE } from '../src/protocol/messages';
import { type ItemBuffer, MAX_STREAM_WINDOW, StreamProducers } from '../src/peer/streams';
import { killChildren, spawnTs, tmpSock, until } from './helpers';

interface Feed {
  produced: number;
  ping(): string;
  count(n: number): AsyncGenerator<{ i: number }>;
  sum(values: AsyncIterable<number>): Promise<number>;
}

type Line = { kind?: string; id?: unknown; stream?: number; value?: unknown; values?: unknown[]; n?: number; error?: { code?: string; message?: string }; features?: unknown };

/** A hand-written v2 connection: lines in, lines out. */
class Raw {
  readonly socket: net.Socket;
  readonly lines: Line[] = [];
  #buf = '';

  constructor(path: string) {
    this.socket = net.connect(path);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.#buf += chunk;
      let i: number;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.#buf.slice(0, i)) as Line);
        this.#buf = this.#buf.slice(i + 1);
      }
    });
    this.socket.on('error', () => undefined);
  }

  send(line: string): void {
    this.socket.write(line + '\n');
  }

  /** The first line after `from` that `pick` accepts. */
  async find(pick: (l: Line) => boolean, from = 0): Promise<Line> {
    return (await until(() => this.lines.slice(from).find(pick), { timeout: 10_000 }))!;
  }

  async reply(id: number): Promise<Line> {
    return this.find((l) => l.id === id && (l.kind === 'value' || l.kind === 'error'));
  }

  close(): void {
    this.socket.destroy();
  }
}

let sock: string;
const raws: Raw[] = [];

beforeAll(async () => {
  sock = tmpSock('sbatch');
  const host = spawnTs('__tests__/fixtures/stream-host.ts', [sock]);
  await until(() => host.output().includes('ready'), { timeout: 20000 });
});

afterEach(() => {
  for (const r of raws.splice(0)) r.close();
});

afterAll(async () => {
  await killChildren();
});

/** Connect, read the hello, opt into protocol 2 with `hello` (the line as sent). */
async function rawV2(hello: string): Promise<Raw> {
  const raw = new Raw(sock);
  raws.push(raw);
  await raw.find((l) => l.kind === 'hello');
  raw.send(hello);
  return raw;
}

/** Call `count(n)` on a raw connection and read it to the end, granting `grant` at a time once what was granted has come. */
async function readCount(raw: Raw, id: number, n: number, grant: number): Promise<{ values: unknown[]; kinds: Set<string>; overrun: boolean; perLine: number[] }> {
  raw.send(JSON.stringify({ id, ops: [{ op: 'get', key: 'count' }, { op: 'call', args: [n] }] }));
  const stream = ((await raw.reply(id)).value as { $stream: number }).$stream;
  const values: unknown[] = [];
  const kinds = new Set<string>();
  const perLine: number[] = [];
  let granted = 0;
  let overrun = false;
  let at = raw.lines.length;
  for (;;) {
    if (values.length === granted) {
      granted += grant;
      raw.send(JSON.stringify({ kind: 'credit', stream, n: grant }));
    }
    const l = await raw.find((x) => x.stream === stream, at);
    at = raw.lines.indexOf(l, at) + 1;
    kinds.add(l.kind!);
    if (l.kind === 'end') break;
    const got = l.kind === 'items' ? l.values! : [l.value];
    perLine.push(got.length);
    values.push(...got);
    if (values.length > granted) overrun = true;
  }
  return { values, kinds, overrun, perLine };
}

test('the hello names the feature; a client that names it back gets items lines, in order, within its credit', async () => {
  const raw = await rawV2(clientHelloLine(['items']));
  expect(raw.lines[0]!.features).toEqual(['items']);
  expect(clientHelloLine(['items'])).toBe('{"kind":"hello","version":2,"features":["items"]}');
  const { values, kinds, overrun, perLine } = await readCount(raw, 1, 500, 40);
  expect(values).toEqual(Array.from({ length: 500 }, (_, i) => ({ i })));
  expect(kinds).toEqual(new Set(['items', 'end']));
  expect(overrun).toBe(false);
  // Several to a line (batches of 16, at most the credit held).
  expect(Math.max(...perLine)).toBeGreaterThan(1);
  expect(Math.max(...perLine)).toBeLessThanOrEqual(40);
});

test('a client that opts in without the feature (written from the protocol page before it) gets one item line per item', async () => {
  const raw = await rawV2('{"kind":"hello","version":2}');
  const { values, kinds, overrun } = await readCount(raw, 1, 300, 64);
  expect(values).toEqual(Array.from({ length: 300 }, (_, i) => ({ i })));
  expect(kinds).toEqual(new Set(['item', 'end']));
  expect(overrun).toBe(false);
  // Unknown feature names are ignored, not refused.
  const other = await rawV2('{"kind":"hello","version":2,"features":["later-feature"]}');
  const r = await readCount(other, 1, 20, 8);
  expect(r.kinds).toEqual(new Set(['item', 'end']));
});

test('our client and host use items both ways, and the window still bounds the producer', async () => {
  const remote = await connect<Feed>(sock, { localBypass: false, streamWindow: 48 });
  try {
    const before = await remote.produced;
    let read = 0;
    let worst = 0;
    for await (const item of await remote.count(20_000)) {
      if (item.i !== read) throw new Error(`item ${read} arrived as ${item.i}`);
      read++;
      if (read % 2500 === 0) worst = Math.max(worst, (await remote.produced) - before - read);
    }
    expect(read).toBe(20_000);
    expect(worst).toBeLessThanOrEqual(48);
    async function* numbers(n: number) {
      for (let i = 1; i <= n; i++) yield i;
    }
    expect(await remote.sum(numbers(10_000))).toBe((10_000 * 10_001) / 2);
  } finally {
    await remote.$close();
  }
});

/** Pass the host a stream of ours (sum), and wait for its first credit. */
async function feedSum(raw: Raw, id: number, stream: number): Promise<number> {
  raw.send(JSON.stringify({ id, ops: [{ op: 'get', key: 'sum' }, { op: 'call', args: [{ $stream: stream }] }] }));
  return (await raw.find((l) => l.kind === 'credit' && l.stream === stream)).n!;
}

test('bad items lines from a client: typed errors, the stream failed or the line refused, and the host stays up', async () => {
  const raw = await rawV2(clientHelloLine(['items']));
  const errorsAfter = (from: number) => raw.lines.slice(from).filter((l) => l.kind === 'error' && l.id === null);

  // Malformed lines: each a BAD_MESSAGE error reply naming no request, nothing else happens.
  let from = raw.lines.length;
  const malformed = [
    '{"kind":"items","stream":1}',
    '{"kind":"items","stream":1,"values":5}',
    '{"kind":"items","stream":1,"values":[]}',
    '{"kind":"items","stream":0,"values":[1]}',
    '{"kind":"items","stream":1,"values":[1],"extra":true}',
    '{"kind":"items","stream":1,"values":[1,]}',
    itemsLine(1, Array.from({ length: MAX_ITEMS_PER_LINE + 1 }, () => '0')),
  ];
  for (const line of malformed) raw.send(line);
  raw.send(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'ping' }, { op: 'call', args: [] }] }));
  expect((await raw.reply(1)).value).toBe('pong');
  const refused = errorsAfter(from);
  // Each line answered with its fault: not JSON (the sixth), else not a valid items message.
  expect(refused.map((e) => e.error?.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_JSON', 'BAD_MESSAGE']);
  expect(refused.at(-1)!.error?.message).toMatch(/not a valid items message at values/);

  // A good line for a stream of ours: read in order.
  const n = await feedSum(raw, 2, 5);
  expect(n).toBeGreaterThan(0);
  raw.send(itemsLine(5, ['1', '2', '3']));
  raw.send('{"kind":"items","stream":5,"values":[4,5]}');
  raw.send('{"kind":"end","stream":5}');
  expect(await raw.reply(2)).toMatchObject({ kind: 'value', value: 15 });

  // More items than the host granted: the stream fails with BAD_MESSAGE and the host sends return.
  from = raw.lines.length;
  const credit = await feedSum(raw, 3, 6);
  raw.send(itemsLine(6, Array.from({ length: credit + 1 }, () => '1')));
  const over = await raw.reply(3);
  expect(over.kind).toBe('error');
  expect(over.error).toMatchObject({ code: 'BAD_MESSAGE' });
  expect(over.error!.message).toMatch(/more items than it was granted/);
  await raw.find((l) => l.kind === 'return' && l.stream === 6, from);

  // A value that does not decode: that stream fails (BAD_VALUE), not the connection.
  from = raw.lines.length;
  await feedSum(raw, 4, 7);
  raw.send('{"kind":"items","stream":7,"values":[1,{"$nope":1},3]}');
  const bad = await raw.reply(4);
  expect(bad.kind).toBe('error');
  expect(bad.error).toMatchObject({ code: 'BAD_VALUE' });
  await raw.find((l) => l.kind === 'return' && l.stream === 7, from);

  // A line far past any credit (a million values, 2 MB): refused by the schema, nothing buffered.
  from = raw.lines.length;
  raw.send('{"kind":"items","stream":8,"values":[' + '0,'.repeat(1_000_000) + '0]}');
  raw.send(JSON.stringify({ id: 5, ops: [{ op: 'get', key: 'ping' }, { op: 'call', args: [] }] }));
  expect((await raw.reply(5)).value).toBe('pong');
  expect(errorsAfter(from).map((e) => e.error?.code)).toEqual(['BAD_MESSAGE']);

  // Still well: a fresh client reads a stream to its end.
  const remote = await connect<Feed>(sock, { localBypass: false });
  let read = 0;
  for await (const item of await remote.count(1000)) expect(item.i).toBe(read++);
  expect(read).toBe(1000);
  await remote.$close();
});

test('the items line: writer and reader round-trip; the list is capped at the most credit a producer holds', () => {
  expect(MAX_ITEMS_PER_LINE).toBe(MAX_STREAM_WINDOW);
  const line = itemsLine(3, ['{"a":1}', '"x"', '{"$undefined":true}']);
  expect(line).toBe('{"kind":"items","stream":3,"values":[{"a":1},"x",{"$undefined":true}]}');
  expect(readLineV2(line, {})).toEqual({ type: 'control', message: { kind: 'items', stream: 3, values: [{ a: 1 }, 'x', { $undefined: true }] } });
  // Another key order or spacing is read too (by JSON.parse), and checked the same.
  expect(readLineV2('{ "stream": 3, "kind": "items", "values": [1] }', {})).toEqual({ type: 'control', message: { kind: 'items', stream: 3, values: [1] } });
  expect(readLineV2('{"kind":"items","stream":3,"values":[1,}', {})).toMatchObject({ code: 'BAD_JSON' });
});

test('a batching producer on its own: next() never past the credit, and the items before an unsendable one go before the end', async () => {
  const sent: { kind: string; n?: number; error?: unknown }[] = [];
  const producers = new StreamProducers({
    item: () => {
      throw new Error('a batching producer sends items lines only');
    },
    batch: {
      open: () => {
        const kept: unknown[] = [];
        return {
          add: (v: unknown) => {
            if (typeof v === 'symbol') throw new TypeError('cannot send a symbol');
            kept.push(v);
          },
          get count() {
            return kept.length;
          },
          chars: 0,
          take: () => kept.splice(0),
        };
      },
      items: (_id, buffer) => void sent.push({ kind: 'items', n: (buffer as ItemBuffer & { take(): unknown[] }).take().length }),
    },
    end: (_id, error) => void sent.push({ kind: 'end', error }),
    credit: () => undefined,
    return: () => undefined,
  });
  let pulled = 0;
  async function* gen() {
    for (;;) {
      pulled++;
      yield pulled === 40 ? Symbol('x') : pulled;
    }
  }
  const id = producers.export(gen());
  producers.credit(id, 10);
  await until(() => sent.reduce((a, m) => a + (m.n ?? 0), 0) === 10);
  expect(pulled).toBe(10);
  producers.credit(id, 100);
  await until(() => sent.at(-1)?.kind === 'end');
  // 39 sendable items, then the end with why; the iterator was not pulled past the symbol.
  expect(sent.reduce((a, m) => a + (m.n ?? 0), 0)).toBe(39);
  expect(pulled).toBe(40);
  expect((sent.at(-1)!.error as Error).message).toBe('cannot send a symbol');
  expect(Math.max(...sent.map((m) => m.n ?? 0))).toBeLessThanOrEqual(50); // half the last grant
  expect(producers.size).toBe(0);
});
