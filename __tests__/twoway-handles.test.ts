/**
 * Issue 13 item 4: handles. `ref(obj)` hands an object out by reference: the client gets a
 * Remote<T> whose chains run on it in one round trip, including through the call that returns it;
 * `$release()` and `await using` release it, the host disposes it (Symbol.asyncDispose /
 * Symbol.dispose) on the last release, all of a connection's handles go when it closes, a released
 * handle rejects with ReleasedError (code RELEASED), the access rules apply, host.stats() counts
 * them, and a raw request naming a released handle gets a RELEASED error reply.
 */
import net from 'node:net';
import { connect, type Host, ref, ReleasedError, type Remote, type RemoteHandle, serve } from 'remoteobj';
import { tmpSock, until } from './helpers';

class Session {
  lines: string[] = [];
  _secret = 'no';
  disposed = 0;
  constructor(readonly name: string) {}
  write(s: string) {
    this.lines.push(s);
    return this.lines.length;
  }
  again() {
    return ref(this);
  }
  [Symbol.asyncDispose]() {
    this.disposed++;
    return Promise.resolve();
  }
}

class Files {
  opened: Session[] = [];
  open(name: string) {
    const s = new Session(name);
    this.opened.push(s);
    return ref(s);
  }
  plain() {
    return ref({ n: 1, sync: { [Symbol.dispose]: () => undefined } });
  }
  nameOf(s: Session) {
    return s.name;
  }
}

let host: Host<Files>;
let sock: string;
let r: Remote<Files>;
beforeEach(async () => {
  sock = tmpSock('hd');
  host = await serve(new Files(), sock, { localBypass: false });
  r = await connect<Files>(sock);
});
afterEach(async () => {
  await r.$close().catch(() => undefined);
  await host.close();
});

test('a handle: a Remote of the object, chains on it, release disposes it', async () => {
  const h: RemoteHandle<Session> = await r.open('a');
  expect(await h.write('x')).toBe(1);
  expect(await h.write('y')).toBe(2);
  expect(await h.name).toBe('a');
  expect(await h.lines).toEqual(['x', 'y']);
  expect(host.stats()).toEqual({ connections: 1, handles: 1, streams: 0, queued: 0 });
  // Passed back as an argument, it is the object itself on the host.
  expect(await r.nameOf(h as never)).toBe('a');
  await h.$release();
  // The release is on its way: the host disposes the object when it reads it.
  await until(() => host.target.opened[0]!.disposed === 1);
  expect(host.stats().handles).toBe(0);
  const err = await h.write('z').$get().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ReleasedError);
  expect(err).toMatchObject({ code: 'RELEASED' });
});

test('chains through the call that returns the handle are one request: no handle is made', async () => {
  expect(await r.open('b').write('1')).toBe(1);
  expect(host.stats().handles).toBe(0);
  expect(host.target.opened[0]!.lines).toEqual(['1']);
});

test('the same object handed out twice is one handle; it is disposed when the last reference goes', async () => {
  const h = await r.open('c');
  const again = await h.again();
  expect(again).toBe(h);
  expect(host.stats().handles).toBe(1);
  await h.$release(); // both references: the client releases what it received
  await until(() => host.target.opened[0]!.disposed === 1);
  expect(host.stats().handles).toBe(0);
});

test('await using releases at the end of the block', async () => {
  {
    await using h = await r.open('d');
    expect(await h.write('q')).toBe(1);
    expect(host.stats().handles).toBe(1);
  }
  await until(() => host.stats().handles === 0);
  expect(host.target.opened[0]!.disposed).toBe(1);
});

test('closing the connection releases (and disposes) every handle it held', async () => {
  await r.open('e');
  await r.open('f');
  const other = await connect<Files>(sock);
  const kept = await other.open('g');
  expect(host.stats().handles).toBe(3);
  await r.$close();
  await until(() => host.stats().handles === 1);
  expect(host.target.opened.map((s) => s.disposed)).toEqual([1, 1, 0]);
  expect(await kept.write('still')).toBe(1);
  await other.$close();
  await until(() => host.stats().handles === 0);
  expect(host.target.opened[2]!.disposed).toBe(1);
});

test('access rules apply to a handle as to the root', async () => {
  const h = await r.open('h');
  await expect((h as any)._secret.$get()).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  expect((h as any).constructor).toBeUndefined(); // answered locally, never sent
  await expect((h as any).$key('constructor').$get()).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  // A plain object marked with ref() is a handle too.
  const p = await r.plain();
  expect(await p.n).toBe(1);
});

test('a raw request naming a released or unknown handle gets a RELEASED error reply; a foreign turn gets BAD_TURN', async () => {
  const lines = await new Promise<string[]>((resolve, reject) => {
    const out: string[] = [];
    let buf = '';
    const c = net.connect(sock, () => {
      c.write('{"kind":"hello","version":2}\n{"id":1,"to":99,"ops":[]}\n{"id":2,"turn":12345,"ops":[]}\n{"id":3,"ops":[{"op":"get","key":"open"},{"op":"call","args":["z"]}]}\n');
    });
    c.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const all = buf.split('\n').filter(Boolean);
      if (all.length >= 4) {
        c.destroy();
        resolve(all);
      }
    });
    c.on('error', reject);
  });
  expect(JSON.parse(lines[1]!)).toMatchObject({ id: 1, kind: 'error', error: { name: 'ReleasedError', code: 'RELEASED' } });
  expect(JSON.parse(lines[2]!)).toMatchObject({ id: 2, kind: 'error', error: { name: 'ProtocolError', code: 'BAD_TURN' } });
  expect(JSON.parse(lines[3]!)).toEqual({ id: 3, kind: 'value', value: { $handle: 1 } });
});
