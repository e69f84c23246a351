/**
 * The host's one lock: a FIFO queue of jobs run one at a time, across all connections.
 * A job that returns a promise holds the lock until it settles. In 'auto' mode the queue runs
 * whenever it has work; in 'manual' mode it runs only inside `drain()` (the host's
 * processRequests()), like the seed's `process_requests()` loop.
 */
export interface Job {
  /** Do the work; a promise holds the lock until it settles. Must not throw. */
  run(): void | Promise<void>;
  /** Called instead of run() when the queue is cleared (a closing host); `reason` says why. */
  cancel(reason: string): void;
}

export class FifoLock {
  private jobs: (Job | undefined)[] = [];
  private head = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private mode: 'auto' | 'manual') {}

  get size(): number {
    return this.jobs.length - this.head;
  }

  /** True while a job runs (or a drain is in progress). */
  get busy(): boolean {
    return this.running;
  }

  push(job: Job): void {
    this.jobs.push(job);
    if (this.mode === 'auto' && !this.running) this.pump(undefined);
  }

  /** Switch to auto mode (used when a manual host closes with fulfillFinal: run what is left). */
  setAuto(): void {
    this.mode = 'auto';
  }

  /** Run queued jobs until the queue is empty; resolves with how many ran. Waits for a running pump first. */
  async drain(): Promise<number> {
    if (this.running) await this.idle();
    return new Promise<number>((resolve) => this.pump(resolve));
  }

  /** Run `job` under the lock: now if the lock is free in manual mode, else after the queued jobs. */
  runExclusive(job: Job): void {
    if (this.mode === 'manual' && !this.running) {
      this.jobs.splice(this.head, 0, job); // manual mode: queued requests wait for drain(), the host does not
      this.pump(undefined, 1);
    } else {
      this.push(job);
    }
  }

  /** Cancel every queued job that has not started; returns how many. */
  cancelQueued(reason: string): number {
    let n = 0;
    while (this.head < this.jobs.length) {
      const job = this.take();
      n++;
      job.cancel(reason);
    }
    return n;
  }

  /** Resolves when no job is running. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private take(): Job {
    const job = this.jobs[this.head]!;
    this.jobs[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  /** Run jobs synchronously while they are synchronous; continue after a promise settles. */
  private pump(done: ((count: number) => void) | undefined, limit = Infinity, count = 0): void {
    this.running = true;
    while (this.head < this.jobs.length && count < limit) {
      const job = this.take();
      count++;
      const r = job.run();
      if (r !== undefined) {
        r.then(() => this.pump(done, limit, count));
        return;
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
    done?.(count);
    // In auto mode jobs that arrived while a drain() finished are picked up here.
    if (this.mode === 'auto' && this.head < this.jobs.length) this.pump(undefined);
  }
}
