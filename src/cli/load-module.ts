/**
 * Load the module `serve` hosts from — CommonJS or ES module (.js under either package type,
 * .cjs, .mjs), or TypeScript (.ts, .cts, .mts) through tsx or ts-node — and pick the export to host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { types } from 'node:util';
import type { Host } from '../host/host';
import { UsageError } from './exit-codes';
import { compileAsCommonJs, runCommonJs } from './load-commonjs';
import { moduleFormatOf } from './module-format';
import { ensureTypeScriptLoader, esmNeedsTsx, TS_EXTENSIONS } from './typescript-loader';

/** What `serve` passes to a factory (and a class constructor). */
export interface ServeControl {
  /** The socket path the object will be hosted on. */
  readonly path: string;
  /** Aborted when the host starts closing: stop timers and loops here. */
  readonly signal: AbortSignal;
  /** Close the host (as on SIGTERM) and end the process. */
  close(): Promise<void>;
  /** The host, once listening (e.g. for `host.exclusive(fn)` in the module's own loop). */
  readonly host: Host | undefined;
}

/**
 * Load the module file the way its project means it (see moduleFormatOf): an ES module by
 * import(), CommonJS by require(), TypeScript through a loader (typescript-loader.ts), and a
 * .js without import/export under `"type": "module"` as the CommonJS it is (load-commonjs.ts).
 * Its top-level code runs once. `log` gets what --verbose shows.
 */
export async function loadModule(file: string, log: (line: string) => void = () => undefined): Promise<{ loaded: unknown; esm: boolean }> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new UsageError(`no such module: ${abs}`, 'serve');
  const ext = path.extname(abs).toLowerCase();
  const typescript = TS_EXTENSIONS.has(ext);
  if (typescript) log(`TypeScript loader: ${await ensureTypeScriptLoader(abs)}`);
  const { format, reason } = moduleFormatOf(abs);

  if (format === 'module') {
    if (ext === '.js') {
      const commonJs = compileAsCommonJs(abs);
      if (commonJs) {
        log(`${path.basename(abs)} has no import or export, so it is loaded as CommonJS (though ${reason} makes Node treat it as an ES module)`);
        return { loaded: runCommonJs(abs, commonJs), esm: false };
      }
    }
    try {
      return { loaded: await importFile(abs), esm: true };
    } catch (e) {
      if (typescript && (e as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION') throw esmNeedsTsx(abs, reason);
      throw e;
    }
  }

  let loaded: unknown;
  try {
    loaded = require(abs);
  } catch (e) {
    // An ES module by its syntax (Node detects it) that require() cannot load: with top-level await.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    return { loaded: await importFile(abs), esm: true };
  }
  // Node ≥ 20.19 can require() an ES module: it returns the module namespace.
  return { loaded, esm: types.isModuleNamespaceObject(loaded) };
}

function importFile(abs: string): Promise<unknown> {
  // A real dynamic import (kept as such in the CommonJS build), so ES modules load as such.
  return import(pathToFileURL(abs).href);
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
