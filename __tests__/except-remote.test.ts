/**
 * Except across processes: a child catches into groups of the parent's Except, the parent
 * raises them after join. Real child processes: a fork() argument travels by reference over the
 * child's IPC channel; an unrelated process attaches by address (the library's socket transport).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_GROUP, Except, fork, type Forked, RemoteError } from 'remoteobj';
import { handleView, raiseStuff, syncCatches, throwKinds, worker } from './fixtures/proc-except';
import { exited, killChildren, spawnTs, until } from './helpers';

const started: Forked<any, any>[] = [];
function track<P extends Forked<any, any>>(p: P): P {
  started.push(p);
  return p;
}
const owners: Except[] = [];
function owner(options?: ConstructorParameters<typeof Except>[0]): Except {
  const exc = new Except(options);
  owners.push(exc);
  return exc;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.running ? p.kill('SIGKILL') : undefined)));
  await killChildren();
  await Promise.all(owners.splice(0).map((e) => e.close()));
});

const messages = (list: Error[]) => list.map((e) => `${e instanceof RemoteError ? e.remoteName : e.name}:${e.message}`);

test('the seed example across processes: work and cleanup caught in the child, raised in the parent after join', async () => {
  const exc = owner();
  const p = track(fork(worker, exc, 'work'));
  expect(await p.join()).toBe('worker returned');
  expect(() => exc.raiseAny('init')).not.toThrow(); // nothing there: a no-op
  expect(() => exc.raiseAny('work')).toThrow(TypeError);
  expect(() => exc.raiseAny('work')).toThrow('work failed');
  expect(() => exc.raiseAny('cleanup')).toThrow('cleanup failed');
  expect(() => exc.raiseAny()).toThrow('cleanup failed'); // the last one caught
  expect(exc.names()).toEqual(['work', 'cleanup']);
});

test('a remote error keeps its class name, message, own properties, cause, and its stack marked remote', async () => {
  const exc = owner();
  const p = track(fork(worker, exc, 'init'));
  await p.join();
  expect(() => exc.raiseAny('work')).not.toThrow(); // init failed first: work never ran
  const err = exc.get('init') as RemoteError & { field?: string };
  expect(err).toBeInstanceOf(RemoteError);
  expect(err.remoteName).toBe('ValidationError');
  expect(err.message).toBe('bad config');
  expect(err.field).toBe('port');
  expect(err.cause).toBeInstanceOf(RangeError);
  expect((err.cause as Error).message).toBe('port 99999');
  expect(err.stack).toContain('proc-except.ts');
  expect(err.stack).toContain(`--- remote: pid ${p.pid} at fork ${p.name} ---`);
  expect(err.origin?.pid).toBe(p.pid);
  expect(exc.group(DEFAULT_GROUP)).toEqual([]);
});

test('the original test_except scenario in a child: the same groups as in-process, each error once, all there when result settles', async () => {
  const exc = owner({ raises: false });
  const p = track(fork(raiseStuff, exc));
  expect(await p.result).toEqual(['raised e', 'passed through f']);
  expect(messages(exc.group(DEFAULT_GROUP))).toEqual(['ReferenceError:a', 'RangeError:a', 'ReferenceError:e', 'TypeError:q']);
  expect(messages(exc.group('init'))).toEqual(['SyntaxError:b']);
  expect(messages(exc.group('process'))).toEqual(Array(5).fill('EvalError:c'));
  expect(messages(exc.group('finish'))).toEqual(['URIError:d']);
  expect(exc.group('overall')).toEqual([]);
  expect(exc.size).toBe(11);
});

test('types travel by name: caught types are recorded, an excluded type passes through and fails the child', async () => {
  const exc = owner({ types: [TypeError, 'ValidationError'] });
  const p = track(fork(throwKinds, exc));
  const err = await p.result.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(RangeError);
  expect(err?.message).toBe('not caught');
  expect(messages(exc.group('typed'))).toEqual(['TypeError:a type error', 'ValidationError:invalid']);
});

test('records made with catchSync (not awaited) have all arrived when result settles: no race', async () => {
  const exc = owner();
  const p = track(fork(syncCatches, exc, 20));
  expect(await p.result).toBe('returned');
  expect(exc.group('sync').map((e) => e.message)).toEqual(Array.from({ length: 20 }, (_, i) => `sync ${i}`));
});

test('in the child it is a handle with its own record; sent back it is the owner again; no socket: it travels over the IPC channel', async () => {
  const exc = owner();
  const [a, b] = [track(fork(handleView, exc, 'a', exc)), track(fork(handleView, exc, 'b'))];
  expect(exc.address).toBeUndefined(); // nothing listens
  const [ra, rb] = await Promise.all([a.join(), b.join()]);
  expect(ra.isHandle).toBe(true);
  expect(ra.same).toBe(true); // the same Except sent twice is one object in the child too
  expect(ra.address).toBeUndefined(); // a handle by reference has no address: it sends over its connection
  expect(ra.size).toBe(1); // the child's own record: only what it caught
  expect(rb.size).toBe(1);
  expect(ra.exc).toBe(exc);
  expect(exc.names().sort()).toEqual(['a', 'b']);
  expect(exc.address).toBeUndefined();
});

test('Except.attach(address) from an unrelated process; listen() serves until close()', async () => {
  const exc = owner();
  const address = await exc.listen();
  // No wire form of its own any more: an Except is never copied as data.
  expect(() => JSON.stringify(exc)).toThrow(/cannot be copied as JSON/);
  const child = spawnTs(path.join(__dirname, 'fixtures', 'proc-attach.ts'), [address]);
  const { code } = await exited(child);
  expect(code).toBe(0);
  expect(messages(exc.all())).toEqual(['RangeError:from an unrelated process', 'Error:sync one']);
  expect((exc.get('sync') as Error & { code?: string }).code).toBe('E_SYNC');
  expect(exc.address).toBe(address);
  await exc.close();
  expect(exc.address).toBeUndefined();
  expect(fs.existsSync(address)).toBe(false);
});
