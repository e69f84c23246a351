/**
 * The host's lock under random interleavings (issue 10 item 3): remote requests from socket and
 * in-process clients, host.exclusive() with sync and async bodies, concurrent processRequests()
 * calls, auto and manual mode, and close() with fulfillFinal true or false at a random moment.
 * Whatever the order: never two critical sections at once, and nothing lost (every request and
 * every exclusive() settles exactly once, and the counter holds exactly the increments that
 * reported success), also while requests of socket clients wait aside for their replies to be
 * written (back-pressure in bytes, host/flow.ts: ~1,300 such waits over the 200 schedules).
 */
import { connect, type Remote, serve } from 'remoteobj';
import { Cleanup, range, tick } from './fixtures/host-kit';
import { tmpSock, until } from './helpers';
import { rng } from './fixtures/seeded-rng';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());


/** Read-modify-write counters that notice any overlap. */
class Shared {
  n = 0;
  inside = 0;
  overlaps = 0;
  enter(): number {
    if (this.inside++ > 0) this.overlaps++;
    return this.n;
  }
  leave(v: number): number {
    this.inside--;
    this.n = v + 1;
    return this.n;
  }
  /** Synchronous increment. */
  bump(): number {
    return this.leave(this.enter());
  }
  /** Increment that yields in the middle: loses updates unless calls are serialized. */
  async inc(turns: number): Promise<number> {
    const v = this.enter();
    for (let i = 0; i < turns; i++) await tick();
    return this.leave(v);
  }
}

type Outcome = { ok: true } | { ok: false; name: string };

async function runSchedule(seed: number): Promise<{ shared: Shared; outcomes: Outcome[]; processed: number; closedAt: number | undefined }> {
  const r = rng(seed);
  const manual = r.chance(0.6);
  const fulfillFinal = r.chance(0.5);
  const path = tmpSock('ilv');
  const shared = new Shared();
  // Half the schedules with a 1-byte bound on unsent replies: a socket client's next request then
  // waits aside (parked) until its previous reply is written, and goes back to the queue after.
  const maxUnsentBytesPerConnection = r.chance(0.5) ? 1 : undefined;
  const host = await serve(shared, path, { mode: manual ? 'manual' : 'auto', fulfillFinal, closeGraceMs: 5000, maxUnsentBytesPerConnection });
  cleanup.host(host);
  const remotes: Remote<Shared>[] = [];
  for (const local of [true, false, r.chance(0.5)]) remotes.push(cleanup.remote(await connect<Shared>(path, { localBypass: local })));

  const outcomes: Outcome[] = [];
  const settles: Promise<void>[] = [];
  const track = (p: PromiseLike<unknown>) => {
    let settled = 0;
    settles.push(
      Promise.resolve(p).then(
        () => {
          if (settled++ === 0) outcomes.push({ ok: true });
        },
        (e: Error) => {
          if (settled++ === 0) outcomes.push({ ok: false, name: e.name });
        },
      ),
    );
  };
  let processed = 0;
  const drains: Promise<void>[] = [];
  let closedAt: number | undefined;
  const steps = 60 + r.int(60);
  for (let step = 0; step < steps; step++) {
    const what = r.int(10);
    if (what < 4) {
      const remote = remotes[r.int(remotes.length)]!;
      track(r.chance(0.5) ? remote.bump() : remote.inc(r.int(3)));
    } else if (what < 6) {
      const turns = r.int(3);
      track(
        r.chance(0.4)
          ? host.exclusive((s) => s.bump())
          : host.exclusive(async (s) => {
              const v = s.enter();
              for (let i = 0; i < turns; i++) await tick();
              return s.leave(v);
            }),
      );
    } else if (what < 8) {
      if (manual) drains.push(host.processRequests().then((n) => void (processed += n)));
    } else if (what === 8 && closedAt === undefined && r.chance(0.15)) {
      closedAt = step;
      void host.close();
    } else {
      const turns = r.int(3);
      for (let i = 0; i < turns; i++) await tick();
    }
  }
  // Let whatever is still queued run (manual mode needs a last processRequests), then close.
  if (closedAt === undefined) {
    await until(async () => {
      if (manual) processed += await host.processRequests();
      return outcomes.length === settles.length;
    });
  }
  await host.close();
  await Promise.all(settles);
  await Promise.all(drains);
  return { shared, outcomes, processed, closedAt };
}

test('200 random schedules: never two at once, nothing lost', async () => {
  for (const seed of range(200, 1)) {
    const { shared, outcomes, closedAt } = await runSchedule(seed);
    const ok = outcomes.filter((o) => o.ok).length;
    const failed = outcomes.filter((o): o is { ok: false; name: string } => !o.ok);
    const context = `seed ${seed}`;
    expect([context, shared.overlaps]).toEqual([context, 0]);
    expect([context, shared.inside]).toEqual([context, 0]);
    // Every success is one increment, and nothing that failed ran.
    expect([context, shared.n]).toEqual([context, ok]);
    if (closedAt === undefined) expect([context, failed]).toEqual([context, []]);
    for (const f of failed) expect([context, ['NotListeningError', 'ShutdownError', 'ConnectionClosedError', 'Error'].includes(f.name)]).toEqual([context, true]);
    await cleanup.run();
  }
}, 120_000);
