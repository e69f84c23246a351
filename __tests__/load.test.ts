/**
 * A short run of scripts/soak.ts: 10 clients × 200 requests (reads, writes, method calls, async
 * calls, echoes; pipelined 20 at a time) against a host in a child process, twice over. Every reply
 * must be right, the host's final state exactly what the clients computed, and every connection
 * gone from the host afterwards. `npm run soak` runs the long version (docs/reliability.md).
 */
import { runSoak } from '../scripts/soak';

test('10 clients × 200 pipelined requests, 2 rounds: every reply right, final state exact, nothing left behind', async () => {
  const r = await runSoak({ clients: 10, requests: 200, pipeline: 20, seed: 1, rounds: 2 });
  if (r.failures.length) throw new Error(`soak failed:\n${r.failures.join('\n')}`);
  expect(r.sent).toBe(4000);
  expect(r.correct).toBe(4000);
  expect(r.wrong).toEqual([]);
  expect(r.finalStateExact).toBe(true);
  expect(r.after.connections).toBe(1); // only the meter that asks
  expect(r.after.queued).toBe(0);
  if (r.before.fds > 0) expect(r.after.fds).toBe(r.before.fds); // no descriptor leaked (Linux)
  expect(r.hostExit).toEqual({ code: 0, signal: null });
}, 60_000);
