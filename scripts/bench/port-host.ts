/**
 * The worker thread of the message-port baselines (impls/port.ts): serves a BenchTarget over its
 * parent port, either answering raw `postMessage` requests (`{id, m, ...}` → `{id, v}`), or
 * through Comlink's `expose`, or with remoteobj's `serve(target, { port })`. Values travel by structured clone, bytes as Uint8Array.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadRemoteobj } from './lib';
import { BenchTarget, walk } from './target';

const target = new BenchTarget();
const port = parentPort!;

type PortRequest =
  | { id: number; m: 'add'; a: number }
  | { id: number; m: 'get'; p: (string | number)[] }
  | { id: number; m: 'echo'; v: unknown };

function answer(msg: PortRequest): unknown {
  switch (msg.m) {
    case 'add':
      return target.add(msg.a);
    case 'get':
      return walk(target, msg.p);
    case 'echo':
      return target.echo(msg.v);
  }
}

const kind = (workerData as { kind: 'raw' | 'comlink' | 'remoteobj' }).kind;
if (kind === 'raw') {
  port.on('message', (msg: PortRequest) => port.postMessage({ id: msg.id, v: answer(msg) }));
} else if (kind === 'remoteobj') {
  // Case (j): remoteobj's host on the worker's parent port (the same build as the client's: BENCH_LIB* pass through the environment).
  void loadRemoteobj().serve(target, { port });
} else {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Comlink = require('comlink') as typeof import('comlink');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (p: unknown) => import('comlink').Endpoint;
  Comlink.expose(
    {
      add: (n: number) => target.add(n),
      get: (p: (string | number)[]) => walk(target, p),
      echo: (v: unknown) => target.echo(v),
    },
    nodeEndpoint(port),
  );
}
