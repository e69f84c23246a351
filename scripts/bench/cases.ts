/**
 * The benchmark cases, written once against BenchClient so every implementation runs the very
 * same loop. Each case warms up first; timings use performance.now() (sub-µs resolution).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BenchClient } from './impls/types';
import { percentile, median } from './stats';
import { bytesPayload, mixedJson } from './target';
import { type GcPause, type GcSummary, overlapping, startGcRecording, stopGcRecording, summarizeGc } from './gc';

/** The cases every implementation runs, one column each; (e)–(k) are paired cases (pairs.ts). */
export const CASES = ['a', 'b', 'c', 'd'] as const;
export type CaseName = (typeof CASES)[number];

export interface CaseParams {
  seqCalls: number;
  seqWarm: number;
  concClients: number;
  /** Requests each client keeps in flight. */
  concWindow: number;
  /** Calls over all clients. */
  concCalls: number;
  concWarm: number;
  chainIters: number;
  chainWarm: number;
  largeIters: number;
  largeWarm: number;
  largeBytes: number;
  /** (e): rounds of `cbPer` plain calls and `cbPer` callbacks, per side. */
  cbRounds: number;
  cbPer: number;
  /** (f): items in the stream each side reads, and how many times each side reads one (the median counts). */
  streamItems: number;
  streamRounds: number;
  /** (g): iterations of root chain, handle chain, 1-op, open + release. */
  handleIters: number;
  handleWarm: number;
  /** (h): rounds (each one cancelled and one run), clients, and requests each client queues per round. */
  cancelRounds: number;
  /** (h): warm-up rounds of each kind (cancelled, run) before the counted ones. */
  cancelWarm: number;
  cancelClients: number;
  cancelPer: number;
}

export const FULL: CaseParams = {
  // 10,000 so that p99.9 is the 10th slowest call, not a single outlier.
  seqCalls: 10000,
  seqWarm: 1500,
  concClients: 8,
  concWindow: 8,
  concCalls: 200000,
  concWarm: 40000,
  chainIters: 1500,
  chainWarm: 300,
  largeIters: 12,
  largeWarm: 3,
  largeBytes: 1 << 20,
  cbRounds: 10,
  cbPer: 500,
  streamItems: 1_000_000,
  streamRounds: 3,
  handleIters: 1500,
  handleWarm: 300,
  cancelRounds: 10,
  // In a host child cancelling 4,000 queued requests a round, the first two or three cancelled
  // rounds cost 1.3–2.4 µs a request and the later ones 0.4–0.95 (the cancel path is compiled
  // only once it runs): one warm-up round of each kind measured part of that.
  cancelWarm: 3,
  // 8 × 1,000 requests queued per round: under maxQueuedPerConnection (1,024) on each connection.
  // With 4, the cancel phase lasted 3–4 ms, and the figure moved by ±0.3 µs a request from run to
  // run (the host's 1 ms checks of its queue, the IPC); 8 halve that share.
  cancelClients: 8,
  cancelPer: 1000,
};

export const QUICK: CaseParams = {
  seqCalls: 200,
  seqWarm: 50,
  concClients: 8,
  concWindow: 8,
  concCalls: 1600,
  concWarm: 400,
  chainIters: 50,
  chainWarm: 10,
  largeIters: 2,
  largeWarm: 1,
  largeBytes: 1 << 20,
  cbRounds: 2,
  cbPer: 25,
  streamItems: 2000,
  streamRounds: 1,
  handleIters: 30,
  handleWarm: 5,
  cancelRounds: 1,
  cancelWarm: 1,
  cancelClients: 2,
  cancelPer: 50,
};

export interface SeqResult {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  /** The 10th slowest call of 10,000: the tail that a GC pause or a timer shows up in. */
  p999Us: number;
  callsPerSec: number;
  /** Host and client CPU (user + system) per 100,000 sequential calls, in ms. */
  hostCpuMsPer100k: number;
  clientCpuMsPer100k: number;
  /** GC pauses on each side over the timed part, and how many of the calls slower than p99 overlapped one. */
  gc: { client: GcSummary; host: GcSummary; slowCalls: number; slowDuringClientGc: number; slowDuringHostGc: number };
}
export interface ConcResult {
  callsPerSec: number;
  /** Host CPU (user + system) per 100,000 calls, in ms: case (e). */
  hostCpuMsPer100k: number;
  /** Of which in the kernel (system time: socket syscalls, epoll). */
  hostSystemMsPer100k: number;
  /** The same for the client process (all 8 clients), to see which side limits throughput. */
  clientCpuMsPer100k: number;
  clientSystemMsPer100k: number;
}
export interface ChainResult {
  oneUs: number;
  chainUs: number;
  fiveUs: number;
}
export interface LargeResult {
  jsonMBps: number;
  bytesMBps: number;
  /** Bytes the client wrote for one request, over the payload's own size (JSON text / raw bytes). */
  jsonWire: number;
  bytesWire: number;
  jsonPayloadBytes: number;
  /** CPU (user + system) of each side per iteration of the timed loop (one JSON echo and one bytes echo), in ms. */
  hostCpuMsPerPair: number;
  clientCpuMsPerPair: number;
}
export interface CaseResults {
  a?: SeqResult;
  b?: ConcResult;
  c?: ChainResult;
  d?: LargeResult;
}

/** Called right before and right after a case's timed part (the profiler uses them). */
export interface Marks {
  start(): Promise<void>;
  stop(): Promise<void>;
}
const NO_MARKS: Marks = { start: async () => {}, stop: async () => {} };

/** The host process's GC pauses over a case's timed part (asked over the worker's IPC channel). */
export interface HostGc {
  start(): Promise<void>;
  stop(): Promise<GcPause[]>;
}
const NO_HOST_GC: HostGc = { start: async () => {}, stop: async () => [] };

/** Case (a): sequential round trips of the tiny call on one connection. */
export async function caseSeq(client: BenchClient, p: CaseParams, hostCpu: () => Promise<NodeJS.CpuUsage>, marks = NO_MARKS, hostGc = NO_HOST_GC): Promise<SeqResult> {
  for (let i = 0; i < p.seqWarm; i++) await client.add(1);
  const lat = new Float64Array(p.seqCalls);
  const starts = new Float64Array(p.seqCalls);
  await marks.start();
  await hostGc.start();
  startGcRecording();
  const host0 = await hostCpu();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < p.seqCalls; i++) {
    const s = performance.now();
    await client.add(1);
    lat[i] = performance.now() - s;
    starts[i] = s;
  }
  const total = performance.now() - t0;
  const own = process.cpuUsage(own0);
  const host1 = await hostCpu();
  const clientPauses = await stopGcRecording();
  const hostPauses = await hostGc.stop();
  await marks.stop();
  const per100k = (us: number) => (us / 1000) * (100_000 / p.seqCalls);
  // The calls slower than p99, as absolute times, to line up with both sides' GC pauses.
  const p99 = percentile(lat, 99);
  const slow: { start: number; end: number }[] = [];
  for (let i = 0; i < lat.length; i++) if (lat[i]! > p99) slow.push({ start: performance.timeOrigin + starts[i]!, end: performance.timeOrigin + starts[i]! + lat[i]! });
  return {
    gc: {
      client: summarizeGc(clientPauses, p.seqCalls),
      host: summarizeGc(hostPauses, p.seqCalls),
      slowCalls: slow.length,
      slowDuringClientGc: overlapping(slow, clientPauses),
      slowDuringHostGc: overlapping(slow, hostPauses),
    },
    p50Us: percentile(lat, 50) * 1000,
    p90Us: percentile(lat, 90) * 1000,
    p99Us: percentile(lat, 99) * 1000,
    p999Us: percentile(lat, 99.9) * 1000,
    callsPerSec: p.seqCalls / (total / 1000),
    hostCpuMsPer100k: per100k(host1.user - host0.user + host1.system - host0.system),
    clientCpuMsPer100k: per100k(own.user + own.system),
  };
}

/** `total` tiny calls on one client, `window` of them in flight at any time. */
export function pipeline(client: BenchClient, total: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    const next = (): void => {
      done++;
      if (issued < total) {
        issued++;
        client.add(1).then(next, reject);
      } else if (done === total) resolve();
    };
    if (total === 0) return resolve();
    while (issued < Math.min(window, total)) {
      issued++;
      client.add(1).then(next, reject);
    }
  });
}

/** Case (b) and (e): `clients` connections, each pipelining, all at once; host CPU read around the timed part. */
export async function caseConcurrent(
  clients: BenchClient[],
  p: CaseParams,
  hostCpu: () => Promise<NodeJS.CpuUsage>,
  marks = NO_MARKS,
): Promise<ConcResult> {
  const per = Math.ceil(p.concCalls / clients.length);
  await Promise.all(clients.map((c) => pipeline(c, Math.ceil(p.concWarm / clients.length), p.concWindow)));
  await marks.start();
  const cpu0 = await hostCpu();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(clients.map((c) => pipeline(c, per, p.concWindow)));
  const elapsed = performance.now() - t0;
  const own = process.cpuUsage(own0);
  const cpu1 = await hostCpu();
  await marks.stop();
  const calls = per * clients.length;
  const hostUs = cpu1.user - cpu0.user + (cpu1.system - cpu0.system);
  const per100k = (us: number) => (us / 1000) * (100_000 / calls);
  return {
    callsPerSec: calls / (elapsed / 1000),
    hostCpuMsPer100k: per100k(hostUs),
    hostSystemMsPer100k: per100k(cpu1.system - cpu0.system),
    clientCpuMsPer100k: per100k(own.user + own.system),
    clientSystemMsPer100k: per100k(own.system),
  };
}

/** Case (c): a 1-op read, the 5-op chain in one request, and five 1-op requests in a row; interleaved so noise hits all three alike. */
export async function caseChain(client: BenchClient, p: CaseParams): Promise<ChainResult> {
  const one = new Float64Array(p.chainIters);
  const chain = new Float64Array(p.chainIters);
  const five = new Float64Array(p.chainIters);
  for (let i = -p.chainWarm; i < p.chainIters; i++) {
    const s = performance.now();
    await client.one();
    const t1 = performance.now();
    await client.chain();
    const t2 = performance.now();
    for (let k = 0; k < 5; k++) await client.one();
    const t3 = performance.now();
    if (i >= 0) {
      one[i] = t1 - s;
      chain[i] = t2 - t1;
      five[i] = t3 - t2;
    }
  }
  return { oneUs: median(one) * 1000, chainUs: median(chain) * 1000, fiveUs: median(five) * 1000 };
}

let payloads: { json: unknown[]; jsonText: string; bytes: Uint8Array } | undefined;
function largePayloads(size: number) {
  if (!payloads) {
    const json = mixedJson(size);
    payloads = { json, jsonText: JSON.stringify(json), bytes: bytesPayload(size) };
  }
  return payloads;
}

/** Case (d): echo 1 MiB of mixed JSON and a 1 MiB Uint8Array (each goes there and back). */
export async function caseLarge(client: BenchClient, p: CaseParams, marks = NO_MARKS, hostCpu?: () => Promise<NodeJS.CpuUsage>): Promise<LargeResult> {
  const { json, jsonText, bytes } = largePayloads(p.largeBytes);
  const jsonPayloadBytes = Buffer.byteLength(jsonText);
  // Correctness first (untimed): what comes back is what went.
  const backJson = await client.echo(json);
  if (JSON.stringify(backJson) !== jsonText) throw new Error('case (d): the JSON echo came back different');
  const backBytes = await client.echoBytes(bytes);
  if (!(backBytes instanceof Uint8Array) || !Buffer.from(backBytes).equals(Buffer.from(bytes))) throw new Error('case (d): the bytes echo came back different');
  const jsonWire = (await bytesWritten(() => client.echo(json))) / jsonPayloadBytes;
  const bytesWire = (await bytesWritten(() => client.echoBytes(bytes))) / bytes.byteLength;

  const tj = new Float64Array(p.largeIters);
  const tb = new Float64Array(p.largeIters);
  let host0: NodeJS.CpuUsage | undefined;
  let own0: NodeJS.CpuUsage | undefined;
  for (let i = -p.largeWarm; i < p.largeIters; i++) {
    if (i === 0) {
      await marks.start();
      host0 = await hostCpu?.();
      own0 = process.cpuUsage();
    }
    const s = performance.now();
    await client.echo(json);
    const t1 = performance.now();
    await client.echoBytes(bytes);
    const t2 = performance.now();
    if (i >= 0) {
      tj[i] = t1 - s;
      tb[i] = t2 - t1;
    }
  }
  const own = process.cpuUsage(own0);
  const host1 = await hostCpu?.();
  await marks.stop();
  const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000 / p.largeIters;
  // Both directions: the payload crosses the socket twice per echo.
  const mbps = (payload: number, ms: number) => (2 * payload) / (1 << 20) / (ms / 1000);
  return {
    jsonMBps: mbps(jsonPayloadBytes, median(tj)),
    bytesMBps: mbps(bytes.byteLength, median(tb)),
    jsonWire,
    bytesWire,
    jsonPayloadBytes,
    hostCpuMsPerPair: host0 && host1 ? ms({ user: host1.user - host0.user, system: host1.system - host0.system }) : NaN,
    clientCpuMsPerPair: ms(own),
  };
}

/**
 * Bytes this process writes to sockets while `fn` runs (the request side of one echo): counts
 * what really goes to the socket, framing included, whatever the library's internals.
 */
async function bytesWritten(fn: () => PromiseLike<unknown>): Promise<number> {
  const proto = net.Socket.prototype as unknown as { write: (...args: unknown[]) => boolean };
  const original = proto.write;
  const own = Object.prototype.hasOwnProperty.call(proto, 'write');
  let total = 0;
  proto.write = function (this: net.Socket, data: unknown, ...rest: unknown[]) {
    const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
    total += typeof data === 'string' ? Buffer.byteLength(data, encoding) : (data as Uint8Array).byteLength;
    return original.call(this, data, ...rest);
  };
  try {
    await fn();
  } finally {
    if (own) proto.write = original;
    else delete (proto as { write?: unknown }).write;
  }
  return total;
}
