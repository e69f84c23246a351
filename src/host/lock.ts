/**
 * The host's one lock: a FIFO queue of jobs run one at a time, across all connections.
 * A job that returns a promise holds the lock until it settles. In 'auto' mode the queue runs
 * whenever it has work; in 'manual' mode queued requests run only inside `drain()` (the host's
 * processRequests()), like the seed's `process_requests()` loop, while the host's own
 * `exclusive()` jobs run whenever the lock is free, ahead of queued requests.
 *
 * There is exactly one runner (`#pump`) at a time: every way in (push, runExclusive, drain,
 * setAuto, requeue) only starts it when it is not already running, and a drain() that arrives
 * while it runs just asks it to keep going. (An earlier version let drain() start a second
 * runner after waiting for idle, which another drain or exclusive() could have ended first:
 * two requests then ran at once.)
 */
export interface Job {
  /** Do the work; a promise holds the lock until it settles. Must not throw. */
  run(): void | Promise<void>;
  /** Called instead of run() when the queue is cleared (a closing host); `reason` says why. */
  cancel(reason: string): void;
  /**
   * Optional: whether the job may run now. When it returns false, the lock calls park() instead
   * and goes on with the next job; the job's owner hands it back later with requeue(). Used for a
   * connection that cannot take another reply yet (back-pressure), so that its requests do not
   * hold up everybody else's.
   */
  ready?(): boolean;
  park?(): void;
  /**
   * Set by forget() (or by the flow holding it parked): the job was cancelled before it started.
   * Its slot is emptied (found through `slot`; a hole the runner skips), so forgetting it costs
   * O(1), not a scan, and nothing keeps it alive.
   */
  dropped?: boolean;
  /** True while a connection's flow holds the job aside (flow.ts), not this queue. */
  parked?: boolean;
  /**
   * Where the job waits, so forget() finds it: its slot in the lock's queue (counted from the
   * lock's first job), or its index among its flow's parked jobs.
   */
  slot?: number;
}

export class FifoLock {
  /** Waiting jobs from #head on; an empty slot there is a forgotten job (a hole). */
  #jobs: (Job | undefined)[] = [];
  #head = 0;
  /** The slot number (Job.slot) of #jobs[0]: slots count from the lock's first job, so trimming #jobs moves none. */
  #base = 0;
  /** Forgotten jobs whose (emptied) slots are still in #jobs, holes the runner skips: not counted in size. */
  #holes = 0;
  /** Manual mode: the host's exclusive() jobs, run whenever the lock is free. */
  #urgent: Job[] = [];
  #mode: 'auto' | 'manual';
  #running = false;
  /** processRequests() calls waiting for the queue to be empty, with the run count when each began. */
  #drains: { resolve: (count: number) => void; from: number }[] = [];
  #ran = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #continue = () => this.#pump();

  constructor(mode: 'auto' | 'manual') {
    this.#mode = mode;
  }

  /** Jobs waiting to run (queued requests and exclusive() calls; not parked ones). */
  get size(): number {
    return this.#jobs.length - this.#head - this.#holes + this.#urgent.length;
  }

  /** True while a job runs. */
  get busy(): boolean {
    return this.#running;
  }

  push(job: Job): void {
    job.slot = this.#base + this.#jobs.length;
    this.#jobs.push(job);
    this.#kick();
  }

  /**
   * Forget a queued request (cancelled by its client) in O(1): it never runs and no longer
   * counts in `size`. Only for a job waiting in this queue (not parked, not started).
   */
  forget(job: Job): void {
    if (job.dropped) return;
    job.dropped = true;
    this.#holes++;
    // Let go of it now, not when the runner passes its slot: while one request holds the lock,
    // its cancelled followers (~500 bytes each on the host, plus their arguments) were kept
    // alive, and every scavenge meanwhile copied them (case (h): a scavenge in the cancel phase
    // cost ~2 µs per cancelled request).
    const i = (job.slot ?? -1) - this.#base;
    if (i >= this.#head && this.#jobs[i] === job) this.#jobs[i] = undefined;
  }

  /** Put parked jobs back at the front of the queue, in their order (they arrived before anything queued now). */
  requeue(jobs: Job[]): void {
    if (jobs.length === 0) return;
    this.#jobs.splice(this.#head, 0, ...jobs);
    // Everything behind them moved: number the slots again (O(n), as the splice is).
    for (let i = this.#head; i < this.#jobs.length; i++) {
      const job = this.#jobs[i];
      if (job !== undefined) job.slot = this.#base + i;
    }
    this.#kick();
  }

  /** Switch to auto mode (used when a manual host closes with fulfillFinal: run what is left). */
  setAuto(): void {
    this.#mode = 'auto';
    this.#kick();
  }

  /** Run queued jobs until the queue is empty (including jobs that arrive meanwhile); resolves with how many ran. */
  drain(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.#drains.push({ resolve, from: this.#ran });
      this.#kick();
    });
  }

  /**
   * Run `job` under the lock. Auto mode: after the jobs queued now. Manual mode: as soon as the
   * lock is free, ahead of queued requests (the host program owns the object between its
   * processRequests() calls).
   */
  runExclusive(job: Job): void {
    if (this.#mode === 'manual') {
      this.#urgent.push(job);
      this.#kick();
    } else {
      this.push(job);
    }
  }

  /** Cancel every job that has not started (queued requests and exclusive() calls); returns how many. */
  cancelQueued(reason: string): number {
    const jobs = [...this.#urgent.splice(0)];
    while (this.#head < this.#jobs.length) {
      const job = this.#take();
      if (job === undefined || job.dropped) this.#holes--;
      else jobs.push(job);
    }
    for (const job of jobs) job.cancel(reason);
    this.#settleDrains();
    return jobs.length;
  }

  /** Resolves when no job is running. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #kick(): void {
    if (!this.#running) this.#pump();
  }

  /** The job at the head (undefined: a forgotten one's empty slot), taken out of the queue. */
  #take(): Job | undefined {
    const job = this.#jobs[this.#head];
    this.#jobs[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return job;
  }

  #next(): Job | undefined {
    if (this.#urgent.length > 0) return this.#urgent.shift();
    while (this.#head < this.#jobs.length && (this.#mode === 'auto' || this.#drains.length > 0)) {
      const job = this.#take();
      if (job !== undefined && !job.dropped) return job;
      this.#holes--;
    }
    return undefined;
  }

  /** The one runner: synchronous jobs back to back; after a promise settles, it continues. */
  #pump(): void {
    this.#running = true;
    for (;;) {
      const job = this.#next();
      if (job === undefined) break;
      if (job.ready !== undefined && !job.ready()) {
        job.park!();
        continue;
      }
      this.#ran++;
      const r = job.run();
      if (r !== undefined) {
        r.then(this.#continue, this.#continue);
        return;
      }
    }
    this.#running = false;
    if (this.#head >= this.#jobs.length) this.#settleDrains();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The queue is empty: every drain() waiting resolves with what ran since it began. */
  #settleDrains(): void {
    if (this.#drains.length === 0 || this.#running) return;
    const drains = this.#drains;
    this.#drains = [];
    for (const d of drains) d.resolve(this.#ran - d.from);
  }
}
