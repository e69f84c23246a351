/**
 * Issue 10 item 8: values made in another realm (a `vm` context has its own Object.prototype and
 * Function.prototype) get the builtin-member rule too. `call`, `bind`, `apply`, `toString`,
 * `hasOwnProperty`, `valueOf`... of a vm object or function are refused exactly as for this
 * realm's values, over get, super, set and del; what the vm values define themselves stays
 * reachable; describe lists the same members it would for this realm's values.
 */
import vm from 'node:vm';
import { AccessError, type Connection, connect, serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { tmpSock } from './helpers';

type Op = Parameters<Connection['request']>[0][number];
const get = (key: string | number): Op => ({ op: 'get', key });
const call = (...args: unknown[]): Op => ({ op: 'call', args });
const set = (key: string | number, value: unknown): Op => ({ op: 'set', key, value });
const del = (key: string | number): Op => ({ op: 'del', key });
const sup = (key: string, depth = 1): Op => ({ op: 'super', key, depth });

const OBJECT_PROTO = ['hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toString', 'toLocaleString', 'valueOf', '__defineGetter__'];
const FUNCTION_PROTO = ['call', 'apply', 'bind', 'toString', 'arguments', 'caller'];

/** A vm context's values: an object, a function, a class instance, an array, a null-prototype dict. */
function realm(secretText: string) {
  const context = vm.createContext({ secretText });
  return vm.runInContext(
    `
    class Base { greet() { return 'base'; } }
    class Item extends Base { constructor() { super(); this.n = 2; } twice() { return this.n * 2; } }
    const dict = Object.create(null); dict.k = 1;
    ({
      obj: { a: 1, nested: { b: 2 } },
      fn: function secretFn() { return secretText; },
      arrow: () => 1,
      item: new Item(),
      arr: [1, 2, 3],
      dict,
    })`,
    context,
  ) as Record<string, any>;
}

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

async function setup() {
  // `new Function`: a sloppy-mode function of this realm, as the vm context's `function` is.
  const target = { vm: realm('source-of-secretFn'), local: { a: 1, sloppy: new Function('return 1'), arrow: () => 1 } };
  const p = tmpSock('realm');
  cleanup.host(await serve(target, p, { localBypass: false }));
  const conn = cleanup.remote(await connect(p, { localBypass: false })).$connection;
  return { target, conn };
}

async function refusedRule(conn: Connection, ops: Op[]): Promise<string> {
  const e = await conn.request(ops).then(
    (r) => {
      throw new Error(`expected ${JSON.stringify(ops)} to be refused, got ${JSON.stringify(r)}`);
    },
    (err: unknown) => err,
  );
  if (!(e instanceof AccessError)) throw new Error(`expected an AccessError for ${JSON.stringify(ops)}, got ${String(e)}`);
  return e.rule;
}

async function value(conn: Connection, ops: Op[]): Promise<unknown> {
  const r = await conn.request(ops);
  return r.kind === 'value' ? r.value : 'self';
}

test('Object.prototype members of vm objects are refused (get, call, set, del), as for this realm', async () => {
  const { conn, target } = await setup();
  for (const where of [['obj'], ['obj', 'nested'], ['item'], ['arr']] as string[][]) {
    for (const name of OBJECT_PROTO) {
      if (where[0] === 'arr' && (name === 'toString' || name === 'toLocaleString')) continue; // Array.prototype defines its own
      const path = [get('vm'), ...where.map(get)];
      const rules = [
        await refusedRule(conn, [...path, get(name)]),
        await refusedRule(conn, [...path, get(name), call('a')]),
        await refusedRule(conn, [...path, set(name, 1)]),
        await refusedRule(conn, [...path, del(name)]),
      ];
      // The same rule this realm's values get (names starting with "_" fall under `underscore` first).
      const expected = (await refusedRule(conn, [get('local'), get(name)])) === 'underscore' ? 'underscore' : 'builtin-member';
      expect(rules).toEqual([expected, expected, expected, expected]);
    }
  }
  expect(Object.keys(target.vm.obj)).toEqual(['a', 'nested']); // nothing was set
});

test('Function.prototype members of vm functions are refused: no call/apply/bind to rebind `this`, no source text', async () => {
  const { conn } = await setup();
  for (const fn of ['fn', 'arrow']) {
    for (const name of FUNCTION_PROTO) {
      // A sloppy-mode function has its own `arguments` and `caller` (null), in every realm.
      if (fn === 'fn' && (name === 'arguments' || name === 'caller')) continue;
      expect(await refusedRule(conn, [get('vm'), get(fn), get(name)])).toBe('builtin-member');
    }
    expect(await refusedRule(conn, [get('vm'), get(fn), get('call'), call(null)])).toBe('builtin-member');
    expect(await refusedRule(conn, [get('vm'), get(fn), get('bind'), call({})])).toBe('builtin-member');
    expect(await refusedRule(conn, [get('vm'), get(fn), get('hasOwnProperty'), call('name')])).toBe('builtin-member');
  }
  // The methods of a vm class instance are functions too.
  expect(await refusedRule(conn, [get('vm'), get('item'), get('twice'), get('call'), call({ n: 100 })])).toBe('builtin-member');
  expect(await refusedRule(conn, [get('vm'), get('fn'), get('toString'), call()])).toBe('builtin-member');
});

test('super up to a vm Object.prototype is refused like this realm’s', async () => {
  const { conn } = await setup();
  expect(await refusedRule(conn, [get('vm'), get('item'), sup('hasOwnProperty', 2), call('n')])).toBe('builtin-member');
  expect(await refusedRule(conn, [get('vm'), get('item'), sup('toString', 2), call()])).toBe('builtin-member');
  expect(await value(conn, [get('vm'), get('item'), sup('greet'), call()])).toBe('base');
});

test('what vm values define themselves stays reachable', async () => {
  const { conn } = await setup();
  expect(await value(conn, [get('vm'), get('obj'), get('a')])).toBe(1);
  expect(await value(conn, [get('vm'), get('obj'), get('nested'), get('b')])).toBe(2);
  expect(await value(conn, [get('vm'), get('fn'), call()])).toBe('source-of-secretFn');
  expect(await value(conn, [get('vm'), get('fn'), get('name')])).toBe('secretFn');
  expect(await value(conn, [get('vm'), get('item'), get('twice'), call()])).toBe(4);
  expect(await value(conn, [get('vm'), get('arr'), get('includes'), call(2)])).toBe(true);
  expect(await value(conn, [get('vm'), get('arr'), get('toString'), call()])).toBe('1,2,3'); // Array.prototype's own
  expect(await value(conn, [get('vm'), get('dict'), get('k')])).toBe(1);
});

test('a null-prototype object (this realm or a vm one) is not mistaken for an Object.prototype', async () => {
  const { conn, target } = await setup();
  const dict: object = Object.assign(Object.create(null) as object, { toString: 'mine', call: 'mine too' });
  (target as Record<string, unknown>).dict = dict;
  expect(await value(conn, [get('dict'), get('toString')])).toBe('mine');
  expect(await value(conn, [get('dict'), get('call')])).toBe('mine too');
  expect(await value(conn, [get('vm'), get('dict'), get('k')])).toBe(1);
});

test('describe lists the same members for vm values as for this realm’s: no Object.prototype names', async () => {
  const { conn } = await setup();
  const names = async (ops: Op[]) => ((await value(conn, [...ops, { op: 'describe' }])) as { members: { name: string }[] }).members.map((m) => m.name);
  expect(await names([get('vm'), get('obj')])).toEqual(['a', 'nested']);
  expect((await names([get('vm'), get('item')])).sort()).toEqual(['greet', 'n', 'twice']);
  expect((await names([get('vm'), get('fn')])).sort()).toEqual((await names([get('local'), get('sloppy')])).sort());
  expect((await names([get('vm'), get('arrow')])).sort()).toEqual(['length', 'name']);
  expect((await names([get('vm'), get('arrow')])).sort()).toEqual((await names([get('local'), get('arrow')])).sort());
});
