/**
 * `await using remote = await connect(...)`: the root proxy is AsyncDisposable, and disposing it
 * is `$close()` (wait for the requests made so far, then hang up). The root stays non-thenable,
 * and no other symbol (nor Symbol.asyncDispose below the root) sends anything: checked against a
 * raw NDJSON host that records every request line, and on a real host over a real socket.
 */
import net from 'node:net';
import { connect, type Host, NotListeningError, serve } from 'remoteobj';
import { tmpSock, until } from './helpers';

/** A raw host that greets, records every request line, and answers each with null. */
async function recordingHost(): Promise<{ path: string; lines: unknown[]; ended: () => boolean; close(): Promise<void> }> {
  const path = tmpSock('disp');
  const lines: unknown[] = [];
  const sockets = new Set<net.Socket>();
  let endedCount = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.write(JSON.stringify({ kind: 'hello', protocol: 'remoteobj', version: 1, pid: 1 }) + '\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const req = JSON.parse(buf.slice(0, i)) as { id: number };
        buf = buf.slice(i + 1);
        lines.push(req);
        s.write(JSON.stringify({ id: req.id, kind: 'value', value: null }) + '\n');
      }
    });
    s.on('end', () => {
      endedCount++;
      s.end();
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    lines,
    ended: () => endedCount > 0,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

class Counter {
  count = 0;
  add(n = 1): number {
    return (this.count += n);
  }
}

describe('await using on the root proxy', () => {
  let host: Host<Counter>;
  let path: string;
  beforeEach(async () => {
    path = tmpSock('disp');
    host = await serve(new Counter(), path, { localBypass: false });
  });
  afterEach(() => host.close());

  test('closes the connection at the end of the block, after the requests made in it', async () => {
    let conn;
    {
      await using remote = await connect<Counter>(path, { localBypass: false });
      conn = remote.$connection;
      expect(await remote.add(2)).toBe(2);
      remote.add(3); // not awaited: still sent and run before the connection closes
    }
    expect(conn.isOpen).toBe(false);
    expect(host.target.count).toBe(5);
    await until(() => host.connections === 0);
  });

  test('closes it when the block throws too, and the error is the block’s', async () => {
    let conn;
    const thrown = await (async () => {
      await using remote = await connect<Counter>(path, { localBypass: false });
      conn = remote.$connection;
      await remote.add(1);
      throw new RangeError('in the block');
    })().catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(RangeError);
    expect(conn!.isOpen).toBe(false);
  });

  test('disposing is $close(): twice is fine, and later requests fail with NotListeningError', async () => {
    const remote = await connect<Counter>(path, { localBypass: false });
    const dispose = remote[Symbol.asyncDispose];
    expect(typeof dispose).toBe('function');
    await dispose();
    await remote[Symbol.asyncDispose]();
    await expect(remote.count.$get()).rejects.toBeInstanceOf(NotListeningError);
  });

  test('the root stays non-thenable: awaiting connect() gives the proxy, which has no then', async () => {
    const remote = await connect<Counter>(path, { localBypass: false });
    expect((remote as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(remote)).toBe(remote);
    await remote.$close();
  });
});

describe('symbols send nothing', () => {
  test('Symbol.asyncDispose below the root, and every other symbol anywhere, is local', async () => {
    const raw = await recordingHost();
    try {
      const remote = await connect<any>(raw.path, { localBypass: false });
      const nodes = [remote, remote.a, remote.a.b(1), remote.$super, remote.items[0]];
      const symbols = [Symbol.iterator, Symbol.asyncIterator, Symbol.dispose, Symbol.hasInstance, Symbol.species, Symbol('mine')];
      for (const node of nodes) {
        for (const sym of symbols) expect(node[sym]).toBeUndefined();
      }
      for (const node of nodes.slice(1)) expect(node[Symbol.asyncDispose]).toBeUndefined();
      // The call above (`remote.a.b(1)`) is the one request those lines made; then a sentinel.
      await remote.sentinel;
      expect(raw.lines).toEqual([
        { id: expect.anything(), ops: [{ op: 'get', key: 'a' }, { op: 'get', key: 'b' }, { op: 'call', args: [1] }] },
        { id: expect.anything(), ops: [{ op: 'get', key: 'sentinel' }] },
      ]);
      // Reading the root's Symbol.asyncDispose sends nothing either; calling it hangs up.
      const dispose = remote[Symbol.asyncDispose];
      await new Promise((r) => setImmediate(r));
      expect(raw.lines).toHaveLength(2);
      await dispose();
      await until(() => raw.ended());
      expect(raw.lines).toHaveLength(2);
    } finally {
      await raw.close();
    }
  });
});
