/**
 * Issue 13 item 1: functions pass by reference, both ways, over a real socket. A client function
 * (top level, or inside plain objects and arrays) arrives at the host as an async function that
 * runs in the client; a host function arrives at the client as an async callable; errors keep
 * their class, message and own props; the same function passed twice is the same function on the
 * host (on/off against a real EventEmitter); after the connection closes, calling a passed function
 * rejects with ConnectionClosedError, so host code can prune dead listeners.
 */
import { EventEmitter } from 'node:events';
import { ConnectionClosedError, connect, type Host, serve } from 'remoteobj';
import { tmpSock, until } from './helpers';

class Bus {
  readonly ee = new EventEmitter();
  on(event: string, fn: (...a: any[]) => unknown) {
    this.ee.on(event, fn);
  }
  off(event: string, fn: (...a: any[]) => unknown) {
    this.ee.off(event, fn);
  }
  emit(event: string, value: unknown) {
    return this.ee.emit(event, value);
  }
  listeners(event: string) {
    return this.ee.listenerCount(event);
  }
  same(a: unknown, b: unknown) {
    return a === b;
  }
  async apply(fn: (x: number) => Promise<number>, x: number) {
    return (await fn(x)) + 1;
  }
  async nested(o: { cbs: ((s: string) => Promise<string>)[]; deep: { f: (s: string) => Promise<string> } }) {
    return [await o.cbs[0]!('a'), await o.cbs[1]!('b'), await o.deep.f('c')];
  }
  async relay(fn: () => Promise<unknown>) {
    return fn();
  }
  adder(n: number) {
    return (m: number) => n + m;
  }
  giveBack(fn: unknown) {
    return fn;
  }
  kept?: (x: number) => Promise<number>;
  keep(fn: (x: number) => Promise<number>) {
    this.kept = fn;
  }
}

let host: Host<Bus>;
let sock: string;
beforeEach(async () => {
  sock = tmpSock('fn');
  host = await serve(new Bus(), sock, { localBypass: false });
});
afterEach(async () => {
  await host.close();
});

test('a client function runs in the client, with its result and its error', async () => {
  const r = await connect<Bus>(sock);
  try {
    const seen: number[] = [];
    expect(await r.apply(async (x) => (seen.push(x), x * 10), 4)).toBe(41);
    expect(seen).toEqual([4]);
    class Oops extends Error {
      code = 'E_OOPS';
    }
    const err = await r.relay(async () => {
      throw new Oops('from the client');
    }).$get().catch((e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({ name: 'Error', message: 'from the client', code: 'E_OOPS' });
  } finally {
    await r.$close();
  }
});

test('functions inside plain objects and arrays, and a host function back to the client', async () => {
  const r = await connect<Bus>(sock);
  try {
    const up = async (s: string) => s.toUpperCase();
    expect(await r.nested({ cbs: [up, async (s) => s + s], deep: { f: async (s) => `<${s}>` } })).toEqual(['A', 'bb', '<c>']);
    const add2 = await r.adder(2);
    expect(typeof add2).toBe('function');
    expect(await add2(3)).toBe(5);
    // Passed back, the client's own function is its own function again.
    const mine = async () => 1;
    expect(await r.giveBack(mine)).toBe(mine);
  } finally {
    await r.$close();
  }
});

test('the same function passed twice is the same function on the host: on/off against an EventEmitter', async () => {
  const r = await connect<Bus>(sock);
  try {
    const got: unknown[] = [];
    const listener = (v: unknown) => void got.push(v);
    expect(await r.same(listener, listener)).toBe(true);
    await r.on('tick', listener);
    expect(await r.listeners('tick')).toBe(1);
    await r.emit('tick', 1);
    await r.emit('tick', 2);
    await until(() => got.length === 2);
    expect(got).toEqual([1, 2]);
    await r.off('tick', listener);
    expect(await r.listeners('tick')).toBe(0);
    await r.emit('tick', 3);
    expect(await r.listeners('tick')).toBe(0);
    expect(got).toEqual([1, 2]);
  } finally {
    await r.$close();
  }
});

test('after the connection closed, calling a passed function rejects with ConnectionClosedError', async () => {
  const r = await connect<Bus>(sock);
  await r.keep(async (x) => x + 1);
  expect(await host.exclusive((bus) => bus.kept!(1))).toBe(2);
  await r.$close();
  await until(() => host.connections === 0);
  await expect(host.target.kept!(1)).rejects.toBeInstanceOf(ConnectionClosedError);
  // An emitter whose listener's client is gone does not crash the host (nobody awaited the call).
  host.target.on('tick', host.target.kept!);
  expect(host.target.emit('tick', 1)).toBe(true);
});

test('a client killed mid-way: its listeners can be pruned by the host', async () => {
  const a = await connect<Bus>(sock);
  const b = await connect<Bus>(sock);
  const gotB: unknown[] = [];
  await a.on('tick', () => undefined);
  await b.on('tick', (v) => void gotB.push(v));
  await a.$close();
  await until(() => host.connections === 1);
  // Host code that awaits its listeners prunes the ones that reject with ConnectionClosedError.
  const bus = host.target;
  for (const l of bus.ee.listeners('tick') as ((v: unknown) => Promise<unknown>)[]) {
    await l(7).catch((e: unknown) => {
      if (e instanceof ConnectionClosedError) bus.ee.off('tick', l);
    });
  }
  expect(bus.ee.listenerCount('tick')).toBe(1);
  expect(gotB).toEqual([7]);
  await b.$close();
});
