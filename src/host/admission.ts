/**
 * Who gets a connection slot. Connections that have proved the secret (or need not: a host
 * without one) hold one of `maxConnections` slots. Connections still expected to authenticate are
 * kept apart, at most `maxUnauthenticated` of them: when one more arrives, the oldest waiting one
 * is dropped, so idle sockets opened by a process without the secret can neither take a slot nor
 * keep a client that has the secret from getting through (it needs one round trip in the pool;
 * a flood would have to open `maxUnauthenticated` connections within that round trip).
 */
export interface Admitted {
  /** Drop this connection: it waited to authenticate while newer ones came. */
  evict(): void;
}

export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxUnauthenticated: number;
}

export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Large enough for a burst of clients that all connect at once and answer their hellos one after
 * another (the soak's 50 clients of one process pushed each other out of a pool of 32), small
 * enough that idle sockets cannot take the host's file descriptors.
 */
export const DEFAULT_MAX_UNAUTHENTICATED = 128;

export class Admission {
  readonly limits: AdmissionLimits;
  readonly #authenticated = new Set<Admitted>();
  /** In arrival order (a Set iterates in insertion order): the first is the oldest. */
  readonly #waiting = new Set<Admitted>();

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  /** Connections holding a slot. */
  get authenticated(): number {
    return this.#authenticated.size;
  }

  /** Connections waiting to authenticate. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Whether every slot is taken (a new connection would be refused). */
  get full(): boolean {
    return this.#authenticated.size >= this.limits.maxConnections;
  }

  /** A connection that needs no authentication: takes a slot, or returns false when none is free. */
  enter(c: Admitted): boolean {
    if (this.full) return false;
    this.#authenticated.add(c);
    return true;
  }

  /** A connection that must authenticate first: waits apart, dropping the oldest waiting one when full. */
  wait(c: Admitted): void {
    if (this.#waiting.size >= this.limits.maxUnauthenticated) {
      const oldest = this.#waiting.values().next().value;
      if (oldest !== undefined) {
        this.#waiting.delete(oldest);
        oldest.evict();
      }
    }
    this.#waiting.add(c);
  }

  /** A waiting connection authenticated: it takes a slot, or gets false when none is free. */
  promote(c: Admitted): boolean {
    this.#waiting.delete(c);
    return this.enter(c);
  }

  leave(c: Admitted): void {
    this.#waiting.delete(c);
    this.#authenticated.delete(c);
  }
}
