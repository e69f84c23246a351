/**
 * Whether Node treats a file as CommonJS or as an ES module: by extension (.mjs/.mts are ES
 * modules, .cjs/.cts CommonJS), else by the "type" of the nearest package.json — Node's own rule,
 * which Node 20 has no public API for (module.findPackageJSON came in Node 22.14).
 */
import fs from 'node:fs';
import path from 'node:path';

export type ModuleFormat = 'commonjs' | 'module';

export interface FormatVerdict {
  format: ModuleFormat;
  /** Why, in words for a message: `the .mjs extension`, `"type": "module" in /app/package.json`. */
  reason: string;
}

export function moduleFormatOf(file: string): FormatVerdict {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.mjs' || ext === '.mts') return { format: 'module', reason: `the ${ext} extension` };
  if (ext === '.cjs' || ext === '.cts') return { format: 'commonjs', reason: `the ${ext} extension` };
  const pkg = nearestPackageJson(file);
  if (pkg === undefined) return { format: 'commonjs', reason: 'no package.json above it' };
  return readType(pkg) === 'module'
    ? { format: 'module', reason: `"type": "module" in ${pkg}` }
    : { format: 'commonjs', reason: `no "type": "module" in ${pkg}` };
}

/** The package.json that governs `file`: the nearest one above it, not looking past a node_modules folder (as Node does). */
function nearestPackageJson(file: string): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir || path.basename(dir) === 'node_modules') return undefined;
    dir = parent;
  }
}

function readType(pkg: string): unknown {
  try {
    return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { type?: unknown } | null)?.type;
  } catch {
    return undefined; // unreadable or not JSON: Node's own loader reports it when it loads the file
  }
}
