/**
 * remoteobj over the socket (localBypass: false), with default options otherwise: what users get.
 * `remoteobj+secret` is the same with a shared secret on both sides: the handshake, then a mac line
 * after every batch of lines each way (docs/protocol.md), to price line authentication.
 */
import { loadRemoteobj } from '../lib';
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

function serveWith(secret: string | undefined, load = loadRemoteobj) {
  return async (target: BenchTarget, path: string): Promise<BenchServer> => {
    const host = await load().serve(target, path, { localBypass: false, secret });
    return { close: () => host.close() };
  };
}

function connectWith(secret: string | undefined, load = loadRemoteobj) {
  return async (path: string): Promise<BenchClient> => {
    // `any`: the cases only use the members BenchTarget has; Remote<T> typing is tested elsewhere.
    const remote: any = await load().connect<BenchTarget>(path, { localBypass: false, secret });
    return {
      add: (n) => remote.add(n),
      one: () => remote.version,
      chain: () => remote.data.users[3].profile.name,
      echo: (v) => remote.echo(v),
      echoBytes: (b) => remote.echo(b),
      close: () => remote.$close(),
    };
  };
}

export const remoteobj: BenchImpl = { name: 'remoteobj', bytes: 'codec $bytes (base64)', serve: serveWith(undefined), connect: connectWith(undefined) };
export const remoteobjSecret: BenchImpl = { name: 'remoteobj+secret', bytes: 'as remoteobj', serve: serveWith(SECRET), connect: connectWith(SECRET) };
export const remoteobjBaseline: BenchImpl = {
  name: 'remoteobj@baseline',
  bytes: 'as remoteobj',
  serve: serveWith(undefined, loadBaseline),
  connect: connectWith(undefined, loadBaseline),
};
