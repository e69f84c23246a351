/**
 * The request running now on the host, found from anywhere below it (hosted code, the codec's
 * context, a callback's stand-in) through AsyncLocalStorage: its connection, the lock turn it
 * belongs to, and an AbortSignal slot the control helper fills (currentSignal()).
 *
 * The turn is what lets callbacks re-enter without deadlock (docs/architecture.md, "The lock
 * rule for callbacks"): every host → client request made while a turn runs carries it, and a
 * client request carrying a turn the host granted that connection runs inside the turn.
 *
 * The context is entered only where it can be needed. AsyncLocalStorage on Node 20 works through
 * async hooks: once any store is entered, every async resource the process makes (each promise,
 * nextTick, socket write) runs an init hook, for good. Entered for every protocol-2 request, it
 * cost the host 0.4-0.6 µs of CPU per request in case (b) of the benchmark (~10 %: 4.72 against
 * 4.13 µs user per call, medians of five alternating runs; with the hooks on and no store entered
 * per request, the same), and slowed every other await in the host's process (~90 ns each). So:
 *
 * - a request's synchronous part sees it through a plain variable (`running`): nothing entered;
 * - a hosted async function (an `async` method) is called inside the storage,
 *   so what it does after its awaits still sees its request (callAsRequest);
 * - once the process may need it everywhere, every protocol-2 request runs inside the storage:
 *   after the first currentSignal() (a plain method may hand its promise to code that asks after
 *   an await) and once a peer holds a far side's function or object (the host may call back, and
 *   a callback needs its turn after awaits too). See contextEverywhere().
 *
 * What this leaves out, and the docs say so (api.md, Cancellation): before either has happened,
 * a plain (not `async`) method that returns a promise, whose code asks for currentSignal() only
 * after an await, gets the signal that never aborts, for that request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { types } from 'node:util';

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

/** The request whose synchronous part runs now, outside the storage (see above). */
let running: RunningRequest | undefined;
/** Every protocol-2 request runs inside the storage from now on (never turned off: requests in flight rely on it). */
let everywhere = false;

/** From now on every protocol-2 request enters the storage (the first currentSignal(), the first reference a peer holds). */
export function contextEverywhere(): void {
  everywhere = true;
}

/**
 * Run `fn` as request `r`: its synchronous part sees `r` through currentRequest(), and so does
 * what it does after awaits when it runs inside the storage (always, once contextEverywhere(); an
 * async function it calls through callAsRequest otherwise).
 */
export function runAsRequest<A, R>(r: RunningRequest, fn: (arg: A) => R, arg: A): R {
  // `fn` and `arg` rather than a closure: this is on every protocol-2 request's path.
  if (everywhere) return storage.run(r, fn, arg);
  const outer = running;
  running = r;
  try {
    return fn(arg);
  } finally {
    running = outer;
  }
}

/**
 * Call a hosted function for the request whose synchronous part runs now: an async one inside the
 * storage, so its awaits keep the request. Not an async generator function: calling one only makes
 * the generator, whose body runs later in whoever pulls it (a stream's producer, after the reply),
 * so entering the storage would buy nothing and turn the hooks on for good (a stream of 300,000
 * items: ~0.3 µs more host CPU per item).
 */
export function callAsRequest(fn: Function, self: unknown, args: readonly unknown[]): unknown {
  const r = running;
  if (r !== undefined && isAsyncNotGenerator(fn)) return storage.run(r, Reflect.apply, fn, self, args);
  return Reflect.apply(fn, self, args);
}

const AsyncFunction = (async () => {}).constructor;

/**
 * An `async` function that is not an async generator function. Its constructor tells for this
 * realm's functions without a call into C++ (util.types: ~20-30 ns per request); anything else
 * (another realm's function, a constructor property changed) asks util.types.
 */
function isAsyncNotGenerator(fn: Function): boolean {
  const c = fn.constructor;
  if (c === Function) return false;
  if (c === AsyncFunction) return true;
  return types.isAsyncFunction(fn) && !types.isGeneratorFunction(fn);
}

/**
 * The request running now, if any. The plain variable first: while a request's synchronous part
 * runs, no other request's code can (continuations run from the microtask queue, after it).
 */
export function currentRequest(): RunningRequest | undefined {
  return running ?? storage.getStore();
}
