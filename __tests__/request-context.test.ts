/**
 * src/host/request-context.ts on its own: a hosted async function keeps its request across
 * awaits, whichever realm made it (the constructor check is a shortcut for this realm's functions;
 * another realm's go to util.types), while a plain function and an async generator function are
 * called as they are (a generator's body runs later, in whoever pulls it).
 */
import vm from 'node:vm';
import { callAsRequest, currentRequest, type RunningRequest, runAsRequest } from '../src/host/request-context';

const request = (turn: number): RunningRequest => ({ connection: { grantsTurn: () => false }, turn });

/** Call `fn` as request `r` the way the evaluator does (through callAsRequest), and what it returns. */
function callAs(r: RunningRequest, fn: Function): unknown {
  return runAsRequest(r, () => callAsRequest(fn, undefined, []), undefined);
}

const afterAwait = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  return currentRequest()?.turn;
};

test('an async function of this realm sees its request after an await', async () => {
  await expect(callAs(request(11), afterAwait)).resolves.toBe(11);
  expect(currentRequest()).toBeUndefined();
});

test('an async function made in another realm (vm) sees its request after an await too', async () => {
  const foreign = vm.runInNewContext('(async function (wait, current) { await wait(); return current()?.turn; })') as Function;
  expect(foreign.constructor).not.toBe((async () => {}).constructor);
  // Called through callAsRequest as the hosted function itself.
  const p = runAsRequest(request(12), () => callAsRequest(foreign, undefined, [() => new Promise((r) => setImmediate(r)), currentRequest]), undefined);
  await expect(p).resolves.toBe(12);
});

test('a plain function sees its request while it runs, and an async generator function is only called', async () => {
  expect(callAs(request(13), () => currentRequest()?.turn)).toBe(13);
  async function* gen() {
    await new Promise((resolve) => setImmediate(resolve));
    yield currentRequest()?.turn;
  }
  const it = callAs(request(14), gen) as AsyncGenerator<number | undefined>;
  // Its body runs when pulled, outside the request: the storage was not entered for it.
  expect((await it.next()).value).toBeUndefined();
});
