/**
 * release(x): give back, before the connection closes, something the far side handed this side by
 * reference (a function stand-in, a handle proxy), in the style of Cap'n Web's explicit disposal.
 * The far side frees its export once every reference it sent has come back; using the stand-in
 * afterwards rejects with ReleasedError (code RELEASED).
 *
 * Each kind of stand-in registers how it is released (the peer for its function stand-ins, the
 * client's proxy for its handles: a handle waits for the requests made on it to be sent first).
 * The registry is a WeakMap, so it holds nothing alive.
 */

const releasers = new WeakMap<object, () => Promise<void>>();

/** @internal Register how `standIn` is released (peer.ts, client/proxy.ts). */
export function registerStandIn(standIn: object, release: () => Promise<void>): void {
  releasers.set(standIn, release);
}

/**
 * Release a stand-in for the far side's object: a function it passed (on a host: a client's
 * callback; on a client: a host's function), or a handle (`ref()`) proxy. Resolves once the
 * release is on its way. Releasing twice, or after the connection closed, does nothing more.
 * Anything else is a TypeError: only a stand-in can be released.
 */
export function release(standIn: unknown): Promise<void> {
  const fn = (typeof standIn === 'function' || (typeof standIn === 'object' && standIn !== null)) ? releasers.get(standIn) : undefined;
  if (fn === undefined) {
    return Promise.reject(new TypeError('release() takes a function or a handle that the other side of a connection passed by reference (protocol 2)'));
  }
  return fn();
}
