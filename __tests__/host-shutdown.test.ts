/**
 * Host shutdown over real sockets: what happens to requests queued when close() is called
 * (fulfillFinal true/false), to requests made while and after it closes, and to the socket file.
 * The queue is built without timing: a remote async method holds the lock on a Gate the test opens.
 */
import fs from 'node:fs';
import {
  connect,
  type Host,
  HostUnavailableError,
  NotListeningError,
  type Remote,
  serve,
  ShutdownError,
} from 'remoteobj';
import { Cleanup, Gate, range, tally } from './fixtures/host-kit';
import { tmpSock, until } from './helpers';

class Service {
  n = 10;
  started = false;
  calls = 0;
  host?: Host<Service>;
  readonly gate = new Gate();

  async block(): Promise<string> {
    this.started = true;
    await this.gate.promise;
    return 'unblocked';
  }

  double(x: number): number {
    this.calls++;
    return x * 2;
  }

  /** Closes the host from inside a remote call and waits for it (close() in turn waits for this call). */
  async stopAndWait(): Promise<string> {
    await this.host!.close();
    return 'closed';
  }

  /** Closes the host from inside a remote call, without waiting for it (it waits for this call). */
  stop(): string {
    void this.host!.close();
    return 'stopping';
  }
}

const QUEUED = 60;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A host whose lock is held by block(), with QUEUED double() calls from two clients behind it. */
async function hostWithQueue(fulfillFinal: boolean) {
  const path = tmpSock('sd');
  const svc = new Service();
  const host = cleanup.host(await serve(svc, path, { fulfillFinal }));
  cleanup.gate(svc.gate);
  svc.host = host;
  const a = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  const b = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  const blocked = Promise.resolve(a.block());
  await until(() => svc.started);
  const queued = range(QUEUED).map((i) => (i % 2 ? a : b).double(i));
  const batch = tally(queued);
  await until(() => host.queued >= QUEUED);
  return { path, svc, host, a, b, blocked, batch };
}

async function expectNotListening(p: PromiseLike<unknown>): Promise<void> {
  await expect(Promise.resolve(p)).rejects.toBeInstanceOf(NotListeningError);
}

/** After close: requests fail with NotListeningError, $get gives its default, connect() is refused. */
async function expectClosed(path: string, clients: Remote<Service>[]): Promise<void> {
  for (const c of clients) {
    await expectNotListening(c.double(1));
    await expectNotListening(c.n.$get());
    expect(await c.n.$get({ default: -1 })).toBe(-1);
  }
  await expect(connect(path, { localBypass: false })).rejects.toBeInstanceOf(NotListeningError);
  await expect(connect(path)).rejects.toBeInstanceOf(NotListeningError);
  expect(fs.existsSync(path)).toBe(false);
}

test('fulfillFinal true: every request queued at close() runs and gets its own value', async () => {
  const { path, svc, host, a, b, blocked, batch } = await hostWithQueue(true);
  expect(host.queued).toBeGreaterThanOrEqual(50);

  const closing = host.close();
  expect(host.listening).toBe(false);
  // A request arriving while the host closes is refused, not queued.
  await expectNotListening(a.double(1000));
  svc.gate.open();
  await Promise.all([closing, host.close()]);

  expect(await blocked).toBe('unblocked');
  const t = await batch.done;
  expect(t.settlements).toBe(QUEUED);
  expect(t.rejected.size).toBe(0);
  expect(t.fulfilled.size).toBe(QUEUED);
  for (const i of range(QUEUED)) expect(t.fulfilled.get(i)).toBe(i * 2);
  expect(svc.calls).toBe(QUEUED);
  expect(host.queued).toBe(0);
  expect(host.connections).toBe(0);

  await expectClosed(path, [a, b]);
});

test('fulfillFinal false: every request queued at close() rejects with ShutdownError and never runs', async () => {
  const { path, svc, host, a, b, blocked, batch } = await hostWithQueue(false);
  expect(host.queued).toBeGreaterThanOrEqual(50);

  const closing = host.close();
  await expectNotListening(b.double(1000));
  svc.gate.open();
  await Promise.all([closing, host.close()]);

  // The request that held the lock was already running: it finishes and answers.
  expect(await blocked).toBe('unblocked');
  const t = await batch.done;
  expect(t.settlements).toBe(QUEUED);
  expect(t.fulfilled.size).toBe(0);
  expect(t.rejected.size).toBe(QUEUED);
  for (const e of t.rejected.values()) {
    expect(e).toBeInstanceOf(ShutdownError);
    expect(e).toBeInstanceOf(HostUnavailableError);
    expect((e as ShutdownError).code).toBe('SHUTDOWN');
  }
  expect(svc.calls).toBe(0);
  expect(host.queued).toBe(0);

  await expectClosed(path, [a, b]);
});

test('fulfillFinal false: $get({default}) answers a request cancelled by the closing host', async () => {
  const path = tmpSock('sd');
  const svc = new Service();
  const host = cleanup.host(await serve(svc, path, { fulfillFinal: false }));
  cleanup.gate(svc.gate);
  const a = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  const blocked = Promise.resolve(a.block());
  await until(() => svc.started);
  const withDefault = a.n.$get({ default: -1 });
  const without = Promise.resolve(a.n.$get()).catch((e: unknown) => e);
  await until(() => host.queued === 2);
  const closing = host.close();
  svc.gate.open();
  await closing;
  expect(await blocked).toBe('unblocked');
  expect(await withDefault).toBe(-1);
  expect(await without).toBeInstanceOf(ShutdownError);
});

test('close() from inside a remote call: the call answers, then the host closes', async () => {
  const path = tmpSock('sd');
  const svc = new Service();
  const host = cleanup.host(await serve(svc, path));
  svc.host = host;
  const a = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  const b = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  expect(await b.double(4)).toBe(8);

  expect(await a.stop()).toBe('stopping');
  expect(host.listening).toBe(false);
  await host.close();
  await host.close();
  await expectClosed(path, [a, b]);
});

test('awaiting close() inside a remote call does not deadlock: close() resolves and the call settles', async () => {
  const path = tmpSock('sd');
  const svc = new Service();
  const host = cleanup.host(await serve(svc, path, { closeGraceMs: 200 }));
  svc.host = host;
  const a = cleanup.remote(await connect<Service>(path, { localBypass: false }));
  const call = Promise.resolve(a.stopAndWait()).catch((e: unknown) => e);
  await until(() => host.closing);
  await host.close();
  const outcome = await call;
  // The call waits for close(), which waits for the call: close() gives up after closeGraceMs.
  expect(outcome === 'closed' || outcome instanceof HostUnavailableError).toBe(true);
  await expectClosed(path, [a]);
});

test('close() with idle clients connected, called twice at once, and through Symbol.asyncDispose', async () => {
  const path = tmpSock('sd');
  const host = cleanup.host(await serve(new Service(), path));
  const clients = await Promise.all(range(3).map(async () => cleanup.remote(await connect<Service>(path, { localBypass: false }))));
  await until(() => host.connections === 3);
  expect(fs.statSync(path).isSocket()).toBe(true);
  await Promise.all([host.close(), host.close(), host[Symbol.asyncDispose]()]);
  expect(host.listening).toBe(false);
  expect(host.connections).toBe(0);
  await expectClosed(path, clients);
});

test('an in-process client (local bypass) sees the same shutdown semantics', async () => {
  const path = tmpSock('sd');
  const svc = new Service();
  const host = cleanup.host(await serve(svc, path, { fulfillFinal: true }));
  cleanup.gate(svc.gate);
  const local = cleanup.remote(await connect<Service>(path));
  expect(local.$connection.local).toBe(true);
  const blocked = Promise.resolve(local.block());
  await until(() => svc.started);
  const batch = tally(range(QUEUED).map((i) => local.double(i)));
  await until(() => host.queued >= QUEUED);
  const closing = host.close();
  svc.gate.open();
  await closing;
  expect(await blocked).toBe('unblocked');
  const t = await batch.done;
  expect(t.fulfilled.size).toBe(QUEUED);
  for (const i of range(QUEUED)) expect(t.fulfilled.get(i)).toBe(i * 2);
  await expectClosed(path, [local]);
});
