/**
 * The child side of fork(): the entry file of every forked process.
 *
 * Waits for the start message, imports the target, calls it, and reports over the IPC channel:
 * a return value, or a stream of yields (never more than the parent allows: back-pressure),
 * or the error. Before the last report it waits until every Except handle has delivered its
 * records, so the parent has them all when its result settles. Then it exits: like a Python
 * process whose target returned, the child does not linger for timers the function left behind.
 *
 * Unless the parent asked for `daemon: false`, the child dies with its parent: on IPC disconnect
 * (the parent exited), and, for a child stuck in synchronous code, from a watchdog thread that
 * notices the parent pid has gone (the parent was SIGKILLed).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { flushExcepts } from '../except/except';
import { errorToWire } from '../protocol/error-wire';
import { findExportAt } from './find-export';
import { NOT_DAEMON_ENV, PARENT_PID_ENV } from './launch';
import type { StartMessage, TargetSpec, ToChild, ToParent } from './messages';
import { isProtocolMessage } from './messages';
import { setLoadingTarget } from './state';
import { decodeValue, encodeValue } from './values';
import { ForkLink, isLinkMessage } from './fork-link';

const daemon = process.env[NOT_DAEMON_ENV] !== '1';
const parentPid = Number(process.env[PARENT_PID_ENV]);
// Not for the user's own subprocesses.
delete process.env[PARENT_PID_ENV];
delete process.env[NOT_DAEMON_ENV];

if (typeof process.send !== 'function') {
  process.stderr.write('remoteobj: the fork() bootstrap must be started by fork() (no IPC channel)\n');
  process.exit(2);
}

process.on('disconnect', () => link?.closed());
if (daemon) {
  process.on('disconnect', () => process.exit(1));
  startWatchdog(parentPid);
}

/** Yield allowance from the parent, and waiters for it. */
let upTo: number | null = null;
let stopRequested = false;
let wake: (() => void) | undefined;

function notify(): void {
  const w = wake;
  wake = undefined;
  w?.();
}

/** The link to the parent, when an argument travels by reference (an Except handle's records go back on it). */
let link: ForkLink | undefined;

process.on('message', (m: unknown) => {
  if (!isProtocolMessage(m)) return;
  // Link traffic before the link is open (the parent's first `open`) is dropped: the child's own `open` starts it.
  if (isLinkMessage(m)) return link?.deliver(m);
  const msg = m as ToChild;
  switch (msg.t) {
    case 'start':
      upTo = msg.upTo;
      if (msg.link && !started) {
        link = new ForkLink('fork parent', { pid: process.pid, path: `fork ${msg.name}` });
        link.bind(process);
      }
      void run(msg);
      break;
    case 'allow':
      upTo = msg.upTo;
      notify();
      break;
    case 'stop':
      stopRequested = true;
      notify();
      break;
  }
});

function send(msg: ToParent): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      process.send!(msg, undefined, undefined, (err: Error | null) => (err ? reject(err) : resolve()));
    } catch (e) {
      reject(e);
    }
  });
}

let started = false;

async function run(start: StartMessage): Promise<void> {
  if (started) return;
  started = true;
  let code = 0;
  let last: ToParent;
  try {
    last = await call(start);
  } catch (e) {
    code = 1;
    last = { ro: 1, t: 'throw', error: trimBootstrapFrames(errorToWire(e, { pid: process.pid, path: `fork ${start.name}` })) };
  }
  try {
    await flushExcepts();
  } catch {
    /* delivery problems are reported as warnings */
  }
  try {
    await send(last);
  } catch {
    code = code || 1; // the parent is gone
  }
  process.exit(code);
}

async function call(start: StartMessage): Promise<ToParent> {
  const loaded = await loadTarget(start);
  if ('ambiguous' in loaded) return { ro: 1, t: 'notExported', ambiguous: loaded.ambiguous };
  const fn = loaded.fn;
  const args = decodeValue(start.args, link?.context) as unknown[];
  const out = fn(...args);
  if (isIterator(out)) return stream(out);
  const value = await out;
  return { ro: 1, t: 'return', value: encodeValue(value, 'result', link?.context) };
}

/** Send each value once the parent allows it; stop early if asked. */
async function stream(it: Iterator<unknown> | AsyncIterator<unknown>): Promise<ToParent> {
  await send({ ro: 1, t: 'stream' });
  let index = 0;
  for (;;) {
    while (!stopRequested && upTo !== null && index >= upTo) await new Promise<void>((r) => (wake = r));
    if (stopRequested) {
      const r = await it.return?.();
      return { ro: 1, t: 'return', value: encodeValue(r?.value, 'result', link?.context) };
    }
    const r = await it.next();
    if (r.done) return { ro: 1, t: 'return', value: encodeValue(r.value, 'result', link?.context) };
    if (stopRequested) continue; // the consumer left while this value was being made
    const value = await r.value; // as for-await does with a sync iterator's promises
    await send({ ro: 1, t: 'yield', index, value: encodeValue(value, `yield ${index}`, link?.context) });
    index++;
  }
}

/** The bootstrap's own frames (call, run, stream) say nothing to the user: drop them from every stack. */
function trimBootstrapFrames<T>(wire: T, depth = 0): T {
  if (depth > 20 || wire === null || typeof wire !== 'object') return wire;
  const w = wire as Record<string, unknown>;
  if (typeof w.stack === 'string') {
    w.stack = w.stack
      .split('\n')
      .filter((line) => !(line.trimStart().startsWith('at ') && line.includes(__filename)))
      .join('\n');
  }
  trimBootstrapFrames(w.cause, depth + 1);
  if (Array.isArray(w.errors)) for (const x of w.errors) trimBootstrapFrames(x, depth + 1);
  return wire;
}

function isIterator(v: unknown): v is Iterator<unknown> | AsyncIterator<unknown> {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<PropertyKey, unknown>;
  // An iterator, not merely an iterable: arrays, strings and Maps are values, as in Python's remoteobj.
  return typeof o.next === 'function' && (typeof o[Symbol.iterator] === 'function' || typeof o[Symbol.asyncIterator] === 'function');
}

type Fn = (...args: unknown[]) => unknown;

/**
 * Import the target's module and pick the function: the named export, or, for a function of an ES
 * module (`at` given), the export defined at that position. Tells the parent which export it runs;
 * `ambiguous` when no single export is defined there (the parent reports NotExportedError).
 */
async function loadTarget(start: StartMessage): Promise<{ fn: Fn } | { ambiguous: string[] }> {
  const { target, at } = start;
  let mod: unknown;
  setLoadingTarget(target.module);
  try {
    mod = await importModule(target);
  } finally {
    setLoadingTarget(undefined);
  }
  if (at) {
    const found = findExportAt(mod, target.module, at, target.exportName);
    if (!found.found) return { ambiguous: found.ambiguous };
    await send({ ro: 1, t: 'loaded', exportName: found.exportName });
    return { fn: found.fn };
  }
  const fn = target.exportName === null ? mod : (mod as Record<string, unknown> | undefined)?.[target.exportName];
  if (typeof fn !== 'function') {
    const what = target.exportName === null ? 'its exports' : `its export ${JSON.stringify(target.exportName)}`;
    throw new TypeError(`fork(): ${target.module} was loaded in the child, but ${what} ${fn === undefined ? 'does not exist' : `is not a function (${typeof fn})`}`);
  }
  return { fn: fn as Fn };
}

// A real dynamic import, whatever the TypeScript/CommonJS compilation does to `import()`.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

async function importModule(target: TargetSpec): Promise<unknown> {
  const url = isPathLike(target.module) ? pathToFileURL(target.module).href : target.module;
  if (target.load === 'import') return dynamicImport(url);
  try {
    // Bare specifiers resolve from the child's working directory, as the docs say.
    return isPathLike(target.module) ? require(target.module) : createRequire(path.join(process.cwd(), 'index.js'))(target.module);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const esm = code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE' || code === 'ERR_REQUIRE_CYCLE_MODULE';
    if (target.load === 'auto' && esm) return dynamicImport(url);
    throw e;
  }
}

function isPathLike(s: string): boolean {
  return s.startsWith('/') || /^[A-Za-z]:[\\/]/.test(s);
}

/**
 * A thread that checks the parent pid every 100 ms and kills this process once the parent is
 * gone: it runs even while the main thread is busy in synchronous code. It has no Node flags of
 * its own (no TypeScript hook to load) and does not keep the process alive.
 */
function startWatchdog(expected: number): void {
  if (!Number.isInteger(expected) || expected <= 0) return;
  const source = `
    const expected = ${expected};
    const check = () => { if (process.ppid !== expected) process.kill(process.pid, 'SIGKILL'); };
    check();
    setInterval(check, 100);
  `;
  try {
    const w = new Worker(source, { eval: true, execArgv: [], env: {}, stdout: false, stderr: false });
    w.unref();
    w.on('error', () => {});
  } catch {
    /* no worker threads: the disconnect handler still covers a parent that exits */
  }
}
