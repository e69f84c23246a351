/** close() is bounded even when a request never settles: nothing hangs, every request ends once. */
import { connect, ConnectionClosedError, serve, ShutdownError } from 'remoteobj';
import { tmpSock } from './helpers';

test('a stuck async method does not hold close() hostage; requests queued behind it get ShutdownError', async () => {
  const path = tmpSock();
  const target = { n: 0, async stuck() { await new Promise(() => {}); }, inc() { return ++this.n; } };
  const host = await serve(target, path, { closeGraceMs: 200 });
  const remote = await connect<typeof target>(path, { localBypass: false });
  const outcomes = [remote.stuck(), remote.inc(), remote.inc()].map((p) => p.then((v) => v, (e) => e));
  while (host.queued < 2) await new Promise((r) => setTimeout(r, 5));
  await host.close();
  const [stuck, a, b] = await Promise.all(outcomes);
  expect(stuck).toBeInstanceOf(ConnectionClosedError);
  expect(a).toBeInstanceOf(ShutdownError);
  expect(b).toBeInstanceOf(ShutdownError);
  expect(target.n).toBe(0);
});
