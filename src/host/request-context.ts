/**
 * The request running now on the host, found from anywhere below it (hosted code, the codec's
 * context, a callback's stand-in) through AsyncLocalStorage: its connection, the lock turn it
 * belongs to, and an AbortSignal slot the control helper fills (currentSignal()).
 *
 * The turn is what lets callbacks re-enter without deadlock (docs/architecture.md, "The lock
 * rule for callbacks"): every host → client request made while a turn runs carries it, and a
 * client request carrying a turn the host granted that connection runs inside the turn.
 *
 * AsyncLocalStorage costs time on every await once a store is entered (Node 20: ~130-160 ns per
 * await), so a host enters one only once it has a protocol-2 connection (host.ts decides).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The connection a request came on, as the request context sees it. */
export interface RequestConnection {
  /** Turns this connection may join: a turn is granted while a request of the host to it is outstanding. */
  grantsTurn(turn: number): boolean;
}

export interface RunningRequest {
  readonly connection: RequestConnection;
  /** The lock turn this request belongs to (its own, or the holder's it was admitted into). */
  readonly turn: number;
  /** Aborts when the request is cancelled, times out or its connection drops (filled by the control helper). */
  signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<RunningRequest>();

let lastTurn = 0;

/** A fresh turn number: one per request that takes the lock (process-wide, so never confused across hosts). */
export function newTurn(): number {
  return ++lastTurn;
}

/** Run `fn` as request `r`: code below it (sync or after awaits) sees `r` through currentRequest(). */
export function runAsRequest<R>(r: RunningRequest, fn: () => R): R {
  return storage.run(r, fn);
}

/** The request running now, if any. */
export function currentRequest(): RunningRequest | undefined {
  return storage.getStore();
}
