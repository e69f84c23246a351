import { birpc } from './birpc';
import { raw } from './raw';
import { rawTls, rawTlsTcp } from './raw-tls';
import { comlink, rawPort, remoteobjPort } from './port';
import { remoteobj, remoteobjBaseline, remoteobjSecret, remoteobjTls, remoteobjTlsSecret, remoteobjWideWindow } from './remoteobj';
import type { BenchImpl } from './types';
import { vscodeJsonrpc } from './vscode-jsonrpc';
import { IMPL_NAMES } from './names';

/** Every implementation, baseline first. */
export const IMPLS: readonly BenchImpl[] = [raw, remoteobj, remoteobjSecret, vscodeJsonrpc, birpc, rawTls, rawPort, comlink, ...(process.env.BENCH_BASELINE ? [remoteobjBaseline] : [])];
if (IMPLS.slice(0, IMPL_NAMES.length).map((i) => i.name).join() !== IMPL_NAMES.join()) throw new Error('impls/names.ts is out of date');

/** Sides of the paired cases only (f: a wider stream window, i: tls:// over TCP, j: a worker's port, k: tls:// with a secret), not columns of the main table. */
export const PAIR_IMPLS: readonly BenchImpl[] = [rawTlsTcp, remoteobjTls, remoteobjTlsSecret, remoteobjPort, remoteobjWideWindow];

export function implByName(name: string): BenchImpl {
  const impl = IMPLS.find((i) => i.name === name) ?? PAIR_IMPLS.find((i) => i.name === name);
  if (!impl) throw new Error(`unknown implementation "${name}"; known: ${[...IMPLS, ...PAIR_IMPLS].map((i) => i.name).join(', ')}`);
  return impl;
}
