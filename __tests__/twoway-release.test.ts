/**
 * Issue 13 item 1, early release: a function passed by reference can be given back before its
 * connection closes. `release(x)` works on every stand-in for the far side's object (a host's
 * stand-in for a client function, a client's callable for a host function, a handle proxy);
 * function stand-ins also have Symbol.dispose / Symbol.asyncDispose. The exporter is told (a
 * `release` line with every reference received) and frees its entry; the released stand-in
 * rejects with ReleasedError (code RELEASED), even after the same function arrives again (that
 * is a new stand-in). Collection by the garbage collector is in twoway-release-gc.test.ts.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ConnectionClosedError, connect, type Host, ref, release, ReleasedError, type Remote, serve } from 'remoteobj';
import { tmpSock, until } from './helpers';

/** A client's function as the host gets it: an async stand-in (typed as the client wrote it). */
type Fn = (n: number) => unknown;

/** Call a stand-in: 'called', or the code it rejected with. */
const codeOf = (f: Fn, n: number) => (f(n) as Promise<unknown>).then(() => 'called', (e: { code?: string }) => e.code);

class Bus {
  readonly events = new EventEmitter();
  readonly released: Fn[] = [];
  disposed = 0;
  on(event: string, fn: Fn) {
    this.events.on(event, fn);
  }
  emit(event: string, n: number) {
    return Promise.all((this.events.listeners(event) as Fn[]).map((f) => codeOf(f, n)));
  }
  /** Drop every listener of `event` and give it back to its client: then calling it fails. */
  async drop(event: string) {
    const fns = this.events.listeners(event) as Fn[];
    this.events.removeAllListeners(event);
    for (const f of fns) await release(f);
    this.released.push(...fns);
    return Promise.all(fns.map((f) => codeOf(f, 0)));
  }
  /** The listeners released earlier, called now. */
  callReleased() {
    return Promise.all(this.released.map((f) => codeOf(f, 0)));
  }
  wasReleased(fn: Fn) {
    return this.released.includes(fn);
  }
  disposeSync(fn: Fn) {
    (fn as Fn & Disposable)[Symbol.dispose]();
    (fn as Fn & Disposable)[Symbol.dispose](); // twice: nothing more
    return codeOf(fn, 1);
  }
  async disposeAsync(fn: Fn) {
    const before = await fn(1);
    await (fn as Fn & AsyncDisposable)[Symbol.asyncDispose]();
    return [before, await codeOf(fn, 1)];
  }
  scale(k: number) {
    return (n: number) => n * k;
  }
  open() {
    return ref({ n: 1, [Symbol.dispose]: () => void this.disposed++ });
  }
}

let host: Host<Bus>;
let sock: string;
let remote: Remote<Bus>;
beforeEach(async () => {
  sock = tmpSock('rel');
  host = await serve(new Bus(), sock, { localBypass: false });
  remote = await connect<Bus>(sock, { localBypass: false });
});
afterEach(async () => {
  await remote.$close().catch(() => undefined);
  await host.close();
});

/** Lines a raw v2 client reads after writing `text`, until `enough` of them have come. */
function rawSession(text: string, enough: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const c = net.connect(sock, () => c.write(text));
    c.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= enough) {
        c.destroy();
        resolve(lines);
      }
    });
    c.on('error', reject);
  });
}

test('the host releases a client function: the client gets one release line with every reference it sent', async () => {
  const lines = await rawSession(
    [
      '{"kind":"hello","version":2}',
      '{"id":1,"ops":[{"op":"get","key":"on"},{"op":"call","args":["tick",{"$fn":1}]}]}',
      '{"id":2,"ops":[{"op":"get","key":"on"},{"op":"call","args":["tock",{"$fn":1}]}]}',
      '{"id":3,"ops":[{"op":"get","key":"drop"},{"op":"call","args":["tick"]}]}',
      '',
    ].join('\n'),
    5,
  );
  const msgs = lines.slice(1).map((l) => JSON.parse(l));
  expect(msgs.slice(0, 2)).toEqual([
    { id: 1, kind: 'value', value: { $undefined: true } },
    { id: 2, kind: 'value', value: { $undefined: true } },
  ]);
  // Both arrivals of function 1 go back at once, before drop() answers; calling it afterwards never reaches the client.
  expect(msgs.slice(2)).toEqual([
    { kind: 'release', refs: [[1, 2]] },
    { id: 3, kind: 'value', value: ['RELEASED'] },
  ]);
});

test('a release that crosses a new arrival of the same function: the released stand-in stays released, the new one works', async () => {
  // The client sends function 1 again before it has read the host's release of it: the counts do
  // not meet, so the client keeps it under the same id, and the host makes a new stand-in for it.
  const lines = await rawSession(
    [
      '{"kind":"hello","version":2}',
      '{"id":1,"ops":[{"op":"get","key":"on"},{"op":"call","args":["tick",{"$fn":1}]}]}',
      '{"id":2,"ops":[{"op":"get","key":"drop"},{"op":"call","args":["tick"]}]}',
      '{"id":3,"ops":[{"op":"get","key":"on"},{"op":"call","args":["tock",{"$fn":1}]}]}',
      '{"id":4,"ops":[{"op":"get","key":"callReleased"},{"op":"call","args":[]}]}',
      '{"id":5,"ops":[{"op":"get","key":"emit"},{"op":"call","args":["tock",7]}]}',
      '',
    ].join('\n'),
    7,
  );
  expect(lines.slice(1).map((l) => JSON.parse(l))).toEqual([
    { id: 1, kind: 'value', value: { $undefined: true } },
    { kind: 'release', refs: [[1, 1]] },
    { id: 2, kind: 'value', value: ['RELEASED'] },
    { id: 3, kind: 'value', value: { $undefined: true } },
    { id: 4, kind: 'value', value: ['RELEASED'] },
    { id: 1, to: 1, turn: expect.any(Number), ops: [{ op: 'call', args: [7] }] }, // the new stand-in calls the client
  ]);
});

test('a released function rejects with ReleasedError; passed again, it is a new function on the host, and works', async () => {
  const got: number[] = [];
  const listener = (n: number) => void got.push(n);
  await remote.on('tick', listener);
  expect(await remote.emit('tick', 1)).toEqual(['called']);
  expect(await remote.drop('tick')).toEqual(['RELEASED']);
  expect(got).toEqual([1]);

  await remote.on('tick', listener); // the client exports it afresh
  expect(await remote.wasReleased(listener)).toBe(false);
  expect(await remote.emit('tick', 2)).toEqual(['called']);
  expect(await remote.callReleased()).toEqual(['RELEASED']); // the old stand-in stays released
  expect(got).toEqual([1, 2]);
});

test('Symbol.dispose and Symbol.asyncDispose on a function stand-in release it', async () => {
  const calls: number[] = [];
  expect(await remote.disposeSync((n: number) => void calls.push(n))).toBe('RELEASED');
  expect(await remote.disposeAsync(async (n: number) => n + 1)).toEqual([2, 'RELEASED']);
  expect(calls).toEqual([]);
});

test('the client releases a host function (release(), await using): calling it rejects with ReleasedError at once', async () => {
  const triple = await remote.scale(3);
  expect(await triple(2)).toBe(6);
  await release(triple);
  await release(triple); // twice: nothing more
  const err = await triple(2).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ReleasedError);
  expect(err).toMatchObject({ code: 'RELEASED' });

  let double: typeof triple | undefined;
  {
    await using d = await remote.scale(2);
    double = d;
    expect(await d(5)).toBe(10);
  }
  await expect(double(5)).rejects.toBeInstanceOf(ReleasedError);
});

test('release() takes a handle like $release(), and refuses what is not a stand-in', async () => {
  const h = await remote.open();
  expect(await h.n).toBe(1);
  await release(h);
  await until(async () => (await remote.disposed) === 1);
  await expect(h.n.$get()).rejects.toBeInstanceOf(ReleasedError);

  await expect(release(remote)).rejects.toThrow(TypeError);
  await expect(release(() => 1)).rejects.toThrow(TypeError);
  await expect(release(null)).rejects.toThrow(TypeError);
});

test('after the connection closed, release() does nothing and calls fail with ConnectionClosedError', async () => {
  const triple = await remote.scale(3);
  await remote.$close();
  await release(triple);
  await expect(triple(1)).rejects.toBeInstanceOf(ConnectionClosedError);
});
