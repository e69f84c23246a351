/**
 * Back-pressure in bytes (issue 10 item 2): a client that pipelines reads of a big member and never
 * reads the replies must not grow the host's memory past the documented bound, nor stall other
 * clients. The host is a real child process; its memory is measured in that process.
 */
import net from 'node:net';
import { connect, type Remote, serve } from 'remoteobj';
import { Cleanup, Gate, range, tally } from './fixtures/host-kit';
import { startChildHost } from './fixtures/limits-kit';
import { LineSocket } from './fixtures/sec-kit';
import { tmpSock, until } from './helpers';

const MiB = 1024 * 1024;
/** docs/security.md: a connection's unsent replies stay under maxUnsentBytesPerConnection (8 MiB) plus the one reply that crossed it. */
const DEFAULT_MAX_UNSENT_PER_CONNECTION = 8 * MiB;
/** What the host process may add besides those bytes: the reply's JSON text while it is built, allocator pages, the socket's buffers. */
const SLACK = 48 * MiB;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

test('a client pipelining 2,000 reads of an 8 MiB member and never reading: host memory stays within the bound, a bystander keeps getting answers', async () => {
  // A heap limit far above the bound: without back-pressure in bytes, the host dies of it.
  const host = await startChildHost(cleanup, {}, { bigBytes: 8 * MiB, nodeArgs: ['--max-old-space-size=512', '--expose-gc'] });
  const bystander = await host.client();
  const before = await bystander.gc();

  const greedy = net.connect(host.path);
  cleanup.defer(() => greedy.destroy());
  greedy.on('error', () => undefined);
  await new Promise<void>((resolve) => greedy.once('data', () => resolve())); // the hello
  greedy.pause(); // and never read again
  greedy.write(range(2000, 1).map((id) => JSON.stringify({ id, ops: [{ op: 'get', key: 'big' }] }) + '\n').join(''));

  let peak = before;
  for (let i = 0; i < 40; i++) {
    const m = await bystander.mem();
    if (m.rss > peak.rss) peak = m;
    expect(await bystander.bump()).toBe(i + 1);
  }
  const growth = peak.rss - before.rss;
  if (process.env.REPORT_FIGURES) {
    const mib = (n: number) => (n / MiB).toFixed(1);
    process.stdout.write(`8 MiB member, 2,000 pipelined reads, never read: host RSS ${mib(before.rss)} -> peak ${mib(peak.rss)} MiB (+${mib(growth)}), heap ${mib(before.heapUsed)} -> ${mib(peak.heapUsed)} MiB, external ${mib(peak.external)} MiB\n`);
  }
  expect(growth).toBeLessThan(2 * DEFAULT_MAX_UNSENT_PER_CONNECTION + SLACK);

  // The greedy client, reading at last, gets its first replies in order and whole.
  const chunks: Buffer[] = [];
  let newlines = 0;
  await new Promise<void>((resolve) => {
    greedy.on('data', (d: Buffer) => {
      chunks.push(d);
      for (let at = d.indexOf(10); at !== -1; at = d.indexOf(10, at + 1)) newlines++;
      if (newlines >= 3) {
        greedy.pause();
        resolve();
      }
    });
    greedy.resume();
  });
  const first = Buffer.concat(chunks).toString('latin1').split('\n').slice(0, 3).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(first.map((r) => [r.id, r.kind, (r.value as string).length])).toEqual([
    [1, 'value', 8 * MiB],
    [2, 'value', 8 * MiB],
    [3, 'value', 8 * MiB],
  ]);
  greedy.destroy();
  expect(await bystander.bump()).toBe(41);
}, 60_000);

describe('a connection that does not read its replies (in process, small limits)', () => {
  function target(gate: Gate) {
    return {
      ran: 0,
      holding: false,
      chunk(n: number, tag: number) {
        this.ran++;
        return `${tag}:${'y'.repeat(n)}`;
      },
      bump() {
        return ++this.ran;
      },
      async hold() {
        this.holding = true;
        await gate.promise;
        this.holding = false;
      },
    };
  }

  test('its queued requests wait aside: requests of others queued behind them run; then it gets every reply, in order', async () => {
    const gate = cleanup.gate(new Gate());
    const path = tmpSock('bpb');
    const t = target(gate);
    const host = cleanup.host(await serve(t, path, { localBypass: false, maxUnsentBytesPerConnection: 64 * 1024, closeGraceMs: 500 }));
    const holder = cleanup.remote(await connect<typeof t>(path, { localBypass: false }));
    const bystander = cleanup.remote(await connect<typeof t>(path, { localBypass: false }));
    const held = holder.hold();
    await until(() => t.holding);

    const greedy = await LineSocket.open(path);
    cleanup.defer(() => greedy.destroy());
    greedy.socket.pause();
    const N = 300;
    const SIZE = 20_000;
    greedy.socket.write(range(N, 1).map((id) => JSON.stringify({ id, ops: [{ op: 'get', key: 'chunk' }, { op: 'call', args: [SIZE, id] }] }) + '\n').join(''));
    await until(() => host.queued >= 20);
    const behind = tally(range(20).map(() => bystander.bump()));
    await until(() => host.queued >= 40);
    gate.open();
    await held;
    // The bystander's requests queued behind the greedy ones are answered while it still does not read.
    const b = await behind.done;
    expect(b.rejected.size).toBe(0);
    expect(t.ran).toBeLessThan(N);

    greedy.socket.resume();
    await until(() => greedy.lines.length === N + 1, { timeout: 20_000 });
    const replies = greedy.lines.slice(1);
    expect(replies.map((r) => r.id)).toEqual(range(N, 1));
    expect(replies.every((r) => r.kind === 'value' && r.value === `${r.id}:${'y'.repeat(SIZE)}`)).toBe(true);
  });

  test('a single reply bigger than the bound is still sent, one at a time', async () => {
    const path = tmpSock('bpb');
    const t = target(new Gate());
    cleanup.host(await serve(t, path, { localBypass: false, maxUnsentBytesPerConnection: 16 * 1024 }));
    const r: Remote<typeof t> = cleanup.remote(await connect<typeof t>(path, { localBypass: false }));
    const big = await Promise.all(range(5).map((i) => r.chunk(1024 * 1024, i)));
    expect(big.map((s) => s.length)).toEqual(range(5).map((i) => `${i}:`.length + 1024 * 1024));
  });
});
