/**
 * Options shared by LocalExcept and Except, and the `types` filter: which thrown values a
 * context catches. A type is a class (matched with instanceof) or a class name (matched along the
 * prototype chain, and against a remote error's `name`), so a filter can cross processes.
 */
import { types as utilTypes } from 'node:util';
import { RemoteError } from '../errors';

/** A class to catch (`TypeError`, a class of yours), or its name (`'ValidationError'`). */
export type ErrorType = (abstract new (...args: any[]) => unknown) | string;

/** The group `catch(fn)` records into when no group is named; `raiseAny(DEFAULT_GROUP)` addresses it. */
export const DEFAULT_GROUP = 'default';

export interface CatchOptions {
  /**
   * Re-throw the error after recording it (default true). With false the context swallows it
   * and `catch()` resolves with undefined.
   */
  raises?: boolean;
  /** Only these classes are caught (default: every Error); anything else passes through unrecorded. */
  types?: ErrorType | readonly ErrorType[];
  /**
   * Default true: once a context has recorded an error, outer contexts of the same Except do not
   * record it again. False: this context does not claim the error and always re-throws it, so
   * outer contexts see it and record it into their own groups (never twice into one group).
   */
  catchOnce?: boolean;
}

export type ExceptOptions = CatchOptions;

/** Options with every field decided. */
export interface Resolved {
  raises: boolean;
  types: readonly ErrorType[];
  catchOnce: boolean;
}

export function resolveOptions(base: Resolved, over: CatchOptions | undefined): Resolved {
  return {
    raises: over?.raises ?? base.raises,
    types: over?.types !== undefined ? normalizeTypes(over.types) : base.types,
    catchOnce: over?.catchOnce ?? base.catchOnce,
  };
}

export function normalizeTypes(t: ErrorType | readonly ErrorType[] | undefined): readonly ErrorType[] {
  if (t === undefined) return [Error];
  const list = (Array.isArray(t) ? [...t] : [t]) as ErrorType[];
  for (const x of list) {
    if (typeof x !== 'function' && typeof x !== 'string') {
      throw new TypeError(`types must be classes or class names, got ${x === null ? 'null' : typeof x}`);
    }
  }
  return Object.freeze(list);
}

/** Does the thrown value match one of the types? Only objects can (a thrown string never does). */
export function matchesTypes(value: unknown, list: readonly ErrorType[]): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return list.some((t) => matchesType(value as object, t));
}

function matchesType(value: object, t: ErrorType): boolean {
  if (typeof t === 'function') {
    if (value instanceof t) return true;
    // An Error from another realm (vm, Jest's sandbox) is still an Error.
    return t === Error && utilTypes.isNativeError(value);
  }
  if (value instanceof RemoteError && value.name === t) return true;
  for (let p: object | null = value; p !== null; p = Object.getPrototypeOf(p)) {
    const ctor = Object.hasOwn(p, 'constructor') ? (p as { constructor?: unknown }).constructor : undefined;
    if (typeof ctor === 'function' && ctor.name === t) return true;
  }
  return false;
}

/** Types as names, for a filter that travels to another process. */
export function typeNames(list: readonly ErrorType[]): string[] {
  return list.map((t) => (typeof t === 'string' ? t : t.name));
}

/** Names back to types on the receiving side: a built-in error class by its global name, else the name itself. */
export function typesFromNames(names: readonly string[]): readonly ErrorType[] {
  return Object.freeze(
    names.map((n) => {
      const g = (globalThis as Record<string, unknown>)[n];
      return typeof g === 'function' && (g === Error || g.prototype instanceof Error) ? (g as ErrorType) : n;
    }),
  );
}

export function describeTypes(list: readonly ErrorType[]): string {
  return list.map((t) => (typeof t === 'string' ? t : t.name || '<anonymous class>')).join(', ');
}
