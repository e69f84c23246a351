/**
 * Forgetting cancelled requests (host/lock.ts forget(), host/flow.ts forget()): a cancelled
 * request that waits, in the lock's queue or parked by its connection's back-pressure, is let go
 * at once (its slot emptied, so nothing keeps it alive) and never runs, whatever happened around
 * it: other requests pushed, parked, handed back to the front of the queue (requeue renumbers
 * every slot behind them), the queue trimmed after 1,024 runs. Random schedules over the real
 * FifoLock and ConnectionFlow; every other request runs exactly once, in its connection's order.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FifoLock, type Job } from '../src/host/lock';
import { ConnectionFlow, DEFAULT_FLOW_LIMITS, FlowBudget } from '../src/host/flow';
import { rng } from './fixtures/seeded-rng';

interface TestJob extends Job {
  readonly conn: number;
  readonly seq: number;
  started: boolean;
  cancelledByClient: boolean;
}

test.each([1, 2, 3, 4, 5, 6])('schedule %i: cancelled jobs never run and are let go at once; the rest run once, in order', (seed) => {
  const r = rng(seed);
  const lock = new FifoLock('auto');
  const budget = new FlowBudget(DEFAULT_FLOW_LIMITS);
  const flows = [0, 1, 2].map(() => new ConnectionFlow(budget, { pauseReading() {}, resumeReading() {}, requeue: (jobs) => lock.requeue(jobs) }));
  const blocked = flows.map(() => false);
  const ran: TestJob[] = [];
  const all: TestJob[] = [];
  let release: (() => void) | undefined;
  const holder: Job = { run: () => new Promise<void>((resolve) => (release = resolve)), cancel() {} };

  const push = (conn: number) => {
    const flow = flows[conn]!;
    const job: TestJob = {
      conn,
      seq: all.length,
      started: false,
      cancelledByClient: false,
      dropped: false,
      parked: false,
      slot: -1,
      run() {
        if (this.cancelledByClient) throw new Error(`job ${this.seq} ran after its client cancelled it`);
        if (this.started) throw new Error(`job ${this.seq} ran twice`);
        this.started = true;
        ran.push(this);
      },
      cancel() {},
      ready: () => flow.mayRun(),
      park() {
        flow.park(job);
      },
    };
    all.push(job);
    // As host.ts enqueues: behind the connection's parked jobs, if it has any.
    if (flow.hasParked) flow.park(job);
    else lock.push(job);
  };
  const cancel = (job: TestJob) => {
    // As QueuedRequest.cancelled() does for a job that has not started.
    job.cancelledByClient = true;
    if (job.parked) flows[job.conn]!.forget(job);
    else lock.forget(job);
    expect(job.dropped).toBe(true);
  };
  const block = (conn: number, on: boolean) => {
    if (blocked[conn] === on) return;
    blocked[conn] = on;
    // Unsent bytes past the bound: the connection's jobs are parked instead of run, until they are taken.
    if (on) flows[conn]!.unsentAdded(DEFAULT_FLOW_LIMITS.maxUnsentBytesPerConnection);
    else flows[conn]!.unsentTaken(DEFAULT_FLOW_LIMITS.maxUnsentBytesPerConnection);
  };

  for (let step = 0; step < 4_000; step++) {
    const what = r.int(100);
    if (what < 45) push(r.int(3));
    else if (what < 70) {
      // One that still waits, most often among the latest (what a client cancels is often recent).
      for (let tries = 0; tries < 20 && all.length > 0; tries++) {
        const j = all[all.length - 1 - r.int(Math.min(all.length, 200))]!;
        if (!j.started && !j.cancelledByClient) {
          cancel(j);
          break;
        }
      }
    } else if (what < 80) block(r.int(3), r.chance(0.5));
    else if (what < 90) {
      if (release === undefined) lock.push(holder);
    } else if (release !== undefined) {
      const letGo = release;
      release = undefined;
      letGo();
    }
  }
  for (let c = 0; c < 3; c++) block(c, false);
  const left = all.filter((j) => !j.started && !j.cancelledByClient);
  return (async () => {
    // Let every hold end (the holder may be queued more than once).
    for (let turns = 0; lock.busy || lock.size > 0; turns++) {
      if (turns > 10_000) throw new Error('the queue does not empty');
      const letGo = release;
      release = undefined;
      letGo?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(lock.size).toBe(0);
    expect(budget.parked).toBe(0);
    for (const j of all) expect(j.started).toBe(!j.cancelledByClient);
    expect(left.every((j) => j.started)).toBe(true);
    // Each connection's jobs ran in the order they came.
    for (let c = 0; c < 3; c++) {
      const seqs = ran.filter((j) => j.conn === c).map((j) => j.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(all.filter((j) => j.cancelledByClient).length).toBeGreaterThan(300);
  })();
});

test('a forgotten job is let go at once, in the queue (also after it was trimmed and after a requeue) and when parked', async () => {
  // A full collection in this process: the flag only while a context with `gc` is made, so the
  // contexts of later test files in this worker do not get a global gc.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  const lock = new FifoLock('auto');
  const budget = new FlowBudget(DEFAULT_FLOW_LIMITS);
  const flow = new ConnectionFlow(budget, { pauseReading() {}, resumeReading() {}, requeue: (jobs) => lock.requeue(jobs) });
  const make = (): Job => ({ run() {}, cancel() {}, dropped: false, parked: false, slot: -1 });
  let release: (() => void) | undefined;
  const holder = (): Job => ({ run: () => new Promise<void>((resolve) => (release = resolve)), cancel() {} });
  lock.push(holder());
  // 3,000 jobs run once the first hold ends, so the queue is trimmed (past 1,024) under the next hold.
  for (let i = 0; i < 3_000; i++) lock.push(make());
  lock.push(holder());
  const forgotten = (() => {
    const jobs = Array.from({ length: 2_000 }, make);
    for (const j of jobs) lock.push(j);
    return jobs.map((j) => new WeakRef(j));
  })();
  release!();
  await new Promise((resolve) => setImmediate(resolve));
  expect(lock.busy).toBe(true); // the second hold
  // A requeue in front of them moves every slot behind it.
  const parked = (() => {
    const p = [make(), make()];
    for (const j of p) flow.park(j);
    return p;
  })();
  lock.requeue([make()]);
  for (const ref of forgotten) lock.forget(ref.deref()!);
  const parkedRef = new WeakRef(parked[1]!);
  flow.forget(parked.pop()!);
  expect(lock.size).toBe(1);
  expect(budget.parked).toBe(1);
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  expect(forgotten.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  expect(parkedRef.deref()).toBeUndefined();
  release!();
  await new Promise((resolve) => setImmediate(resolve));
  expect(lock.size).toBe(0);
  parked.length = 0;
});
