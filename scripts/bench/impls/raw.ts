/**
 * The baseline: a raw `net` server on a Unix socket that answers each NDJSON line with a line,
 * and a client that writes a line and waits for the answer. Both sides JSON.parse and
 * JSON.stringify every message, as any NDJSON request/response must; nothing else happens.
 */
import { once } from 'node:events';
import net from 'node:net';
import { onLines, tickWriter } from '../lines';
import { CHAIN, ONE, walk, type BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

type RawRequest =
  | { id: number; m: 'add'; a: number }
  | { id: number; m: 'get'; p: (string | number)[] }
  | { id: number; m: 'echo'; v: unknown }
  | { id: number; m: 'bytes'; b: string }
  // Case (e): the server calls the client n times ({c, a} → {c, v}) and answers with each round trip's time.
  | { id: number; m: 'cbloop'; n: number }
  // Case (f): n items as lines of their own ({"n":i}), then the answer.
  | { id: number; m: 'stream'; n: number };

function answer(target: BenchTarget, msg: RawRequest): unknown {
  switch (msg.m) {
    case 'add':
      return target.add(msg.a);
    case 'get':
      return walk(target, msg.p);
    case 'echo':
      return target.echo(msg.v);
    case 'bytes':
      // The bytes are really decoded and encoded again, as a server using them would.
      return Buffer.from(target.echo(Buffer.from(msg.b, 'base64'))).toString('base64');
    default:
      throw new Error(`raw: ${msg.m} is not a plain request`);
  }
}

/** Bytes of item lines gathered into one write by the raw stream (case (f)). */
const STREAM_CHUNK = 16 * 1024;

/**
 * Case (f), raw: the same async generator remoteobj's host reads, one JSON line per item, written
 * in chunks of STREAM_CHUNK bytes; when the socket's buffer is full (write() says false) it waits
 * for 'drain': the back-pressure any NDJSON stream over a socket has, with no protocol of its own.
 */
async function streamLines(target: BenchTarget, socket: net.Socket, id: number, n: number): Promise<void> {
  let chunk = '';
  for await (const item of target.items(n)) {
    chunk += JSON.stringify(item) + '\n';
    if (chunk.length >= STREAM_CHUNK) {
      const more = socket.write(chunk);
      chunk = '';
      if (!more) await once(socket, 'drain');
    }
  }
  socket.write(chunk + JSON.stringify({ id, v: n }) + '\n');
}

/** How a raw baseline listens and dials: plain `net` here, TLS in raw-tls.ts. */
export interface RawTransport {
  createServer(onSocket: (socket: net.Socket) => void): net.Server;
  /** A socket to `path` (or to the address `listen` gave), and the event that says it is ready to use. */
  dial(path: string): { socket: net.Socket; ready: string };
  /** Listen somewhere other than the socket path (TCP: case (i)); resolves with the address to dial. Default: on `path`. */
  listen?(server: net.Server, path: string): Promise<string>;
}

const PLAIN: RawTransport = {
  createServer: (onSocket) => net.createServer(onSocket),
  dial: (path) => ({ socket: net.connect(path), ready: 'connect' }),
};

const serve = (target: BenchTarget, path: string) => serveOver(PLAIN, target, path);
const connect = (path: string) => connectOver(PLAIN, path);

export function serveOver(transport: RawTransport, target: BenchTarget, path: string): Promise<BenchServer> {
  const server = transport.createServer((socket) => {
    const send = tickWriter(socket);
    socket.on('error', () => {});
    // Case (e): the client's answers to this server's calls, by call id.
    const calls = new Map<number, () => void>();
    let nextCall = 1;
    const callClient = (a: number) =>
      new Promise<void>((res) => {
        const c = nextCall++;
        calls.set(c, res);
        send(JSON.stringify({ c, a }));
      });
    onLines(socket, (line) => {
      const msg = JSON.parse(line) as RawRequest | { c: number; v: unknown };
      if ('c' in msg) {
        const done = calls.get(msg.c)!;
        calls.delete(msg.c);
        return done();
      }
      if (msg.m === 'cbloop') return void target.callbackLoop(callClient, msg.n).then((v) => send(JSON.stringify({ id: msg.id, v })));
      if (msg.m === 'stream') return void streamLines(target, socket, msg.id, msg.n);
      send(JSON.stringify({ id: msg.id, v: answer(target, msg) }));
    });
  });
  const listen = transport.listen ?? ((s: net.Server, p: string) => new Promise<string>((resolve) => s.listen(p, () => resolve(p))));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    void listen(server, path).then((address) => resolve({ address, close: () => new Promise((r) => server.close(() => r())) }), reject);
  });
}

export function connectOver(transport: RawTransport, path: string): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const { socket, ready } = transport.dial(path);
    const send = tickWriter(socket);
    const pending = new Map<number, (v: unknown) => void>();
    let nextId = 1;
    let streamed = 0;
    onLines(socket, (line) => {
      const msg = JSON.parse(line) as { id: number; v: unknown } | { c: number; a: number } | { n: number };
      // Case (e): the server calls this client's function, (i) => i.
      if ('c' in msg) return send(JSON.stringify({ c: msg.c, v: msg.a }));
      // Case (f): an item of the stream being read.
      if (!('id' in msg)) return void streamed++;
      const done = pending.get(msg.id)!;
      pending.delete(msg.id);
      done(msg.v);
    });
    const request = <T>(msg: Record<string, unknown>): Promise<T> =>
      new Promise<T>((res) => {
        const id = nextId++;
        pending.set(id, res as (v: unknown) => void);
        msg.id = id;
        send(JSON.stringify(msg));
      });
    socket.once('error', reject);
    socket.once(ready, () =>
      resolve({
        add: (n) => request({ m: 'add', a: n }),
        one: () => request({ m: 'get', p: ONE }),
        chain: () => request({ m: 'get', p: CHAIN }),
        echo: (v) => request({ m: 'echo', v }),
        echoBytes: (b) =>
          request<string>({ m: 'bytes', b: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') }).then((s) => new Uint8Array(Buffer.from(s, 'base64'))),
        callbackLoop: (n) => request<number[]>({ m: 'cbloop', n }),
        stream: async (n) => {
          streamed = 0;
          await request({ m: 'stream', n });
          return streamed;
        },
        close: () => new Promise<void>((r) => socket.end(r)),
      }),
    );
  });
}

export const raw: BenchImpl = { name: 'raw', bytes: 'base64 in JSON (by hand)', serve, connect };
