/**
 * Processes dying with real SIGKILLs: a host killed with requests in flight, waitUntilListening()
 * watching a child that exits or starts late, and a client killed while its call holds the lock.
 */
import nodePath from 'node:path';
import {
  ConnectionClosedError,
  connect,
  NotListeningError,
  ProcessExitedError,
  serve,
  TimeoutError,
  waitUntilListening,
} from 'remoteobj';
import { Cleanup, Gate, range, tally } from './fixtures/host-kit';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

const fixture = (name: string) => nodePath.join(__dirname, 'fixtures', name);
const HOST = fixture('host-hang.ts');
const EXITS = fixture('host-exit.ts');
const CLIENT = fixture('host-client-hold.ts');

interface Hanging {
  value: number;
  hang(): Promise<never>;
}

const cleanup = new Cleanup();
afterEach(async () => {
  await killChildren();
  await cleanup.run();
});


describe('a host killed with SIGKILL', () => {
  test('every in-flight request rejects with ConnectionClosedError; later ones fail fast', async () => {
    const path = tmpSock('die');
    const child = spawnTs(HOST, [path]);
    await waitUntilListening(path, { process: child, timeout: 15000 });
    const remote = cleanup.remote(await connect<Hanging>(path));
    const other = cleanup.remote(await connect<Hanging>(path));
    expect(await remote.value).toBe(1);

    // One hang() holds the host's lock; the rest wait behind it. All are in flight. The first hang()
    // must have started before the others are sent: `other` is a second socket, and a request on it
    // could otherwise reach the host first and be answered (CI saw that race once).
    const first = remote.hang();
    await until(() => child.output().includes('hang'));
    const inFlight = tally([first, ...range(4).map(() => remote.hang()), remote.value.$get(), other.value.$get(), other.hang()]);
    await until(() => remote.$connection.inFlight === 6 && other.$connection.inFlight === 2);
    // Let the host read the queued lines, so they are waiting behind the lock and not still in a buffer.
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited(child);

    const t = await inFlight.done;
    expect(t.settlements).toBe(8);
    expect(t.fulfilled.size).toBe(0);
    for (const e of t.rejected.values()) {
      expect(e).toBeInstanceOf(ConnectionClosedError);
      expect((e as ConnectionClosedError).code).toBe('CONNECTION_CLOSED');
    }

    await expect(Promise.resolve(remote.hang())).rejects.toBeInstanceOf(NotListeningError);
    await expect(Promise.resolve(remote.value.$get())).rejects.toBeInstanceOf(NotListeningError);
    expect(await remote.value.$get({ default: 7 })).toBe(7);
    expect(await other.value.$get({ default: 7 })).toBe(7);
    await expect(connect(path)).rejects.toBeInstanceOf(NotListeningError);
    await remote.$close(); // closing a dead connection is fine
  });

  test('$get({default}) answers a request in flight when the host dies', async () => {
    const path = tmpSock('die');
    const child = spawnTs(HOST, [path]);
    await waitUntilListening(path, { process: child, timeout: 15000 });
    const remote = cleanup.remote(await connect<Hanging>(path));
    const hung = Promise.resolve(remote.hang()).catch((e: unknown) => e);
    const withDefault = remote.value.$get({ default: 7 });
    await until(() => child.output().includes('hang'));
    child.kill('SIGKILL');
    expect(await withDefault).toBe(7);
    expect(await hung).toBeInstanceOf(ConnectionClosedError);
  });
});

describe('waitUntilListening()', () => {
  test('rejects with ProcessExitedError as soon as the child exits without listening', async () => {
    const path = tmpSock('wul');
    const child = spawnTs(EXITS);
    // The timeout is far away: the rejection must come from the exit, not from the timeout.
    const err = await waitUntilListening(path, { process: child, timeout: 20000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect((err as ProcessExitedError).code).toBe('PROCESS_EXITED');
    expect((err as Error).message).toContain('code 3');
    // And at once for a child that has already exited.
    await expect(waitUntilListening(path, { process: child, timeout: 20000 })).rejects.toBeInstanceOf(ProcessExitedError);
  });

  test('rejects with ProcessExitedError when the child is killed before listening', async () => {
    const path = tmpSock('wul');
    const child = spawnTs(HOST, [path, '60000']); // would serve only after a minute
    const waiting = waitUntilListening(path, { process: child, timeout: 20000 });
    child.kill('SIGKILL');
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect((err as Error).message).toContain('SIGKILL');
  });

  test('rejects with TimeoutError when nobody listens in time', async () => {
    const path = tmpSock('wul');
    await expect(waitUntilListening(path, { timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
  });

  test('resolves once a host that starts late is listening', async () => {
    const path = tmpSock('wul');
    const child = spawnTs(HOST, [path, '700']);
    await waitUntilListening(path, { process: child, timeout: 15000 });
    const remote = cleanup.remote(await connect<Hanging>(path));
    expect(await remote.value).toBe(1);
  });
});

describe('a client killed with SIGKILL while its async call holds the lock', () => {
  test('the host finishes the call, releases the lock, serves the others, and drops the connection', async () => {
    const path = tmpSock('cli');
    const gate = new Gate();
    const target = {
      n: 0,
      holding: false,
      finished: false,
      log: [] as string[],
      async hold(): Promise<string> {
        this.holding = true;
        await gate.promise;
        this.finished = true;
        return 'done';
      },
      record(tag: string): number {
        this.log.push(tag);
        return this.log.length;
      },
    };
    const host = cleanup.host(await serve(target, path));
    cleanup.gate(gate);
    const other = cleanup.remote(await connect<typeof target>(path, { localBypass: false }));
    await until(() => host.connections === 1);

    const child = spawnTs(CLIENT, [path]);
    await until(() => target.holding && host.queued === 1); // hold() runs, record('ghost') waits
    expect(host.connections).toBe(2);
    const queuedBehind = Promise.resolve(other.record('other'));
    await until(() => host.queued === 2);

    child.kill('SIGKILL');
    await exited(child);
    expect(target.finished).toBe(false);

    gate.open();
    // The dead client's requests still run (they had arrived); their replies go nowhere. Its
    // connection is let go once they are done (a closed write side alone may be a half-close,
    // `printf ... | socat`, whose replies are still owed).
    expect(await queuedBehind).toBe(2);
    expect(target.finished).toBe(true);
    await until(() => host.connections === 1);
    expect(target.log).toEqual(['ghost', 'other']);
    expect(host.queued).toBe(0);

    // The lock is free: new requests, from old and new clients, are served.
    expect(await other.record('again')).toBe(3);
    const late = cleanup.remote(await connect<typeof target>(path, { localBypass: false }));
    expect(await late.log).toEqual(['ghost', 'other', 'again']);
    await late.$close();
    await other.$close();
    await until(() => host.connections === 0);
    await host.close();
  });
});
