/**
 * What the client proxy puts on the wire, checked against a raw NDJSON server that records every
 * request line: one message per chain, order kept, nothing sent by describing or testing a proxy.
 */
import net from 'node:net';
import { inspect } from 'node:util';
import { connect, ConnectionClosedError, NotListeningError, ProtocolError, type Remote } from 'remoteobj';
import { tmpSock, until } from './helpers';

interface Recorder {
  path: string;
  lines: any[];
  /** How to answer a request; default: value null. */
  answer: (req: any) => object | null;
  close(): Promise<void>;
  sockets: Set<net.Socket>;
}

async function rawHost(hello: object = { kind: 'hello', protocol: 'remoteobj', version: 1, pid: 1 }): Promise<Recorder> {
  const path = tmpSock('raw');
  const rec: Recorder = {
    path,
    lines: [],
    answer: (req) => ({ id: req.id, kind: 'value', value: null }),
    sockets: new Set(),
    close: () => new Promise<void>((r) => {
      for (const s of rec.sockets) s.destroy();
      server.close(() => r());
    }),
  };
  const server = net.createServer((s) => {
    rec.sockets.add(s);
    s.write(JSON.stringify(hello) + '\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const req = JSON.parse(line);
        rec.lines.push(req);
        const reply = rec.answer(req);
        if (reply) s.write(JSON.stringify(reply) + '\n');
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return rec;
}

interface Shape {
  items: { name: string }[];
  a: { b(): { c: { d(): number }[] } };
  toggle(on: boolean): void;
  count: number;
  x: number;
}

let host: Recorder;
let remote: Remote<Shape>;

beforeEach(async () => {
  host = await rawHost();
  remote = await connect<Shape>(host.path);
});
afterEach(async () => {
  await host.close();
});

test('a property chain is one request with every op, sent when awaited', async () => {
  const chain = remote.items[0]!.name;
  await new Promise((r) => setTimeout(r, 20));
  expect(host.lines).toHaveLength(0); // a read is lazy
  await chain;
  expect(host.lines).toEqual([{ id: 1, ops: [{ op: 'get', key: 'items' }, { op: 'get', key: 0 }, { op: 'get', key: 'name' }] }]);
});

test('a chain with calls in the middle is still one request, and each call runs once', async () => {
  await remote.a.b().c[0]!.d();
  expect(host.lines).toHaveLength(1);
  expect(host.lines[0].ops).toEqual([
    { op: 'get', key: 'a' },
    { op: 'get', key: 'b' },
    { op: 'call', args: [] },
    { op: 'get', key: 'c' },
    { op: 'get', key: 0 },
    { op: 'get', key: 'd' },
    { op: 'call', args: [] },
  ]);
});

test('a call is sent without await, and requests leave in the order they were made', async () => {
  remote.toggle(true);
  (remote as any).x = 5; // runtime assignment; the typed form is $set
  delete (remote as any).tmp;
  await remote.count;
  expect(host.lines.map((l) => l.ops.at(-1).op)).toEqual(['call', 'set', 'del', 'get']);
  expect(host.lines.map((l) => l.id)).toEqual([1, 2, 3, 4]);
  expect(host.lines[1].ops).toEqual([{ op: 'set', key: 'x', value: 5 }]);
});

test('awaiting the same proxy twice sends once; $get always asks again', async () => {
  const count = remote.count;
  await count;
  await count;
  expect(host.lines).toHaveLength(1);
  await count.$get();
  await count.$get();
  expect(host.lines).toHaveLength(3);
});

test('describing, testing, iterating or stringifying a proxy sends nothing', async () => {
  const node = remote.items[0]!;
  expect(String(remote)).toBe(`Remote<${host.path}>`);
  expect(`${node.name}`).toBe(`Remote<${host.path}>.items[0].name`);
  expect(inspect(node)).toBe(`Remote<${host.path}>.items[0]`);
  expect(node.$path).toBe(`Remote<${host.path}>.items[0]`);
  expect(Boolean(node)).toBe(true);
  expect(() => [...(node as any)]).toThrow(TypeError);
  expect(JSON.stringify({ r: node })).toBe('{}');
  expect('name' in node).toBe(false);
  await new Promise((r) => setTimeout(r, 20));
  expect(host.lines).toHaveLength(0);
});

test('the root proxy is not thenable, so awaiting it gives itself', async () => {
  expect((remote as any).then).toBeUndefined();
  expect(await remote).toBe(remote);
});

test('a value the client cannot encode rejects locally and sends nothing', async () => {
  await expect((remote as any).toggle(() => 1)).rejects.toThrow(/cannot send a function at args\[0\]/);
  expect(host.lines).toHaveLength(0);
});

test('a reply kind from a future protocol version fails that request only', async () => {
  host.answer = (req) => (req.id === 1 ? { id: 1, kind: 'stream', stream: 9 } : { id: req.id, kind: 'value', value: 2 });
  await expect(remote.count).rejects.toBeInstanceOf(ProtocolError);
  expect(await remote.x).toBe(2);
});

test('"self" replies give back the root proxy', async () => {
  host.answer = (req) => ({ id: req.id, kind: 'self' });
  expect(await (remote as any).chain()).toBe(remote);
});

test('the host vanishing rejects requests in flight with ConnectionClosedError, later ones with NotListeningError', async () => {
  host.answer = () => null; // never answer
  const inFlight = remote.count;
  const settled = inFlight.then(
    () => 'resolved',
    (e) => e,
  );
  await until(() => host.lines.length === 1);
  await host.close();
  expect(await settled).toBeInstanceOf(ConnectionClosedError);
  await expect(remote.x).rejects.toBeInstanceOf(NotListeningError);
  expect(await remote.x.$get({ default: -1 })).toBe(-1);
});

test('a nobody-awaited failure goes to onUnobservedError instead of crashing', async () => {
  const seen: Error[] = [];
  const r = await connect<Shape>(host.path, { onUnobservedError: (e) => seen.push(e) });
  host.answer = (req) => ({ id: req.id, kind: 'error', error: { name: 'TypeError', message: 'nope' } });
  r.toggle(true);
  await until(() => seen.length === 1);
  expect(seen[0]).toBeInstanceOf(TypeError);
  await r.$close();
});

test('a host speaking another protocol version is refused with VERSION_MISMATCH', async () => {
  const other = await rawHost({ kind: 'hello', protocol: 'remoteobj', version: 99, pid: 1 });
  await expect(connect(other.path)).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
  await other.close();
});

test('something that is not a remoteobj host is refused with a ProtocolError', async () => {
  const other = await rawHost({ hello: 'world' });
  await expect(connect(other.path)).rejects.toBeInstanceOf(ProtocolError);
  await other.close();
});

test("a remote error's stack ends with the caller's frames, not the library's", async () => {
  host.answer = (req) => ({ id: req.id, kind: 'error', error: { name: 'RangeError', message: 'far', stack: 'RangeError: far\n    at hostFrame (/srv/app.js:1:1)', origin: { pid: 1, path: host.path, op: 1, opName: 'call' } } });
  const err = await (async function callerFrame() {
    try {
      await remote.toggle(true);
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err).toBeInstanceOf(RangeError);
  const lines = err!.stack!.split('\n');
  const marker = lines.findIndex((l) => l.includes('--- remote: pid 1'));
  expect(lines.slice(0, marker)).toEqual(['RangeError: far', '    at hostFrame (/srv/app.js:1:1)']);
  expect(lines[marker + 1]).toMatch(/proxy-wire\.test\.ts:\d+/);
});

test('replies that come back out of order, one held back while 600 others finish, each reach their own request', async () => {
  // A host may answer in any order (requests of different connections, a timeout on the client):
  // the client's table must not depend on order. Request 0 is answered last, the rest in reverse.
  const held: any[] = [];
  host.answer = (req) => {
    held.push(req);
    return null;
  };
  const calls = Array.from({ length: 601 }, (_, i) => (remote as unknown as { echo(n: number): Promise<number> }).echo(i));
  await until(() => held.length === 601);
  const socket = [...host.sockets][0]!;
  const reply = (req: any) => ({ id: req.id, kind: 'value', value: req.ops[1].args[0] * 10 });
  socket.write(held.slice(1).reverse().map((r) => JSON.stringify(reply(r)) + '\n').join(''));
  expect(await Promise.all(calls.slice(1))).toEqual(Array.from({ length: 600 }, (_, i) => (i + 1) * 10));
  socket.write(JSON.stringify(reply(held[0])) + '\n');
  expect(await calls[0]).toBe(0);
});
