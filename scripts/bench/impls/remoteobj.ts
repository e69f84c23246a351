/** remoteobj over the socket (localBypass: false), with default options otherwise: what users get. */
import { loadRemoteobj } from '../lib';
import type { BenchTarget } from '../target';
import type { BenchClient, BenchImpl, BenchServer } from './types';

async function serve(target: BenchTarget, path: string): Promise<BenchServer> {
  const host = await loadRemoteobj().serve(target, path, { localBypass: false });
  return { close: () => host.close() };
}

async function connect(path: string): Promise<BenchClient> {
  // `any`: the cases only use the members BenchTarget has; Remote<T> typing is tested elsewhere.
  const remote: any = await loadRemoteobj().connect<BenchTarget>(path, { localBypass: false });
  return {
    add: (n) => remote.add(n),
    one: () => remote.version,
    chain: () => remote.data.users[3].profile.name,
    echo: (v) => remote.echo(v),
    echoBytes: (b) => remote.echo(b),
    close: () => remote.$close(),
  };
}

export const remoteobj: BenchImpl = { name: 'remoteobj', bytes: 'codec $bytes (base64)', serve, connect };
