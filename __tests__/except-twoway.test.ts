/**
 * Issue 13 item 4: an Except travels on the handle mechanism of protocol 2, over a real socket.
 * A client's Except passed to a host method arrives as a handle whose records go back to the
 * client over the same connection, and `catch()` there resolves only once the owner has stored
 * the error; passed back, it is the owner again. A host hands out its own Except only when it
 * marks it with ref(); a protocol-1 client gets NEEDS_PROTOCOL_2 for it, as for a handle. On the
 * wire: `{"$except": {"id", "raises", "catchOnce", "types"}}`, and a record is a request at that
 * export, `record(group, error)`, the only thing it answers.
 */
import net from 'node:net';
import { AccessError, connect, Except, type Host, ProtocolError, ref, type Remote, RemoteError, serve } from 'remoteobj';
import { tmpSock } from './helpers';

class Service {
  readonly errors = new Except({ raises: false, types: [RangeError, 'ValidationError'] });
  readonly seen: Except[] = [];
  /** Catch into the caller's Except, then ask the caller what it holds now. */
  async work(exc: Except, report: () => Promise<number>) {
    this.seen.push(exc);
    await exc.catch('work', () => {
      throw Object.assign(new TypeError('work failed'), { code: 'E_WORK' });
    }, { raises: false });
    return { isHandle: exc.isHandle, address: exc.address ?? null, sizeThere: await report() };
  }
  same(a: Except, b: Except) {
    return a === b && this.seen.includes(a);
  }
  giveBack(exc: Except) {
    return exc;
  }
  shared() {
    return ref(this.errors); // handed out on purpose
  }
  unmarked() {
    return this.errors; // not marked: never leaves the host
  }
}

let host: Host<Service>;
let service: Service;
let sock: string;
let remote: Remote<Service>;
beforeEach(async () => {
  sock = tmpSock('exc2');
  service = new Service();
  host = await serve(service, sock, { localBypass: false });
  remote = await connect<Service>(sock, { localBypass: false });
});
afterEach(async () => {
  await remote.$close();
  await host.close();
});

test("a client's Except passed to a host method: the host's catch() resolves once the client has stored the error", async () => {
  const exc = new Except();
  const result = await remote.work(exc, async () => exc.size);
  expect(result).toEqual({ isHandle: true, address: null, sizeThere: 1 });
  const err = exc.get('work') as TypeError & { code?: string; origin?: { pid: number } };
  expect(err).toBeInstanceOf(TypeError);
  expect(err.message).toBe('work failed');
  expect(err.code).toBe('E_WORK');
  expect(err.origin?.pid).toBe(process.pid);
  expect(err.stack).toMatch(/--- remote: pid \d+ at /);
  // The same Except passed twice is one handle on the host; passed back, it is the owner again.
  expect(await remote.same(exc, exc)).toBe(true);
  expect(await remote.giveBack(exc)).toBe(exc);
});

test('a host hands out its Except with ref(): the client gets a handle, its records land in the host', async () => {
  const handle = await remote.shared();
  expect(handle).toBeInstanceOf(Except);
  expect(handle.isHandle).toBe(true);
  expect(handle.raises).toBe(false); // the owner's options travel with it
  await handle.catch('client', () => {
    throw new RangeError('from the client');
  });
  await expect(handle.catch('client', () => {
    throw new SyntaxError('not a type it catches');
  })).rejects.toThrow(SyntaxError);
  expect(service.errors.group('client').map((e) => e.message)).toEqual(['from the client']);
  expect(handle.group('client')).toHaveLength(1); // the handle's own record too
  expect(await remote.giveBack(handle)).toBe(handle); // the client's stand-in, back as itself
});

test('an unmarked Except never leaves the host; a protocol-1 client gets NEEDS_PROTOCOL_2 for a marked one', async () => {
  await expect(remote.unmarked()).rejects.toMatchObject({ code: 'ACCESS_DENIED', rule: 'library-owned' });
  await expect(remote.unmarked()).rejects.toBeInstanceOf(AccessError);
  const v1 = await connect<Service>(sock, { localBypass: false, protocol: 1 });
  try {
    const err = await v1.shared().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'NEEDS_PROTOCOL_2', message: expect.stringMatching(/an Except/) });
  } finally {
    await v1.$close();
  }
});

test('on the wire: the $except tag, a record request at its id, and nothing else answered', async () => {
  const lines = await new Promise<string[]>((resolve, reject) => {
    let buf = '';
    const c = net.connect(sock, () =>
      c.write(
        [
          '{"kind":"hello","version":2}',
          '{"id":1,"ops":[{"op":"get","key":"shared"},{"op":"call","args":[]}]}',
          '{"id":2,"to":1,"ops":[{"op":"get","key":"record"},{"op":"call","args":["raw",{"name":"ValidationError","message":"bad field"}]}]}',
          '{"id":3,"to":1,"ops":[{"op":"get","key":"types"}]}',
          '{"id":4,"ops":[{"op":"get","key":"giveBack"},{"op":"call","args":[{"$except":{"id":1}}]}]}',
          '',
        ].join('\n'),
      ),
    );
    c.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const all = buf.split('\n').filter(Boolean);
      if (all.length >= 5) {
        c.destroy();
        resolve(all);
      }
    });
    c.on('error', reject);
  });
  const [r1, r2, r3, r4] = lines.slice(1).map((l) => JSON.parse(l));
  expect(r1).toEqual({ id: 1, kind: 'value', value: { $except: { id: 1, raises: false, catchOnce: true, types: ['RangeError', 'ValidationError'] } } });
  expect(r2).toEqual({ id: 2, kind: 'value', value: { $undefined: true } });
  expect(r3).toMatchObject({ id: 3, kind: 'error', error: { name: 'TypeError', message: 'an Except answers only record(group, error)' } });
  expect(r4).toMatchObject({ id: 4, kind: 'error', error: { code: 'BAD_VALUE' } }); // a $except without its options
  const stored = service.errors.get('raw');
  expect(stored).toBeInstanceOf(RemoteError);
  expect(stored?.name).toBe('ValidationError');
});
