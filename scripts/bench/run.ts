/**
 * `npm run bench`: raw NDJSON socket vs remoteobj vs peers, side by side, in one run.
 *
 * Every implementation runs every case in fresh processes (a worker that is the client, and
 * the host it forks), once per run; the case order is reversed and the implementation order
 * rotated from one run to the next; the table shows medians over the runs, and ratios to the
 * raw baseline. Then a memory check of remoteobj's host over many calls.
 *
 *   node -r ts-node/register scripts/bench/run.ts [--quick] [--runs N] [--mem N] [--impls a,b] [--lib dist|src] [--json FILE] [-v]
 *
 * --quick   a fast smoke pass (tiny counts, one run): checks that everything runs, not speed
 * --runs    fresh runs per implementation (default 3)
 * --mem     calls for the memory check (default 200000; up to 1000000; 0 skips it)
 * --lib     remoteobj from dist/ (default; build first) or src/ (through ts-node)
 * --base    DIR: also run remoteobj built in DIR/dist (e.g. main's) as remoteobj@baseline (the same as
 *           BENCH_BASELINE=DIR), in the same run: an A/B whose two sides meet the same neighbours
 * --pin     two (default: client on CPU 0, host on CPU 1), one (both on CPU 0: pure software cost), none
 * --cases   a subset of a,b,c,d (every implementation) and e,f,g,h,i,j,k,l,m (paired cases, pairs.ts: callback,
 *           stream, handle, cancel, tls://, message port, (b) with and without a secret, with
 *           --base (a)–(d) on this build and the baseline in turns, and (a), (b), (d) on remoteobj
 *           and raw in turns, each in a client process of its own);  --impls  a subset of raw,remoteobj,remoteobj+secret,
 *           vscode-jsonrpc,birpc,raw-tls,raw-port,comlink (the columns of a–d)
 * --turns-same IMPL  (m)'s control: IMPL on both of its sides (still named raw and remoteobj), to see
 *           how far (m) leans to one side when both are the same
 * --svg     FILE: write the plot of latency percentiles (vega-lite, SVG) there
 * --no-docs a full run writes its results into docs/performance.md (between the bench:results
 *           markers) and the plot to docs/performance-latency.svg; this skips that (--quick,
 *           --cases and --impls never write docs)
 * -v        print every run's figures too
 */
import { fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CASES, type CaseName, type CaseResults, FULL, QUICK } from './cases';
import { PAIR_CASES, type PairCase, type PairResults } from './pairs';
import { IMPLS } from './impls';
import { childExecArgv, forkVia, libKind, type Pinning, pinning, ROOT } from './lib';
import { compileBench, compileSrc } from './compile';
import { makeCertificate } from './impls/raw-tls';
import { renderInterleaved, renderMem, renderPairs, renderTable, renderTargets } from './table';
import type { InterleavedResult } from './interleaved';
import { latencySvg } from './plot';
import { cpuTimes, stealText } from './steal';
import { runTurns } from './turns';
import { resultsMarkdown, writeResults } from './docs';

/** The plot docs/performance.md shows. */
const SVG_NAME = 'performance-latency.svg';
import type { MemSample, WorkerResult, WorkerTask } from './worker';

interface Options {
  quick: boolean;
  runs: number;
  memCalls: number;
  impls: string[];
  json?: string;
  /** Where to write the SVG plot of latency percentiles. */
  svg?: string;
  /** Write the results and the plot into docs/ (a full run of every case and implementation does, unless --no-docs). */
  docs: boolean;
  verbose: boolean;
  cases: CaseName[];
  /** Paired cases (e)–(k) to run. */
  pairs: PairCase[];
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  let base = false;
  const opts: Options = { docs: !quick, quick, runs: quick ? 1 : 3, memCalls: quick ? 2000 : 200_000, impls: IMPLS.map((i) => i.name), verbose: false, cases: [...CASES], pairs: [...PAIR_CASES] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') continue;
    else if (a === '--runs') opts.runs = Math.max(1, Number(value()));
    else if (a === '--mem') opts.memCalls = Math.max(0, Math.min(1_000_000, Number(value())));
    else if (a === '--impls') {
      opts.impls = value().split(',');
      opts.docs = false;
    }
    else if (a === '--lib') process.env.BENCH_LIB = value();
    else if (a === '--base') {
      // Another build (a checkout with dist/, e.g. main's): measured in the same run as remoteobj@baseline.
      process.env.BENCH_BASELINE = path.resolve(value());
      base = true;
    }
    else if (a === '--json') opts.json = value();
    else if (a === '--no-docs') opts.docs = false;
    else if (a === '--svg') opts.svg = path.resolve(value());
    else if (a === '--pin') process.env.BENCH_PIN = value();
    else if (a === '--turns-same') {
      // A control, not results: never written into docs/.
      process.env.BENCH_TURNS_SAME = value();
      opts.docs = false;
    }
    else if (a === '--cases') {
      const asked = value().split(',');
      const unknown = asked.filter((c) => !(CASES as readonly string[]).includes(c) && !(PAIR_CASES as readonly string[]).includes(c));
      if (unknown.length) throw new Error(`unknown case ${unknown.join(',')}: the cases are ${[...CASES, ...PAIR_CASES].join(',')}`);
      opts.cases = CASES.filter((c) => asked.includes(c));
      opts.pairs = PAIR_CASES.filter((c) => asked.includes(c));
      opts.docs = false; // docs/ shows full runs only
    }
    else if (a === '-v' || a === '--verbose') opts.verbose = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!opts.impls.includes('raw')) opts.impls.unshift('raw'); // the baseline of every ratio
  if (base && !opts.impls.includes('remoteobj@baseline')) opts.impls.splice(opts.impls.indexOf('remoteobj') + 1, 0, 'remoteobj@baseline');
  // (l) compares this build with the baseline build: only when there is one.
  if (!base) opts.pairs = opts.pairs.filter((c) => c !== 'l');
  process.env.BENCH_PIN = defaultPinning(process.env.BENCH_PIN);
  return opts;
}

/**
 * Client on CPU 0 and host on CPU 1 unless told otherwise. Unpinned, a round trip on this 2-core
 * VM is bimodal (~20 µs when the scheduler wakes both on one CPU, ~65 µs across CPUs, switching
 * from run to run), which makes medians of a few runs meaningless. Without taskset (macOS) or with
 * one CPU, nothing is pinned.
 */
function defaultPinning(asked: string | undefined): Pinning {
  const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
  if (asked === 'none' || !hasTaskset) return 'none';
  if (asked === 'one' || os.cpus().length < 2) return 'one';
  return 'two';
}

const PINNING_TEXT: Record<Pinning, string> = {
  none: 'processes not pinned',
  one: 'client and host pinned to CPU 0 together',
  two: 'client pinned to CPU 0, host to CPU 1',
};

/** Which remoteobj was measured: the commit, and whether src/ had uncommitted changes. */
function revision(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const sha = git(['rev-parse', '--short', 'HEAD']);
  if (sha.status !== 0) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--', 'src']).stdout.trim() !== '';
  return `commit ${sha.stdout.trim()}${dirty ? ' + uncommitted changes in src/' : ''}`;
}

let benchDir = '';

function runWorker(task: WorkerTask): Promise<WorkerResult> {
  const child = fork(path.join(benchDir, 'worker.js'), [JSON.stringify(task)], {
    ...forkVia(pinning() === 'none' ? undefined : 0, childExecArgv()),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: WorkerResult | undefined;
    // Two minutes per run of one implementation or paired case; the interleaved run has every implementation in one process.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000 * (task.kind === 'interleaved' ? task.impls.length : task.kind === 'pair' ? task.cases.length : 1));
    const what = task.kind === 'interleaved' ? 'interleaved' : task.kind === 'pair' ? `paired cases (${task.cases.join(',')})` : task.impl;
    child.on('message', (m: WorkerResult) => (result = m));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && code === 0) resolve(result);
      else reject(new Error(`the ${what} worker failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const params = opts.quick ? QUICK : FULL;
  const t0 = performance.now();
  const cpu0 = cpuTimes();
  benchDir = compileBench();
  if (libKind() === 'src') process.env.BENCH_LIB_DIR = compileSrc();
  // One certificate for the TLS baseline, shared by every process of the run (made by openssl).
  let tlsDir: string | undefined;
  if (opts.impls.includes('raw-tls') || opts.pairs.includes('i')) {
    tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-bench-tls-'));
    makeCertificate(tlsDir);
    process.env.BENCH_TLS_DIR = tlsDir;
    process.once('exit', () => fs.rmSync(tlsDir!, { recursive: true, force: true }));
  }
  const cpus = os.cpus();
  console.log(
    `remoteobj benchmark${opts.quick ? ' (--quick: smoke pass, figures are not meaningful)' : ''}\n` +
      `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'}), ` +
      `${opts.runs} fresh run${opts.runs > 1 ? 's' : ''} per implementation, medians; remoteobj from ${libKind()}/ (${revision()}); Unix socket, one host process per run; ${PINNING_TEXT[pinning()]}`,
  );
  if (process.env.BENCH_TURNS_SAME) console.log(`(m) is a control in this run: both of its sides run ${process.env.BENCH_TURNS_SAME}`);
  const byImpl = new Map<string, CaseResults[]>(opts.impls.map((i) => [i, []]));
  const pairRuns: PairResults[] = [];
  const failures: string[] = [];
  for (let run = 0; run < opts.runs; run++) {
    const order: CaseName[] = run % 2 === 0 ? [...opts.cases] : [...opts.cases].reverse();
    const impls = opts.impls.map((_, i) => opts.impls[(i + run) % opts.impls.length]!);
    // The paired cases (e)–(m): remoteobj and its baseline taking turns in one worker, a fresh
    // worker (with fresh hosts) for each case, so no case runs in a process another case has
    // changed: (e)'s callbacks turn on AsyncLocalStorage's per-promise hooks for good in both the
    // worker and the host (Node 20), which cost a stream run after them half its rate and (l)'s
    // host 13 % more CPU against a baseline host that had not served (e). The case order is
    // reversed from one run to the next, as for (a)–(d). A --quick pass (whose figures mean
    // nothing) runs them all in one worker: seven fewer process starts in `npm test`.
    if (opts.pairs.length) {
      const cases = run % 2 === 0 ? [...opts.pairs] : [...opts.pairs].reverse();
      const results: PairResults = {};
      // (m) runs in two workers of its own (turns.ts), never in a 'pair' worker.
      const inWorker = cases.filter((c) => c !== 'm');
      const groups = opts.quick ? [inWorker, ...(cases.includes('m') ? [['m' as const]] : [])] : cases.map((c) => [c]);
      for (const group of groups) {
        if (group.length === 0) continue;
        try {
          const r: WorkerResult = group[0] === 'm' ? { kind: 'pair', results: { m: await runTurns(benchDir, params, run, opts.verbose) } } : await runWorker({ kind: 'pair', cases: group, params, run });
          if (r.kind === 'pair') Object.assign(results, r.results);
          if (opts.verbose) console.log(`run ${run + 1} paired [${group.join('')}]: ${JSON.stringify(r.kind === 'pair' ? r.results : r)}`);
        } catch (e) {
          failures.push(`run ${run + 1} paired case${group.length > 1 ? 's' : ''} ${group.join('')}: ${(e as Error).message}`);
        }
      }
      pairRuns.push(results);
    }
    if (opts.cases.length === 0) continue;
    for (const impl of impls) {
      try {
        const r = await runWorker({ kind: 'cases', impl, order, params });
        if (r.kind === 'cases') byImpl.get(impl)!.push(r.results);
        if (opts.verbose) console.log(`run ${run + 1} ${impl} [${order.join('')}]: ${JSON.stringify(r.kind === 'cases' ? r.results : r)}`);
      } catch (e) {
        failures.push(`run ${run + 1} ${impl}: ${(e as Error).message}`);
      }
    }
  }
  if (opts.cases.length) {
    console.log('');
    console.log(renderTable(opts.impls, byImpl));
    console.log('ratios: (×) = this ÷ raw; for µs and ms lower is better, for calls/s and MB/s higher is better.');
    console.log(`bytes: ${opts.impls.map((i) => `${i}: ${IMPLS.find((x) => x.name === i)?.bytes ?? "as remoteobj"}`).join("; ")}.`);
  }
  if (opts.pairs.length) {
    console.log('');
    console.log(renderPairs(pairRuns));
  }
  console.log('');
  console.log(renderTargets(byImpl, pairRuns));
  // (a) again, every implementation in one client process, one call each in turn: the tails compare
  // what the implementations add, not who else ran during each one's run.
  let interleaved: Record<string, InterleavedResult> | undefined;
  if (opts.cases.includes('a')) {
    try {
      const r = await runWorker({ kind: 'interleaved', impls: opts.impls, calls: params.seqCalls, warm: params.seqWarm });
      if (r.kind === 'interleaved') interleaved = r.results;
      console.log('');
      console.log(renderInterleaved(interleaved!));
    } catch (e) {
      failures.push(`interleaved (a): ${(e as Error).message}`);
    }
  }
  const svgFile = opts.svg ?? (opts.docs ? path.join(ROOT, 'docs', SVG_NAME) : undefined);
  if (interleaved && svgFile) {
    const svg = await latencySvg(interleaved, `${params.seqCalls.toLocaleString('en-US')} calls each, taken in turns in one client process; ${revision()}; ${PINNING_TEXT[pinning()]}`);
    fs.writeFileSync(svgFile, svg);
    console.log(`\nplot of the latency percentiles: ${path.relative(process.cwd(), svgFile)}`);
  }
  // docs/ shows complete runs only: not one where an implementation or the interleaved case failed.
  if (opts.docs && failures.length === 0) {
    const steal = stealText(cpu0);
    const header =
      `*Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: Node ${process.version}, ${cpus.length} CPUs, ` +
      `${opts.runs} fresh runs per implementation (medians), remoteobj from ${libKind()}/ (${revision()}), ${PINNING_TEXT[pinning()]}` +
      `${steal ? `; ${steal}` : ''}.*`;
    writeResults(path.join(ROOT, 'docs', 'performance.md'), resultsMarkdown(header, opts.impls, byImpl, pairRuns, interleaved, interleaved && svgFile ? SVG_NAME : undefined));
    console.log('docs/performance.md: results section written');
  }
  let mem: MemSample[] | undefined;
  if (opts.memCalls > 0) {
    try {
      const r = await runWorker({ kind: 'mem', impl: 'remoteobj', calls: opts.memCalls, clients: 8, window: 8 });
      if (r.kind === 'mem') mem = r.samples;
      console.log('');
      console.log(renderMem(mem!));
    } catch (e) {
      failures.push(`memory check: ${(e as Error).message}`);
    }
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ node: process.version, cpus: cpus.length, runs: opts.runs, params, results: Object.fromEntries(byImpl), pairs: pairRuns, interleaved, mem }, null, 2));
  const steal = stealText(cpu0);
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s${steal ? `; ${steal}` : ''}`);
  if (failures.length) {
    console.error(`FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
