/**
 * The child's half of finding a function of an ES module (see locate.ts). The parent cannot read
 * an ES module's exports without importing it again, so it sends the module, a guess at the
 * export name, and the position where the function is defined. The child has imported the module
 * anyway: it runs the export whose function is defined at that position in that file, the guess
 * first. The parent and the child compile the module the same way (same Node flags, same hooks),
 * so the positions agree.
 */
import { inspectFunction } from './inspect-function';

type AnyFn = (...args: unknown[]) => unknown;

export type ExportSearch = { found: true; exportName: string; fn: AnyFn } | { found: false; ambiguous: string[] };

export function findExportAt(namespace: unknown, file: string, at: { line: number; column: number }, hint: string | null): ExportSearch {
  if (namespace === null || typeof namespace !== 'object') return { found: false, ambiguous: [] };
  const ns = namespace as Record<string, unknown>;
  const definedThere = (value: unknown): value is AnyFn => {
    if (typeof value !== 'function') return false;
    const facts = inspectFunction(value as AnyFn);
    return facts?.file === file && facts.line === at.line && facts.column === at.column;
  };
  if (hint !== null && definedThere(read(ns, hint))) return { found: true, exportName: hint, fn: ns[hint] as AnyFn };
  const matches = Object.keys(ns).filter((k) => k !== hint && definedThere(read(ns, k)));
  // Two exports defined at one place (closures of one factory) are different functions: refuse to guess.
  if (matches.length === 1) return { found: true, exportName: matches[0]!, fn: ns[matches[0]!] as AnyFn };
  return { found: false, ambiguous: matches };
}

function read(ns: Record<string, unknown>, key: string): unknown {
  try {
    return ns[key];
  } catch {
    return undefined; // an export still in its temporal dead zone
  }
}
