/**
 * Baselines over a message port to a worker thread (the yardstick for remoteobj over a message
 * port, e.g. an Electron utility process or a worker): a raw `postMessage` echo (one message each
 * way, structured clone, a Map of pending ids), and Comlink over the same kind of port. The
 * "host" is a thread of the client's process (port-host.ts): the host process the benchmark
 * forks stays idle, and the host's CPU is counted in the client's (the table says "in client").
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CHAIN, ONE, type BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';
import { loadRemoteobj } from '../lib';
import { clientOf } from './remoteobj';

const HOST_FILE = path.join(__dirname, '..', `port-host${path.extname(__filename)}`);

/** Nothing listens on the socket path: the worker thread is started by connect(). */
const serve = async (_target: BenchTarget, _path: string): Promise<BenchServer> => ({ close: async () => {} });

function startWorker(kind: 'raw' | 'comlink' | 'remoteobj'): Promise<Worker> {
  const worker = new Worker(HOST_FILE, { workerData: { kind } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('online', () => resolve(worker));
  });
}

async function connectRaw(): Promise<BenchClient> {
  const worker = await startWorker('raw');
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  worker.on('message', (msg: { id: number; v: unknown }) => {
    const done = pending.get(msg.id)!;
    pending.delete(msg.id);
    done(msg.v);
  });
  const request = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise<T>((res) => {
      const id = nextId++;
      pending.set(id, res as (v: unknown) => void);
      msg.id = id;
      worker.postMessage(msg);
    });
  return {
    add: (n) => request({ m: 'add', a: n }),
    one: () => request({ m: 'get', p: ONE }),
    chain: () => request({ m: 'get', p: CHAIN }),
    echo: (v) => request({ m: 'echo', v }),
    echoBytes: (b) => request<Uint8Array>({ m: 'echo', v: b }),
    close: async () => void (await worker.terminate()),
  };
}

async function connectComlink(): Promise<BenchClient> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Comlink = require('comlink') as typeof import('comlink');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (p: unknown) => import('comlink').Endpoint;
  const worker = await startWorker('comlink');
  const api = Comlink.wrap<{ add(n: number): number; get(p: readonly (string | number)[]): unknown; echo(v: unknown): unknown }>(nodeEndpoint(worker));
  return {
    add: (n) => api.add(n),
    one: () => api.get(ONE),
    chain: () => api.get(CHAIN),
    echo: (v) => api.echo(v),
    echoBytes: (b) => api.echo(b) as Promise<Uint8Array>,
    close: async () => {
      api[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

/**
 * Case (j): remoteobj over the same kind of port (`serve(target, { port: parentPort })` in the
 * worker thread, `connect({ port: worker })` here): what a message-port call costs against the
 * raw `postMessage` echo and Comlink. Lines travel as strings through postMessage.
 */
async function connectRemoteobj(): Promise<BenchClient> {
  const worker = await startWorker('remoteobj');
  // `any`: as in remoteobj.ts, the cases use only BenchTarget's members.
  const remote: any = await loadRemoteobj().connect<BenchTarget>({ port: worker });
  const client = clientOf(remote);
  return {
    ...client,
    close: async () => {
      await client.close();
      await worker.terminate();
    },
  };
}

export const remoteobjPort: BenchImpl = { name: 'remoteobj-port', bytes: 'codec $bytes (base64) in string messages', serve, connect: () => connectRemoteobj() };
export const rawPort: BenchImpl = { name: 'raw-port', bytes: 'Uint8Array by structured clone', serve, connect: () => connectRaw() };
export const comlink: BenchImpl = { name: 'comlink', bytes: 'Uint8Array by structured clone', serve, connect: () => connectComlink() };
