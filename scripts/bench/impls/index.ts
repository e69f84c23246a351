import { birpc } from './birpc';
import { raw } from './raw';
import { rawTls } from './raw-tls';
import { comlink, rawPort } from './port';
import { remoteobj, remoteobjBaseline, remoteobjSecret } from './remoteobj';
import type { BenchImpl } from './types';
import { vscodeJsonrpc } from './vscode-jsonrpc';
import { IMPL_NAMES } from './names';

/** Every implementation, baseline first. */
export const IMPLS: readonly BenchImpl[] = [raw, remoteobj, remoteobjSecret, vscodeJsonrpc, birpc, rawTls, rawPort, comlink, ...(process.env.BENCH_BASELINE ? [remoteobjBaseline] : [])];
if (IMPLS.slice(0, IMPL_NAMES.length).map((i) => i.name).join() !== IMPL_NAMES.join()) throw new Error('impls/names.ts is out of date');

export function implByName(name: string): BenchImpl {
  const impl = IMPLS.find((i) => i.name === name);
  if (!impl) throw new Error(`unknown implementation "${name}"; known: ${IMPLS.map((i) => i.name).join(', ')}`);
  return impl;
}
