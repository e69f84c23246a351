/**
 * The lock forgets a cancelled request in O(1) (issue 13 item 5): the job stays in the queue as a
 * hole the runner skips, `size` stops counting it at once, it never runs, and nothing else moves.
 * (Its cost per cancel is in npm run bench, not here.)
 */
import { FifoLock, type Job } from '../src/host/lock';
import { Gate } from './fixtures/host-kit';

function job(log: string[], tag: string, hold?: Promise<void>): Job {
  return {
    run: () => {
      log.push(tag);
      return hold;
    },
    cancel: (reason) => log.push(`${tag} cancelled: ${reason}`),
  };
}

test('a forgotten job never runs and leaves the queue count at once; the others run in order', async () => {
  const log: string[] = [];
  const lock = new FifoLock('auto');
  const gate = new Gate();
  lock.push(job(log, 'holder', gate.promise));
  const jobs = ['a', 'b', 'c', 'd'].map((t) => job(log, t));
  for (const j of jobs) lock.push(j);
  expect(lock.size).toBe(4);
  lock.forget(jobs[1]!);
  lock.forget(jobs[1]!); // twice: counted once
  lock.forget(jobs[3]!);
  expect(lock.size).toBe(2);
  gate.open();
  await lock.idle();
  await new Promise((r) => setImmediate(r));
  expect(log).toEqual(['holder', 'a', 'c']);
  expect(lock.size).toBe(0);
});

test('a closing host cancels only the jobs that were not forgotten', () => {
  const log: string[] = [];
  const lock = new FifoLock('manual');
  const jobs = ['a', 'b', 'c'].map((t) => job(log, t));
  for (const j of jobs) lock.push(j);
  lock.forget(jobs[0]!);
  expect(lock.cancelQueued('closing')).toBe(2);
  expect(log).toEqual(['b cancelled: closing', 'c cancelled: closing']);
  expect(lock.size).toBe(0);
});

test('manual mode: processRequests() skips forgotten jobs and counts only what ran; 100,000 forgotten ones leave nothing behind', async () => {
  const log: string[] = [];
  const lock = new FifoLock('manual');
  const many: Job[] = [];
  for (let i = 0; i < 100_000; i++) {
    const j = job(log, `j${i}`);
    many.push(j);
    lock.push(j);
  }
  for (let i = 0; i < 100_000; i++) if (i !== 77_777) lock.forget(many[i]!);
  expect(lock.size).toBe(1);
  expect(await lock.drain()).toBe(1);
  expect(log).toEqual(['j77777']);
  expect(lock.size).toBe(0);
});
