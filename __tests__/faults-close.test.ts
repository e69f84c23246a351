/**
 * close() under load: several clients pipeline requests without pause, a queue has built up on the
 * host, and close() is called while they keep sending. Every request must end exactly once:
 * fulfilled + rejected = sent on each client, and on the host every fulfilled add() ran exactly once
 * (the values returned are exactly 1..ran, no gap, no repeat), and every ShutdownError stands for a
 * request that never ran.
 *
 * The host is in this process (its counter is the ground truth); the clients talk to it over real
 * sockets (localBypass off).
 */
import { ConnectionClosedError, connect, HostUnavailableError, NotListeningError, type Remote, serve, ShutdownError } from 'remoteobj';
import { Cleanup, Gate, tally, tick } from './fixtures/host-kit';
import { tmpSock, until } from './helpers';

interface Target {
  ran: number;
  holding: boolean;
  add(): number;
  hold(): Promise<void>;
}

const CLIENTS = 5;
const BURST = 20;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function underLoad(fulfillFinal: boolean) {
  const path = tmpSock('cul');
  const gate = cleanup.gate(new Gate());
  const target: Target = {
    ran: 0,
    holding: false,
    add() {
      return ++this.ran;
    },
    async hold() {
      this.holding = true;
      await gate.promise;
    },
  };
  const host = cleanup.host(await serve(target, path, { fulfillFinal, localBypass: false }));
  const clients: Remote<Target>[] = [];
  // Requests are awaited only at the end (tally): until then they are "unobserved", and their failures would be printed as warnings.
  const quiet = { localBypass: false, onUnobservedError: () => undefined };
  for (let i = 0; i < CLIENTS; i++) clients.push(cleanup.remote(await connect<Target>(path, quiet)));

  // Each client pipelines bursts of add() every turn of the event loop until told to stop.
  const sent: PromiseLike<number>[][] = clients.map(() => []);
  let sending = true;
  const pumps = clients.map(async (c, i) => {
    while (sending) {
      for (let k = 0; k < BURST; k++) sent[i]!.push(c.add());
      await tick();
    }
  });

  // A burst is served, then hold() takes the lock and a queue builds behind it.
  await until(() => target.ran >= 100);
  const held = clients[0]!.hold();
  await until(() => target.holding && host.queued >= 300);
  const queuedAtClose = host.queued;
  const ranAtClose = target.ran;

  const closing = host.close();
  // They go on sending while the host closes: those requests are refused, never run.
  const sentAtClose = sent.reduce((n, s) => n + s.length, 0);
  for (let i = 0; i < 5; i++) await tick();
  expect(sent.reduce((n, s) => n + s.length, 0)).toBeGreaterThan(sentAtClose);
  gate.open();
  await closing;
  sending = false;
  await Promise.all(pumps);

  const results = sent.map((s) => tally(s));
  const tallies = await Promise.all(results.map((r) => r.done));
  if (process.env.REPORT_FIGURES) {
    const kinds: Record<string, number> = {};
    for (const t of tallies) {
      kinds.fulfilled = (kinds.fulfilled ?? 0) + t.fulfilled.size;
      for (const e of t.rejected.values()) kinds[(e as Error).name] = (kinds[(e as Error).name] ?? 0) + 1;
    }
    process.stdout.write(`close() under load, fulfillFinal ${fulfillFinal}: queued at close ${queuedAtClose}, ${JSON.stringify(kinds)}\n`);
  }
  const heldOutcome = await Promise.resolve(held).then(
    () => 'fulfilled',
    (e: unknown) => e,
  );
  return { target, tallies, sent, queuedAtClose, ranAtClose, heldOutcome };
}

function fulfilledValues(tallies: ReturnType<typeof tally>['tally'][]): number[] {
  return tallies.flatMap((t) => [...t.fulfilled.values()] as number[]).sort((a, b) => a - b);
}

test('fulfillFinal true: everything queued at close() runs; every request ends exactly once', async () => {
  const { target, tallies, sent, queuedAtClose, ranAtClose, heldOutcome } = await underLoad(true);
  expect(heldOutcome).toBe('fulfilled');
  let total = 0;
  for (const [i, t] of tallies.entries()) {
    expect(t.settlements).toBe(sent[i]!.length);
    expect(t.fulfilled.size + t.rejected.size).toBe(sent[i]!.length);
    total += sent[i]!.length;
    // Sent after close(): refused ("closing"), or caught in flight by the hang-up. Either way, not run (see below).
    for (const e of t.rejected.values()) expect(e instanceof NotListeningError || e instanceof ConnectionClosedError).toBe(true);
  }
  const values = fulfilledValues(tallies);
  // Exactly once on the host: the answers are 1..ran, each once.
  expect(values).toEqual(Array.from({ length: target.ran }, (_, i) => i + 1));
  // Everything that had arrived when close() was called ran, and nothing else.
  expect(target.ran).toBe(ranAtClose + queuedAtClose);
  expect(total).toBeGreaterThan(values.length); // some were sent after close() began: the test did exercise that
});

test('fulfillFinal false: requests queued at close() get ShutdownError and never run; every request ends exactly once', async () => {
  const { target, tallies, sent, queuedAtClose, ranAtClose, heldOutcome } = await underLoad(false);
  expect(heldOutcome).toBe('fulfilled'); // the request running at close() finishes
  let shutdown = 0;
  for (const [i, t] of tallies.entries()) {
    expect(t.settlements).toBe(sent[i]!.length);
    expect(t.fulfilled.size + t.rejected.size).toBe(sent[i]!.length);
    for (const e of t.rejected.values()) {
      expect(e).toBeInstanceOf(HostUnavailableError);
      if (e instanceof ShutdownError) shutdown++;
      else expect(e instanceof NotListeningError || e instanceof ConnectionClosedError).toBe(true);
    }
  }
  // Nothing queued ran: the host's counter is where it was when close() was called...
  expect(target.ran).toBe(ranAtClose);
  // ...every fulfilled add is one that ran, once...
  expect(fulfilledValues(tallies)).toEqual(Array.from({ length: ranAtClose }, (_, i) => i + 1));
  // ...and every queued add was told so.
  expect(shutdown).toBe(queuedAtClose);
});
