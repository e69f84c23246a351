/**
 * Objects the library creates itself (hosts, connections, forked children, Except internals, the
 * CLI's serve control...). A client must never reach one: a hosted object that keeps its own Host
 * (`app.host = await serve(app, p)`) would otherwise hand out the secret, the policy and the
 * sockets of other clients. The access rules (access.ts) refuse a chain that meets one, and the
 * host refuses to send one as a value.
 *
 * A WeakSet, not a brand property: nothing is added to the object itself (a client could not
 * read a brand anyway, but user code enumerating the object would see it), and a marked object
 * is collected as usual.
 */
const owned = new WeakSet<object>();

/** Mark `obj` as the library's own: unreachable from any client. Returns `obj`. */
export function markLibraryOwned<T extends object>(obj: T): T {
  owned.add(obj);
  return obj;
}

/** Whether `value` is an object the library created for itself (see markLibraryOwned). */
export function isLibraryOwned(value: unknown): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && owned.has(value);
}
