/** A client that sends its requests and then ends its side still gets every reply (`printf ... | socat`). */
import net from 'node:net';
import { serve } from 'remoteobj';
import { tmpSock } from './helpers';

test('requests followed by end-of-input are all answered, then the host hangs up', async () => {
  const path = tmpSock();
  const target = { n: 0, async later(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ++this.n; } };
  const host = await serve(target, path);
  try {
    const s = net.connect(path);
    let out = '';
    s.on('data', (d) => (out += d));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    const lines = [1, 2, 3].map((id) => JSON.stringify({ id, ops: [{ op: 'get', key: 'later' }, { op: 'call', args: [30] }] }));
    s.end(lines.join('\n') + '\n'); // half-close right after writing
    await closed;
    const replies = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(replies[0]).toMatchObject({ kind: 'hello' });
    expect(replies.slice(1)).toEqual([
      { id: 1, kind: 'value', value: 1 },
      { id: 2, kind: 'value', value: 2 },
      { id: 3, kind: 'value', value: 3 },
    ]);
  } finally {
    await host.close();
  }
});

test('a client that ends with nothing in flight is hung up on at once', async () => {
  const path = tmpSock();
  const host = await serve({}, path);
  try {
    const s = net.connect(path);
    s.on('data', () => undefined);
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.end();
    await closed;
    expect(host.connections).toBe(0);
  } finally {
    await host.close();
  }
});

test("a client's $close() returns even while a request it gave up on (timeout) still runs on the host", async () => {
  const { connect, TimeoutError } = await import('remoteobj');
  const path = tmpSock();
  const host = await serve({ async hang() { await new Promise(() => {}); } }, path, { closeGraceMs: 100 });
  try {
    const remote = await connect<{ hang(): Promise<void> }>(path, { localBypass: false });
    await expect(remote.hang().$get({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await remote.$close(); // must not wait for the host to answer the abandoned request
    await new Promise((r) => setTimeout(r, 20));
    expect(host.connections).toBe(1); // the host still owes hang()'s reply; it lets go when the request ends or at close()
  } finally {
    await host.close();
  }
});
