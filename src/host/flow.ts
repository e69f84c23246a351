/**
 * Back-pressure in bytes: how much a connection may have queued (requests read and not yet
 * answered) and unsent (replies built and not yet taken by the OS), per connection and in total.
 *
 * - Past a bound, the host stops reading the connection (the splitter stops at a line boundary,
 *   the socket is paused) until it has fallen back.
 * - Past its unsent bound, a connection's requests do not run: the lock hands them to the
 *   connection (parks them, in order) and goes on with other connections' requests, so a client
 *   that does not read its replies holds up nobody else. They go back to the front of the queue
 *   once the connection can take a reply again.
 * - A connection with nothing unsent (or nothing queued) may always take one more, so a single
 *   reply (or request) larger than a bound still goes through, one at a time, and a well-behaved
 *   client is served even while others have filled the totals.
 *
 * So per connection: queued ≤ maxQueuedBytesPerConnection + one request line, and unsent ≤
 * maxUnsentBytesPerConnection + one reply. In total: the total bounds, plus at most one request and
 * one reply per connection that had none. Bytes are counted as the UTF-8 length of request lines
 * and the length in characters of reply lines (bytes for ASCII, which is what JSON of most values
 * is); docs/security.md states the bounds.
 */
import type { Job } from './lock';

export interface FlowLimits {
  /** Requests read and not yet answered, by count (resume at half). */
  readonly maxQueuedPerConnection: number;
  readonly maxQueuedBytesPerConnection: number;
  readonly maxUnsentBytesPerConnection: number;
  readonly maxQueuedBytesTotal: number;
  readonly maxUnsentBytesTotal: number;
}

export const DEFAULT_FLOW_LIMITS: FlowLimits = Object.freeze({
  maxQueuedPerConnection: 1024,
  maxQueuedBytesPerConnection: 16 * 1024 * 1024,
  maxUnsentBytesPerConnection: 8 * 1024 * 1024,
  maxQueuedBytesTotal: 64 * 1024 * 1024,
  maxUnsentBytesTotal: 64 * 1024 * 1024,
});

/** What a flow controls: reading from its connection, and the lock its parked jobs go back to. */
export interface FlowIo {
  pauseReading(): void;
  resumeReading(): void;
  requeue(jobs: Job[]): void;
}

/** The host's totals, shared by every connection's flow. */
export class FlowBudget {
  queuedBytes = 0;
  unsentBytes = 0;
  /** Jobs parked by all connections (counted in host.queued). */
  parked = 0;
  readonly limits: FlowLimits;
  /** Flows stopped (reading, or with parked jobs) that a falling total may let go on. */
  readonly #waiting = new Set<ConnectionFlow>();
  #unparkWaiters: (() => void)[] = [];

  constructor(limits: FlowLimits) {
    this.limits = limits;
  }

  /** @internal */
  wait(flow: ConnectionFlow): void {
    this.#waiting.add(flow);
  }

  /** @internal */
  unwait(flow: ConnectionFlow): void {
    this.#waiting.delete(flow);
  }

  /** @internal a total fell below its bound: let the waiting flows look again. */
  totalsFell(): void {
    if (this.#waiting.size === 0) return;
    for (const flow of [...this.#waiting]) flow.update();
  }

  /** @internal */
  unparked(n: number): void {
    this.parked -= n;
    const waiters = this.#unparkWaiters;
    this.#unparkWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves the next time parked jobs go back to the queue (or are cancelled). */
  nextUnpark(): Promise<void> {
    return new Promise((resolve) => this.#unparkWaiters.push(resolve));
  }

  /** Cancel the parked jobs of every connection (a closing host). */
  cancelParked(reason: string): void {
    for (const flow of [...this.#waiting]) flow.cancelParked(reason);
  }
}

/** One connection's accounting; decides when to read it and whether its next request may run. */
export class ConnectionFlow {
  readonly #budget: FlowBudget;
  readonly #limits: FlowLimits;
  readonly #io: FlowIo;
  #inFlight = 0;
  #queuedBytes = 0;
  #unsentBytes = 0;
  #reading = true;
  /** Parked jobs in order; an empty slot is one its client cancelled (forget()). */
  #parked: (Job | undefined)[] = [];
  #ended = false;
  #closed = false;

  constructor(budget: FlowBudget, io: FlowIo) {
    this.#budget = budget;
    this.#limits = budget.limits;
    this.#io = io;
  }

  /** Requests read and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get reading(): boolean {
    return this.#reading;
  }

  /** Whether jobs of this connection wait aside (new ones must queue behind them). */
  get hasParked(): boolean {
    return this.#parked.length > 0;
  }

  /** A request line of `bytes` bytes was read and queued. */
  queued(bytes: number): void {
    this.#inFlight++;
    this.#queuedBytes += bytes;
    this.#budget.queuedBytes += bytes;
    this.update();
  }

  /** A queued request was answered (or dropped). */
  answered(bytes: number): void {
    this.#inFlight--;
    this.#queuedBytes -= bytes;
    const total = this.#budget.queuedBytes;
    this.#budget.queuedBytes = total - bytes;
    this.update();
    if (total >= this.#limits.maxQueuedBytesTotal && total - bytes < this.#limits.maxQueuedBytesTotal) this.#budget.totalsFell();
  }

  /** Reply bytes were built (handed to the writer). */
  unsentAdded(n: number): void {
    this.#unsentBytes += n;
    this.#budget.unsentBytes += n;
    if (this.#reading && !this.#mayRead()) this.update();
  }

  /** Reply bytes were taken by the OS (or dropped with the connection). */
  unsentTaken(n: number): void {
    this.#unsentBytes -= n;
    const total = this.#budget.unsentBytes;
    this.#budget.unsentBytes = total - n;
    this.update();
    if (total >= this.#limits.maxUnsentBytesTotal && total - n < this.#limits.maxUnsentBytesTotal) this.#budget.totalsFell();
  }

  /** Whether a request of this connection may run now: its reply would have room. */
  mayRun(): boolean {
    const unsent = this.#unsentBytes;
    if (unsent === 0 || this.#closed) return true;
    return unsent < this.#limits.maxUnsentBytesPerConnection && this.#budget.unsentBytes < this.#limits.maxUnsentBytesTotal;
  }

  /** Keep `job` aside until this connection can take a reply again (the lock calls this). */
  park(job: Job): void {
    job.parked = true;
    job.slot = this.#parked.length;
    this.#parked.push(job);
    this.#budget.parked++;
    this.#budget.wait(this);
  }

  /** The host has ended the connection: read on (and drop) whatever the client still sends. */
  ended(): void {
    this.#ended = true;
    if (!this.#reading) {
      this.#reading = true;
      this.#io.resumeReading();
    }
  }

  /** The connection is gone: its replies go nowhere, so what it had parked may run (and is dropped). */
  closed(): void {
    this.#closed = true;
    if (this.#unsentBytes > 0) this.unsentTaken(this.#unsentBytes);
    this.update();
    this.#budget.unwait(this);
  }

  /** A parked job was cancelled by its client: its place in the list is emptied (let go at once), no longer counted (O(1)). */
  forget(job: Job): void {
    if (job.dropped) return;
    job.dropped = true;
    this.#budget.parked--;
    // Let go of it now (what it carries too), as the lock does (lock.ts forget()).
    const i = job.slot ?? -1;
    if (this.#parked[i] === job) this.#parked[i] = undefined;
  }

  cancelParked(reason: string): void {
    if (this.#parked.length === 0) return;
    const jobs = this.#unparkAll();
    for (const job of jobs) job.cancel(reason);
  }

  /** Take every parked job that was not forgotten, and count them out of the budget. */
  #unparkAll(): Job[] {
    const all = this.#parked;
    this.#parked = [];
    const jobs: Job[] = [];
    for (const job of all) {
      if (job === undefined) continue;
      job.parked = false;
      if (!job.dropped) jobs.push(job);
    }
    this.#budget.unparked(jobs.length);
    return jobs;
  }

  /** Look again: resume or stop reading, and hand parked jobs back when they may run. */
  update(): void {
    if (this.#parked.length > 0 && this.mayRun()) this.#io.requeue(this.#unparkAll());
    const mayRead = this.#mayRead();
    if (mayRead !== this.#reading && !this.#closed && !this.#ended) {
      if (!mayRead) {
        this.#reading = false;
        this.#io.pauseReading();
      } else if (this.#inFlight <= this.#limits.maxQueuedPerConnection >> 1) {
        this.#reading = true;
        this.#io.resumeReading();
      }
    }
    if (!this.#reading || this.#parked.length > 0) this.#budget.wait(this);
    else this.#budget.unwait(this);
  }

  #mayRead(): boolean {
    const l = this.#limits;
    const queued = this.#queuedBytes;
    const unsent = this.#unsentBytes;
    return (
      this.#inFlight < l.maxQueuedPerConnection &&
      queued < l.maxQueuedBytesPerConnection &&
      unsent < l.maxUnsentBytesPerConnection &&
      (queued === 0 || this.#budget.queuedBytes < l.maxQueuedBytesTotal) &&
      (unsent === 0 || this.#budget.unsentBytes < l.maxUnsentBytesTotal)
    );
  }
}
