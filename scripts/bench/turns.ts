/**
 * Case (m): raw and remoteobj in alternate blocks, each side in a client process of its own with
 * its own host (worker.ts runTurnsSide). The main table's separate runs put minutes between raw's
 * run and remoteobj's, and on this shared 2-core VM the speed moves more than the targets' margins
 * in minutes: remoteobj's (b) was 0.52× and 0.75× raw in two full runs and 0.92× in a `--cases b`
 * run, within one hour (2026-12-02), and in the first raw's own (b) ran at 566k calls/s against
 * its usual ~300k. In turns of a few tenths of a second both sides meet the same neighbours.
 *
 * Each side gets its own client process because sharing one was not fair either: with raw's and
 * remoteobj's clients in one process, raw's (b) fell from ~313k calls/s (alone) to ~219k while
 * remoteobj's did not move — the harness's functions, serving two kinds of client, slowed the lean
 * one most. And each of (a), (b), (d) gets a fresh pair of workers: with all three in every block,
 * (b) after a 1 MiB echo came out 1.04× raw in one run; with (b) alone in its blocks, 0.91×, 0.95×,
 * 0.78× and 0.79× in four.
 *
 * Is it fair? The control, `--turns-same IMPL`, runs the same implementation on both sides. With
 * 4 blocks a side, raw against raw gave the side named remoteobj 1.19× the other's (b) throughput
 * in one run (and remoteobj against remoteobj 1.13×): single blocks were that noisy, not the
 * harness biased (see BLOCKS). With 12 blocks a side, over 3 runs, see docs/performance.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { CaseParams } from './cases';
import { childExecArgv, forkVia, pinning } from './lib';
import type { TurnsFigures } from './pairs';
import { median } from './stats';
import type { TurnsAnswer, TurnsAsk, WorkerTask } from './worker';

/**
 * Measured blocks per side and case, after one of warm-up; each is a quarter of the case's calls
 * (blockShare), so (b)'s blocks are 50,000 calls, 0.1–0.15 s. Blocks that short move ±20 % from
 * one to the next on this VM (raw's (b): 307k–619k calls/s within one run, 2026-12-02), so the
 * medians need many: with 4 a side, raw against raw (--turns-same raw) gave the side named
 * remoteobj 1.19×, 0.95× and 1.01× the other's in three runs; with 12, see docs/performance.md.
 */
const BLOCKS = 12;
/**
 * (d)'s blocks are half its iterations: with a quarter (3 echoes of 1 MiB, ~60 ms for bytes), the
 * bytes echo of remoteobj against remoteobj came out 0.92× and raw's against raw's 1.14×.
 */
const blockShare = (c: TurnsCase) => (c === 'd' ? 2 : 4);
/** One case, both sides: far more than it takes (~5 s on the 2-core VM). */
const DEADLINE_MS = 240_000;

type Side = 'raw' | 'remoteobj';

/**
 * `--turns-same IMPL` (run.ts) runs IMPL on both sides, still named raw and remoteobj: the
 * control that shows how far (m) leans towards one side when there is nothing to tell apart.
 */
export function sameImpl(): string | undefined {
  return process.env.BENCH_TURNS_SAME || undefined;
}
type TurnsCase = 'a' | 'b' | 'd';

class TurnsWorker {
  readonly #child: ChildProcess;
  readonly #answers: TurnsAnswer[] = [];
  #wake?: () => void;
  #exited?: Error;

  constructor(benchDir: string, impl: Side, c: TurnsCase, params: CaseParams) {
    const task: WorkerTask = { kind: 'turns', impl: sameImpl() ?? impl, c, params, share: blockShare(c) };
    this.#child = fork(path.join(benchDir, 'worker.js'), [JSON.stringify(task)], {
      ...forkVia(pinning() === 'none' ? undefined : 0, childExecArgv()),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: TurnsAnswer) => {
      this.#answers.push(m);
      this.#wake?.();
    });
    this.#child.once('exit', (code, signal) => {
      this.#exited = new Error(`the ${impl} side of (m) exited (${signal ?? `exit code ${code}`})`);
      this.#wake?.();
    });
  }

  async answer(): Promise<TurnsAnswer> {
    for (;;) {
      if (this.#answers.length > 0) return this.#answers.shift()!;
      if (this.#exited) throw this.#exited;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  async block(kind: 'warm' | 'measure'): Promise<Partial<TurnsFigures>> {
    this.#child.send({ block: kind } satisfies TurnsAsk);
    const a = await this.answer();
    if (!('figures' in a)) throw new Error('(m): a worker answered a block with something else');
    return a.figures;
  }

  /** Ask it to close its clients and host, and wait for it to exit (killed if it does not). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    if (this.#child.connected) this.#child.send({ done: true } satisfies TurnsAsk);
    else this.#child.kill('SIGKILL');
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

/** Case (m) once: (a), (b) and (d), each with a fresh pair of workers; `run` (0, 1, …) alternates the order and which side goes first. */
export async function runTurns(benchDir: string, params: CaseParams, run: number, verbose = false): Promise<{ raw: TurnsFigures; remoteobj: TurnsFigures }> {
  const order: Side[] = run % 2 === 0 ? ['raw', 'remoteobj'] : ['remoteobj', 'raw'];
  const got = new Map<Side, Partial<TurnsFigures>[]>(order.map((s) => [s, []]));
  for (const c of (run % 2 === 0 ? ['a', 'b', 'd'] : ['d', 'b', 'a']) as TurnsCase[]) {
    const sides = await turnsOf(benchDir, c, params, order);
    if (verbose) for (const [side, figures] of sides) console.log(`run ${run + 1} (m) ${c} ${side}, block by block: ${JSON.stringify(figures)}`);
    for (const [side, figures] of sides) got.get(side)!.push(...figures);
  }
  const medians = (side: Side): TurnsFigures => {
    const of = (key: keyof TurnsFigures) => median(got.get(side)!.flatMap((f) => (f[key] === undefined ? [] : [f[key]!])));
    return { p50Us: of('p50Us'), p99Us: of('p99Us'), concPerSec: of('concPerSec'), concHostMsPer100k: of('concHostMsPer100k'), jsonMBps: of('jsonMBps'), bytesMBps: of('bytesMBps') };
  };
  return { raw: medians('raw'), remoteobj: medians('remoteobj') };
}

/** One case in alternate blocks (who goes first alternating by block), after a block of warm-up each. */
async function turnsOf(benchDir: string, c: TurnsCase, params: CaseParams, order: Side[]): Promise<Map<Side, Partial<TurnsFigures>[]>> {
  const workers = new Map<Side, TurnsWorker>();
  const deadline = setTimeout(() => workers.forEach((w) => w.kill()), DEADLINE_MS);
  try {
    for (const side of order) {
      const w = new TurnsWorker(benchDir, side, c, params);
      workers.set(side, w);
      const ready = await w.answer();
      if (!('ready' in ready)) throw new Error(`(m): the ${side} side did not start`);
    }
    const got = new Map<Side, Partial<TurnsFigures>[]>(order.map((s) => [s, []]));
    for (let b = -1; b < BLOCKS; b++) {
      for (let k = 0; k < order.length; k++) {
        const side = order[(b + 1 + k) % order.length]!;
        const figures = await workers.get(side)!.block(b < 0 ? 'warm' : 'measure');
        if (b >= 0) got.get(side)!.push(figures);
      }
    }
    return got;
  } finally {
    clearTimeout(deadline);
    await Promise.all([...workers.values()].map((w) => w.stop()));
  }
}
