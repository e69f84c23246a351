/**
 * One timer for all of a peer's request deadlines (the `timeout` option), instead of a
 * setTimeout and a clearTimeout per request: those cost 0.30–0.50 µs and a Timeout object per
 * request in a hot loop, where keeping one timer armed for the earliest deadline costs a number
 * per request and a ref()/unref() pair (0.027 µs) when the peer goes idle and busy again.
 *
 * The timer is armed for the earliest deadline it was told of; when it fires, the peer fails the
 * requests that are due and says when the next one is. While no request with a deadline is
 * pending, the timer stays armed but unref'd (it keeps the process alive only while a request is
 * waiting for its deadline, as a timer per request did).
 */
import { performance } from 'node:perf_hooks';

export class DeadlineTimer {
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (performance.now() ms); Infinity when it is not armed. */
  #at = Infinity;
  /** Pending requests that have a deadline. */
  #waiting = 0;
  /** Fail the requests due at `now`; returns the earliest deadline left (Infinity: none). */
  readonly #due: (now: number) => number;

  constructor(due: (now: number) => number) {
    this.#due = due;
  }

  /** A request with this deadline (performance.now() ms) is now pending. */
  add(deadline: number): void {
    if (this.#waiting++ === 0) this.#timer?.ref();
    if (deadline < this.#at) this.#arm(deadline);
  }

  /** A request with a deadline settled (or was dropped) before its deadline. */
  remove(): void {
    if (--this.#waiting === 0) this.#timer?.unref();
  }

  /** Nothing is pending any more (the connection closed). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
    this.#waiting = 0;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(at - performance.now())));
    if (this.#waiting === 0) this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#at = Infinity;
    // A timer can fire a fraction of a millisecond before the deadline by this clock: then the
    // request is not due yet, and the timer is armed again for it.
    const next = this.#due(performance.now());
    // A request made meanwhile (by code a failure ran) may have armed the timer for an earlier deadline.
    if (next < this.#at) this.#arm(next);
  };
}
