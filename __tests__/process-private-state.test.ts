/**
 * Forked, Except and LocalExcept keep their state in #private fields: none of it is reachable as
 * a plain property (by code that holds one, or by a remote client walking a hosted object that
 * holds one), and no internal method is on their prototypes. What is reachable is the documented
 * API (docs/process.md, docs/except.md), nothing more.
 */
import { Except, fork, LocalExcept } from 'remoteobj';
import { remoteFunc } from './fixtures/proc-funcs';

/** Every property name on the object and its prototypes up to (not including) Object.prototype. */
function reachableNames(o: object): { own: string[]; inherited: string[] } {
  const own = Reflect.ownKeys(o).map(String);
  const inherited: string[] = [];
  for (let p = Object.getPrototypeOf(o); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    inherited.push(...Reflect.ownKeys(p).map(String).filter((k) => k !== 'constructor'));
  }
  return { own, inherited: [...new Set(inherited)].sort() };
}

// Node 20 names it Symbol(nodejs.asyncDispose).
const ASYNC_DISPOSE = String(Symbol.asyncDispose);

const LOCAL_EXCEPT_API = [
  'Symbol(Symbol.iterator)',
  'all',
  'catch',
  'catchOnce',
  'catchSync',
  'clear',
  'entriesList',
  'first',
  'get',
  'group',
  'last',
  'names',
  'raiseAny',
  'raises',
  'size',
  'toString',
  'types',
];

const EXCEPT_API = [...LOCAL_EXCEPT_API, ASYNC_DISPOSE, 'address', 'close', 'flush', 'isHandle', 'listen', 'toJSON'].sort();

test('a Forked: own properties are name and process only; its prototype holds only the documented members', async () => {
  const p = fork(remoteFunc, 6, 7);
  try {
    const { own, inherited } = reachableNames(p);
    expect(own.sort()).toEqual(['name', 'process']);
    expect(inherited).toEqual(
      [ASYNC_DISPOSE, 'Symbol(Symbol.asyncIterator)', 'exitCode', 'exited', 'join', 'kill', 'pid', 'result', 'running', 'signalCode', 'target'].sort(),
    );
    expect(await p.result).toBe(42);
  } finally {
    if (p.running) await p.kill('SIGKILL');
  }
});

test('a LocalExcept: no own properties, its records only through the documented methods', async () => {
  const exc = new LocalExcept();
  await exc.catch('g', () => {
    throw new Error('x');
  }, { raises: false });
  const { own, inherited } = reachableNames(exc);
  expect(own).toEqual([]);
  expect(inherited).toEqual([...LOCAL_EXCEPT_API].sort());
  expect(exc.size).toBe(1);
});

test('an Except, owner or handle: no own properties, no internal methods (record receiving, delivery) reachable', async () => {
  const owner = new Except();
  const handle = Except.attach('/tmp/ro-nobody.sock');
  try {
    await owner.listen();
    for (const exc of [owner, handle]) {
      const { own, inherited } = reachableNames(exc);
      expect(own).toEqual([]);
      expect(inherited).toEqual(EXCEPT_API);
    }
    // Static members: attach is the API; nothing that revives a handle from data.
    expect(Object.getOwnPropertyNames(Except).filter((k) => !['length', 'name', 'prototype'].includes(k))).toEqual(['attach']);
  } finally {
    await owner.close();
  }
});
