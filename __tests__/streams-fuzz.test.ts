/**
 * Fuzzing the stream message kinds (issue 13: "fuzz the new message kinds like the old ones").
 * A host in a child process (fixtures/stream-host.ts); raw v2 connections (the opt-in line
 * written by hand) send a seeded mix of `credit`, `item`, `end` and `return` lines — valid ones
 * for live streams both ways, and malformed ones: wrong types, zero, negative, huge and fractional
 * credit, unknown and out-of-range stream ids, extra keys, bad value tags in items, bad errors in
 * ends, items nobody granted, credit past the maximum — among ordinary requests with known answers.
 *
 * Checked: the host never crashes or hangs (a `ping` after each batch is answered); every line it
 * sends is JSON of a known kind; it never sends a stream more items than this side granted; each
 * checked request gets its exact answer; and a well-behaved client reading a stream at the same
 * time gets every item in order.
 */
import net from 'node:net';
import { connect } from 'remoteobj';
import { killChildren, spawnTs, tmpSock, until } from './helpers';

/** A small seeded PRNG (mulberry32): the same seed sends the same lines. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** One raw v2 connection: lines in, lines out, with the bookkeeping the checks need. */
class Raw {
  readonly socket: net.Socket;
  readonly lines: unknown[] = [];
  readonly bad: string[] = [];
  /** Per host stream: credit this side granted, items it received, whether it ended. */
  readonly granted = new Map<number, number>();
  readonly received = new Map<number, number>();
  readonly overrun: string[] = [];
  #buf = '';
  #waiters: (() => void)[] = [];

  constructor(path: string) {
    this.socket = net.connect(path);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.#buf += chunk;
      let i: number;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        this.#take(line);
      }
    });
    this.socket.on('error', () => undefined);
  }

  #take(line: string): void {
    let m: { kind?: unknown; stream?: unknown; id?: unknown };
    try {
      m = JSON.parse(line);
    } catch {
      this.bad.push(line.slice(0, 200));
      return;
    }
    if (!['hello', 'value', 'self', 'error', 'credit', 'item', 'end', 'return', 'release', 'cancel'].includes(String(m.kind)) && !('ops' in m)) {
      this.bad.push(line.slice(0, 200));
    }
    if (m.kind === 'item' && typeof m.stream === 'number') {
      const n = (this.received.get(m.stream) ?? 0) + 1;
      this.received.set(m.stream, n);
      if (n > (this.granted.get(m.stream) ?? 0)) this.overrun.push(`stream ${m.stream}: item ${n} with ${this.granted.get(m.stream) ?? 0} granted`);
    }
    this.lines.push(m);
    for (const w of this.#waiters.splice(0)) w();
  }

  send(line: string): void {
    this.socket.write(line + '\n');
  }

  grant(stream: number, n: number): void {
    this.granted.set(stream, (this.granted.get(stream) ?? 0) + n);
    this.send(JSON.stringify({ kind: 'credit', stream, n }));
  }

  /** The reply to request `id`. */
  async reply(id: number | string, timeoutMs = 10_000): Promise<{ kind: string; value?: unknown; error?: { code?: string; message: string } }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = this.lines.find((l) => (l as { id?: unknown }).id === id && typeof (l as { kind?: unknown }).kind === 'string');
      if (r) return r as never;
      if (Date.now() > end || this.socket.destroyed) throw new Error(`no reply to ${id}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

let sock: string;
beforeAll(async () => {
  sock = tmpSock('sfuzz');
  const host = spawnTs('__tests__/fixtures/stream-host.ts', [sock]);
  await until(() => host.output().includes('ready'), { timeout: 20000 });
});
afterAll(async () => {
  await killChildren();
});

/** Open a raw connection, read the hello, opt into protocol 2. */
async function rawV2(): Promise<Raw> {
  const raw = new Raw(sock);
  await until(() => raw.lines.length > 0);
  expect((raw.lines[0] as { versions?: number[] }).versions).toContain(2);
  raw.send('{"kind":"hello","version":2}');
  return raw;
}

const MALFORMED: ((r: Rng, live: number[]) => string)[] = [
  () => '{"kind":"credit","stream":1}',
  () => '{"kind":"credit","stream":1,"n":0}',
  () => '{"kind":"credit","stream":1,"n":-5}',
  () => '{"kind":"credit","stream":1,"n":1.5}',
  () => '{"kind":"credit","stream":1,"n":"10"}',
  () => '{"kind":"credit","stream":"1","n":1}',
  () => '{"kind":"credit","stream":0,"n":1}',
  () => '{"kind":"credit","stream":-1,"n":1}',
  () => '{"kind":"credit","stream":1e300,"n":1}',
  () => '{"kind":"credit","stream":1,"n":1e300}',
  () => '{"kind":"credit","stream":1,"n":1,"extra":true}',
  (r) => `{"kind":"credit","stream":${1000 + r.int(1_000_000)},"n":${1 + r.int(100)}}`,
  () => '{"kind":"return"}',
  () => '{"kind":"return","stream":null}',
  (r) => `{"kind":"return","stream":${1000 + r.int(1_000_000)}}`,
  () => '{"kind":"item","stream":1}',
  (r) => `{"kind":"item","stream":${1 + r.int(50)},"value":${r.int(1000)}}`,
  (r) => `{"kind":"item","stream":${1 + r.int(50)},"value":{"$nope":1}}`,
  (r) => `{"kind":"item","stream":${1 + r.int(50)},"value":{"$stream":"x"}}`,
  (r) => `{"kind":"item","stream":${1 + r.int(50)},"value":{"$yours":99999}}`,
  (r) => `{"kind":"end","stream":${1 + r.int(50)}}`,
  (r) => `{"kind":"end","stream":${1 + r.int(50)},"error":"boom"}`,
  (r) => `{"kind":"end","stream":${1 + r.int(50)},"error":{"name":"E"}}`,
  (r) => `{"kind":"end","stream":${1 + r.int(50)},"error":{"name":"E","message":"m","cause":{"name":1}}}`,
  () => '{"kind":"item","stream":1,"value":' + '['.repeat(300) + ']'.repeat(300) + '}',
  () => '{"kind":"stream","stream":1}',
  () => '{"kind":"credit","stream":1,"n":1',
  (r, live) => (live.length ? `{"kind":"credit","stream":${r.pick(live)},"n":5000}` : '{"kind":"credit","stream":1,"n":5000}'),
  (r, live) => (live.length ? `{"kind":"return","stream":${r.pick(live)}}` : '{"kind":"return","stream":1}'),
];

test('seeded stream-message fuzz: the host stays up, answers right, and never sends past the credit', async () => {
  const rng = new Rng(13);
  // A well-behaved client reads a stream the whole time.
  const good = await connect<{ count(n: number): AsyncGenerator<{ i: number }> }>(sock, { localBypass: false });
  const goodRun = (async () => {
    let i = 0;
    for await (const item of await good.count(20_000)) {
      if (item.i !== i) throw new Error(`the good client got ${item.i} for ${i}`);
      i++;
    }
    return i;
  })();

  const raws: Raw[] = [];
  let id = 0;
  let lines = 0;
  for (let round = 0; round < 8; round++) {
    const raw = await rawV2();
    raws.push(raw);
    const live: number[] = [];
    for (let batch = 0; batch < 25; batch++) {
      // Open a stream of the host's now and then, and grant it some credit honestly.
      if (rng.next() < 0.4) {
        const rid = ++id;
        raw.send(JSON.stringify({ id: rid, ops: [{ op: 'get', key: rng.pick(['count', 'forever']) }, { op: 'call', args: [1000] }] }));
        const r = await raw.reply(rid);
        expect(r.kind).toBe('value');
        const s = (r.value as { $stream: number }).$stream;
        expect(Number.isSafeInteger(s)).toBe(true);
        live.push(s);
        raw.grant(s, 1 + rng.int(20));
      }
      // Pass the host a stream of ours for sum(), and feed it (sometimes well, sometimes not).
      if (rng.next() < 0.2) {
        const rid = ++id;
        const mine = 1 + rng.int(40);
        raw.send(JSON.stringify({ id: rid, ops: [{ op: 'get', key: 'sum' }, { op: 'call', args: [{ $stream: mine }] }] }));
        for (let k = 0; k < rng.int(4); k++) raw.send(JSON.stringify({ kind: 'item', stream: mine, value: k }));
        raw.send(rng.next() < 0.5 ? JSON.stringify({ kind: 'end', stream: mine }) : JSON.stringify({ kind: 'end', stream: mine, error: { name: 'Error', message: 'client side' } }));
      }
      for (let k = 0; k < 10; k++) {
        raw.send(rng.pick(MALFORMED)(rng, live));
        lines++;
      }
      // A checked request among the garbage, and a probe that the host still answers.
      const pid = ++id;
      raw.send(JSON.stringify({ id: pid, ops: [{ op: 'get', key: 'ping' }, { op: 'call', args: [] }] }));
      if (raw.socket.destroyed) break;
      const pong = await raw.reply(pid);
      expect(pong).toMatchObject({ kind: 'value', value: 'pong' });
    }
    expect(raw.bad).toEqual([]);
    expect(raw.overrun).toEqual([]);
    if (round % 2 === 0) raw.close(); // dropped with streams open: the host returns them
  }
  // The host judged the garbage (error replies naming no request) and streamed to the honest grants.
  const all = raws.flatMap((r) => r.lines) as { kind?: string; id?: unknown; error?: { code?: string } }[];
  expect(all.filter((l) => l.kind === 'error' && l.id === null && l.error?.code === 'BAD_MESSAGE').length).toBeGreaterThan(100);
  expect(all.filter((l) => l.kind === 'item').length).toBeGreaterThan(50);
  expect(all.filter((l) => l.kind === 'end').length).toBeGreaterThan(5);
  expect(await goodRun).toBe(20_000);
  for (const raw of raws) raw.close();
  await good.$close();
  expect(lines).toBeGreaterThan(1000);

  // Still alive and well after all of it.
  const check = await connect<{ ping(): string }>(sock, { localBypass: false });
  expect(await check.ping()).toBe('pong');
  await check.$close();
}, 120_000);
