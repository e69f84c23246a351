/**
 * Issue 10 item 7: a client must not make the host run a regular expression of its choosing.
 * `$regexp` values from clients are refused by default (ProtocolError BAD_VALUE, nothing runs),
 * wherever they sit in a request (call and passto arguments, set and has values, nested in
 * objects, arrays, Maps and Sets); `acceptRegExp: true` lets a host that trusts its clients take
 * them. RegExp values still travel from host to client.
 */
import { connect, ProtocolError, serve, type ServeOptions } from 'remoteobj';
import { Cleanup, RawClient } from './fixtures/host-kit';
import { tmpSock } from './helpers';

class Counter {
  count = 5;
  calls = 0;
  pattern = /ab+c/gi;
  tags = ['a', 'b'];
  test(re: unknown): boolean {
    this.calls++;
    return re instanceof RegExp && re.test('abbc');
  }
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function host(options: ServeOptions = {}) {
  const target = new Counter();
  const p = tmpSock('re');
  cleanup.host(await serve(target, p, { localBypass: false, ...options }));
  return { target, p };
}

test("the issue's chain (a catastrophic pattern through String.prototype.match, on a locked-down host) is refused before anything runs", async () => {
  const secret = 'regexp-secret';
  const { p, target } = await host({ expose: ['count'], readonly: true, lockTimeout: 1000, secret });
  const remote = cleanup.remote(await connect<any>(p, { secret, localBypass: false }));
  // count.toString().padStart(28, 'a').match(/^(a+)+$/): 27 a's then "5" backtrack for seconds.
  // ($key: the proxy answers toString itself.)
  const err = await remote.count.$key('toString')().padStart(28, 'a').match(/^(a+)+$/).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).toMatchObject({ code: 'BAD_VALUE' });
  expect((err as Error).message).toMatch(/\$regexp values are refused by this host.*ReDoS.*acceptRegExp/);
  // The host is not stuck: the same client and a new one are answered.
  expect(await remote.count).toBe(5);
  const other = cleanup.remote(await connect<any>(p, { secret, localBypass: false }));
  expect(await other.count).toBe(5);
  expect(target.count).toBe(5);
});

test('refused wherever it sits in a request: arguments, passto, set, has, nested in objects, arrays, Maps, Sets', async () => {
  const { p, target } = await host();
  const raw = await RawClient.open(p);
  try {
    const re = { $regexp: { source: 'x', flags: '' } };
    const requests = [
      [{ op: 'get', key: 'test' }, { op: 'call', args: [re] }],
      [{ op: 'get', key: 'test' }, { op: 'call', args: [{ deep: [[{ re }]] }] }],
      [{ op: 'get', key: 'test' }, { op: 'call', args: [{ $map: [['k', re]] }] }],
      [{ op: 'get', key: 'test' }, { op: 'call', args: [{ $set: [re] }] }],
      [{ op: 'get', key: 'test' }, { op: 'call', args: [{ $escape: { $x: re } }] }],
      [{ op: 'passto', name: 'String', args: [re] }],
      [{ op: 'set', key: 'count', value: re }],
      [{ op: 'get', key: 'tags' }, { op: 'has', value: re }],
    ];
    for (const [i, ops] of requests.entries()) {
      const reply = await raw.ask({ id: i + 1, ops });
      expect(reply).toMatchObject({ id: i + 1, kind: 'error', error: { name: 'ProtocolError', code: 'BAD_VALUE' } });
      expect(reply.error!.message).toMatch(/\$regexp values are refused/);
    }
  } finally {
    await raw.destroy();
  }
  expect(target.calls).toBe(0);
  expect(target.count).toBe(5);
});

test('acceptRegExp: true takes them; RegExp values still travel from host to client either way', async () => {
  const { p, target } = await host({ acceptRegExp: true });
  const remote = cleanup.remote(await connect<any>(p, { localBypass: false }));
  expect(await remote.test(/b+/)).toBe(true);
  expect(target.calls).toBe(1);
  expect(await remote.pattern).toEqual(/ab+c/gi);

  const strictHost = await host();
  const client = cleanup.remote(await connect<any>(strictHost.p, { localBypass: false }));
  expect(await client.pattern).toEqual(/ab+c/gi);
});

test('the same in process (local bypass)', async () => {
  const { p, target } = await host({ localBypass: true });
  const remote = cleanup.remote(await connect<any>(p));
  expect(remote.$connection.local).toBe(true);
  expect(await remote.test(/x/).catch((e: Error) => e)).toMatchObject({ name: 'ProtocolError', code: 'BAD_VALUE' });
  expect(target.calls).toBe(0);
});
