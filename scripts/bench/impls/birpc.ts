/**
 * birpc 4 over the same kind of socket. birpc brings no transport: it gets the same hand-written
 * NDJSON framing as the raw baseline (lines.ts) and JSON.stringify/parse as its serializer, so
 * the difference to raw is birpc's own work. Bytes go as base64 by hand (JSON has no binary type).
 */
import net from 'node:net';
import { createBirpc } from 'birpc';
import { onLines, tickWriter } from '../lines';
import { CHAIN, ONE, walk, type BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

function functionsOf(target: BenchTarget) {
  return {
    add: (n: number) => target.add(n),
    get: (path: (string | number)[]) => walk(target, path),
    echo: (v: unknown) => target.echo(v),
    bytes: (b: string) => Buffer.from(target.echo(Buffer.from(b, 'base64'))).toString('base64'),
  };
}
type Functions = ReturnType<typeof functionsOf>;

function channel(socket: net.Socket) {
  const send = tickWriter(socket);
  return {
    post: (data: string) => send(data),
    on: (fn: (data: string) => void) => onLines(socket, fn),
    serialize: (v: unknown) => JSON.stringify(v),
    deserialize: (s: string) => JSON.parse(s) as unknown,
  };
}

function serve(target: BenchTarget, path: string): Promise<BenchServer> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    createBirpc<object, Functions>(functionsOf(target), channel(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve({ close: () => new Promise((r) => server.close(() => r())) }));
  });
}

function connect(path: string): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      const rpc = createBirpc<Functions>({}, channel(socket));
      resolve({
        add: (n) => rpc.add(n),
        one: () => rpc.get([...ONE]),
        chain: () => rpc.get([...CHAIN]),
        echo: (v) => rpc.echo(v),
        echoBytes: (b) => rpc.bytes(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')).then((s) => new Uint8Array(Buffer.from(s, 'base64'))),
        close: () => {
          rpc.$close();
          return new Promise<void>((r) => socket.end(r));
        },
      });
    });
  });
}

export const birpc: BenchImpl = { name: 'birpc', bytes: 'base64 string (by hand)', serve, connect };
