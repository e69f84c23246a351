/**
 * The benchmark's own processes (worker, host) run as plain JavaScript, not under ts-node, so
 * their start-up is fast and the host's memory figures are not inflated by the TypeScript
 * compiler (ts-node adds ~80 MiB RSS). This transpiles scripts/bench/*.ts (no type check: that is
 * `npm run typecheck`'s job) into node_modules/.cache/remoteobj-bench-<hash>/, which Node resolves
 * packages from exactly as from scripts/bench/.
 *
 * With swc, as Jest and the tests' child processes compile here (jest.config.ts,
 * __tests__/ts-register.js): TypeScript's transpileModule took 2.5 s of the launcher's CPU for
 * the ~170 files of a run with `--lib src` (its CPU profile), swc 0.3 s.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { transformSync } from '@swc/core';
import { ROOT } from './lib';

const SWC_OPTIONS = {
  jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } },
  module: { type: 'commonjs' },
} as const;

export const BENCH_SRC = path.join(ROOT, 'scripts', 'bench');
/**
 * One folder per checkout (a hash of its path): git worktrees may share one node_modules (a
 * symlink), and two checkouts' runs must not overwrite each other's transpiled modules.
 */
export const BENCH_OUT = path.join(ROOT, 'node_modules', '.cache', `remoteobj-bench-${crypto.createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`);

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Transpile every benchmark module; returns the output directory (same layout as scripts/bench). */
export function compileBench(): string {
  transpileTree(BENCH_SRC, BENCH_OUT);
  return BENCH_OUT;
}

/**
 * With --lib src: src/ transpiled the same way (node_modules/.cache/remoteobj-bench-<hash>/lib-src/), so the
 * ~20 processes of a run load plain JavaScript instead of each starting ts-node (under a load
 * average of 14 the smoke pass took 234 s with ts-node in every process). Returns the directory.
 */
export function compileSrc(): string {
  const out = path.join(BENCH_OUT, 'lib-src');
  fs.rmSync(out, { recursive: true, force: true });
  transpileTree(path.join(ROOT, 'src'), out);
  return out;
}

function transpileTree(from: string, to: string): void {
  for (const file of tsFiles(from)) {
    const out = path.join(to, path.relative(from, file)).replace(/\.ts$/, '.js');
    const { code } = transformSync(fs.readFileSync(file, 'utf8'), { ...SWC_OPTIONS, filename: file });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, code);
  }
}
