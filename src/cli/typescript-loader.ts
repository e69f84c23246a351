/**
 * TypeScript for `remoteobj serve`: use the loader this process already runs under
 * (`node --import tsx …`, `node -r ts-node/register …`, the tsx command), or register one found
 * next to the module, in the working directory or next to remoteobj: tsx first (it loads ES
 * modules and CommonJS alike, as `node --import tsx` does), else ts-node (transpile-only; its
 * require hook loads CommonJS only). With neither, a usage error that names both.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './exit-codes';

export const TS_EXTENSIONS: ReadonlySet<string> = new Set(['.ts', '.cts', '.mts']);

export type TypeScriptLoader = 'already registered' | 'tsx' | 'ts-node';

/** Make `require()` (and, with tsx, `import()`) load TypeScript; says which loader does. */
export async function ensureTypeScriptLoader(abs: string): Promise<TypeScriptLoader> {
  // Both tsx and ts-node hook require() for .ts; tsx's ES module hooks come with it.
  if (require.extensions['.ts']) return 'already registered';
  const paths = [path.dirname(abs), process.cwd(), __dirname];
  const tsx = resolveFrom('tsx', paths);
  if (tsx !== undefined) {
    // What `node --import tsx` runs before the main module: tsx's ES module and require hooks.
    await import(pathToFileURL(tsx).href);
    return 'tsx';
  }
  const tsNode = resolveFrom('ts-node', paths);
  if (tsNode !== undefined) {
    (require(tsNode) as { register(opts: object): void }).register({ transpileOnly: true });
    return 'ts-node';
  }
  throw new UsageError(
    `cannot load ${path.basename(abs)}: TypeScript needs a loader, and neither tsx nor ts-node is installed where the module, ` +
      `the working directory or remoteobj can find it. Install one (npm i -D tsx), or run remoteobj under one: ` +
      `node --import tsx $(command -v remoteobj) serve ${path.basename(abs)} ` +
      `(or node -r ts-node/register $(command -v remoteobj) serve …, CommonJS modules only); or compile the module to .js`,
    'serve',
  );
}

/** An ES module .ts could not be imported: the loader in this process hooks require() only. */
export function esmNeedsTsx(abs: string, reason: string): UsageError {
  return new UsageError(
    `${path.basename(abs)} is an ES module (${reason}), and the TypeScript loader in this process hooks require() only ` +
      `(as ts-node/register does): run under tsx instead: node --import tsx $(command -v remoteobj) serve ${path.basename(abs)}; ` +
      `or make the module CommonJS (.cts), or compile it to .js`,
    'serve',
  );
}

function resolveFrom(id: string, paths: string[]): string | undefined {
  try {
    return require.resolve(id, { paths });
  } catch {
    return undefined;
  }
}
