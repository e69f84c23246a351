/**
 * vscode-jsonrpc 10 over the same kind of socket: JSON-RPC 2.0 with Content-Length framing,
 * through its StreamMessageReader/Writer. Params travel as one object (by name). JSON-RPC has no
 * binary type, so bytes go as a base64 string, encoded and decoded by hand on both sides.
 */
import net from 'node:net';
import { createMessageConnection, type MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { CHAIN, ONE, walk, type BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

function rpcOver(socket: net.Socket): MessageConnection {
  return createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
}

function serve(target: BenchTarget, path: string): Promise<BenchServer> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const conn = rpcOver(socket);
    conn.onRequest('add', (p: { n: number }) => target.add(p.n));
    conn.onRequest('get', (p: { path: (string | number)[] }) => walk(target, p.path));
    conn.onRequest('echo', (p: { v: unknown }) => target.echo(p.v));
    conn.onRequest('bytes', (p: { b: string }) => Buffer.from(target.echo(Buffer.from(p.b, 'base64'))).toString('base64'));
    socket.on('close', () => conn.dispose());
    conn.listen();
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
      const conn = rpcOver(socket);
      conn.listen();
      resolve({
        add: (n) => conn.sendRequest<number>('add', { n }),
        one: () => conn.sendRequest('get', { path: ONE }),
        chain: () => conn.sendRequest('get', { path: CHAIN }),
        echo: (v) => conn.sendRequest('echo', { v }),
        echoBytes: (b) =>
          conn
            .sendRequest<string>('bytes', { b: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') })
            .then((s) => new Uint8Array(Buffer.from(s, 'base64'))),
        close: () => {
          conn.dispose();
          return new Promise<void>((r) => socket.end(r));
        },
      });
    });
  });
}

export const vscodeJsonrpc: BenchImpl = { name: 'vscode-jsonrpc', bytes: 'base64 string (by hand)', serve, connect };
