/**
 * The baseline: a raw `net` server on a Unix socket that answers each NDJSON line with a line,
 * and a client that writes a line and waits for the answer. Both sides JSON.parse and
 * JSON.stringify every message, as any NDJSON request/response must; nothing else happens.
 */
import net from 'node:net';
import { onLines, tickWriter } from '../lines';
import { CHAIN, ONE, walk, type BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

type RawRequest =
  | { id: number; m: 'add'; a: number }
  | { id: number; m: 'get'; p: (string | number)[] }
  | { id: number; m: 'echo'; v: unknown }
  | { id: number; m: 'bytes'; b: string };

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
  }
}

/** How a raw baseline listens and dials: plain `net` here, TLS in raw-tls.ts. */
export interface RawTransport {
  createServer(onSocket: (socket: net.Socket) => void): net.Server;
  /** A socket to `path`, and the event that says it is ready to use. */
  dial(path: string): { socket: net.Socket; ready: string };
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
    onLines(socket, (line) => {
      const msg = JSON.parse(line) as RawRequest;
      send(JSON.stringify({ id: msg.id, v: answer(target, msg) }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve({ close: () => new Promise((r) => server.close(() => r())) }));
  });
}

export function connectOver(transport: RawTransport, path: string): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const { socket, ready } = transport.dial(path);
    const send = tickWriter(socket);
    const pending = new Map<number, (v: unknown) => void>();
    let nextId = 1;
    onLines(socket, (line) => {
      const msg = JSON.parse(line) as { id: number; v: unknown };
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
        close: () => new Promise<void>((r) => socket.end(r)),
      }),
    );
  });
}

export const raw: BenchImpl = { name: 'raw', bytes: 'base64 in JSON (by hand)', serve, connect };
