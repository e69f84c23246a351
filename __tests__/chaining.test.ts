/**
 * Op chains end to end, through the in-process bypass and through the socket: what one
 * expression sends, how many times the host runs it, what comes back, and what stays local.
 */
import path from 'node:path';
import util from 'node:util';
import {
  AccessError,
  connect,
  EncodeError,
  type Host,
  type Remote,
  RemoteError,
  serve,
} from 'remoteobj';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

/** How often the host ran things; read directly, since the host lives in this process. */
interface Counts {
  b: number;
  chain: number;
  counted: number;
  /** Every access the host's rules saw (get, set, del, super, passto). */
  accesses: number;
}

class ValidationError extends Error {
  override name = 'ValidationError';
  readonly code = 'E_VALIDATION';
  constructor(
    message: string,
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

class Base {
  x = 0;
  describe(): string {
    return `base x=${this.x}`;
  }
}

class Middle extends Base {
  override describe(): string {
    return `middle x=${this.x}`;
  }
}

class Target extends Middle {
  items = [{ name: 'first' }, { name: 'second' }];
  arr = [1, 2, 3];
  str = 'hello';
  set = new Set<unknown>([1, 'a']);
  map = new Map<string, number>([['k', 1]]);
  num = 5;
  obj: Record<string, unknown> = { k: 1 };
  tmp?: string = 'temporary';
  logs: string[] = [];
  received: unknown;
  a: { b: () => { c: { d: () => string }[] } };

  constructor(readonly counts: Counts) {
    super();
    this.a = {
      b: () => {
        counts.b++;
        return { c: [{ d: () => 'deep' }] };
      },
    };
  }

  override describe(): string {
    return `target x=${this.x}`;
  }

  chain(): this {
    this.counts.chain++;
    this.x++;
    return this;
  }

  log(s: string): void {
    this.logs.push(s);
  }

  echo(v: unknown): unknown {
    this.received = v;
    return v;
  }

  async slow(v: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 5));
    return v * 2;
  }

  get doubled(): number {
    return this.x * 2;
  }

  get counted(): number {
    return ++this.counts.counted;
  }

  fail(): never {
    throw new ValidationError('bad input', 'age', { cause: new RangeError('age must be positive') });
  }

  failTyped(): never {
    throw Object.assign(new TypeError('wrong type'), { code: 'E_WRONG_TYPE' });
  }

  giveFunction(): () => number {
    return () => 1;
  }
}

/**
 * The rejection of a remote request. Jest's `expect(x).rejects` calls `x` when it is a function,
 * and a proxy is one (`remote.f()` is chainable into `remote.f()()`), so tests catch instead.
 */
async function failure(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the remote request to fail');
}

/** Remote<T> types members as read-only, while the proxy sends `remote.x = v` and `delete remote.x`. */
type Writable = { [key: string]: unknown };

afterEach(killChildren);

describe.each([
  ['local bypass', true],
  ['socket', false],
])('chains through the %s', (_label, localBypass) => {
  let host: Host<Target>;
  let target: Target;
  let counts: Counts;
  let remote: Remote<Target>;
  let unobserved: Error[];

  beforeEach(async () => {
    counts = { b: 0, chain: 0, counted: 0, accesses: 0 };
    target = new Target(counts);
    unobserved = [];
    const sock = tmpSock('chain');
    host = await serve(target, sock, {
      functions: { times: (v: number, k: number) => v * k },
      policy: () => {
        counts.accesses++;
        return true;
      },
    });
    remote = await connect<Target>(sock, { localBypass, onUnobservedError: (e) => unobserved.push(e) });
    expect(remote.$connection.local).toBe(localBypass);
  });

  afterEach(async () => {
    await remote.$close();
    await host.close();
  });

  test('property reads and nested chains', async () => {
    expect(await remote.num).toBe(5);
    expect(await remote.items[0]!.name).toBe('first');
    expect(await remote.items[1]!.name).toBe('second');
    expect(await remote.items).toEqual([{ name: 'first' }, { name: 'second' }]);
  });

  test('remote.a.b().c[0].d() is one request and runs b() exactly once', async () => {
    expect(await remote.a.b().c[0]!.d()).toBe('deep');
    expect(counts.b).toBe(1);
    // Not awaited, same expression: still once.
    const p = remote.a.b().c[0]!.d();
    await until(() => counts.b === 2);
    expect(await p).toBe('deep');
    expect(counts.b).toBe(2);
  });

  test('a method returning the hosted object gives back the root proxy', async () => {
    const again = await remote.chain();
    expect(again).toBe(remote);
    expect(counts.chain).toBe(1);
    expect(await remote.chain().chain().x).toBe(3);
    expect(counts.chain).toBe(3);
    expect(target.x).toBe(3);
  });

  test('$super reaches the parent class method, bound to the object; $super.$super two levels up', async () => {
    target.x = 7;
    expect(await remote.describe()).toBe('target x=7');
    expect(await remote.$super.describe()).toBe('middle x=7');
    // Remote<T> does not type `$super.$super` (the $super view has no controls), so cast.
    const twoUp = (remote.$super as unknown as Remote<Base>).$super;
    expect(await twoUp.describe()).toBe('base x=7');
  });

  test('passto: a default function, a registered one, and an unknown name', async () => {
    expect(await remote.num.$passto('String')).toBe('5');
    expect(await remote.num.$passto('times', 3)).toBe(15);
    const err = await remote.num.$passto('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReferenceError);
    expect((err as Error).message).toMatch(/nope/);
  });

  test('$has on array, string, Set, Map and object', async () => {
    expect(await remote.arr.$has(2)).toBe(true);
    expect(await remote.arr.$has(9)).toBe(false);
    expect(await remote.str.$has('ell')).toBe(true);
    expect(await remote.str.$has('xyz')).toBe(false);
    expect(await remote.set.$has('a')).toBe(true);
    expect(await remote.set.$has('b')).toBe(false);
    expect(await remote.map.$has('k')).toBe(true);
    expect(await remote.map.$has('z')).toBe(false);
    expect(await remote.obj.$has('k')).toBe(true);
    expect(await remote.obj.$has('z')).toBe(false);
  });

  test('$len on array, string, Map and Set; TypeError on a number', async () => {
    expect(await remote.arr.$len()).toBe(3);
    expect(await remote.str.$len()).toBe(5);
    expect(await remote.map.$len()).toBe(1);
    expect(await remote.set.$len()).toBe(2);
    await expect(remote.num.$len()).rejects.toBeInstanceOf(TypeError);
  });

  test('$set, $del and delete remote.tmp', async () => {
    await remote.obj.$set('added', 2);
    expect(target.obj).toEqual({ k: 1, added: 2 });
    await remote.obj.$del('k');
    expect(target.obj).toEqual({ added: 2 });

    delete (remote as unknown as Writable).tmp;
    expect(await remote.$has('tmp')).toBe(false);
    expect('tmp' in target).toBe(false);
  });

  test('async methods are awaited on the host; getters are read', async () => {
    expect(await remote.slow(21)).toBe(42);
    target.x = 4;
    expect(await remote.doubled).toBe(8);
  });

  test('a remote error keeps its class, message, own properties, code, cause and origin', async () => {
    const err = (await failure(remote.fail())) as RemoteError & { field?: string; origin?: { op?: number; opName?: string; pid: number } };
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe('bad input');
    expect(err.field).toBe('age');
    expect(err.cause).toBeInstanceOf(RangeError);
    expect((err.cause as Error).message).toBe('age must be positive');
    expect(err.origin).toMatchObject({ pid: process.pid, op: 1, opName: 'call' });
    expect(err.stack).toMatch(/--- remote: pid \d+ at .*, op 1 \(call\) ---/);

    const typed = (await failure(remote.failTyped())) as TypeError & { code?: string };
    expect(typed).toBeInstanceOf(TypeError);
    expect(typed.message).toBe('wrong type');
    expect(typed.code).toBe('E_WRONG_TYPE');

    // A failing get deep in a chain names its op.
    const deep = (await failure(remote.items[5]!.name)) as TypeError & { origin?: { op?: number; opName?: string } };
    expect(deep).toBeInstanceOf(TypeError);
    expect(deep.origin).toMatchObject({ op: 2, opName: 'get' });
  });

  test('a remote error of a custom class keeps its own name and code', async () => {
    const err = (await failure(remote.fail())) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect([err.name, err.code]).toEqual(['ValidationError', 'E_VALIDATION']);
  });

  test('returning a function gives a callable (protocol 2), and the host keeps serving', async () => {
    // Not `expect(proxy).rejects`: a proxy is callable, so Jest would call it (see failure()).
    expect(typeof (await remote.giveFunction())).toBe('function');
    expect(await remote.num).toBe(5);
    expect(host.listening).toBe(true);
  });

  test('awaiting one proxy twice sends once; $get() asks again', async () => {
    const p = remote.counted;
    expect(await p).toBe(1);
    expect(await p).toBe(1);
    expect(counts.counted).toBe(1);
    expect(await p.$get()).toBe(2);
    expect(counts.counted).toBe(2);
  });

  test('requests run in the order they were made, awaited or not', async () => {
    remote.log('a');
    remote.log('b');
    await remote.log('c');
    expect(target.logs).toEqual(['a', 'b', 'c']);

    (remote as unknown as Writable).x = 1;
    expect(await remote.x).toBe(1);
  });

  test('an un-awaited failing call or assignment goes to onUnobservedError', async () => {
    remote.fail();
    (remote as unknown as Writable)._secret = 1;
    await until(() => unobserved.length === 2);
    expect(unobserved[0]).toBeInstanceOf(RemoteError);
    expect(unobserved[0]!.message).toBe('bad input');
    expect(unobserved[1]).toBeInstanceOf(AccessError);
    expect('_secret' in target).toBe(false);
    // The connection is still good.
    expect(await remote.num).toBe(5);
  });

  test('describing, testing or iterating a proxy sends nothing', async () => {
    expect(await remote.num).toBe(5); // one access, to show the counter counts
    const before = counts.accesses;
    expect(before).toBeGreaterThan(0);
    // Also count requests leaving the client (a root read or $len would pass no access rule).
    const conn = remote.$connection;
    const send = conn.send.bind(conn);
    let sent = 0;
    conn.send = (...args) => (sent++, send(...args));
    const p = remote.items[0]!.name;

    expect(remote ? 'truthy' : 'falsy').toBe('truthy');
    expect(Boolean(p)).toBe(true);
    expect(String(remote)).toMatch(/^Remote<.*>$/);
    expect(String(p)).toMatch(/^Remote<.*>\.items\[0\]\.name$/);
    expect(`${p}`).toBe(String(p));
    expect(util.inspect(p)).toBe(String(p));
    expect(util.inspect({ p })).toContain('.items[0].name');
    expect(() => JSON.stringify(remote)).not.toThrow();
    expect(() => JSON.stringify({ p })).not.toThrow();
    expect(() => [...(remote.items as unknown as Iterable<unknown>)]).toThrow(TypeError);
    expect(() => {
      for (const _ of remote as unknown as Iterable<unknown>) void _;
    }).toThrow(TypeError);
    expect('num' in remote).toBe(false); // `in` cannot ask the host; $has does
    expect(Object.keys(remote)).toEqual([]);

    // Let anything that might have been queued go out and be answered.
    expect(await remote.str).toBe('hello');
    expect(counts.accesses).toBe(before + 1);
    expect(sent).toBe(1);
    expect(conn.inFlight).toBe(0);
  });

  test('values round trip in arguments and results', async () => {
    const value = {
      date: new Date('2024-02-03T04:05:06.789Z'),
      map: new Map<unknown, unknown>([['a', 1], [2, new Set([3n])]]),
      set: new Set(['x', 'y']),
      big: 12345678901234567890n,
      undef: undefined,
      nan: NaN,
      inf: Infinity,
      negInf: -Infinity,
      negZero: -0,
      bytes: new Uint8Array([1, 2, 255]),
      nested: { deeper: [{ buf: Buffer.from('hi') }] },
    };
    const back = (await remote.echo(value)) as typeof value;

    // What the host received has the real types, not tags.
    const got = target.received as typeof value;
    expect(got.date).toBeInstanceOf(Date);
    expect(got.map).toBeInstanceOf(Map);
    expect(got.set).toBeInstanceOf(Set);
    expect(typeof got.big).toBe('bigint');
    expect(Buffer.isBuffer(got.nested.deeper[0]!.buf)).toBe(true);
    expect('undef' in got).toBe(true);

    for (const v of [back, got]) {
      expect(v.date.toISOString()).toBe('2024-02-03T04:05:06.789Z');
      expect(v.map).toEqual(new Map<unknown, unknown>([['a', 1], [2, new Set([3n])]]));
      expect(v.set).toEqual(new Set(['x', 'y']));
      expect(v.big).toBe(12345678901234567890n);
      expect(Object.prototype.hasOwnProperty.call(v, 'undef')).toBe(true);
      expect(v.undef).toBeUndefined();
      expect(v.nan).toBeNaN();
      expect(v.inf).toBe(Infinity);
      expect(v.negInf).toBe(-Infinity);
      expect(Object.is(v.negZero, -0)).toBe(true);
      expect(v.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(v.bytes)).toBe(false);
      expect([...v.bytes]).toEqual([1, 2, 255]);
      expect(Buffer.isBuffer(v.nested.deeper[0]!.buf)).toBe(true);
      expect(v.nested.deeper[0]!.buf.toString()).toBe('hi');
    }
    // Top-level special values as single arguments and results.
    expect(await remote.echo(undefined)).toBeUndefined();
    expect(await remote.echo(NaN)).toBeNaN();
    expect(await remote.echo(-5n)).toBe(-5n);
  });
});

test('an un-awaited failure with the default handler becomes a process warning, not a crash', async () => {
  const sock = tmpSock('chain');
  const host = await serve(new Target({ b: 0, chain: 0, counted: 0, accesses: 0 }), sock);
  try {
    const child = spawnTs(path.join(__dirname, 'fixtures', 'seed-unobserved-client.ts'), [sock]);
    const { code } = await exited(child);
    expect({ code, output: child.output() }).toEqual({
      code: 0,
      output: expect.stringMatching(/warning RemoteObjWarning: .*bad input[^]*still working: num=5/),
    });
  } finally {
    await host.close();
  }
});
