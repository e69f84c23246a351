/**
 * Issue 11 item 7, the library side: typos must not succeed silently. With `strict` (a connect
 * option, or per request), reading or deleting a member that does not exist rejects with
 * MissingMemberError naming it and the reachable members it may have meant, instead of giving
 * `undefined`. Members that exist with the value `undefined` are not missing. Suggestions never
 * reveal names the access rules refuse. On the wire it is the request's `strict` field; a
 * hand-written client gets the error with code MISSING_MEMBER. Without strict nothing changes,
 * except that calling a missing method says there is no such member and names close matches.
 */
import { type Connection, connect, MissingMemberError, RemoteObjError, serve, type ServeOptions } from 'remoteobj';
import { readCanonicalRequest } from '../src/protocol/line-reader';
import { Cleanup, RawClient } from './fixtures/host-kit';
import { tmpSock } from './helpers';

class Base {
  describeMe(): string {
    return 'base';
  }
}

class Counter extends Base {
  count = 3;
  counter = 'other';
  nothing: undefined = undefined;
  items = [10, 20, 30];
  _secret = 'hidden';
  _counts = 99;
  config = { level: 'info', levels: ['info', 'debug'] };
  add(n: number): number {
    return (this.count += n);
  }
  reset(): void {
    this.count = 0;
  }
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function setup(options: ServeOptions = {}, strict = true) {
  const target = new Counter();
  const p = tmpSock('strict');
  cleanup.host(await serve(target, p, { localBypass: false, ...options }));
  const remote = cleanup.remote(await connect<any>(p, { localBypass: false, strict }));
  return { target, p, remote, conn: remote.$connection as Connection };
}

async function missing(p: PromiseLike<unknown>): Promise<MissingMemberError> {
  const e = await Promise.resolve(p).then(
    (v) => {
      throw new Error(`expected a MissingMemberError, got ${JSON.stringify(v)}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MissingMemberError);
  return e as MissingMemberError;
}

test('a typo is a MissingMemberError that names the member and the close matches', async () => {
  const { remote } = await setup();
  const e = await missing(remote.countr);
  expect(e).toBeInstanceOf(RemoteObjError);
  expect(e).toMatchObject({ name: 'MissingMemberError', code: 'MISSING_MEMBER', member: 'countr' });
  expect(e.suggestions).toEqual(['count', 'counter']);
  expect(e.message).toBe('the hosted object (Counter) has no member "countr"; did you mean "count" or "counter"?');
  expect(e.origin).toMatchObject({ op: 0, opName: 'get' });

  expect((await missing(remote.Count)).suggestions).toEqual(['count', 'counter']); // case, then a longer name it starts
  expect((await missing(remote.ad(1))).suggestions).toEqual(['add']); // a method, before the call runs
  expect((await missing(remote.rest())).suggestions).toEqual(['reset']); // a swapped pair
  expect((await missing(remote.describeMee())).suggestions).toEqual(['describeMe']); // inherited
  const deep = await missing(remote.config.levl);
  expect(deep.message).toBe('the value (an object) has no member "levl"; did you mean "level" or "levels"?');
  expect(deep.origin).toMatchObject({ op: 1 });
  expect((await missing(remote.zzzzzz)).suggestions).toEqual([]);
  expect((await missing(remote.zzzzzz)).message).toBe('the hosted object (Counter) has no member "zzzzzz"');
});

test('what exists is read as before: a member holding undefined, inherited members, strings, array elements', async () => {
  const { remote } = await setup();
  expect(await remote.nothing).toBeUndefined();
  expect(await remote.count).toBe(3);
  expect(await remote.describeMe()).toBe('base');
  expect(await remote.config.level.length).toBe(4);
  expect(await remote.items[2]).toBe(30);
  expect(await remote.add(1)).toBe(4);
  const e = await missing(remote.items[3]);
  expect(e.message).toBe('index 3 is out of range: the array has 3 elements');
});

test('suggestions never reveal names the access rules refuse (underscore, expose)', async () => {
  const { remote } = await setup();
  // "_secret" and "_counts" exist but are private: never suggested.
  expect((await missing(remote.secret)).suggestions).toEqual([]);
  expect((await missing(remote.counts)).suggestions).toEqual(['count', 'counter']);
  // With expose, a name that is not exposed is refused as such, existing or not: nothing to suggest from.
  const exposed = await setup({ expose: ['count', 'config'] });
  expect(await exposed.remote.rest().catch((e: Error) => e)).toMatchObject({ name: 'AccessError', rule: 'not-exposed' });
  expect((await missing(exposed.remote.config.levl)).suggestions).toEqual(['level', 'levels']);
});

test('strict super and del; set still creates', async () => {
  const { remote, target } = await setup();
  const up = remote.$super as any; // Remote<any> does not type members under $super
  expect(await up.describeMe()).toBe('base');
  expect((await missing(up.describeMee())).message).toBe('the class above (Base) has no member "describeMee"; did you mean "describeMe"?');
  const e = await missing(remote.$del('cont'));
  expect(e.message).toBe('cannot delete "cont": the hosted object (Counter) has no such member; did you mean "count"?');
  await (remote as any).$set('fresh', 1);
  expect((target as unknown as Record<string, unknown>).fresh).toBe(1);
  await remote.$del('fresh');
  expect('fresh' in target).toBe(false);
});

test('per request: Connection.request(ops, { strict }) overrides the connection’s default', async () => {
  const { conn } = await setup({}, false);
  expect(await conn.request([{ op: 'get', key: 'nope' }])).toEqual({ kind: 'value', value: undefined });
  await missing(conn.request([{ op: 'get', key: 'nope' }], { strict: true }));
  const strict = await setup({}, true);
  expect(await strict.conn.request([{ op: 'get', key: 'nope' }], { strict: false })).toEqual({ kind: 'value', value: undefined });
});

test('without strict, a missing member is undefined as before; calling one says there is no such member', async () => {
  const { remote } = await setup({}, false);
  expect(await remote.countr).toBeUndefined();
  // (Awaited, not handed to expect(): jest would call a proxy it is given.)
  const e = await remote.ad(1).catch((err: Error) => err);
  expect(e.message).toBe('"ad" is not a function (it is undefined); there is no member "ad" (did you mean "add"?)');
  expect(await remote._rese().catch((err: Error) => err)).toMatchObject({ name: 'AccessError' });
});

test('the wire: {"strict": true} on a request; a hand-written client gets MISSING_MEMBER; a bad value is BAD_MESSAGE', async () => {
  const { p } = await setup({}, false);
  const raw = await RawClient.open(p);
  try {
    const r = await raw.ask({ id: 1, strict: true, ops: [{ op: 'get', key: 'countr' }] });
    expect(r).toMatchObject({
      id: 1,
      kind: 'error',
      error: { name: 'MissingMemberError', code: 'MISSING_MEMBER', member: 'countr', suggestions: ['count', 'counter'], origin: { op: 0, opName: 'get' } },
    });
    expect(await raw.ask({ id: 2, strict: false, ops: [{ op: 'get', key: 'countr' }] })).toMatchObject({ id: 2, kind: 'value', value: { $undefined: true } });
    expect(await raw.ask({ id: 3, strict: 'yes', ops: [] })).toMatchObject({ id: 3, kind: 'error', error: { code: 'BAD_MESSAGE' } });
  } finally {
    await raw.destroy();
  }
});

test('the client writes strict requests in the form the host reads by hand (the fast road)', () => {
  const line = '{"id":7,"strict":true,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}';
  expect(readCanonicalRequest(line)).toEqual(JSON.parse(line));
  expect(Object.keys(readCanonicalRequest(line)!)).toEqual(['id', 'strict', 'ops']);
});

test('the same in process (local bypass)', async () => {
  const p = tmpSock('strictlocal');
  cleanup.host(await serve(new Counter(), p));
  const remote = cleanup.remote(await connect<any>(p, { strict: true }));
  expect(remote.$connection.local).toBe(true);
  expect((await missing(remote.countr)).suggestions).toEqual(['count', 'counter']);
});
