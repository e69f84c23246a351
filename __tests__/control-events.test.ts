/**
 * Connection events (issue 13 item 7): `remote.$connection` emits `close` with the reason when an
 * open connection ends (a host process killed with SIGKILL, a host that closes, this client's
 * $close()), and, with `reconnect: true`, `reconnect` once a later request has connected again,
 * before that request is sent, so a client can resubscribe first.
 */
import { connect, ConnectionClosedError, NotListeningError, serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await killChildren();
});

function events(remote: { $connection: import('remoteobj').Connection }) {
  const seen: { event: string; arg: unknown }[] = [];
  remote.$connection.on('close', (reason) => seen.push({ event: 'close', arg: reason }));
  remote.$connection.on('reconnect', (info) => seen.push({ event: 'reconnect', arg: info }));
  return seen;
}

test('a host process killed with SIGKILL: close, with a NotListeningError; in-flight requests fail with ConnectionClosedError', async () => {
  const path = tmpSock('ev');
  const child = spawnTs('__tests__/fixtures/host-hang.ts', [path]);
  await until(() => child.output().includes('ready'));
  const remote = await connect<{ value: number; hang(): Promise<never> }>(path, { localBypass: false });
  const seen = events(remote);
  const hanging = remote.hang().then(
    () => 'resolved',
    (e: Error) => e,
  );
  await until(() => child.output().includes('hang'));
  child.kill('SIGKILL');
  await exited(child);
  await until(() => seen.length === 1);
  expect(seen[0]!.event).toBe('close');
  const reason = seen[0]!.arg as Error;
  expect(reason).toBeInstanceOf(NotListeningError);
  expect(reason.message).toMatch(/is gone/);
  expect(await hanging).toBeInstanceOf(ConnectionClosedError);
});

test('a host that closes, then comes back: close, and with reconnect: true, reconnect before the next request is sent', async () => {
  const path = tmpSock('ev');
  const first = await serve({ value: 1, subscribed: 0, subscribe() { return ++this.subscribed; } }, path);
  const remote = cleanup.remote(
    await connect<{ value: number; subscribed: number; subscribe(): number }>(path, { localBypass: false, reconnect: true }),
  );
  const seen = events(remote);
  // The client resubscribes on reconnect: its request goes out before the one that reconnected.
  remote.$connection.on('reconnect', () => void remote.subscribe());
  expect(await remote.subscribe()).toBe(1);
  await first.close();
  await until(() => seen.length === 1);
  expect(seen[0]!.event).toBe('close');
  expect(seen[0]!.arg).toBeInstanceOf(NotListeningError);
  const second = cleanup.host(await serve({ value: 2, subscribed: 0, subscribe() { return ++this.subscribed; } }, path));
  expect(await remote.subscribed).toBe(1); // the listener's subscribe() ran first
  expect(seen.map((s) => s.event)).toEqual(['close', 'reconnect']);
  expect(seen[1]!.arg).toEqual({ hostPid: process.pid });
  expect(second.target.subscribed).toBe(1);
});

test("this client's $close(): close, with a reason that says so; a connection never open emits nothing", async () => {
  const path = tmpSock('ev');
  cleanup.host(await serve({ value: 1 }, path));
  const remote = await connect<{ value: number }>(path, { localBypass: false });
  const seen = events(remote);
  expect(await remote.value).toBe(1);
  await remote.$close();
  expect(seen.map((s) => s.event)).toEqual(['close']);
  expect((seen[0]!.arg as Error).message).toMatch(/closed by this client/);
  await expect(remote.value).rejects.toBeInstanceOf(NotListeningError);
  expect(seen).toHaveLength(1);
});

test('the local bypass emits close too when the host in this process closes', async () => {
  const path = tmpSock('ev');
  const host = await serve({ value: 1 }, path);
  const remote = cleanup.remote(await connect<{ value: number }>(path));
  expect(remote.$connection.local).toBe(true);
  const seen = events(remote);
  await host.close();
  await until(() => seen.length === 1);
  expect(seen[0]!.arg).toBeInstanceOf(NotListeningError);
});
