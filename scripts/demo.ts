/**
 * `npm run demo`: the seed's counter example across two processes, narrated step by step.
 *
 * A child process (scripts/demo-host.ts) hosts a Counter on a Unix socket; this process connects
 * and drives it: toggle on and watch the count rise, toggle off and watch it hold, chain a read,
 * catch an error thrown over there, then set `stop` and watch the host exit by itself.
 * Exits 0 when every step behaved as described, 1 with a message saying which step did not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// The source, so the demo runs without a build; an installed user writes `from 'remoteobj'`.
import { connect, type Remote, waitUntilListening } from '../src/index';
import type { Counter } from './demo-host';

const HOST_SCRIPT = path.join(__dirname, 'demo-host.ts');
const ROOT = path.resolve(__dirname, '..');
/** The whole demo normally takes 2-3 s; past this, something is stuck. */
const DEMO_TIMEOUT_MS = 30_000;

let stepNo = 0;
function step(text: string): void {
  console.log(`\n${++stepNo}. ${text}`);
}
function show(text: string): void {
  console.log(`   ${text}`);
}
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`expected ${what}`);
}

let hostChild: ChildProcess | undefined;

function startHost(socketPath: string): ChildProcess {
  const child = (hostChild = spawn(process.execPath, ['-r', 'ts-node/register', HOST_SCRIPT, socketPath], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  // The host narrates too; its lines are interleaved with ours, tagged [host PID].
  child.stdout!.pipe(process.stdout);
  child.stderr!.pipe(process.stderr);
  return child;
}

/** Wait until the child has exited *and* all it printed has been read ('close', not 'exit'). */
function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const outputDone = !child.stdout || child.stdout.readableEnded;
  if ((child.exitCode !== null || child.signalCode !== null) && outputDone) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })));
}

/** Read the count a few times, `gap` ms apart. */
async function samples(remote: Remote<Counter>, n = 4, gap = 120): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(gap);
    out.push(await remote.count.$get()); // $get: always a fresh read
  }
  return out;
}

async function demo(socketPath: string): Promise<void> {
  step(`Start a host child process serving a Counter on ${socketPath}`);
  const child = startHost(socketPath);
  show(`child pid ${child.pid}`);

  step('Wait until it listens (waitUntilListening fails at once if the child dies first)');
  await waitUntilListening(socketPath, { process: child, timeout: 20_000 });
  show('listening');

  step('Connect: connect<Counter>() gives a typed proxy of the remote Counter');
  const remote = await connect<Counter>(socketPath, { localBypass: false });
  show(`connected: ${remote.$path}`);

  step('Toggle on: remote.toggle(true) is sent without await; the count starts rising');
  void remote.toggle(true);
  const rising = await samples(remote);
  show(`count: ${rising.join(' -> ')}`);
  check(rising.at(-1)! > rising[0]!, `the count to rise while on (${rising.join(', ')})`);
  show('rising');

  step('Toggle off and read the count in ONE request: await remote.toggle(false).count');
  const held = await remote.toggle(false).count;
  const holding = await samples(remote);
  show(`count after toggle(false): ${held}; then: ${holding.join(' -> ')}`);
  check(
    holding.every((c) => c === held),
    `the count to hold at ${held} while off (${holding.join(', ')})`,
  );
  show('holding');

  step('Chain a read through a call: await remote.info().pid (one request, runs over there)');
  const hostPid = await remote.info().pid;
  show(`host pid ${hostPid} (this process is ${process.pid})`);
  check(hostPid === child.pid, `the pid of the child (${child.pid}), got ${hostPid}`);

  step('An error thrown by the host arrives as the same class, with the remote stack');
  try {
    await remote.setCount(-1);
    throw new Error('expected remote.setCount(-1) to throw');
  } catch (err) {
    check(err instanceof RangeError, `a RangeError, got ${String(err)}`);
    const e = err as RangeError;
    const lines = (e.stack ?? '').split('\n');
    const marker = lines.findIndex((l) => l.includes('--- remote'));
    show(`caught ${e.constructor.name} (instanceof RangeError: ${e instanceof RangeError}): ${e.message}`);
    check(marker > 0, `a "--- remote" marker in the stack:\n${e.stack}`);
    const ours = lines.findIndex((l, i) => i > marker && l.includes(__filename));
    show("its stack: the host's frame, the marker, then the frame here that awaited it:");
    for (const i of [marker - 1, marker, ours]) if (i > 0) show(`  ${lines[i]!.trim()}`);
  }

  step('Stop by plain assignment: remote.stop = true (sent without await)');
  // Remote<T> members are read-only (they read as remote values); a Remote<any> view assigns.
  (remote as Remote<any>).stop = true;
  check((await remote.stop) === true, 'the host to see stop = true');
  await remote.$close();
  show('stop is set; connection closed');

  step('The host notices, closes and exits by itself');
  const { code, signal } = await exitOf(child);
  show(`host exited with code ${code}${signal ? ` (signal ${signal})` : ''}`);
  check(code === 0 && signal === null, `the host to exit with code 0, got ${code ?? signal}`);
  const gone = !fs.existsSync(socketPath);
  show(`socket file ${gone ? 'is gone' : 'is STILL THERE'}: ${socketPath}`);
  check(gone, 'the host to remove its socket file');
}

async function main(): Promise<void> {
  const socketPath = path.join(os.tmpdir(), `remoteobj-demo-${process.pid}.sock`);
  const timer = setTimeout(() => fail(new Error(`the demo did not finish within ${DEMO_TIMEOUT_MS / 1000} s`)), DEMO_TIMEOUT_MS);
  timer.unref();
  const started = Date.now();
  await demo(socketPath);
  clearTimeout(timer);
  console.log(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s: every step behaved as described.`);
}

/** Say which step failed, leave no host behind, and exit 1 (an open connection would keep us alive). */
function fail(err: unknown): never {
  console.error(`\ndemo failed at step ${stepNo}: ${err instanceof Error ? err.message : String(err)}`);
  if (hostChild && hostChild.exitCode === null && hostChild.signalCode === null) hostChild.kill('SIGKILL');
  process.exit(1);
}

main().catch(fail);
