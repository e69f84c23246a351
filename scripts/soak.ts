/**
 * `npm run soak -- [--clients 50] [--requests 2000] [--pipeline 20] [--seed 1] [--rounds 1] [--secret] [--json]`
 * (--secret: host and clients share a secret, so every line is authenticated)
 *
 * Load and soak: N clients, each on its own connection, send M requests to a host in a child
 * process — a seeded mix of reads, writes, method calls and echoes, pipelined in windows — and
 * check every reply against what it must be. At the end the host's state must be exactly what the
 * clients computed (nothing lost, nothing applied twice), every connection must be gone from the
 * host, and its memory (RSS and heap after gc, sampled throughout) and open file descriptors are
 * reported before and after. Exit code 0 when everything held, 1 otherwise.
 *
 * Also the host side: `soak.ts --host <socketPath> [secret]` (what the runner spawns).
 */
import fs from 'node:fs';
import { inspect, isDeepStrictEqual } from 'node:util';
import { connect, type Host, type Remote, serve } from '../src/index';
import { Rng, startChildHost, stopChild, tmpSocketPath } from './fuzz';

// ---------------------------------------------------------------------------------------------
// The hosted object.

export interface HostStats {
  memory: NodeJS.MemoryUsage;
  fds: number;
  connections: number;
  queued: number;
}

export class SoakTarget {
  total = 0;
  calls = 0;
  counters: Record<string, number> = {};
  slots: Record<string, unknown> = {};
  host?: Host<SoakTarget>;

  /** Add n to this client's counter and to the total; returns the client's new counter. */
  add(client: string, n: number): number {
    this.calls++;
    this.total += n;
    this.counters[client] = (this.counters[client] ?? 0) + n;
    return this.counters[client];
  }
  echo<T>(x: T): T {
    return x;
  }
  async addLater(client: string, n: number): Promise<number> {
    await new Promise((r) => setImmediate(r));
    return this.add(client, n);
  }
  snapshot(): { total: number; calls: number; counters: Record<string, number>; slots: Record<string, unknown> } {
    return { total: this.total, calls: this.calls, counters: this.counters, slots: this.slots };
  }
  stats(): HostStats {
    (globalThis as { gc?: () => void }).gc?.();
    let fds = -1;
    try {
      fds = fs.readdirSync('/proc/self/fd').length;
    } catch {
      /* not Linux */
    }
    return { memory: process.memoryUsage(), fds, connections: this.host?.connections ?? -1, queued: this.host?.queued ?? -1 };
  }
}

async function runHost(socketPath: string, secret: string | undefined): Promise<void> {
  const target = new SoakTarget();
  const host = await serve(target, socketPath, { localBypass: false, expose: (req) => req.key !== 'host', secret });
  target.host = host;
  process.once('SIGTERM', () => {
    void host.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

// ---------------------------------------------------------------------------------------------
// One client.

interface ClientResult {
  sent: number;
  correct: number;
  wrong: string[];
  counter: number;
  added: number;
  calls: number;
  slot: unknown;
}

function randomValue(rng: Rng): unknown {
  switch (rng.int(0, 5)) {
    case 0:
      return rng.int(-1e9, 1e9);
    case 1:
      return `text-${rng.int(0, 1e6)}-é€𝄞`;
    case 2:
      return { a: [1, 2, { b: rng.int(0, 100) }], when: new Date(rng.int(0, 4e12)) };
    case 3:
      return new Map([[rng.int(0, 9), `v${rng.int(0, 9)}`]]);
    case 4:
      return BigInt(rng.int(0, 1e9)) ** 3n;
    default:
      return null;
  }
}

async function runClient(socketPath: string, id: string, index: number, requests: number, pipeline: number, seed: number, secret: string | undefined): Promise<ClientResult> {
  const remote = (await connect<SoakTarget>(socketPath, { localBypass: false, timeout: 60_000, secret })) as Remote<SoakTarget>;
  const rng = new Rng(seed * 1000 + index);
  const r: ClientResult = { sent: 0, correct: 0, wrong: [], counter: 0, added: 0, calls: 0, slot: undefined };
  let counter = 0;
  let slot: unknown = undefined;
  while (r.sent < requests) {
    // One window: requests in flight together, each with the answer it must get. The expected
    // values follow the order of sending: one connection's requests run in that order on the host.
    const window: [what: string, reply: PromiseLike<unknown>, want: unknown][] = [];
    for (let k = 0; k < pipeline && r.sent < requests; k++, r.sent++) {
      const roll = rng.next();
      if (roll < 0.3) {
        const n = rng.int(1, 100);
        counter += n;
        r.added += n;
        r.calls++;
        window.push(['add', remote.add(id, n), counter]);
      } else if (roll < 0.4) {
        const n = rng.int(1, 100);
        counter += n;
        r.added += n;
        r.calls++;
        window.push(['addLater', remote.addLater(id, n), counter]);
      } else if (roll < 0.6) {
        slot = randomValue(rng);
        window.push(['set', remote.slots.$set(id, slot), undefined]);
      } else if (roll < 0.8) {
        window.push(['get slot', remote.slots[id]!.$get(), slot]);
      } else if (roll < 0.9) {
        window.push(['get counter', remote.counters[id]!.$get(), counter === 0 ? undefined : counter]);
      } else {
        const v = randomValue(rng);
        window.push(['echo', remote.echo(v), v]);
      }
    }
    const replies = await Promise.allSettled(window.map(([, p]) => p));
    replies.forEach((settled, i) => {
      const [what, , want] = window[i]!;
      if (settled.status === 'rejected') r.wrong.push(`${id} ${what}: ${(settled.reason as Error).name}: ${(settled.reason as Error).message}`);
      else if (isDeepStrictEqual(settled.value, want)) r.correct++;
      else r.wrong.push(`${id} ${what}: got ${inspect(settled.value)}, want ${inspect(want)}`);
    });
  }
  r.counter = counter;
  r.slot = slot;
  await remote.$close();
  return r;
}

// ---------------------------------------------------------------------------------------------
// The run.

export interface SoakOptions {
  clients: number;
  requests: number;
  pipeline: number;
  seed: number;
  /** Run the whole workload this many times, new connections each time (default 1): memory should plateau. */
  rounds?: number;
  /** Serve and connect with this shared secret (handshake and line authentication on every connection). */
  secret?: string;
  log?: (line: string) => void;
}

export interface SoakReport {
  clients: number;
  requestsPerClient: number;
  sent: number;
  correct: number;
  wrong: string[];
  finalStateExact: boolean;
  stateProblems: string[];
  elapsedMs: number;
  requestsPerSecond: number;
  before: HostStats;
  peakRss: number;
  /** RSS and heap (after gc) at the end of each round. */
  rounds: { rss: number; heapUsed: number }[];
  after: HostStats;
  hostExit: { code: number | null; signal: NodeJS.Signals | null };
  failures: string[];
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const socketPath = tmpSocketPath('soak');
  const { child, output } = await startChildHost(__filename, opts.secret === undefined ? [socketPath] : [socketPath, opts.secret]);
  const failures: string[] = [];
  const report = { clients: opts.clients, requestsPerClient: opts.requests, failures } as SoakReport;
  try {
    const meter = await connect<SoakTarget>(socketPath, { localBypass: false, secret: opts.secret });
    report.before = await meter.stats();
    report.peakRss = report.before.memory.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await new Promise((r) => setTimeout(r, 250));
        const s = await meter.stats();
        report.peakRss = Math.max(report.peakRss, s.memory.rss);
      }
    })();

    const started = Date.now();
    const results: (ClientResult & { id: string })[] = [];
    report.rounds = [];
    for (let round = 0; round < (opts.rounds ?? 1); round++) {
      let done = 0;
      results.push(
        ...(await Promise.all(
          Array.from({ length: opts.clients }, (_, i) => {
            const id = `r${round}c${i}`;
            return runClient(socketPath, id, i + round * opts.clients, opts.requests, opts.pipeline, opts.seed, opts.secret).then((r) => {
              if (++done % 10 === 0) log(`round ${round + 1}: ${done}/${opts.clients} clients done`);
              return { ...r, id };
            });
          }),
        )),
      );
      const s = await meter.stats();
      report.rounds.push({ rss: s.memory.rss, heapUsed: s.memory.heapUsed });
    }
    report.elapsedMs = Date.now() - started;
    sampling = false;
    await sampler;

    report.sent = results.reduce((n, r) => n + r.sent, 0);
    report.correct = results.reduce((n, r) => n + r.correct, 0);
    report.wrong = results.flatMap((r) => r.wrong);
    report.requestsPerSecond = Math.round(report.sent / (report.elapsedMs / 1000));

    // The final state, exactly as the clients computed it.
    const state = await meter.snapshot();
    const problems: string[] = [];
    const total = results.reduce((n, r) => n + r.added, 0);
    const calls = results.reduce((n, r) => n + r.calls, 0);
    if (state.total !== total) problems.push(`total ${state.total}, computed ${total}`);
    if (state.calls !== calls) problems.push(`calls ${state.calls}, computed ${calls}`);
    results.forEach((r) => {
      const id = r.id;
      if ((state.counters[id] ?? 0) !== r.counter) problems.push(`${id}: counter ${state.counters[id]}, computed ${r.counter}`);
      if (!isDeepStrictEqual(state.slots[id], r.slot)) problems.push(`${id}: slot ${String(state.slots[id])}, computed ${String(r.slot)}`);
    });
    report.stateProblems = problems;
    report.finalStateExact = problems.length === 0;

    // Every client has hung up: the host must have forgotten them (only the meter is left).
    const deadline = Date.now() + 10_000;
    for (;;) {
      report.after = await meter.stats();
      if (report.after.connections <= 1 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await meter.$close();
  } catch (e) {
    failures.push(`run failed: ${(e as Error).stack}`);
  } finally {
    report.hostExit = await stopChild(child);
  }
  const expected = opts.clients * opts.requests * (opts.rounds ?? 1);
  if (report.sent !== expected) failures.push(`sent ${report.sent}, expected ${expected}`);
  if (report.correct !== report.sent) failures.push(`${report.sent - report.correct} of ${report.sent} replies wrong, e.g. ${report.wrong?.[0]}`);
  if (!report.finalStateExact) failures.push(`final state differs: ${report.stateProblems?.slice(0, 5).join('; ')}`);
  if (report.after && report.after.connections !== 1) failures.push(`the host still had ${report.after.connections} connections after every client closed`);
  if (report.after && report.after.queued !== 0) failures.push(`the host still had ${report.after.queued} queued requests`);
  if (report.hostExit.code !== 0) failures.push(`host did not close cleanly: ${JSON.stringify(report.hostExit)}; output: ${output().slice(0, 500)}`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Command line.

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 1) throw new Error(`${name} needs a positive number`);
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--host') return runHost(args[1]!, args[2]);
  const opts: SoakOptions = {
    clients: flag(args, '--clients', 50),
    requests: flag(args, '--requests', 2000),
    pipeline: flag(args, '--pipeline', 20),
    seed: flag(args, '--seed', 1),
    rounds: flag(args, '--rounds', 1),
    secret: args.includes('--secret') ? `soak-${process.pid}-${Date.now()}` : undefined,
    log: (l) => console.error(`  ${l}`),
  };
  console.error(
    `soak: ${opts.rounds} round(s) of ${opts.clients} clients × ${opts.requests} requests, pipelined ${opts.pipeline} at a time, seed ${opts.seed}${opts.secret ? ', with a secret' : ''}`,
  );
  const r = await runSoak(opts);
  if (args.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else if (r.before && r.after) {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    console.log(`${r.sent} requests from ${r.clients} clients${r.rounds.length > 1 ? ` × ${r.rounds.length} rounds` : ''} in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.requestsPerSecond}/s): ${r.correct} correct, ${r.wrong.length} wrong`);
    console.log(`  final state exact: ${r.finalStateExact}`);
    console.log(`  host RSS ${mib(r.before.memory.rss)} before, ${mib(r.peakRss)} peak, ${mib(r.after.memory.rss)} after`);
    if (r.rounds.length > 1) console.log(`  after each round: RSS ${r.rounds.map((x) => mib(x.rss)).join(', ')}; heap ${r.rounds.map((x) => mib(x.heapUsed)).join(', ')}`);
    console.log(`  host heap (after gc) ${mib(r.before.memory.heapUsed)} before, ${mib(r.after.memory.heapUsed)} after`);
    console.log(`  host fds ${r.before.fds} before, ${r.after.fds} after; connections after ${r.after.connections} (the meter), queued ${r.after.queued}`);
  }
  if (r.failures.length) {
    console.error(`FAILED:\n  ${r.failures.join('\n  ')}`);
    process.exitCode = 1;
  } else console.error('OK');
}

if (require.main === module) {
  main().catch((e) => {
    console.error((e as Error).stack);
    process.exit(1);
  });
}
