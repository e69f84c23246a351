/**
 * CPU profiles of remoteobj on cases (a) and (b): runs the benchmark worker (client) and its host
 * with V8's CPU profiler (the one `node --cpu-prof` uses, started through node:inspector around
 * the timed part only), then prints, per process, the time per request by category and the
 * hottest functions. The .cpuprofile files stay in the output folder (open them in Chrome
 * DevTools or speedscope).
 *
 *   node -r ts-node/register scripts/bench/profile.ts [--out DIR] [--cases a,b,d] [--calls-a N] [--calls-b N] [--impl NAME] [--top N] [--pin two|one|none]
 *
 * Case (d) is reported per echo (a 1 MiB JSON echo and a 1 MiB bytes echo alternate).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CaseName, type CaseParams, FULL } from './cases';
import { compileBench } from './compile';
import { summarize } from './cpuprofile';
import { childExecArgv, forkVia, type Pinning } from './lib';
import type { WorkerResult, WorkerTask } from './worker';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function profileCase(benchDir: string, out: string, impl: string, c: CaseName, params: CaseParams, pin: Pinning): Promise<number> {
  const task: WorkerTask = { kind: 'cases', impl, order: [c], params };
  const child = fork(path.join(benchDir, 'worker.js'), [JSON.stringify(task)], {
    ...forkVia(pin === 'none' ? undefined : 0, childExecArgv()),
    env: { ...process.env, BENCH_PIN: pin, BENCH_PROFILE_DIR: out },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let result: WorkerResult | undefined;
  child.on('message', (m: WorkerResult) => (result = m));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0 || result?.kind !== 'cases') throw new Error(`profiling ${impl} case ${c} failed (exit ${code})`);
  if (result.results.a) console.log(`  (a) p50 ${result.results.a.p50Us.toFixed(1)} µs, ${Math.round(result.results.a.callsPerSec)} calls/s under the profiler`);
  if (result.results.b) console.log(`  (b) ${Math.round(result.results.b.callsPerSec)} calls/s under the profiler`);
  if (c === 'd') return 2 * params.largeIters; // echoes: JSON and bytes, one each per iteration
  return c === 'a' ? params.seqCalls : Math.ceil(params.concCalls / params.concClients) * params.concClients;
}

/**
 * Per-call figures from a sampled profile. The sampler's busy time undercounts the CPU the process
 * really used (its sampling thread competes for the same CPU, more so when pinned, and time in the
 * kernel is partly missed), so each category's share of the sampled busy time is scaled to the
 * main thread's CPU time measured over the same window (schedstat): µs per call = share × measured
 * µs per call.
 */
function report(label: string, file: string, cpuUs: number, calls: number, top: number): void {
  const s = summarize(file);
  const measured = cpuUs / calls;
  const scale = measured / (s.busyUs / calls);
  const perCall = (us: number) => ((us / calls) * scale).toFixed(2).padStart(7);
  console.log(
    `\n${label}: ${calls} calls; main thread CPU ${measured.toFixed(2)} µs per call (user + system); ` +
      `profile saw ${(s.busyUs / calls).toFixed(2)} µs busy per call, scaled ×${scale.toFixed(2)}   (${file})`,
  );
  console.log('  self time by category (µs per call, share):');
  for (const c of s.categories.slice(0, 18)) console.log(`    ${perCall(c.selfUs)}  ${((100 * c.selfUs) / s.busyUs).toFixed(1).padStart(5)}%  ${c.category}`);
  console.log(`  top ${top} functions by self time (µs per call; total incl. callees):`);
  for (const f of [...s.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, top)) {
    console.log(`    ${perCall(f.selfUs)} self ${perCall(f.totalUs)} total  ${f.name}  ${f.where}  [${f.category}]`);
  }
}

async function main(): Promise<void> {
  const out = path.resolve(arg('--out', path.join(os.tmpdir(), 'remoteobj-profiles')));
  const impl = arg('--impl', 'remoteobj');
  const top = Number(arg('--top', '25'));
  const pin = arg('--pin', 'two') as Pinning;
  const params: CaseParams = { ...FULL, seqCalls: Number(arg('--calls-a', '20000')), concCalls: Number(arg('--calls-b', '200000')) };
  const benchDir = compileBench();
  fs.mkdirSync(out, { recursive: true });
  console.log(`profiling ${impl} (pinning: ${pin}; sampling every 100 µs, timed part only); profiles in ${out}`);
  for (const c of arg('--cases', 'a,b').split(',') as CaseName[]) {
    console.log(`\ncase (${c}):`);
    const calls = await profileCase(benchDir, out, impl, c, params, pin);
    const cpu = JSON.parse(fs.readFileSync(path.join(out, `${impl}-${c}-cpu.json`), 'utf8')) as Record<'client' | 'host', number>;
    for (const side of ['client', 'host'] as const) report(`case (${c}) ${side}`, path.join(out, `${impl}-${c}-${side}.cpuprofile`), cpu[side], calls, top);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
