/**
 * Cancellation (issue 13 item 5), with the host in a child process: a queued request cancelled by
 * its client never runs and leaves the lock's queue at once; a running one sees its
 * currentSignal() abort (after awaits too), its `finally` runs, and the lock is free for the
 * next request as soon as it settles; a client's timeout and a client killed with SIGKILL abort
 * the running request on the host the same way; the CLI's --timeout cancels on the host; a client
 * that speaks only protocol 1 sees the cancel message refused exactly as before. The cancel
 * message is fuzzed at the end.
 */
import { connect, TimeoutError } from 'remoteobj';
import { RawClient } from './fixtures/host-kit';
import { BIN, requireBuild, startCli } from './fixtures/cli-kit';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

interface ControlHost {
  hold(tag: string): Promise<never>;
  late(tag: string): Promise<never>;
  plainLate(tag: string): Promise<never>;
  record(tag: string): string;
  queued(): number;
  size(s: string): number;
  heapUsed(): number;
}

afterEach(() => killChildren());

async function startHost() {
  const path = tmpSock('cx');
  const child = spawnTs('__tests__/fixtures/control-host.ts', [path]);
  await until(() => child.output().includes('ready'));
  const remote = await connect<ControlHost>(path, { localBypass: false });
  const lines = () => child.output().split('\n');
  return { path, child, remote, lines, saw: (line: string) => until(() => lines().includes(line), { timeout: 20_000 }) };
}

/** An AbortError that came at once: its promise had settled before anything else happened. */
async function abortedAtOnce(p: Promise<unknown>, abort: () => void): Promise<Error> {
  let settled: unknown = 'pending';
  p.then(
    () => (settled = 'fulfilled'),
    (e: unknown) => (settled = e),
  );
  abort();
  await Promise.resolve();
  await Promise.resolve();
  await Promise.resolve();
  expect(settled).toBeInstanceOf(Error);
  return settled as Error;
}

test('a queued request cancelled by its client rejects with AbortError at once, never runs, and leaves the queue', async () => {
  const { remote, saw, lines } = await startHost();
  const holder = new AbortController();
  const held = remote.hold('holder').$get({ signal: holder.signal }).catch((e: Error) => e);
  await saw('start holder');
  const queued = new AbortController();
  const doomed = remote.record('doomed').$get({ signal: queued.signal });
  const after = remote.record('after');
  await until(async () => (await remote.queued()) === 2);
  const err = await abortedAtOnce(doomed, () => queued.abort());
  expect(err.name).toBe('AbortError');
  await until(async () => (await remote.queued()) === 1); // forgotten by the host's queue
  holder.abort();
  expect(((await held) as Error).name).toBe('AbortError');
  expect(await after).toBe('after');
  await saw('finally holder AbortError');
  expect(lines()).not.toContain('ran doomed');
  await remote.$close();
});

test('cancelled queued requests are let go at once: what they carry is not kept until the lock frees', async () => {
  const { remote, saw, lines } = await startHost();
  const holder = new AbortController();
  const held = remote.hold('holder').$get({ signal: holder.signal }).catch((e: Error) => e);
  await saw('start holder');
  const before = await remote.heapUsed();
  const n = 40;
  const big = 'x'.repeat(256 * 1024); // 40 requests of 256 KiB: 10 MiB waiting on the host
  const controllers = Array.from({ length: n }, () => new AbortController());
  const calls = controllers.map((ac, i) => remote.size(big + i).$get({ signal: ac.signal }).catch((e: Error) => e));
  await until(async () => (await remote.queued()) === n);
  expect((await remote.heapUsed()) - before).toBeGreaterThan(8 << 20); // they are on the host, waiting
  for (const ac of controllers) ac.abort();
  for (const e of await Promise.all(calls)) expect((e as Error).name).toBe('AbortError');
  await until(async () => (await remote.queued()) === 0);
  // The lock is still held, and the cancelled requests' arguments are gone already.
  expect((await remote.heapUsed()) - before).toBeLessThan(2 << 20);
  holder.abort();
  expect(((await held) as Error).name).toBe('AbortError');
  await saw('finally holder AbortError');
  expect(await remote.size('after')).toBe(5);
  expect(lines().filter((l) => l.startsWith('ran '))).toEqual([]);
  await remote.$close();
});

test('a running request: currentSignal() aborts (after awaits too), its finally runs, the lock is freed when it settles', async () => {
  const { remote, saw } = await startHost();
  const running = new AbortController();
  const call = remote.hold('running').$get({ signal: running.signal });
  await saw('start running');
  const next = remote.record('next');
  const err = await abortedAtOnce(call, () => running.abort());
  expect(err.name).toBe('AbortError');
  await saw('finally running AbortError');
  expect(await next).toBe('next'); // the lock is free again
  expect(await remote.queued()).toBe(0);
  await remote.$close();
});

test('the first request of a fresh host, an async method asking for currentSignal() only after an await, sees its signal abort', async () => {
  // The request context is entered only where it can be needed (src/host/request-context.ts):
  // here nothing has asked for currentSignal() yet and no client has passed a function.
  const { remote, saw } = await startHost();
  const running = new AbortController();
  const call = remote.late('first').$get({ signal: running.signal });
  await saw('start first');
  expect((await abortedAtOnce(call, () => running.abort())).name).toBe('AbortError');
  await saw('finally first AbortError');
  expect(await remote.record('next')).toBe('next');
  await remote.$close();
});

test('once currentSignal() has been asked for, a plain method returning a promise finds it after an await too', async () => {
  const { remote, saw } = await startHost();
  const first = new AbortController();
  const held = remote.hold('one').$get({ signal: first.signal }).catch((e: Error) => e);
  await saw('start one');
  first.abort();
  expect(((await held) as Error).name).toBe('AbortError');
  const second = new AbortController();
  const call = remote.plainLate('two').$get({ signal: second.signal });
  await saw('start two');
  expect((await abortedAtOnce(call, () => second.abort())).name).toBe('AbortError');
  await saw('finally two AbortError');
  await remote.$close();
});

test("the client's timeout aborts the request on the host", async () => {
  const { remote, saw } = await startHost();
  await expect(remote.hold('late').$get({ timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
  await saw('finally late AbortError');
  expect(await remote.record('next')).toBe('next');
  await remote.$close();
});

test('a client killed with SIGKILL: its running request is aborted on the host and the next client goes on', async () => {
  const { path, remote, saw, lines } = await startHost();
  const client = spawnTs('__tests__/fixtures/control-client.ts', [path, 'orphan']);
  await saw('start orphan');
  client.kill('SIGKILL');
  await exited(client);
  await saw('finally orphan AbortError').catch(() => {
    throw new Error(`the host printed: ${lines().join(' | ')}`);
  });
  expect(await remote.record('next')).toBe('next');
  await remote.$close();
});

test("the CLI's --timeout cancels the request on the host", async () => {
  requireBuild();
  const { path, remote, saw } = await startHost();
  const cli = startCli(['call', path, 'hold("cli")', '--timeout', '0.5']);
  const result = await cli.result;
  expect(result.code).toBe(4);
  await saw('finally cli AbortError');
  expect(await remote.record('next')).toBe('next');
  await remote.$close();
  expect(BIN).toContain('dist');
});

test('a protocol-1 client: a cancel line is refused as before, and its requests are never cancelled', async () => {
  const { path, remote } = await startHost();
  const raw = await RawClient.open(path);
  const reply = await raw.ask({ kind: 'cancel', id: 1 });
  expect(reply.kind).toBe('error');
  expect(reply.error?.code).toBe('BAD_MESSAGE');
  expect(await raw.ask({ id: 2, ops: [{ op: 'get', key: 'record' }, { op: 'call', args: ['v1'] }] })).toMatchObject({ id: 2, kind: 'value', value: 'v1' });
  await raw.destroy();
  await remote.$close();
});

test('fuzz: cancel lines of every shape on a protocol-2 connection break nothing', async () => {
  const { path, remote, saw, lines } = await startHost();
  const raw = await RawClient.open(path);
  await raw.write(JSON.stringify({ kind: 'hello', version: 2 }) + '\n');
  const ids: unknown[] = [0, -1, 1, 2 ** 53, 1e308, 1.5, 'x', '', 'y'.repeat(200), null, true, [], {}, { id: 1 }];
  const extras: Record<string, unknown>[] = [{}, { reason: 'timeout' }, { id2: 1 }, { kind: 'cancel' }];
  let seed = 13;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const sent: string[] = [];
  for (let i = 0; i < 400; i++) {
    const id = ids[Math.floor(random() * ids.length)];
    const extra = extras[Math.floor(random() * extras.length)];
    const msg: Record<string, unknown> = { kind: 'cancel', id, ...extra };
    if (random() < 0.1) delete msg.id;
    let line = JSON.stringify(msg);
    if (random() < 0.1) line = line.slice(0, Math.floor(random() * line.length)); // cut short
    if (random() < 0.05) line = line.replace('cancel', 'cancél');
    sent.push(line);
    await raw.write(line + '\n');
  }
  // Cancel a request of its own that is queued, and one id that never existed: then it still works.
  const holder = new AbortController();
  const held = remote.hold('fuzz-holder').$get({ signal: holder.signal }).catch(() => undefined);
  await saw('start fuzz-holder');
  await raw.write(JSON.stringify({ id: 'q', ops: [{ op: 'get', key: 'record' }, { op: 'call', args: ['raw-queued'] }] }) + '\n');
  await until(async () => (await remote.queued()) === 1);
  await raw.write(JSON.stringify({ kind: 'cancel', id: 'q' }) + '\n');
  await until(async () => (await remote.queued()) === 0);
  holder.abort();
  await held;
  await raw.write(JSON.stringify({ id: 'after', ops: [{ op: 'get', key: 'record' }, { op: 'call', args: ['raw-after'] }] }) + '\n');
  // Every reply the fuzz earned (errors for malformed lines, none for well-formed cancels), then 'after'.
  let reply;
  do reply = await raw.next();
  while (reply.id !== 'after');
  expect(reply).toMatchObject({ kind: 'value', value: 'raw-after' });
  expect(lines()).not.toContain('ran raw-queued');
  await raw.destroy();
  await remote.$close();
}, 30_000);
