/**
 * Where does a function live? A child process cannot receive a function, only import one, so
 * fork() needs a module and an export name. Found in this order:
 *
 *  1. CommonJS (plain JS, TypeScript under ts-node, anything Jest loads): the module cache
 *     (`require.cache`) is searched for a module whose exports hold this very function.
 *  2. ES modules (not in that cache): V8's inspector gives the function's defining script; that
 *     module's namespace is searched the same way. If the namespace cannot be read yet (the
 *     module is still evaluating, e.g. the main script calling fork() at top level), the export
 *     is taken to be the function's own name, and the child checks it exists.
 *
 * When neither works (an inline or unexported function), the error says where the function is
 * defined and how to fix it.
 */
import inspector from 'node:inspector';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetSpec } from './messages';

/** Thrown when a function cannot be found among the exports of any module. */
export class NotExportedError extends TypeError {
  override get name(): string {
    return 'NotExportedError';
  }
}

type AnyFn = (...args: any[]) => unknown;

export function locateFunction(fn: AnyFn): TargetSpec {
  const cjs = searchRequireCache(fn);
  if (cjs) return cjs;
  const where = functionLocation(fn);
  if (where?.file) {
    const ns = readNamespace(where.file);
    if (ns.ok) {
      const key = exportKeyOf(ns.value, fn);
      if (key !== undefined) return { module: where.file, exportName: key, load: 'import' };
    } else if (fn.name && isIdentifier(fn.name)) {
      // Still evaluating (or has top-level await): trust the function's name; the child verifies it.
      return { module: where.file, exportName: fn.name, load: 'import' };
    }
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

/** An ES module's namespace, if it can be had synchronously (require(esm), Node ≥ 20.19). */
function readNamespace(file: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: require(file) };
  } catch {
    return { ok: false };
  }
}

export interface FunctionLocation {
  /** A file path when the script is a file, else the script's URL (or undefined). */
  file?: string;
  url?: string;
  line: number;
  column: number;
}

/** The function's defining script and position, from V8 (undefined for native and bound functions). */
export function functionLocation(fn: AnyFn): FunctionLocation | undefined {
  let session: inspector.Session | undefined;
  const slot = `__remoteobjLocate${process.pid}_${Date.now()}`;
  try {
    session = new inspector.Session();
    session.connect();
    const s = session;
    (globalThis as Record<string, unknown>)[slot] = fn;
    // Only the main context is asked. Code inside a vm context (Jest) is not found there, so its
    // errors go without a location: evaluating in other contexts can crash Node 20 (a context that
    // is listed but no longer usable, seen with ts-node loaded).
    let loc: { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
    // The in-process session answers synchronously.
    s.post('Runtime.evaluate', { expression: `globalThis[${JSON.stringify(slot)}]` }, (err, res) => {
      const objectId = res?.result?.type === 'function' ? res.result.objectId : undefined;
      if (err || !objectId) return;
      s.post('Runtime.getProperties', { objectId, ownProperties: true }, (_err2, props) => {
        const internal = props?.internalProperties?.find((p) => p.name === '[[FunctionLocation]]');
        loc = internal?.value?.value as typeof loc;
      });
    });
    if (!loc) return undefined;
    const wanted = loc.scriptId;
    let url: string | undefined;
    const onScript = (m: inspector.InspectorNotification<inspector.Debugger.ScriptParsedEventDataType>) => {
      if (m.params.scriptId === wanted) url = m.params.url;
    };
    s.on('Debugger.scriptParsed', onScript);
    s.post('Debugger.enable', {}, () => {});
    s.post('Debugger.disable', {}, () => {});
    s.off('Debugger.scriptParsed', onScript);
    let file: string | undefined;
    if (url?.startsWith('file:')) file = fileURLToPath(url);
    else if (url && path.isAbsolute(url)) file = url;
    const where = { file, url: url || undefined, line: loc.lineNumber + 1, column: loc.columnNumber + 1 };
    return file ? { ...where, ...originalPosition(file, where.line, where.column) } : where;
  } catch {
    return undefined;
  } finally {
    delete (globalThis as Record<string, unknown>)[slot];
    session?.disconnect();
  }
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

function notExported(fn: AnyFn, where: FunctionLocation | undefined): NotExportedError {
  const label = fn.name ? `function ${fn.name}` : 'an anonymous function';
  const at = where ? ` (defined at ${where.file ?? where.url ?? '<unknown script>'}:${where.line}:${where.column})` : '';
  const bound = fn.name.startsWith('bound ') ? ' A bound function cannot be forked: pass the arguments to fork() instead.' : '';
  const exportHint = fn.name && isIdentifier(fn.name) ? `\`export function ${fn.name}(…)\`` : '`export const work = …`';
  const refHint = where?.file ? `fork(fork.ref(${JSON.stringify(where.file)}, ${JSON.stringify(fn.name && isIdentifier(fn.name) ? fn.name : 'work')}), …args)` : "fork(fork.ref('/path/to/module', 'exportName'), …args)";
  return new NotExportedError(
    `fork(): ${label}${at} is not exported by any loaded module, so a child process cannot import it.${bound} ` +
      `Export it from its module (${exportHint}), import it, and pass that reference; or name it explicitly: ${refHint}.`,
  );
}
