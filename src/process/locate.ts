/**
 * Where does a function live? A child process cannot receive a function, only import one, so
 * fork() needs a module and an export name. It looks only at what is already loaded, and never
 * loads anything itself (loading a module again would run its top-level code a second time in
 * this process, and give other function objects than the ones in hand):
 *
 *  1. CommonJS (plain JS, TypeScript under ts-node or tsx's require hook, anything Jest loads):
 *     the module cache (`require.cache`) is searched for a module whose exports hold this very
 *     function.
 *  2. ES modules: V8's inspector gives the function's defining script and the top-level bindings
 *     of that module that hold it (`export function add` is the binding `add`). An ES module's
 *     export table cannot be read synchronously without importing it, so the child, which imports
 *     the module anyway, picks the export defined at the function's position (see find-export.ts)
 *     and says which one it ran.
 *
 * When neither works (an inline or unexported function), the error says where the function is
 * defined and how to fix it.
 */
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { type FunctionFacts, inspectFunction } from './inspect-function';
import type { TargetSpec } from './messages';

/** Thrown when a function cannot be found among the exports of any module. */
export class NotExportedError extends TypeError {
  override get name(): string {
    return 'NotExportedError';
  }
}

type AnyFn = (...args: any[]) => unknown;

/** Where the function was found; for an ES module, also what the child needs to find its export. */
export interface Located {
  target: TargetSpec;
  /** ES module: the function's position in the code V8 ran; the child runs the export defined there. */
  at?: { line: number; column: number };
  /** ES module: the message of the NotExportedError to give if the child finds no export defined there. */
  notExportedMessage?: string;
}

export function locateFunction(fn: AnyFn): Located {
  const cjs = searchRequireCache(fn);
  if (cjs) return { target: cjs };
  const facts = inspectFunction(fn, { bindings: true });
  const where = facts && describeLocation(facts);
  // V8 names an anonymous `export default function` / arrow 'default', and keeps it in no binding of its own.
  const defaultExport = fn.name === 'default';
  if (facts?.file && facts.isModule && (facts.bindings.length || defaultExport)) {
    // A top-level function of an ES module. The export name is a guess the child confirms: the
    // binding named like the function (`export function add`), else the first binding holding it.
    const hint = defaultExport || facts.bindings.includes(fn.name) ? fn.name : facts.bindings[0]!;
    return {
      target: { module: facts.file, exportName: hint, load: 'import' },
      at: { line: facts.line, column: facts.column },
      notExportedMessage: notExported(fn, where, `is a top-level function of ${facts.file}, which does not export it`).message,
    };
  }
  throw notExported(fn, where);
}

/** `exports === fn` gives null (the module is the function); otherwise the key holding it. */
function exportKeyOf(exports: unknown, fn: AnyFn): string | null | undefined {
  if (exports === fn) return null;
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return undefined;
  let keys: string[];
  try {
    keys = Object.keys(exports);
  } catch {
    return undefined;
  }
  // Prefer the function's own name, then any other key (an alias, `default`).
  if (fn.name && keys.includes(fn.name) && readKey(exports, fn.name) === fn) return fn.name;
  for (const k of keys) if (readKey(exports, k) === fn) return k;
  return undefined;
}

function readKey(o: object, k: string): unknown {
  try {
    return (o as Record<string, unknown>)[k];
  } catch {
    return undefined; // a throwing getter
  }
}

function searchRequireCache(fn: AnyFn): TargetSpec | undefined {
  const cache = require.cache as Record<string, NodeJS.Module | undefined>;
  let files: string[];
  try {
    files = Object.keys(cache).filter((f) => path.isAbsolute(f));
  } catch {
    return undefined;
  }
  // The application's own modules first: the function is almost always there, and reading every
  // export of every package could run lazy getters (some packages load code on first access).
  const inPackages = (f: string) => f.split(path.sep).includes('node_modules');
  for (const pass of [false, true]) {
    for (const file of files) {
      if (inPackages(file) !== pass) continue;
      const mod = cache[file];
      if (!mod) continue;
      const key = exportKeyOf(mod.exports, fn);
      if (key !== undefined) return { module: file, exportName: key, load: 'require' };
    }
  }
  return undefined;
}

/**
 * V8 reports positions in the code it ran; for TypeScript (or any compiled file) map them back
 * to the source, through the source maps of the hook that compiled it (ts-node's
 * source-map-support) or of Node's --enable-source-maps. Best effort: unchanged when neither knows.
 */
function originalPosition(file: string, line: number, column: number): { line: number; column: number } {
  const cache = require.cache as Record<string, NodeJS.Module | undefined>;
  try {
    for (const key of Object.keys(cache)) {
      if (!/[\\/]source-map-support[\\/]source-map-support\.js$/.test(key)) continue;
      const map = (cache[key]?.exports as { mapSourcePosition?: (p: object) => { source?: string; line?: number; column?: number } })?.mapSourcePosition;
      const pos = map?.({ source: file, line, column: column - 1 });
      if (pos && typeof pos.line === 'number' && typeof pos.column === 'number' && (pos.line !== line || pos.column !== column - 1)) {
        return { line: pos.line, column: pos.column + 1 };
      }
    }
    const entry = findSourceMap(file)?.findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number } | undefined;
    if (entry && typeof entry.originalLine === 'number' && typeof entry.originalColumn === 'number') {
      return { line: entry.originalLine + 1, column: entry.originalColumn + 1 };
    }
  } catch {
    /* keep the generated position */
  }
  return { line, column };
}

function isIdentifier(s: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(s);
}

/** Where a function is defined, for messages: the source position (mapped back from compiled code). */
interface Where {
  file?: string;
  url?: string;
  line: number;
  column: number;
}

function describeLocation(facts: FunctionFacts): Where {
  const where = { file: facts.file, url: facts.url, line: facts.line, column: facts.column };
  return facts.file ? { ...where, ...originalPosition(facts.file, facts.line, facts.column) } : where;
}

function notExported(fn: AnyFn, where: Where | undefined, why = 'is not exported by any loaded module'): NotExportedError {
  const label = fn.name ? `function ${fn.name}` : 'an anonymous function';
  const at = where ? ` (defined at ${where.file ?? where.url ?? '<unknown script>'}:${where.line}:${where.column})` : '';
  const bound = fn.name.startsWith('bound ') ? ' A bound function cannot be forked: pass the arguments to fork() instead.' : '';
  const exportHint = fn.name && isIdentifier(fn.name) ? `\`export function ${fn.name}(…)\`` : '`export const work = …`';
  const refHint = where?.file ? `fork(fork.ref(${JSON.stringify(where.file)}, ${JSON.stringify(fn.name && isIdentifier(fn.name) ? fn.name : 'work')}), …args)` : "fork(fork.ref('/path/to/module', 'exportName'), …args)";
  return new NotExportedError(
    `fork(): ${label}${at} ${why}, so a child process cannot import it.${bound} ` +
      `Export it from its module (${exportHint}), import it, and pass that reference; or name it explicitly: ${refHint}.`,
  );
}
