/**
 * Where a sequential round trip's CPU goes *in situ*, kernel included: Linux `perf record`
 * attached to the client (worker) and the host during case (a)'s (or (b)'s) timed part, for raw
 * and remoteobj, then every sampled symbol sorted into a category (kernel, V8 stack capture,
 * JSON, zod, remoteobj's JS, …) and turned into µs per call with the CPU time the processes used.
 * Hot-loop micro-benchmarks (micro.ts) are optimistic; this shows the cost with cold caches
 * between two processes that take turns. Needs `perf` and perf_event access (root here).
 *
 *   node -r ts-node/register scripts/bench/perf.ts [--case a|b] [--impls raw,remoteobj] [--calls N] [--out DIR]
 */
import { fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CaseName, type CaseParams, FULL } from './cases';
import { compileBench } from './compile';
import { childExecArgv, forkVia } from './lib';
import type { WorkerResult, WorkerTask } from './worker';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** The category of a symbol of `perf report --sort sym`. */
export function perfCategory(sym: string): string {
  if (sym.startsWith('[k]')) return 'kernel (syscalls, wake-ups, context switches)';
  if (/Translat|SafepointTable|OptimizedFrame|FrameSummary|StackTrace|CaptureStack|InnerPointerToCode|StackFrame|ErrorUtils|CallSite|FrameIterator|Deoptimiz|Summarize|Handlify|VisitStack|ErrorObject|OffHeapInstructionStream|AbstractCode|SourcePosition/.test(sym)) return 'V8 stack capture (new Error)';
  if (/Json/.test(sym)) return 'JSON.parse/stringify';
  if (/JS:.*node_modules\/zod\//.test(sym)) return 'zod (JS)';
  if (/JS:.*\/(dist|src)\//.test(sym) && !/node_modules/.test(sym)) return 'remoteobj (JS)';
  if (/JS:.*(remoteobj-bench|scripts\/bench)/.test(sym)) return 'bench harness (JS)';
  if (/JS:/.test(sym)) return 'node internals (JS: streams, ticks)';
  if (/Builtins_/.test(sym)) return 'V8 builtins (ICs, promises, Proxy, calls)';
  if (/Heap|Scavenge|Mark|Sweep|Evacuat|Space|RememberedSet|Slot|GC/.test(sym)) return 'V8 GC/heap';
  if (/malloc|free|calloc|memmove|memcpy|memset|memcmp/.test(sym)) return 'libc (malloc, memcpy)';
  if (/uv_|uv__|epoll/.test(sym)) return 'libuv';
  return 'other native (node, V8 runtime)';
}

function categories(dataFile: string): Map<string, number> {
  const r = spawnSync('perf', ['report', '-i', dataFile, '--no-children', '--sort', 'sym', '-q', '--percent-limit', '0'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const cats = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(.*)$/.exec(line);
    if (m) cats.set(perfCategory(m[2]!.trim()), (cats.get(perfCategory(m[2]!.trim())) ?? 0) + Number(m[1]));
  }
  return cats;
}

async function record(benchDir: string, out: string, impl: string, c: CaseName, params: CaseParams): Promise<number> {
  const task: WorkerTask = { kind: 'cases', impl, order: [c], params };
  const child = fork(path.join(benchDir, 'worker.js'), [JSON.stringify(task)], {
    ...forkVia(0, childExecArgv(['--perf-basic-prof'])),
    env: { ...process.env, BENCH_PIN: 'two', BENCH_PERF_DIR: out, BENCH_HOST_ARGS: '--perf-basic-prof' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let result: WorkerResult | undefined;
  child.on('message', (m: WorkerResult) => (result = m));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0 || result?.kind !== 'cases') throw new Error(`perf of ${impl} case ${c} failed (exit ${code})`);
  if (result.results.a) console.log(`${impl}: (a) p50 ${result.results.a.p50Us.toFixed(1)} µs under perf`);
  if (result.results.b) console.log(`${impl}: (b) ${Math.round(result.results.b.callsPerSec)} calls/s under perf`);
  return c === 'a' ? params.seqCalls : Math.ceil(params.concCalls / params.concClients) * params.concClients;
}

async function main(): Promise<void> {
  const c = arg('--case', 'a') as CaseName;
  const impls = arg('--impls', 'raw,remoteobj').split(',');
  const out = path.resolve(arg('--out', path.join(os.tmpdir(), 'remoteobj-perf')));
  const params: CaseParams = { ...FULL, seqCalls: Number(arg('--calls', c === 'a' ? '30000' : '200000')), concCalls: Number(arg('--calls', '200000')) };
  fs.mkdirSync(out, { recursive: true });
  const benchDir = compileBench();
  const table = new Map<string, Map<string, number>>();
  const columns: string[] = [];
  for (const impl of impls) {
    const calls = await record(benchDir, out, impl, c, params);
    const cpu = JSON.parse(fs.readFileSync(path.join(out, `${impl}-${c}-cpu.json`), 'utf8')) as Record<'client' | 'host', number> & { pids: number[] };
    for (const side of ['client', 'host'] as const) {
      const col = `${impl} ${side}`;
      columns.push(col);
      const perCall = cpu[side] / calls;
      const cats = categories(path.join(out, `${impl}-${c}-${side}.data`));
      const sum = [...cats.values()].reduce((a, b) => a + b, 0);
      const row = new Map<string, number>([['TOTAL CPU per call (process.cpuUsage)', perCall]]);
      for (const [k, pct] of cats) row.set(k, (pct / sum) * perCall);
      table.set(col, row);
    }
    // perf report has read them: remove the JIT symbol maps --perf-basic-prof wrote for our two processes (they are large).
    for (const pid of cpu.pids) fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
  const names = [...new Set([...table.values()].flatMap((r) => [...r.keys()]))].sort((a, b) => (table.get(columns[columns.length - 2]!)?.get(b) ?? 0) - (table.get(columns[columns.length - 2]!)?.get(a) ?? 0));
  console.log(`\ncase (${c}), µs of CPU per call by category (perf, cpu-clock at 10 kHz; client on CPU 0, host on CPU 1):`);
  console.log(`${'category'.padEnd(46)}${columns.map((x) => x.padStart(18)).join('')}`);
  for (const n of names) console.log(`${n.padEnd(46)}${columns.map((col) => (table.get(col)!.get(n) ?? 0).toFixed(2).padStart(18)).join('')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
