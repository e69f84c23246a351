/**
 * The paired cases (e)–(k) of issue 15: each runs in one client process (worker.ts runPairs) with
 * remoteobj and the baseline the issue names side by side, taking turns, so both meet the same
 * neighbours on a busy machine and the ratio compares the software, not the minute it ran in.
 *
 *   (e) callback: the host calls a client function during a call, vs a plain call's round trip
 *   (f) stream: 1,000,000 small items with remoteobj's default window (and with a window of 1,024), vs raw NDJSON lines on the same socket
 *   (g) handle: a chain on a ref() handle vs the same chain on the root; open + release vs a round trip
 *   (h) cancel: host CPU per queued request cancelled with an AbortSignal
 *   (i) tls:// call vs raw TLS (both TCP loopback, mutual TLS)     — caseInterleaved
 *   (j) message-port call vs raw postMessage echo, Comlink beside  — caseInterleaved
 *   (k) (b) with a secret (the handshake binding) vs (b) without, in alternate blocks
 *   (l) (a)–(d) on this build vs the baseline build (--base; skipped without it), in turns
 *   (m) (a), (b), (d) on remoteobj vs raw in alternate blocks, each in a client process of its own (turns.ts)
 */
import { performance } from 'node:perf_hooks';
import { type CaseParams, caseChain, caseConcurrent, caseLarge } from './cases';
import type { BenchClient } from './impls/types';
import { caseInterleaved, type InterleavedResult, type Side } from './interleaved';
import { median, percentile } from './stats';

export const PAIR_CASES = ['e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'] as const;
export type PairCase = (typeof PAIR_CASES)[number];

export interface CallbackSide {
  /** Client → host → client: the tiny call, timed by the client. */
  plainP50Us: number;
  plainP99Us: number;
  /** Host → client → host: a call of the client's function from inside a host method, timed by the host. */
  callbackP50Us: number;
  callbackP99Us: number;
}
export interface StreamResult {
  items: number;
  /** Raw NDJSON: item lines read (and parsed) per second by the client. */
  rawPerSec: number;
  /** remoteobj: items read per second by `for await` over the RemoteIterable. */
  remoteobjPerSec: number;
  /** The same with `streamWindow: 1024` on the client (absent from runs before it was measured). */
  wideWindowPerSec?: number;
}
export interface HandleResult {
  /** Medians, taken in turns: the 5-op chain on the root, the same on a handle, a 1-op request. */
  rootChainUs: number;
  handleChainUs: number;
  oneUs: number;
  /** open() + $release() + a 1-op request (after which the host has read the release), minus a 1-op request's median. */
  openReleaseUs: number;
}
export interface CancelResult {
  requests: number;
  /** Host CPU per request (µs): reading it and queueing it behind the held lock. */
  arriveUs: number;
  /** Host CPU per request (µs): reading its cancel line and dropping it from the queue (no reply). */
  cancelUs: number;
  /** For scale: the same queued requests not cancelled, run and answered once the lock is free. */
  runUs: number;
}
export interface BindingResult {
  /** Medians over the blocks: (b)'s throughput and host CPU per 100,000 calls, without and with a secret. */
  withoutPerSec: number;
  withPerSec: number;
  withoutHostMsPer100k: number;
  withHostMsPer100k: number;
}
export interface PairResults {
  e?: { raw: CallbackSide; remoteobj: CallbackSide };
  f?: StreamResult;
  /** (a)–(d) on this build and the baseline (--base) in turns (issue 12's comparison). */
  l?: BaselineResult;
  g?: HandleResult;
  h?: CancelResult;
  /** Sides: raw-tls-tcp, remoteobj-tls. */
  i?: Record<string, InterleavedResult>;
  /** Sides: raw-port, remoteobj-port, comlink; in turns of PORT_BLOCK calls, and `everyCall` alternating every call. */
  j?: Record<string, InterleavedResult & { everyCall?: InterleavedResult }>;
  k?: BindingResult;
  /** (k) over tls:// (mutual TLS both ways): without and with a secret, whose proofs TLS 1.3 binds (no mac lines). */
  kTls?: BindingResult;
  /** (a), (b), (d) on raw and remoteobj in alternate blocks (turns.ts): what those targets are judged on when it ran. */
  m?: { raw: TurnsFigures; remoteobj: TurnsFigures };
}

/** One side's figures in case (m): medians over its blocks. */
export interface TurnsFigures {
  p50Us: number;
  p99Us: number;
  concPerSec: number;
  concHostMsPer100k: number;
  jsonMBps: number;
  bytesMBps: number;
}

/** (j)'s turns: this many calls in a row per implementation (interleaved.ts says why). */
export const PORT_BLOCK = 100;

const us = (ms: number) => ms * 1000;

/**
 * Case (e): rounds of `cbPer` sequential tiny calls (timed by the client) and one call in which the
 * host calls the client's function `cbPer` times in a row (each timed by the host), on raw and on
 * remoteobj in turn. raw's "callback" is its server writing a line the client answers.
 */
export async function caseCallback(sides: { name: 'raw' | 'remoteobj'; client: BenchClient }[], p: CaseParams): Promise<{ raw: CallbackSide; remoteobj: CallbackSide }> {
  const plain = new Map(sides.map((s) => [s.name, [] as number[]]));
  const back = new Map(sides.map((s) => [s.name, [] as number[]]));
  // Round -1 warms both up (not kept).
  for (let r = -1; r < p.cbRounds; r++) {
    for (let k = 0; k < sides.length; k++) {
      const s = sides[(r + 1 + k) % sides.length]!;
      for (let i = 0; i < p.cbPer; i++) {
        const t = performance.now();
        await s.client.add(1);
        if (r >= 0) plain.get(s.name)!.push(performance.now() - t);
      }
      const times = await s.client.callbackLoop!(p.cbPer);
      if (times.length !== p.cbPer) throw new Error(`case (e): ${s.name} made ${times.length} callbacks, not ${p.cbPer}`);
      if (r >= 0) back.get(s.name)!.push(...times);
    }
  }
  const side = (name: 'raw' | 'remoteobj'): CallbackSide => ({
    plainP50Us: us(percentile(plain.get(name)!, 50)),
    plainP99Us: us(percentile(plain.get(name)!, 99)),
    callbackP50Us: us(percentile(back.get(name)!, 50)),
    callbackP99Us: us(percentile(back.get(name)!, 99)),
  });
  return { raw: side('raw'), remoteobj: side('remoteobj') };
}

/**
 * Case (f): streams of `streamItems` items `{n}` read to their end on raw and on remoteobj, over
 * the same kind of Unix socket, `streamRounds` times each in rotation (who goes first rotates, and
 * `rawFirst` starts the rotation, so it alternates from run to run); each side's median round.
 * Both host sides read the same async generator (BenchTarget.items), so the difference is the wire.
 * A round is ~0.5 s: one stream per side per run let a burst of load on the machine land on one
 * side only (the same build measured 0.76–1.19× raw from one run to the next).
 */
export async function caseStream(raw: BenchClient, ro: BenchClient, wide: BenchClient, p: CaseParams, rawFirst: boolean): Promise<StreamResult> {
  const warm = Math.min(p.streamItems, 20_000);
  const time = async (c: BenchClient, n: number) => {
    const t = performance.now();
    const got = await c.stream!(n);
    const ms = performance.now() - t;
    if (got !== n) throw new Error(`case (f): ${got} items arrived of ${n}`);
    return n / (ms / 1000);
  };
  await time(raw, warm);
  await time(ro, warm);
  await time(wide, warm);
  const order = rawFirst ? [raw, ro, wide] : [wide, ro, raw];
  const rates = new Map<BenchClient, number[]>(order.map((c) => [c, []]));
  for (let round = 0; round < p.streamRounds; round++) {
    for (let k = 0; k < order.length; k++) {
      const c = order[(round + k) % order.length]!;
      rates.get(c)!.push(await time(c, p.streamItems));
    }
  }
  return { items: p.streamItems, rawPerSec: median(rates.get(raw)!), remoteobjPerSec: median(rates.get(ro)!), wideWindowPerSec: median(rates.get(wide)!) };
}

/**
 * Case (g), remoteobj only: in turns, the 5-op chain `data.users[3].profile.name` on the root and
 * on a handle to an object of the same shape (opened once), a 1-op request (`version`), and
 * open() + $release() followed by a 1-op request. $release() sends a message and resolves without
 * waiting for the host; the 1-op request after it comes back once the host has read the release,
 * so its median, minus a 1-op request's, is what open + release cost.
 */
export async function caseHandle(client: BenchClient, p: CaseParams): Promise<HandleResult> {
  const remote = client.remote;
  const handle = await remote.open();
  const expected = await remote.data.users[3].profile.name;
  if ((await handle.data.users[3].profile.name) !== expected) throw new Error('case (g): the handle chain read something else');
  const root = new Float64Array(p.handleIters);
  const onHandle = new Float64Array(p.handleIters);
  const one = new Float64Array(p.handleIters);
  const openRelease = new Float64Array(p.handleIters);
  const opened0 = await remote.opened;
  for (let i = -p.handleWarm; i < p.handleIters; i++) {
    const t0 = performance.now();
    await remote.data.users[3].profile.name;
    const t1 = performance.now();
    await handle.data.users[3].profile.name;
    const t2 = performance.now();
    await remote.version;
    const t3 = performance.now();
    const h = await remote.open();
    await h.$release();
    await remote.version;
    const t4 = performance.now();
    if (i >= 0) {
      root[i] = t1 - t0;
      onHandle[i] = t2 - t1;
      one[i] = t3 - t2;
      openRelease[i] = t4 - t3;
    }
  }
  await handle.$release();
  await remote.version;
  // Every handle opened here has been released and disposed on the host: none leaked.
  const [opened, disposed] = [await remote.opened, await remote.disposed];
  if (opened - opened0 !== p.handleWarm + p.handleIters || disposed !== opened) throw new Error(`case (g): ${opened} handles opened, ${disposed} disposed`);
  return {
    rootChainUs: us(median(root)),
    handleChainUs: us(median(onHandle)),
    oneUs: us(median(one)),
    openReleaseUs: us(median(openRelease) - median(one)),
  };
}

/** What case (h) asks of the host process (over its IPC channel). */
export interface CancelHost {
  cpu(): Promise<NodeJS.CpuUsage>;
  /**
   * Resolves with the host's CPU reading at the moment exactly `n` requests wait for the lock (and,
   * with `held`, hold() runs); with `collect`, the host first runs a full collection.
   */
  waitQueued(n: number, held?: boolean, collect?: boolean): Promise<NodeJS.CpuUsage>;
  releaseHold(): Promise<void>;
}

const cpuUs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => b.user - a.user + (b.system - a.system);

/**
 * Case (h), remoteobj only. Each round: client 0 calls `hold()`, which keeps the host's lock;
 * every client sends `cancelPer` tiny calls, each with its own AbortSignal, which queue behind it
 * (fewer than maxQueuedPerConnection, so the host keeps reading); the host's CPU is read when all
 * have arrived (`host.queued`), then every signal is aborted and the CPU is read again when the
 * queue is empty. Arrival and cancel are priced apart: a request costs its arrival whether or not
 * it is cancelled; the cancel is what the "≤ 1 µs" is about. Every other round, the same
 * requests are not cancelled but run once the hold ends, for scale. The host checks its queue on a
 * 1 ms timer and answers over IPC; the CPU of one reading (measured in each round with nothing to
 * wait for) is taken off each phase, and what is left of the timer's turns is a few µs per phase,
 * over thousands of requests.
 */
export async function caseCancel(clients: BenchClient[], host: CancelHost, p: CaseParams): Promise<CancelResult> {
  const n = clients.length * p.cancelPer;
  let arrive = 0;
  let cancel = 0;
  let run = 0;
  let cancelled = 0;
  let ran = 0;
  const holder = clients[0]!.remote;
  // The rounds before 0 warm up (cancelled and run in turn, not counted).
  for (let r = -2 * p.cancelWarm; r < 2 * p.cancelRounds; r++) {
    const cancelThisRound = (r & 1) === 0;
    const held = holder.hold();
    // Only once hold() runs: requests that came first would run at once instead of queueing.
    const before = await host.waitQueued(0, true);
    // What one reading costs the host (the IPC message, one check, the reply), taken off each phase.
    const idle = await host.waitQueued(0, true);
    const reading = cpuUs(before, idle);
    const controllers: AbortController[] = [];
    const calls: Promise<unknown>[] = [];
    for (const c of clients) {
      for (let i = 0; i < p.cancelPer; i++) {
        const ac = new AbortController();
        controllers.push(ac);
        calls.push(Promise.resolve(c.remote.add(0).$get({ signal: ac.signal })).then(
          () => 'ran',
          (e: Error) => e.name,
        ));
      }
    }
    // The collections the queued requests lead to are a cost of their arrival, not of cancelling
    // them, but V8 runs them as idle tasks, whenever the host next waits for input: often in the
    // middle of the cancels. Seen in `--trace-gc` with 4,000 requests a round: the scavenge that
    // copies the live queued requests (10–13 ms; two cancelled rounds of ten at 3.4–3.9 µs a cancel
    // against 0.5–0.9 for the rest), and, as the requests of earlier rounds pile up in the old generation, a
    // mark-compact finishing there (one round of ten at 7.9 µs). So the host runs a full
    // collection once they are all in, inside the arrival's reading: the cancel phase starts with
    // nothing pending and pays for what cancelling allocates (~70 bytes a request) and no more.
    const arrived = await host.waitQueued(n, false, true);
    if (cancelThisRound) {
      for (const ac of controllers) ac.abort();
      const emptied = await host.waitQueued(0);
      const outcomes = await Promise.all(calls);
      if (outcomes.some((o) => o !== 'AbortError')) throw new Error(`case (h): a cancelled request ended as ${outcomes.find((o) => o !== 'AbortError')}`);
      await host.releaseHold();
      await held;
      if (r >= 0) {
        arrive += cpuUs(idle, arrived) - reading;
        cancel += cpuUs(arrived, emptied) - reading;
        cancelled += n;
      }
    } else {
      await host.releaseHold();
      const outcomes = await Promise.all(calls);
      const done = await host.cpu();
      await held;
      if (outcomes.some((o) => o !== 'ran')) throw new Error(`case (h): a queued request ended as ${outcomes.find((o) => o !== 'ran')}`);
      if (r >= 0) {
        run += cpuUs(arrived, done) - reading;
        ran += n;
      }
    }
  }
  return { requests: cancelled, arriveUs: arrive / cancelled, cancelUs: cancel / cancelled, runUs: run / ran };
}

/**
 * Case (k): case (b) (8 clients, each keeping 8 tiny calls in flight) on remoteobj without and
 * with a secret, in alternate blocks of a quarter of (b)'s calls each (who goes first alternating
 * by block), after one block of warm-up each. (b)'s own columns price the secret in separate
 * runs minutes apart; here both sides meet the same neighbours. The worker runs it twice: over
 * the Unix socket (a mac line per batch each way) and over tls:// (the proofs bound to TLS 1.3).
 */
export async function caseBinding(sides: { secret: boolean; clients: BenchClient[]; hostCpu: () => Promise<NodeJS.CpuUsage> }[], p: CaseParams): Promise<BindingResult> {
  const blocks = 4;
  const per = { ...p, concCalls: Math.ceil(p.concCalls / blocks), concWarm: 0 };
  const rate = new Map<boolean, number[]>([[false, []], [true, []]]);
  const cpu = new Map<boolean, number[]>([[false, []], [true, []]]);
  for (let b = -1; b < blocks; b++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(b + 1 + k) % sides.length]!;
      const r = await caseConcurrent(side.clients, b < 0 ? { ...per, concWarm: p.concWarm } : per, side.hostCpu);
      if (b >= 0) {
        rate.get(side.secret)!.push(r.callsPerSec);
        cpu.get(side.secret)!.push(r.hostCpuMsPer100k);
      }
    }
  }
  return {
    withoutPerSec: median(rate.get(false)!),
    withPerSec: median(rate.get(true)!),
    withoutHostMsPer100k: median(cpu.get(false)!),
    withHostMsPer100k: median(cpu.get(true)!),
  };
}

/** One build's figures in case (l): (a)–(d)'s main figures, medians of its blocks. */
export interface BuildFigures {
  p50Us: number;
  p99Us: number;
  concPerSec: number;
  concHostMsPer100k: number;
  oneUs: number;
  chainUs: number;
  jsonMBps: number;
  bytesMBps: number;
}
export interface BaselineResult {
  current: BuildFigures;
  baseline: BuildFigures;
}

/**
 * Case (l): this build (`remoteobj`) and the baseline build (`remoteobj@baseline`, --base) taking
 * turns in one client process, each with its own host: (a) as interleaved calls (one call each in
 * turn), and (b), (c), (d) in alternate blocks (four each, after a block of warm-up each, who goes
 * first alternating by block). The separate runs of the main table put minutes between the two
 * builds, and on a shared machine the same build moves 10–30 % from one run to the next; here both
 * meet the same neighbours, so the ratio compares the code (issue 12: within 5 %).
 */
export async function caseBaseline(
  sides: { key: 'current' | 'baseline'; client: BenchClient; clients: BenchClient[]; hostCpu: () => Promise<NodeJS.CpuUsage>; gc: Side['gc'] }[],
  p: CaseParams,
): Promise<BaselineResult> {
  const seq = await caseInterleaved(
    sides.map((s) => ({ impl: s.key, client: s.client, gc: s.gc })),
    p.seqCalls,
    p.seqWarm,
  );
  const blocks = 4;
  const conc = { ...p, concCalls: Math.ceil(p.concCalls / blocks), concWarm: 0 };
  const chain = { ...p, chainIters: Math.ceil(p.chainIters / blocks), chainWarm: 0 };
  const large = { ...p, largeIters: Math.max(2, Math.ceil(p.largeIters / blocks)), largeWarm: 0 };
  const got = new Map(sides.map((s) => [s.key, { conc: [] as number[], cpu: [] as number[], one: [] as number[], chain: [] as number[], json: [] as number[], bytes: [] as number[] }]));
  for (let b = -1; b < blocks; b++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(b + 1 + k) % sides.length]!;
      const warm = b < 0;
      const r = await caseConcurrent(side.clients, warm ? { ...conc, concWarm: p.concWarm } : conc, side.hostCpu);
      const c = await caseChain(side.client, warm ? { ...chain, chainWarm: p.chainWarm } : chain);
      const d = await caseLarge(side.client, warm ? { ...large, largeWarm: p.largeWarm } : large);
      if (warm) continue;
      const g = got.get(side.key)!;
      g.conc.push(r.callsPerSec);
      g.cpu.push(r.hostCpuMsPer100k);
      g.one.push(c.oneUs);
      g.chain.push(c.chainUs);
      g.json.push(d.jsonMBps);
      g.bytes.push(d.bytesMBps);
    }
  }
  const figures = (key: 'current' | 'baseline'): BuildFigures => {
    const g = got.get(key)!;
    return {
      p50Us: seq[key]!.p50Us,
      p99Us: seq[key]!.p99Us,
      concPerSec: median(g.conc),
      concHostMsPer100k: median(g.cpu),
      oneUs: median(g.one),
      chainUs: median(g.chain),
      jsonMBps: median(g.json),
      bytesMBps: median(g.bytes),
    };
  };
  return { current: figures('current'), baseline: figures('baseline') };
}
