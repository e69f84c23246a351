/**
 * Issue 10 item 9, first half: no function source code through the default passto functions.
 * `toString` of a function is refused by the access rules; `$passto('String')` gave the source
 * anyway, of a method, a class, an arrow, and of every function in an array. Every default passto
 * function is tried on every kind of function holder: none returns text of a function's body.
 */
import { connect, DEFAULT_FUNCTIONS, serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { tmpSock } from './helpers';

/** Text that appears only inside function bodies (written out there, as a literal): if a reply holds it, a source leaked. */
const MARK = 'SOURCE_MARK_7f3a';

class Service {
  name = 'svc';
  handlers = [() => 'SOURCE_MARK_7f3a', function named() { return 'SOURCE_MARK_7f3a'; }, [function nested() { return 'SOURCE_MARK_7f3a'; }], null, 'text'];
  holder = { fn: () => 'SOURCE_MARK_7f3a', data: 1 };
  Klass = class Hidden {
    run() {
      return 'SOURCE_MARK_7f3a';
    }
  };
  method(): string {
    return 'SOURCE_MARK_7f3a';
  }
  async later(): Promise<string> {
    return 'SOURCE_MARK_7f3a';
  }
}

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

test('$passto("String") of a function names it and never shows its source', async () => {
  const p = tmpSock('src');
  cleanup.host(await serve(new Service(), p, { localBypass: false }));
  const remote = cleanup.remote(await connect<any>(p, { localBypass: false }));
  expect(await remote.method.$passto('String')).toBe('[Function: method]');
  expect(await remote.later.$passto('String')).toBe('[Function: later]');
  expect(await remote.Klass.$passto('String')).toBe('[class Hidden]');
  expect(await remote.holder.fn.$passto('String')).toBe('[Function: fn]');
  // An array is joined as String() joins it, its functions named, not printed.
  expect(await remote.handlers.$passto('String')).toBe('[Function (anonymous)],[Function: named],[Function: nested],,text');
  // Everything else is String() as before.
  expect(await remote.name.$passto('String')).toBe('svc');
  expect(await remote.holder.$passto('String')).toBe('[object Object]');
});

test('no default passto function returns a function’s source, whatever holds the function', async () => {
  const p = tmpSock('src2');
  cleanup.host(await serve(new Service(), p, { localBypass: false }));
  const remote = cleanup.remote(await connect<any>(p, { localBypass: false }));
  const holders = [remote.method, remote.later, remote.Klass, remote.handlers, remote.holder, remote.holder.fn, remote.handlers[1]];
  let tried = 0;
  for (const name of Object.keys(DEFAULT_FUNCTIONS)) {
    for (const holder of holders) {
      const out = await holder.$passto(name).then(
        (v: unknown) => v,
        (e: Error) => e.message,
      );
      tried++;
      expect(JSON.stringify(out ?? null)).not.toContain(MARK);
    }
  }
  expect(tried).toBe(Object.keys(DEFAULT_FUNCTIONS).length * holders.length);
  // The root itself, with every function on it.
  for (const name of Object.keys(DEFAULT_FUNCTIONS)) {
    const out = await remote.$passto(name).then(
      (v: unknown) => v,
      (e: Error) => e.message,
    );
    expect(JSON.stringify(out ?? null)).not.toContain(MARK);
  }
});
