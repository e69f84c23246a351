/**
 * The seed's "完整示例" (full example), across real processes: a child hosts a Counter that
 * counts while it is on; this process toggles it, watches the count move and hold, then sets
 * `stop` and expects the child to close its host and exit on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { connect, waitUntilListening } from 'remoteobj';
import { exited, killChildren, sleep, spawnTs, tmpSock, until } from './helpers';

interface Counter {
  count: number;
  on: boolean;
  stop: boolean;
  toggle(state?: boolean): void;
}

/** Remote<T> types members as read-only, while the proxy sends `remote.x = v`; assign through this view. */
type Writable<T> = { -readonly [K in keyof T]: unknown };

const FIXTURE = path.join(__dirname, 'fixtures', 'seed-counter.ts');

afterEach(killChildren);

test('toggle on: the count rises; off: it holds; on again: it rises; stop: the child exits 0 by itself', async () => {
  const sock = tmpSock('counter');
  const child = spawnTs(FIXTURE, [sock]);
  await waitUntilListening(sock, { process: child, timeout: 15000 });
  const remote = await connect<Counter>(sock);

  // On: sent without await, like the seed; the read after it is answered after it runs.
  remote.toggle(true);
  const start = await remote.count.$get();
  await until(async () => (await remote.count.$get()) > start);
  expect(await remote.on).toBe(true);

  // Off: once the toggle has run, the counter loop must not count any more.
  await remote.toggle(false);
  const held = await remote.count.$get();
  await sleep(150); // several loop turns of the child (20 ms each)
  expect(await remote.count.$get()).toBe(held);

  // On again: the count moves past the held value.
  remote.toggle();
  await until(async () => (await remote.count.$get()) > held);

  // Stop by plain assignment (no await); the read after it sees it, since requests run in order.
  (remote as unknown as Writable<Counter>).stop = true;
  expect(await remote.stop).toBe(true);
  await remote.$close();

  const { code, signal } = await exited(child);
  expect({ code, signal, output: code === 0 ? '' : child.output() }).toEqual({ code: 0, signal: null, output: '' });
  expect(fs.existsSync(sock)).toBe(false);
});

test('the child exits by itself even while a client still holds its connection open', async () => {
  const sock = tmpSock('counter');
  const child = spawnTs(FIXTURE, [sock]);
  await waitUntilListening(sock, { process: child, timeout: 15000 });
  const remote = await connect<Counter>(sock);

  (remote as unknown as Writable<Counter>).stop = true;
  // No $close(): the host must end the connection itself; the client then sees it gone.
  const { code } = await exited(child);
  expect(code).toBe(0);
  expect(fs.existsSync(sock)).toBe(false);
  await until(() => !remote.$connection.isOpen);
  await expect(remote.count.$get({ default: -1 })).resolves.toBe(-1);
});
