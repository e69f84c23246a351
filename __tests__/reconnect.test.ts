/** A host restarted on the same path: waitUntilListening and a fresh connect work; a reconnecting client carries on. */
import { connect, ConnectionClosedError, NotListeningError, serve, waitUntilListening } from 'remoteobj';
import { tmpSock } from './helpers';

const hosts: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function start(path: string, value: number) {
  const host = await serve({ value, async hang() { await new Promise(() => {}); } }, path, { closeGraceMs: 100 });
  hosts.push(host);
  return host;
}

test('without reconnect, a client of a restarted host keeps failing with NotListeningError; a fresh connect works', async () => {
  const path = tmpSock();
  const first = await start(path, 1);
  const remote = await connect<{ value: number }>(path, { localBypass: false });
  expect(await remote.value).toBe(1);
  await first.close();
  await expect(remote.value).rejects.toBeInstanceOf(NotListeningError);
  await start(path, 2);
  await waitUntilListening(path, { timeout: 5000 });
  await expect(remote.value).rejects.toBeInstanceOf(NotListeningError);
  const fresh = await connect<{ value: number }>(path, { localBypass: false });
  expect(await fresh.value).toBe(2);
  await fresh.$close();
});

test('with reconnect, the next request after a restart connects again; in-flight ones are not re-sent', async () => {
  const path = tmpSock();
  const first = await start(path, 1);
  const remote = await connect<{ value: number; hang(): Promise<void> }>(path, { localBypass: false, reconnect: true });
  expect(await remote.value).toBe(1);
  const inFlight = remote.hang().then(() => 'resolved', (e) => e);
  await new Promise((r) => setTimeout(r, 20));
  await first.close();
  expect(await inFlight).toBeInstanceOf(ConnectionClosedError);
  // Host down: the reconnect attempt fails with NotListeningError, and $get's default applies.
  await expect(remote.value).rejects.toBeInstanceOf(NotListeningError);
  expect(await remote.value.$get({ default: -1 })).toBe(-1);
  await start(path, 2);
  expect(await remote.value).toBe(2);
  await Promise.all([remote.value.$get(), remote.value.$get(), remote.value.$get()]);
  await remote.$close();
  await expect(remote.value).rejects.toBeInstanceOf(NotListeningError); // closed by the client: no reconnect
});
