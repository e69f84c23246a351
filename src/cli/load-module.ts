/**
 * Load the module `serve` hosts from: CommonJS or ESM (.js, .cjs, .mjs), or TypeScript (.ts,
 * .cts) through ts-node, and pick the export to host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { types } from 'node:util';
import type { Host } from '../host/host';
import { UsageError } from './exit-codes';

/** What `serve` passes to a factory (and a class constructor). */
export interface ServeControl {
  /** The socket path the object will be hosted on. */
  path: string;
  /** Aborted when the host starts closing: stop timers and loops here. */
  signal: AbortSignal;
  /** Close the host (as on SIGTERM) and end the process. */
  close(): Promise<void>;
  /** The host, once listening (e.g. for `host.exclusive(fn)` in the module's own loop). */
  readonly host: Host | undefined;
}

const TS_EXTENSIONS = new Set(['.ts', '.cts']);

export async function loadModule(file: string): Promise<{ loaded: unknown; esm: boolean }> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new UsageError(`no such module: ${abs}`, 'serve');
  const ext = path.extname(abs).toLowerCase();
  if (ext === '.mts') throw new UsageError('.mts modules are not supported: compile to .mjs, or use .ts with ts-node', 'serve');
  if (ext === '.mjs') return { loaded: await importFile(abs), esm: true };
  if (TS_EXTENSIONS.has(ext)) registerTypeScript(abs);
  let loaded: unknown;
  try {
    loaded = require(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    return { loaded: await importFile(abs), esm: true };
  }
  // Node ≥ 20.19 can require() an ES module: it returns the module namespace.
  return { loaded, esm: types.isModuleNamespaceObject(loaded) };
}

function importFile(abs: string): Promise<unknown> {
  // A real dynamic import (kept as such in the CommonJS build), so .mjs and ESM .js load as ESM.
  return import(pathToFileURL(abs).href);
}

/** .ts needs ts-node: already registered (node -r ts-node/register, ts-node), or found near the module. */
function registerTypeScript(abs: string): void {
  if (require.extensions['.ts']) return;
  let tsNode: string;
  try {
    tsNode = require.resolve('ts-node', { paths: [path.dirname(abs), process.cwd(), __dirname] });
  } catch {
    throw new UsageError(
      `cannot load ${path.basename(abs)}: TypeScript needs ts-node (npm i -D ts-node), or run under it: node -r ts-node/register $(command -v remoteobj) serve …; or compile the module to .js`,
      'serve',
    );
  }
  (require(tsNode) as { register(opts: object): void }).register({ transpileOnly: true });
}

/**
 * The export to host: EXPORT by name; else for CommonJS `module.exports` itself (or its
 * `default` when it was compiled from ESM); for ESM the default export, or the only export.
 */
export function pickExport(loaded: unknown, esm: boolean, name: string | undefined, file: string): unknown {
  const mod = loaded as Record<string, unknown>;
  const names = mod !== null && (typeof mod === 'object' || typeof mod === 'function') ? Object.keys(mod).filter((k) => k !== '__esModule') : [];
  if (name !== undefined) {
    if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function') || !(name in mod)) {
      throw new UsageError(`${file} has no export "${name}"${names.length ? ` (it exports: ${names.join(', ')})` : ''}`, 'serve');
    }
    return mod[name];
  }
  const esModule = esm || (mod !== null && typeof mod === 'object' && (mod as { __esModule?: unknown }).__esModule === true);
  if (!esModule) return mod;
  if ('default' in mod && mod.default !== undefined) return mod.default;
  if (names.length === 1) return mod[names[0]!];
  throw new UsageError(
    names.length ? `${file} has no default export; name the one to host: ${names.join(', ')}` : `${file} exports nothing to host`,
    'serve',
  );
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** A class is instantiated, a function is called as a (possibly async) factory; anything else is hosted as is. */
export async function materialize(exported: unknown, control: ServeControl): Promise<unknown> {
  if (typeof exported !== 'function') return exported;
  if (isClass(exported)) return new (exported as new (c: ServeControl) => unknown)(control);
  return await (exported as (c: ServeControl) => unknown)(control);
}
