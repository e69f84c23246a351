/**
 * Loads remoteobj for the benchmark: the built dist/ by default (what users run, compiled by
 * tsc), or src/ through ts-node with BENCH_LIB=src (what the smoke test uses, so it needs no build).
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Remoteobj from '../../src/index';

/** The repository root: the nearest folder above this file whose package.json is remoteobj's (this file also runs compiled, from node_modules/.cache). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'remoteobj') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no remoteobj package.json above ${from}`);
  }
}

/**
 * run.ts finds the root from scripts/bench/ and hands it to its children in BENCH_ROOT: they run
 * from the transpile cache in node_modules, and when node_modules is a symlink (a git worktree
 * sharing another checkout's), the folder above their real path is the other checkout, whose
 * dist/ they would load instead.
 */
export const ROOT = process.env.BENCH_ROOT ?? findRoot(__dirname);
process.env.BENCH_ROOT = ROOT;

export type LibKind = 'dist' | 'src';

export function libKind(): LibKind {
  return process.env.BENCH_LIB === 'src' ? 'src' : 'dist';
}

/** The file a module of the library lives in, e.g. libFile('protocol/codec'). */
export function libFile(module: string): string {
  // run.ts transpiles src/ for its child processes (compile.ts compileSrc): plain JavaScript, no ts-node.
  const transpiled = process.env.BENCH_LIB_DIR;
  if (libKind() === 'src' && transpiled) return path.join(transpiled, `${module}.js`);
  return libKind() === 'src' ? path.join(ROOT, 'src', `${module}.ts`) : path.join(ROOT, 'dist', `${module}.js`);
}

export function loadRemoteobj(): typeof Remoteobj {
  const file = libFile('index');
  if (!fs.existsSync(file)) throw new Error(`${path.relative(ROOT, file)} is missing: run \`npm run build\` first (or set BENCH_LIB=src)`);
  return require(file) as typeof Remoteobj;
}

/**
 * Node options of the benchmark's child processes. They run compiled JavaScript (compile.ts);
 * only with BENCH_LIB=src do they need ts-node, to load src/*.ts.
 */
export function childExecArgv(extra: string[] = []): string[] {
  return libKind() === 'src' && !process.env.BENCH_LIB_DIR ? ['-r', 'ts-node/register', ...extra] : extra;
}

/** CPU pinning of the client (worker) and host processes: none, both on CPU 0, or client on 0 and host on 1. */
export type Pinning = 'none' | 'one' | 'two';

export function pinning(): Pinning {
  const p = process.env.BENCH_PIN;
  return p === 'one' || p === 'two' ? p : 'none';
}

/**
 * fork() options that start the child under `taskset -c CPU` (taskset execs node in place, so the
 * IPC channel and the environment pass through), or plainly when `cpu` is undefined.
 */
export function forkVia(cpu: number | undefined, execArgv: string[]): { execPath?: string; execArgv: string[] } {
  if (cpu === undefined) return { execArgv };
  return { execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath, ...execArgv] };
}
