/**
 * One suite, every transport (issue 14): the same behaviour over a Unix socket, TCP with a
 * secret, TLS with client certificates, and ssh:// through a real sshd. The transports are the
 * table in fixtures/transports.ts; a new transport is a new entry there, not a copy of these tests.
 */
import { AccessError, ConnectionClosedError, LimitError, NotListeningError, ShutdownError } from 'remoteobj';
import { Cleanup, Gate } from './fixtures/host-kit';
import type { Counter } from './fixtures/transport-host';
import { TRANSPORTS } from './fixtures/transports';
import { exited, killChildren, until } from './helpers';

jest.setTimeout(90_000);

describe.each(TRANSPORTS.map((t) => [t.name, t] as const))('over %s', (_name, transport) => {
  const skip = transport.unavailable?.();
  const it = skip ? test.skip : test;
  if (skip) test(`(skipped: ${skip})`, () => undefined);
  // A message port: one connection per host, and no serving in this process over a child's IPC channel.
  const serves = skip || transport.noServeHere ? test.skip : test;
  const manyClients = skip || transport.oneConnection || transport.noServeHere ? test.skip : test;
  if (!skip && transport.oneConnection) test(`(one lock and reconnect skipped: ${transport.oneConnection})`, () => undefined);
  if (!skip && transport.noServeHere) test(`(limits skipped: ${transport.noServeHere})`, () => undefined);

  const cleanup = new Cleanup();
  beforeAll(async () => {
    if (!skip) await transport.setup?.();
  });
  afterEach(async () => {
    await killChildren();
    await cleanup.run();
  });
  afterAll(async () => {
    if (!skip) await transport.teardown?.();
  });

  it("the seed's counter example: a host in another process counts while on, holds while off, and stops when told", async () => {
    const { child, where } = await transport.childHost();
    const remote = cleanup.remote(await transport.connect<Counter>(where));
    expect(await remote.count).toBe(0);
    await remote.toggle();
    await until(async () => (await remote.count) > 2);
    await remote.toggle(false);
    const held = await remote.count;
    expect(await remote.on).toBe(false);
    expect(await remote.count).toBe(held);
    expect(await remote.add(20, 22)).toBe(42);
    await remote.$set('stop', true);
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  });

  manyClients('one lock: a second client waits while the first holds it, and runs after', async () => {
    const gate = cleanup.gate(new Gate());
    const log: string[] = [];
    const host = cleanup.host(
      await transport.serve({
        async hold(tag: string) {
          log.push(`${tag} start`);
          if (tag === 'a') await gate.promise;
          log.push(`${tag} end`);
          return tag;
        },
      }),
    );
    const a = cleanup.remote(await transport.connect<{ hold(tag: string): Promise<string> }>(host.path));
    const b = cleanup.remote(await transport.connect<{ hold(tag: string): Promise<string> }>(host.path));
    const first = a.hold('a');
    await until(() => log.length === 1);
    const second = b.hold('b');
    await until(() => host.queued === 1);
    expect(log).toEqual(['a start']);
    gate.open();
    expect(await Promise.all([first, second])).toEqual(['a', 'b']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('two-way: a client function called back, a handle kept on the host, a stream of items', async () => {
    const { child, where } = await transport.childHost();
    const remote = cleanup.remote(await transport.connect<Counter>(where));
    expect(await remote.twice(async (n) => n * 10, 2)).toBe(40);
    const handle = await remote.open('a');
    expect(await handle.hit()).toBe(1);
    expect(await handle.hit()).toBe(2);
    expect(await handle.name).toBe('a');
    await handle.$release();
    const seen: number[] = [];
    for await (const i of await remote.ticks(5)) seen.push(i);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    await remote.$set('stop', true);
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  });

  serves.each([true, false])('close() with fulfillFinal %s: the requests queued behind a running one run (or are refused with ShutdownError)', async (fulfillFinal) => {
    const gate = cleanup.gate(new Gate());
    const ran: number[] = [];
    const host = cleanup.host(
      await transport.serve(
        {
          async block() {
            await gate.promise;
            return 'unblocked';
          },
          double(n: number) {
            ran.push(n);
            return n * 2;
          },
        },
        { fulfillFinal },
      ),
    );
    const remote = cleanup.remote(await transport.connect<{ block(): Promise<string>; double(n: number): number }>(host.path));
    const blocked = Promise.resolve(remote.block());
    const queued = [1, 2, 3].map((n) => Promise.resolve(remote.double(n)).then((v) => v, (e: unknown) => e));
    await until(() => host.queued === 3);
    const closing = host.close();
    gate.open();
    await closing;
    expect(await blocked).toBe('unblocked');
    if (fulfillFinal) {
      expect(await Promise.all(queued)).toEqual([2, 4, 6]);
      expect(ran).toEqual([1, 2, 3]);
    } else {
      for (const r of await Promise.all(queued)) expect(r).toBeInstanceOf(ShutdownError);
      expect(ran).toEqual([]);
    }
  });

  serves('access rules: a private member, the constructor and the host itself are out of reach', async () => {
    const target = { _secret: 'hidden', open: 'shown', host: undefined as unknown };
    const host = cleanup.host(await transport.serve(target));
    target.host = host;
    const remote = cleanup.remote(await transport.connect<typeof target>(host.path));
    expect(await remote.open).toBe('shown');
    await expect(Promise.resolve(remote.$key('_secret'))).rejects.toBeInstanceOf(AccessError);
    await expect(Promise.resolve((remote.$key as (key: string) => PromiseLike<unknown>)('constructor'))).rejects.toBeInstanceOf(AccessError);
    await expect(Promise.resolve(remote.host)).rejects.toBeInstanceOf(AccessError);
  });

  it('nothing there: NotListeningError', async () => {
    const where = await transport.nothingThere();
    await expect(transport.connect(where)).rejects.toBeInstanceOf(NotListeningError);
  });

  it('a host killed mid-call: the call rejects with ConnectionClosedError, the next with NotListeningError', async () => {
    const { child, where } = await transport.childHost();
    const remote = cleanup.remote(await transport.connect<Counter>(where));
    expect(await remote.value).toBe(1);
    const call = remote.hang();
    await until(() => child.output().includes('hang'));
    child.kill('SIGKILL');
    await expect(Promise.resolve(call)).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(Promise.resolve(remote.value)).rejects.toBeInstanceOf(NotListeningError);
  });

  manyClients('reconnect: after the host restarts at the same address, the next request connects again', async () => {
    const first = await transport.serve({ generation: 1 });
    const address = first.path;
    const remote = cleanup.remote(await transport.connect<{ generation: number }>(address, { reconnect: true }));
    expect(await remote.generation).toBe(1);
    await first.close();
    await until(() => !remote.$connection.isOpen);
    await expect(Promise.resolve(remote.generation)).rejects.toBeInstanceOf(NotListeningError);
    cleanup.host(await transport.serve({ generation: 2 }, {}, address));
    expect(await remote.generation).toBe(2);
  });

  serves('limits: maxConnections refuses one more with LimitError; a 2 MB value crosses intact; errors keep their class', async () => {
    const host = cleanup.host(
      await transport.serve(
        {
          echo: (s: string) => s,
          fail() {
            throw new RangeError('out of range');
          },
        },
        { maxConnections: 1 },
      ),
    );
    const remote = cleanup.remote(await transport.connect<{ echo(s: string): string; fail(): void }>(host.path));
    const big = 'x'.repeat(2 * 1024 * 1024);
    expect(await remote.echo(big)).toBe(big);
    await expect(Promise.resolve(remote.fail())).rejects.toThrow(RangeError);
    const refused = await transport.connect(host.path).then(
      (r) => cleanup.remote(r),
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(LimitError);
    expect((refused as LimitError).limit).toBe('maxConnections');
  });
});
