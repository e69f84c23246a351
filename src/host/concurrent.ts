/**
 * Methods beside the lock (serve's `concurrent` option): which requests may run without taking
 * the host's FIFO lock, and the running count close() waits for.
 *
 * The rule (docs/api.md, "Methods beside the lock"): a request is a call of method NAME, and runs
 * beside the lock, only when its chain is nothing but property reads followed by one call — the
 * ops are `get`…`get`, then `call` as the last op — and the last read's key is NAME:
 *  - with a list of names, the chain must be exactly `[get NAME, call]` on the hosted object
 *    (`remote.watch(...)`): no getter of a longer path runs outside the lock;
 *  - with a predicate, it is asked `(name, args, path)` for chains of that shape (`path`: the keys
 *    read, ending with `name`, e.g. `['feeds', 'watch']`), so a host can allow nested members or
 *    look at the arguments.
 * Anything else — a call that is not the last op (`remote.mutate().watch()`), a `set`, `del`,
 * `passto`, `super`... anywhere in the chain, a read after the call (`remote.watch().length`) —
 * is queued on the lock like every request. So naming a method can never carry another member's
 * side effects past the lock.
 */
import type { Op } from '../protocol/wire-types';

/**
 * Decides whether a call runs beside the lock. `name`: the method's name; `args`: the call's
 * (decoded) arguments; `path`: every key read from the hosted object to reach the method, the
 * last being `name`. It runs for every request shaped like a call (reads then one call), so keep
 * it cheap; if it throws, the request is queued on the lock.
 */
export type ConcurrentPredicate = (name: string, args: readonly unknown[], path: readonly (string | number)[]) => boolean;

/** serve()'s `concurrent` option. */
export type ConcurrentOption = readonly string[] | ConcurrentPredicate;

/** The compiled rule: `undefined` when no method runs beside the lock (the default). */
export type BesideRule = ((ops: readonly Op[]) => boolean) | undefined;

export function besideRule(option: ConcurrentOption | undefined): BesideRule {
  if (option === undefined) return undefined;
  if (typeof option === 'function') return (ops) => askPredicate(option, ops);
  if (!Array.isArray(option) || option.some((n) => typeof n !== 'string')) {
    throw new TypeError('concurrent must be an array of method names or a function (name, args, path) => boolean');
  }
  if (option.length === 0) return undefined;
  const names = new Set<string>(option);
  return (ops) => {
    if (ops.length !== 2) return false;
    const get = ops[0]!;
    return get.op === 'get' && typeof get.key === 'string' && ops[1]!.op === 'call' && names.has(get.key);
  };
}

function askPredicate(predicate: ConcurrentPredicate, ops: readonly Op[]): boolean {
  const n = ops.length;
  const call = ops[n - 1];
  if (n < 2 || call === undefined || call.op !== 'call') return false;
  const path: (string | number)[] = new Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    const op = ops[i]!;
    if (op.op !== 'get') return false;
    path[i] = op.key;
  }
  const name = path[n - 2];
  if (typeof name !== 'string') return false;
  try {
    return predicate(name, call.args, path) === true;
  } catch {
    return false; // the host's predicate failed: the safe answer is the lock
  }
}

/** Requests running beside the lock: close() waits for them as it waits for the lock. */
export class BesideRuns {
  #running = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #done = () => {
    if (--this.#running === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  get running(): number {
    return this.#running;
  }

  /** Count `run` as running until it settles (it never rejects: serving.ts answers its errors). */
  track(run: Promise<void>): void {
    this.#running++;
    run.then(this.#done, this.#done);
  }

  /** Resolves when none runs. */
  idle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
