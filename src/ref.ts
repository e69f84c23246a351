/**
 * ref(): the one way a host (or a client) hands out an object by reference instead of as a copy
 * (protocol v2, docs/api.md "Handles"). Values stay copies by default; only what ref() marked
 * travels as `{"$handle": N}`, and the far side gets a Remote<T> whose chains run on the object.
 *
 * The mark is a WeakSet entry (nothing is added to the object, it is collected as usual). The
 * codec's fast path for plain JSON asks about marks only once ref() has been called at all
 * (`refsInUse`), so programs that never call it pay nothing.
 */

const marked = new WeakSet<object>();

/** True once ref() has been called in this process. */
export let refsInUse = false;

declare const refBrand: unique symbol;
/**
 * The type of a value marked with ref(): T itself at run time; the brand tells Remote<T> that a
 * method returning it gives the client a handle (Remote<T>) rather than a copy.
 */
export type Ref<T> = T & { readonly [refBrand]: T };

/** Mark `obj` to be handed out by reference (a handle); returns `obj` itself. */
export function ref<T extends object>(obj: T): Ref<T> {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) throw new TypeError('ref() takes an object');
  marked.add(obj);
  refsInUse = true;
  return obj as Ref<T>;
}

/** Whether ref() marked `v`. */
export function isRef(v: object): boolean {
  return marked.has(v);
}

declare const selfBrand: unique symbol;
/**
 * The type of a library class whose instances arrive as an instance of the same class (an Except
 * arrives as an Except handle), whether marked with ref() or not: Remote<T> keeps them as they are.
 */
export interface ArrivesAsItself {
  readonly [selfBrand]: true;
}

/**
 * Classes of the library whose instances travel by reference under a tag of their own, with a
 * description the receiver builds its stand-in from (an Except: `{"$except": {id, raises, ...}}`).
 * The class marks each instance; the codec asks here what an object travels as.
 */
const typed = new WeakMap<object, 'except'>();

/** @internal Mark `obj` to travel by reference as a `kind` (except/except.ts marks every Except). */
export function markTypedRef(obj: object, kind: 'except'): void {
  typed.set(obj, kind);
}

/** What `v` travels as by reference: a ref() handle, a typed reference, or undefined (a copy). */
export function refKindOf(v: object): 'handle' | 'except' | undefined {
  return typed.get(v) ?? (refsInUse && marked.has(v) ? 'handle' : undefined);
}
