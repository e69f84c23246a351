/**
 * The host's one FIFO lock, over real sockets: async read-modify-write methods never interleave,
 * host.exclusive() shares the lock with remote calls, and manual mode runs nothing until
 * processRequests(), then everything in arrival order.
 */
import { connect, type Remote, serve } from 'remoteobj';
import { Cleanup, Gate, range, tally, tick } from './fixtures/host-kit';
import { sleep, tmpSock, until } from './helpers';

class Counter {
  n = 0;
  /** Loses updates unless calls are serialized: it reads, yields, then writes. */
  async inc(): Promise<void> {
    const v = this.n;
    await new Promise((r) => setImmediate(r));
    this.n = v + 1;
  }
}

/** Records overlapping critical sections, whether entered by a remote call or by host code. */
class Section {
  inside = 0;
  overlaps = 0;
  remoteRuns = 0;
  hostRuns = 0;
  enter(): void {
    if (this.inside++ > 0) this.overlaps++;
  }
  leave(): void {
    this.inside--;
  }
  async work(): Promise<number> {
    this.enter();
    await tick();
    await tick();
    this.leave();
    return ++this.remoteRuns;
  }
}

class Recorder {
  log: string[] = [];
  record(tag: string): number {
    this.log.push(tag);
    return this.log.length;
  }
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function clients<T>(path: string, n: number): Promise<Remote<T>[]> {
  return Promise.all(range(n).map(async () => cleanup.remote(await connect<T>(path, { localBypass: false }))));
}

async function closeAll(host: { close(): Promise<void> }, remotes: Remote<unknown>[]): Promise<void> {
  await Promise.all(remotes.map((r) => r.$close()));
  await host.close();
}

describe('the lock', () => {
  test('the increment is racy without the lock (so the next test can fail)', async () => {
    const bare = new Counter();
    await Promise.all(range(200).map(() => bare.inc()));
    expect(bare.n).toBeLessThan(200);
  });

  test('20 clients x 200 concurrent async read-modify-write increments end at exactly 4000', async () => {
    const path = tmpSock('lk');
    const counter = new Counter();
    const host = cleanup.host(await serve(counter, path));
    const remotes = await clients<Counter>(path, 20);
    await until(() => host.connections === 20);
    await Promise.all(remotes.flatMap((r) => range(200).map(() => r.inc())));
    expect(counter.n).toBe(4000);
    expect(await remotes[0]!.n).toBe(4000);
    await closeAll(host, remotes);
  });

  test('host.exclusive() interleaved with remote async calls never overlaps one', async () => {
    const path = tmpSock('lk');
    const section = new Section();
    const host = cleanup.host(await serve(section, path));
    const remotes = await clients<Section>(path, 4);
    const remoteCalls = remotes.flatMap((r) => range(50).map(() => r.work()));
    const hostCalls: Promise<unknown>[] = [];
    for (const i of range(60)) {
      // Alternate async and sync exclusive sections while the remote calls arrive.
      hostCalls.push(
        i % 2
          ? host.exclusive(async (t) => {
              t.enter();
              await tick();
              t.leave();
              return ++t.hostRuns;
            })
          : host.exclusive((t) => {
              t.enter();
              t.leave();
              return ++t.hostRuns;
            }),
      );
      await tick();
    }
    const results = await Promise.all([...remoteCalls, ...hostCalls]);
    expect(section.overlaps).toBe(0);
    expect(section.remoteRuns).toBe(200);
    expect(section.hostRuns).toBe(60);
    // Each section got a distinct run number: none ran twice.
    expect(new Set(results.slice(0, 200)).size).toBe(200);
    expect(new Set(results.slice(200)).size).toBe(60);
    await closeAll(host, remotes);
  });

  test('host.exclusive() waits for a running remote call, and its errors reach the caller only', async () => {
    const path = tmpSock('lk');
    const gate = new Gate();
    const target = {
      started: false,
      value: 1,
      async hold() {
        this.started = true;
        await gate.promise;
        this.value = 2;
      },
    };
    const host = cleanup.host(await serve(target, path));
    cleanup.gate(gate);
    const [r] = await clients<typeof target>(path, 1);
    const held = Promise.resolve(r!.hold());
    await until(() => target.started);
    let seen = 0;
    const excl = host.exclusive((t) => (seen = t.value));
    await sleep(30); // give it a chance to run too early
    expect(seen).toBe(0);
    gate.open();
    await held;
    expect(await excl).toBe(2);

    await expect(host.exclusive(() => Promise.reject(new RangeError('async boom')))).rejects.toThrow('async boom');
    await expect(
      host.exclusive(() => {
        throw new TypeError('sync boom');
      }),
    ).rejects.toBeInstanceOf(TypeError);
    // The lock is free again for remote calls.
    expect(await r!.value).toBe(2);
    await closeAll(host, [r!]);
  });
});

describe("mode: 'manual'", () => {
  test('nothing runs until processRequests(); then all queued run in arrival order', async () => {
    const path = tmpSock('mm');
    const rec = new Recorder();
    const host = cleanup.host(await serve(rec, path, { mode: 'manual' }));
    const [a, b] = await clients<Recorder>(path, 2);

    // Three waves from two clients; each wave has arrived before the next is sent.
    const wave1 = range(10).map((i) => a!.record(`a${i}`));
    await until(() => host.queued === 10);
    const wave2 = range(10).map((i) => b!.record(`b${i}`));
    await until(() => host.queued === 20);
    const wave3 = range(10, 10).map((i) => a!.record(`a${i}`));
    await until(() => host.queued === 30);
    const batch = tally([...wave1, ...wave2, ...wave3]);
    await sleep(50); // nothing may run in the meantime
    expect(rec.log).toEqual([]);
    expect(batch.tally.settlements).toBe(0);

    expect(await host.processRequests()).toBe(30);
    const expected = [...range(10).map((i) => `a${i}`), ...range(10).map((i) => `b${i}`), ...range(10, 10).map((i) => `a${i}`)];
    expect(rec.log).toEqual(expected);
    const t = await batch.done;
    expect(t.rejected.size).toBe(0);
    // Each request answered with its own position in the run.
    for (const i of range(30)) expect(t.fulfilled.get(i)).toBe(i + 1);

    // Later requests wait again.
    const later = Promise.resolve(b!.record('late'));
    await until(() => host.queued === 1);
    expect(rec.log).toHaveLength(30);
    expect(await host.processRequests()).toBe(1);
    expect(await later).toBe(31);
    expect(await host.processRequests()).toBe(0);
    await closeAll(host, [a!, b!]);
  });

  test('host.exclusive() runs at once, under the lock, while requests stay queued', async () => {
    const path = tmpSock('mm');
    const rec = new Recorder();
    const host = cleanup.host(await serve(rec, path, { mode: 'manual' }));
    const [a] = await clients<Recorder>(path, 1);
    const queued = Promise.resolve(a!.record('remote'));
    await until(() => host.queued === 1);
    expect(await host.exclusive((t) => t.record('host'))).toBe(1);
    expect(rec.log).toEqual(['host']);
    expect(host.queued).toBe(1);
    expect(await host.processRequests()).toBe(1);
    expect(await queued).toBe(2);
    expect(rec.log).toEqual(['host', 'remote']);
    await closeAll(host, [a!]);
  });

  test('an async request holds the lock across processRequests(): the next ones wait for it', async () => {
    const path = tmpSock('mm');
    const counter = new Counter();
    const host = cleanup.host(await serve(counter, path, { mode: 'manual' }));
    const remotes = await clients<Counter>(path, 3);
    const calls = remotes.flatMap((r) => range(20).map(() => r.inc()));
    await until(() => host.queued === 60);
    expect(await host.processRequests()).toBe(60);
    await Promise.all(calls);
    expect(counter.n).toBe(60);
    await closeAll(host, remotes);
  });

  test('close() with fulfillFinal runs what manual mode left queued', async () => {
    const path = tmpSock('mm');
    const rec = new Recorder();
    const host = cleanup.host(await serve(rec, path, { mode: 'manual' }));
    const [a] = await clients<Recorder>(path, 1);
    const batch = tally(range(5).map((i) => a!.record(`r${i}`)));
    await until(() => host.queued === 5);
    await host.close();
    const t = await batch.done;
    expect(rec.log).toEqual(range(5).map((i) => `r${i}`));
    expect(range(5).map((i) => t.fulfilled.get(i))).toEqual([1, 2, 3, 4, 5]);
  });
});
