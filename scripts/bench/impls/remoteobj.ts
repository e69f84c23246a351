/**
 * remoteobj over the socket (localBypass: false), with default options otherwise: what users get.
 * `remoteobj+secret` is the same with a shared secret on both sides: the handshake, then a mac line
 * after every batch of lines each way (docs/protocol.md), to price line authentication.
 */
import { loadRemoteobj } from '../lib';
import { tlsPki } from './raw-tls';
import type { BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

/** Any secret will do: its length does not change the cost per line (the line keys are 32 bytes). */
const SECRET = 'bench: a shared secret of ordinary length';

/**
 * `remoteobj@baseline`: another build of remoteobj, side by side with this one in the same run —
 * `BENCH_BASELINE=/path/to/other/checkout npm run bench -- --impls remoteobj,remoteobj@baseline`
 * (the checkout built with `npm run build`). How a change's cost is measured: one run, same noise.
 */
function loadBaseline(): typeof import('../../../src/index') {
  const dir = process.env.BENCH_BASELINE;
  if (!dir) throw new Error('remoteobj@baseline needs BENCH_BASELINE=/path/to/a/built/remoteobj/checkout');
  return require(require('node:path').resolve(dir, 'dist', 'index.js'));
}

type Lib = typeof import('../../../src/index');

function serveWith(secret: string | undefined, load: () => Lib = loadRemoteobj) {
  return async (target: BenchTarget, path: string): Promise<BenchServer> => {
    const lib = load();
    // Case (g): open() hands out its object by reference (lib.ref exists in builds with protocol 2).
    if (typeof lib.ref === 'function') target.refFn = lib.ref;
    const host = await lib.serve(target, path, { localBypass: false, secret });
    return { queued: () => host.queued, close: () => host.close() };
  };
}

/** The BenchClient of a remoteobj root proxy (over any transport: port.ts uses it too). */
export function clientOf(remote: any): BenchClient {
  return {
    add: (n) => remote.add(n),
    one: () => remote.version,
    chain: () => remote.data.users[3].profile.name,
    echo: (v) => remote.echo(v),
    echoBytes: (b) => remote.echo(b),
    // The client's function, (i) => i, passes by reference: the host calls it back on this connection.
    callbackLoop: (n) => remote.callbackLoop((i: number) => i, n),
    stream: async (n) => {
      let count = 0;
      // The default window (64 items at first, then adapted to the items' size), topped up at half: the back-pressure every stream has.
      for await (const _ of await remote.items(n)) count++;
      return count;
    },
    remote,
    close: () => remote.$close(),
  };
}

function connectWith(secret: string | undefined, load: () => Lib = loadRemoteobj, streamWindow?: number) {
  return async (path: string): Promise<BenchClient> => {
    // `any`: the cases only use the members BenchTarget has; Remote<T> typing is tested elsewhere.
    const remote: any = await load().connect<BenchTarget>(path, { localBypass: false, secret, streamWindow });
    return clientOf(remote);
  };
}

/**
 * Case (i): remoteobj over `tls://127.0.0.1:PORT` (TCP loopback; mutual TLS, as tls:// always is),
 * with the run's CA, host and client certificates (raw-tls.ts tlsPki). The socket path it is
 * given is not used: the host listens on a free port and reports it as its address.
 */
function tlsImpl(name: string, secret: string | undefined): BenchImpl {
  return {
    name,
    bytes: 'as remoteobj, inside TLS records',
    serve: async (target: BenchTarget): Promise<BenchServer> => {
      const { ca, host: own } = tlsPki();
      const host = await loadRemoteobj().serve(target, 'tls://127.0.0.1:0', { localBypass: false, secret, tls: { key: own.key, cert: own.cert, ca } });
      return { address: host.path, close: () => host.close() };
    },
    connect: async (address: string): Promise<BenchClient> => {
      const { ca, client } = tlsPki();
      const remote: any = await loadRemoteobj().connect<BenchTarget>(address, { localBypass: false, secret, tls: { key: client.key, cert: client.cert, ca } });
      return clientOf(remote);
    },
  };
}

export const remoteobjTls = tlsImpl('remoteobj-tls', undefined);
/**
 * Case (k) over tls://: the same mutual TLS with a secret on top. Over TLS 1.3 the handshake's
 * proofs are bound to the TLS connection and the lines carry no mac lines (protocol/auth.ts).
 */
export const remoteobjTlsSecret = tlsImpl('remoteobj-tls+secret', SECRET);

export const remoteobj: BenchImpl = { name: 'remoteobj', bytes: 'codec $bytes (base64)', serve: serveWith(undefined), connect: connectWith(undefined) };
/**
 * Case (f) only: the same client with `streamWindow: 1024` (docs/api.md, Streams: what a reader
 * that wants a raw socket's rate passes), against the same host as `remoteobj`.
 */
export const remoteobjWideWindow: BenchImpl = { name: 'remoteobj-window1024', bytes: 'as remoteobj', serve: serveWith(undefined), connect: connectWith(undefined, loadRemoteobj, 1024) };
export const remoteobjSecret: BenchImpl = { name: 'remoteobj+secret', bytes: 'as remoteobj', serve: serveWith(SECRET), connect: connectWith(SECRET) };
export const remoteobjBaseline: BenchImpl = {
  name: 'remoteobj@baseline',
  bytes: 'as remoteobj',
  serve: serveWith(undefined, loadBaseline),
  connect: connectWith(undefined, loadBaseline),
};
