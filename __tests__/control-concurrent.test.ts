/**
 * Methods beside the lock (serve's `concurrent` option, issue 13 item 6), over real sockets: a
 * named method runs while another request holds the lock; every other request stays serialized,
 * including chains that try to carry another member's side effects past the lock through a
 * concurrent name; the predicate form sees (name, args, path); close() waits for calls beside
 * the lock.
 */
import { connect, serve } from 'remoteobj';
import { Cleanup, Gate, tick } from './fixtures/host-kit';
import { tmpSock, until } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A hosted object whose `hold()` keeps the lock until the test opens the gate. */
class Service {
  log: string[] = [];
  gate = new Gate();
  sub = { watch: () => this.record('sub.watch') };
  feeds = { watch: (speed: string) => this.record(`feeds.watch(${speed})`) };
  get sneaky(): { watch(): string } {
    this.log.push('sneaky getter');
    return { watch: () => this.record('sneaky.watch') };
  }
  async hold(): Promise<string> {
    await this.gate.promise;
    return 'held';
  }
  async watch(): Promise<string> {
    await tick();
    return this.record('watch');
  }
  longPoll(): string {
    return this.record('longPoll');
  }
  mutate(): this {
    this.log.push('mutate');
    return this;
  }
  record(tag: string): string {
    this.log.push(tag);
    return tag;
  }
}

async function setUp(options: Parameters<typeof serve>[2]) {
  const path = tmpSock('cc');
  const service = new Service();
  cleanup.gate(service.gate);
  const host = cleanup.host(await serve(service, path, options));
  const remote = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  return { service, host, remote };
}

/** Whether `p` has settled, after letting the event loop run a few times. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20; i++) await tick();
  return done;
}

test('a named method runs while another request holds the lock; other requests wait their turn', async () => {
  const { service, remote } = await setUp({ concurrent: ['watch', 'longPoll'] });
  const held = remote.hold();
  await tick();
  const ping = remote.record('ping');
  expect(await remote.watch()).toBe('watch');
  expect(await remote.longPoll()).toBe('longPoll');
  expect(await settled(Promise.resolve(ping))).toBe(false); // queued behind hold()
  expect(service.log).toEqual(['watch', 'longPoll']);
  service.gate.open();
  expect(await held).toBe('held');
  expect(await ping).toBe('ping');
});

test('without the option every call is serialized, the named ones too', async () => {
  const { service, remote } = await setUp({});
  const held = remote.hold();
  await tick();
  const watch = remote.watch();
  expect(await settled(Promise.resolve(watch))).toBe(false);
  expect(service.log).toEqual([]);
  service.gate.open();
  await held;
  expect(await watch).toBe('watch');
});

test('a concurrent name carries nothing else past the lock: calls before it, reads after it, nested paths and other ops queue', async () => {
  const { service, remote } = await setUp({ concurrent: ['watch'] });
  const held = remote.hold();
  await tick();
  const queued = [
    remote.mutate().watch(), // mutate() must not run beside the lock
    remote.watch().length, // a read after the call: the chain is not a call of watch
    remote.sub.watch(), // a list of names matches the hosted object's own methods only
    remote.sneaky.watch(), // the getter would run outside the lock
    remote.$passto('String'),
    remote.$set('log', ['replaced']),
    remote.$describe(),
  ].map((p) => Promise.resolve(p).then(() => 'ok', (e: Error) => e.name));
  const beside = await remote.watch();
  expect(beside).toBe('watch');
  expect(await settled(Promise.all(queued))).toBe(false);
  expect(service.log).toEqual(['watch']); // nothing else ran
  service.gate.open();
  await held;
  const outcomes = await Promise.all(queued);
  expect(outcomes.slice(0, 5)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
});

test('the predicate is asked (name, args, path) for chains of reads ending in one call, and may allow nested methods', async () => {
  const asked: unknown[][] = [];
  const { service, remote } = await setUp({
    concurrent: (name, args, path) => {
      asked.push([name, args, path]);
      return name === 'watch' && path[0] === 'feeds' && args[0] === 'fast';
    },
  });
  const held = remote.hold();
  await tick();
  expect(await remote.feeds.watch('fast')).toBe('feeds.watch(fast)');
  const slow = remote.feeds.watch('slow');
  expect(await settled(Promise.resolve(slow))).toBe(false);
  const viaCall = remote.mutate().feeds.watch('fast'); // a call before: never asked, queued
  expect(await settled(Promise.resolve(viaCall))).toBe(false);
  expect(service.log).toEqual(['feeds.watch(fast)']);
  expect(asked).toEqual([
    ['hold', [], ['hold']],
    ['watch', ['fast'], ['feeds', 'watch']],
    ['watch', ['slow'], ['feeds', 'watch']],
  ]);
  service.gate.open();
  await held;
  expect(await slow).toBe('feeds.watch(slow)');
  await viaCall;
});

test('a predicate that throws means the lock', async () => {
  const { service, remote } = await setUp({
    concurrent: () => {
      throw new Error('host bug');
    },
  });
  const held = remote.hold();
  await tick();
  const watch = remote.watch();
  expect(await settled(Promise.resolve(watch))).toBe(false);
  service.gate.open();
  await held;
  expect(await watch).toBe('watch');
});

test('in manual mode a concurrent call runs without processRequests(); others wait for it', async () => {
  const { host, service, remote } = await setUp({ mode: 'manual', concurrent: ['watch'] });
  const ping = remote.record('ping');
  expect(await remote.watch()).toBe('watch');
  expect(await settled(Promise.resolve(ping))).toBe(false);
  expect(await host.processRequests()).toBe(1);
  expect(await ping).toBe('ping');
  expect(service.log).toEqual(['watch', 'ping']);
});

test('close() waits for a call running beside the lock, and its client gets the reply', async () => {
  const path = tmpSock('cc');
  const gate = cleanup.gate(new Gate());
  let started = false;
  const host = cleanup.host(
    await serve(
      {
        async longPoll() {
          started = true;
          await gate.promise;
          return 'polled';
        },
      },
      path,
      { concurrent: ['longPoll'] },
    ),
  );
  const remote = cleanup.remote(await connect<{ longPoll(): Promise<string> }>(path, { localBypass: false }));
  const poll = remote.longPoll();
  await until(() => started);
  const closing = host.close();
  expect(await settled(closing)).toBe(false);
  gate.open();
  expect(await poll).toBe('polled');
  await closing;
});

test('a bad option is a TypeError at serve()', async () => {
  await expect(serve({}, tmpSock('cc'), { concurrent: [1 as unknown as string] })).rejects.toThrow(TypeError);
  await expect(serve({}, tmpSock('cc'), { concurrent: 'watch' as unknown as string[] })).rejects.toThrow(/array of method names or a function/);
});
