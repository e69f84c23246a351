/**
 * Shared test helpers: unique socket paths, child processes running TypeScript fixtures, and
 * cleanup that never leaves a process or a socket behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');

const socketPaths = new Set<string>();

/** A fresh socket path under the temp dir, short enough for every platform; removed after the test file. */
export function tmpSock(tag = 't'): string {
  const p = path.join(os.tmpdir(), `ro-${tag}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
  socketPaths.add(p);
  return p;
}

// A host killed with SIGKILL (on purpose, in many tests) leaves its socket file behind: remove
// every path this test file was given once it is done. (Runs in each test file that imports this.)
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const p of socketPaths) removeFile(p);
    socketPaths.clear();
  });
}

const children = new Set<ChildProcess>();

/** The hook spawnTs runs TypeScript with: swc, as ts-node and Jest do here, with a disk cache (ts-register.js). */
export const TS_REGISTER = path.join(__dirname, 'ts-register.js');

/**
 * Run a TypeScript file (transpile-only through swc, ts-register.js) as a child process.
 * Output is collected on `child.output`. The child is killed by killChildren().
 */
export function spawnTs(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['-r', TS_REGISTER, file, ...args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcess & { output: () => string };
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  child.output = () => out;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the exit code (or signal) of a child. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Kill every child still running (call in afterEach/afterAll). */
export async function killChildren(): Promise<void> {
  const waits = [...children].map((c) => {
    const done = exited(c);
    c.kill('SIGKILL');
    return done;
  });
  await Promise.all(waits);
}

export function removeFile(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    /* not there */
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `fn` until it returns truthy (no fixed timing margins in assertions). */
export async function until<T>(fn: () => T | Promise<T>, { timeout = 10000, interval = 20 } = {}): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('until(): condition not met in time');
    await sleep(interval);
  }
}
