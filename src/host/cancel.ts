/**
 * Cancellation on the host (issue 13 item 5): the requests of a protocol-2 connection that have
 * not been answered, by id, so its `cancel` messages find them in O(1); and currentSignal(), the
 * running request's AbortSignal, found through the request context (request-context.ts).
 *
 * A cancelled request that has not started is dropped: it leaves the lock's queue in O(1)
 * (lock.ts forget(): its slot is emptied, so nothing keeps it alive, and the runner skips it),
 * never runs, and gets no reply (its client has given up on it). A running one has its signal
 * aborted; it is never stopped by force, and the lock is freed when it settles. When the connection closes, every request of it still in flight
 * sees its signal abort too (those not started still run, as for any closed connection, but
 * with their signal already aborted).
 */
import { AbortError } from '../errors';
import type { RequestId } from '../protocol/wire-types';
import { contextEverywhere, currentRequest } from './request-context';

/** A request a client may cancel (serving.ts QueuedRequest). */
export interface Cancellable {
  /** Its client cancelled it: drop it if it has not started, else abort its signal. */
  cancelled(): void;
  /** Abort its signal with `reason` (now, or from its start if it has not started). */
  abort(reason: Error): void;
}

/** One protocol-2 connection's unanswered requests, by id. */
export class InFlight {
  readonly #byId = new Map<RequestId, Cancellable>();

  get size(): number {
    return this.#byId.size;
  }

  add(id: RequestId, request: Cancellable): void {
    this.#byId.set(id, request);
  }

  /** Its reply went out (or it was dropped). */
  settled(id: RequestId): void {
    // Most requests are answered before they could be added (run at once): nothing to look up.
    if (this.#byId.size !== 0) this.#byId.delete(id);
  }

  /** The client's cancel message: an id it never sent, or one already answered, is ignored. */
  cancel(id: RequestId): void {
    const request = this.#byId.get(id);
    if (request === undefined) return;
    this.#byId.delete(id);
    request.cancelled();
  }

  /** The connection is gone: every request still in flight sees its signal abort. */
  closed(cause: Error | undefined): void {
    if (this.#byId.size === 0) return;
    const reason = new AbortError("the client's connection closed", { cause });
    const requests = [...this.#byId.values()];
    this.#byId.clear();
    for (const r of requests) r.abort(reason);
  }
}

/** The reason a running request's signal carries when its client cancels it (made only then: dropping a queued one costs no stack capture). */
export function clientCancelled(): AbortError {
  return new AbortError('the client cancelled the request (its signal aborted, or its timeout passed)');
}

/** A signal that never aborts: what currentSignal() gives outside a request. */
const NEVER = new AbortController().signal;

/**
 * The running request's AbortSignal: it aborts when the client cancels the request, its timeout
 * passes, or its connection drops. Works anywhere below the hosted method, before and after its
 * awaits. Outside a request (or for a client that speaks only protocol 1, which cannot cancel),
 * a signal that never aborts.
 */
export function currentSignal(): AbortSignal {
  // Asked for once: from now on every request keeps its context across awaits (request-context.ts).
  contextEverywhere();
  return currentRequest()?.signal ?? NEVER;
}
