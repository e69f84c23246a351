/**
 * A host process restarted on the same path, killed with SIGKILL (its stale socket file stays
 * behind) or stopped with SIGTERM: waitUntilListening and a fresh connect work against the new
 * process; a plain client stays failed; a `reconnect: true` client carries on, and requests it
 * had in flight when the host died are never re-sent.
 */
import nodePath from 'node:path';
import { once } from 'node:events';
import fs from 'node:fs';
import { ConnectionClosedError, connect, NotListeningError, type Remote, waitUntilListening } from 'remoteobj';
import { Cleanup, range, tally } from './fixtures/host-kit';
import { exited, killChildren, removeFile, spawnTs, tmpSock, until } from './helpers';

const HOST = nodePath.join(__dirname, 'fixtures', 'fault-host.ts');

interface FaultTarget {
  pid: number;
  counter: number;
  add(n: number): number;
  hold(): Promise<never>;
}

const cleanup = new Cleanup();
afterEach(async () => {
  await killChildren();
  await cleanup.run();
});

async function startHost(path: string) {
  const child = spawnTs(HOST, [path]);
  await waitUntilListening(path, { process: child, timeout: 15000 });
  return child;
}

test('SIGKILL, stale socket file, restart: fresh connect works, a reconnecting client carries on, a plain one does not', async () => {
  const path = tmpSock('rst');
  cleanup.defer(() => removeFile(path));
  const first = await startHost(path);
  const plain = cleanup.remote(await connect<FaultTarget>(path, { localBypass: false }));
  const carrying = cleanup.remote(await connect<FaultTarget>(path, { localBypass: false, reconnect: true }));
  expect(await carrying.pid).toBe(first.pid);
  expect(await carrying.add(5)).toBe(5);

  // In flight when the host dies: hold() plus 20 adds queued behind it.
  const inFlight = tally([carrying.hold(), ...range(20).map(() => carrying.add(1))]);
  await until(() => first.output().includes('hold'));
  // The plain client learns of the death from its own socket, which may be read after the
  // reconnecting client's (a run under load saw a call written before that: ConnectionClosedError).
  const plainClosed = once(plain.$connection, 'close');
  first.kill('SIGKILL');
  await exited(first);
  const t = await inFlight.done;
  expect(t.rejected.size).toBe(21);
  for (const e of t.rejected.values()) expect(e).toBeInstanceOf(ConnectionClosedError);
  expect(fs.lstatSync(path).isSocket()).toBe(true); // the dead host's file is still there
  expect((await plainClosed)[0]).toBeInstanceOf(NotListeningError); // "the host at … is gone"

  // While it is down: both fail fast (the reconnecting one tries, and finds nobody).
  await expect(Promise.resolve(plain.add(1))).rejects.toBeInstanceOf(NotListeningError);
  await expect(Promise.resolve(carrying.add(1))).rejects.toBeInstanceOf(NotListeningError);
  expect(await carrying.counter.$get({ default: -1 })).toBe(-1);

  const second = await startHost(path);
  const fresh = cleanup.remote(await connect<FaultTarget>(path, { localBypass: false }));
  expect(await fresh.pid).toBe(second.pid);
  // The reconnecting client is on the new process; nothing from before was re-sent (counter starts at 0).
  expect(await carrying.pid).toBe(second.pid);
  expect(await carrying.counter).toBe(0);
  expect(await carrying.add(2)).toBe(2);
  expect(await fresh.add(3)).toBe(5);
  // The plain client stays closed: its user decides when to connect again.
  await expect(Promise.resolve(plain.add(1))).rejects.toBeInstanceOf(NotListeningError);
});

test('SIGTERM (graceful close) and restart, three hosts in turn: a reconnecting client follows with a burst each time', async () => {
  const path = tmpSock('rst');
  cleanup.defer(() => removeFile(path));
  let child = await startHost(path);
  const carrying = cleanup.remote(await connect<FaultTarget>(path, { localBypass: false, reconnect: true }));
  const pids = new Set<number>();
  for (let round = 0; round < 3; round++) {
    if (round > 0) child = await startHost(path);
    expect(await carrying.pid).toBe(child.pid);
    pids.add(child.pid!);
    // A new process each round: counting starts again, and the pipelined burst is answered in order.
    expect(await Promise.all(range(50).map(() => carrying.add(1)))).toEqual(range(50, 1));
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path)).toBe(false); // a graceful close removes its socket file
    await expect(Promise.resolve(carrying.add(1))).rejects.toBeInstanceOf(NotListeningError);
  }
  expect(pids.size).toBe(3);
});
