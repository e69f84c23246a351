/**
 * Where the docs' examples run: a fresh directory per run under os.tmpdir(), set up as a user's
 * project that installed remoteobj (node_modules/remoteobj is this repository, so the built dist/
 * is what runs; node_modules/.bin/remoteobj is the built CLI; tsx is there for TypeScript).
 * Absolute paths under /tmp/ and /run/ in a block are moved into the directory, so runs never
 * collide, and moved back (with pids, durations and stack frames) before output is compared.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './blocks';

export const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
}

const sandboxes = new Set<string>();

/**
 * A fresh project directory. Its package.json says `"type": "module"` (so TypeScript examples may
 * use top-level await), or `"commonjs"` for an example whose .js files are CommonJS.
 */
export function makeSandbox(type: 'module' | 'commonjs' = 'module'): Sandbox {
  // Short: socket paths inside it must stay under the platform's 107 bytes.
  const dir = path.join(os.tmpdir(), `ro-doc-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.mkdirSync(path.join(dir, 'run'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'remoteobj'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'tsx'), path.join(dir, 'node_modules', 'tsx'), 'dir');
  fs.symlinkSync(BIN, path.join(dir, 'node_modules', '.bin', 'remoteobj'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'docs-example', private: true, type }));
  sandboxes.add(dir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(dir, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: dir, // the REPL's history file, npm's cache lookups
    XDG_RUNTIME_DIR: path.join(dir, 'run'), // socketPath() defaults
    NO_COLOR: '1',
    npm_config_update_notifier: 'false',
  };
  delete env.NODE_OPTIONS;
  return { dir, env };
}

export function removeSandboxes(): void {
  for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
  sandboxes.clear();
}

/** `/tmp/x` and `/run/x` in a block → inside the sandbox (after a quote, a space, `=`, `(`, `,` or at a line start). */
export function rewritePaths(code: string, dir: string): string {
  return code.replace(/(^|[\s'"`=(:,])\/(tmp|run)\//gm, (_m, before: string, top: string) => `${before}${dir}/${top}/`);
}

/** The text as the docs show it: sandbox paths back, and only the example's own stack frames. (Pids and durations are left to the comparison.) */
export function normalise(text: string, dir?: string): string {
  let t = text.replace(/\r\n/g, '\n');
  if (dir) t = t.split(`${dir}/tmp`).join('/tmp').split(`${dir}/run`).join('/run').split(dir).join('/app');
  t = t.split(ROOT).join('/remoteobj');
  t = t
    // Stack frames that are not the example's own (Node's internals, the library, node_modules):
    // both as lines and inside JSON strings (`\n    at …`).
    .replace(/(?:\n|\\n)[ \t]*at (?:(?!\/app\/)[^\n"\\])*(?=$|\n|\\n|\\"|")/g, '');
  return t
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type Running = ChildProcess & { result: Promise<RunResult> };

const running = new Set<ChildProcess>();

/**
 * Start a command in its own process group (so a background job or a fork child it leaves
 * behind is ended with it), in the sandbox, with a time limit.
 */
export function start(cmd: string, args: string[], sb: Sandbox, opts: { timeout?: number; input?: string } = {}): Running {
  const child = spawn(cmd, args, { cwd: sb.dir, env: sb.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true }) as Running;
  running.add(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, opts.timeout ?? 30000);
  child.result = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      killGroup(child, 'SIGKILL'); // whatever it left running in its group
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(e), timedOut });
    });
  });
  return child;
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone already */
  }
}

/** End every process group started here (afterAll). */
export async function killAll(): Promise<void> {
  const all = [...running] as Running[];
  for (const c of all) killGroup(c, 'SIGKILL');
  await Promise.all(all.map((c) => c.result));
}

/** How a file of an example is run. */
export function commandFor(file: string): { cmd: string; args: string[] } {
  switch (path.extname(file)) {
    case '.ts':
    case '.mts':
    case '.cts':
      return { cmd: process.execPath, args: ['--import', 'tsx', file] };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { cmd: process.execPath, args: [file] };
    case '.py':
      return { cmd: 'python3', args: [file] };
    case '.sh':
      return { cmd: 'bash', args: ['-e', '-o', 'pipefail', file] };
  }
  throw new Error(`no way to run ${file}`);
}

/** Run at most `limit` of `jobs` at a time. */
export function pool<T>(limit: number): (job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
