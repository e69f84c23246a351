/**
 * Issue 13 item 2, the lock rule for callbacks (docs/architecture.md): while a host method holds
 * the lock and awaits a client callback, requests the client makes from inside that callback run
 * inside the holder's turn, so re-entrant chains finish; other clients' requests still wait for
 * the lock; a turn that was not granted to the connection is refused (BAD_TURN, in
 * twoway-handles.test.ts over a raw socket). An Electron-style parent and a spawned Node helper
 * control each other on one connection.
 */
import path from 'node:path';
import { connect, type Host, serve } from 'remoteobj';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

afterAll(killChildren);

test('re-entrant callbacks five deep finish on one connection, under the lock', async () => {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const app = {
    async deep(n: number, cb: (n: number) => Promise<string>): Promise<string> {
      running++;
      most = Math.max(most, running);
      log.push(`host ${n}`);
      try {
        return n === 0 ? 'bottom' : `${n}:` + (await cb(n));
      } finally {
        running--;
      }
    },
    touched: 0,
    touch() {
      return ++this.touched;
    },
  };
  const sock = tmpSock('lk');
  const host = await serve(app, sock, { localBypass: false });
  try {
    const r = await connect<typeof app>(sock);
    const other = await connect<typeof app>(sock);
    let otherDone = false;
    const cb = async (n: number): Promise<string> => {
      if (n === 3) {
        // Another client's request made mid-chain waits for the lock: it is not part of the turn.
        void other.touch().then(() => (otherDone = true));
      }
      expect(otherDone).toBe(false);
      return r.deep(n - 1, cb);
    };
    expect(await r.deep(5, cb)).toBe('5:4:3:2:1:bottom');
    expect(log).toEqual(['host 5', 'host 4', 'host 3', 'host 2', 'host 1', 'host 0']);
    expect(most).toBe(6); // all six levels ran inside the one turn
    await until(() => otherDone);
    expect(app.touched).toBe(1);
    await r.$close();
    await other.$close();
  } finally {
    await host.close();
  }
});

test('in a fresh host, a plain method that calls back after an await keeps its turn: the callback calls the host again, no deadlock', async () => {
  // The request context is entered only where it can be needed (src/host/request-context.ts): the
  // function arriving in the request is what turns it on here, before the method runs.
  const sock = tmpSock('pt');
  const child = spawnTs(path.join(__dirname, 'fixtures/control-host.ts'), [sock]);
  await until(() => child.output().includes('ready'));
  const remote = await connect<{ plainTwice(fn: (n: number) => Promise<number>): Promise<number>; bump(n: number): number }>(sock, { localBypass: false });
  try {
    const viaHost = async (n: number): Promise<number> => remote.bump(n);
    expect(await remote.plainTwice(viaHost).$get({ timeout: 10_000 })).toBe(3);
  } finally {
    await remote.$close();
    child.kill();
    await exited(child);
  }
});

test('an Electron-style parent and a spawned Node helper control each other on one connection', async () => {
  let api: { pong(n: number): Promise<string>; pid(): Promise<number> } | undefined;
  let connections = 0;
  const parent = {
    register(a: typeof api) {
      api = a;
    },
    async ping(n: number): Promise<string> {
      return n === 0 ? 'parent-bottom' : 'p' + (await api!.pong(n - 1));
    },
  };
  const sock = tmpSock('el');
  const host: Host = await serve(parent, sock, { localBypass: false });
  try {
    const helper = spawnTs(path.join(__dirname, 'fixtures/twoway-helper.ts'), [sock]);
    await until(() => helper.output().includes('"ready"'), { timeout: 20000 });
    connections = host.connections;
    expect(connections).toBe(1); // one socket both ways
    // The helper's own chain, helper → parent → helper → ... six calls deep.
    // ping(n) = 'p' + pong(n - 1), pong(n) = 'h' + ping(n - 1); the bottom is whoever reaches 0.
    const chain = (first: 'p' | 'h', n: number) => {
      let s = '';
      let side = first;
      for (; n > 0; n--, side = side === 'p' ? 'h' : 'p') s += side;
      return s + (side === 'p' ? 'parent-bottom' : 'helper-bottom');
    };
    expect(JSON.parse(helper.output().trim().split('\n').pop()!)).toEqual({ ready: true, mine: chain('p', 5) });
    // The parent's chains, from host code (no request running) and through the helper.
    expect(await api!.pong(6)).toBe(chain('h', 6));
    expect(await parent.ping(7)).toBe(chain('p', 7));
    expect(await api!.pid()).toBe(helper.pid);
    helper.stdin!.end();
    expect((await exited(helper)).code).toBe(0);
  } finally {
    await host.close();
  }
}, 40000);
