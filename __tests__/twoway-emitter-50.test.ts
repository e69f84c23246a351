/**
 * Issue 13's proof for passed functions: an EventEmitter host with 50 real client connections
 * subscribed with on('tick', fn), one of them in a child process that is SIGKILLed while ticks
 * flow. Host code calls its listeners and prunes the one whose call rejects with
 * ConnectionClosedError (the usual way to drop dead listeners); the 49 others keep receiving every
 * later tick, in order; host.stats() drops by one connection; nothing becomes an unhandled
 * rejection, and everything is closed at the end.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { ConnectionClosedError, connect, type Host, type Remote, serve } from 'remoteobj';
import { exited, killChildren, ROOT, tmpSock, until } from './helpers';

type Listener = (n: number) => Promise<unknown>;

class Ticker {
  readonly events = new EventEmitter().setMaxListeners(0); // 50 listeners is what it is for
  readonly pruned: unknown[] = [];
  readonly otherErrors: unknown[] = [];
  on(event: string, fn: (n: number) => unknown) {
    this.events.on(event, fn);
  }
  off(event: string, fn: (n: number) => unknown) {
    this.events.off(event, fn);
  }
  listening() {
    return this.events.listenerCount('tick');
  }
  /** Call every listener (without waiting for them) and drop the ones whose client is gone. */
  tick(n: number) {
    for (const listener of this.events.listeners('tick') as Listener[]) {
      listener(n).catch((e: unknown) => {
        if (e instanceof ConnectionClosedError) {
          if (this.events.listeners('tick').includes(listener)) this.pruned.push(e);
          this.events.off('tick', listener);
        } else this.otherErrors.push(e);
      });
    }
  }
}

const CLIENTS = 49; // in this process, each over its own socket; the 50th is the child
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e);
let host: Host<Ticker> | undefined;
const remotes: Remote<Ticker>[] = [];
let timer: NodeJS.Timeout | undefined;

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(async () => {
  clearInterval(timer);
  await Promise.all(remotes.map((r) => r.$close()));
  await host?.close();
  await killChildren();
  process.off('unhandledRejection', onUnhandled);
});

test('50 subscribers, one killed mid-stream: its listener is pruned, the 49 others get every tick in order', async () => {
  const ticker = new Ticker();
  const sock = tmpSock('tick');
  host = await serve(ticker, sock, { localBypass: false });

  // The child subscriber first, so it is one of the listeners every tick goes to.
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures/tick-client.js'), path.join(ROOT, 'dist/index.js'), sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let childOut = '';
  let childErr = '';
  child.stdout!.on('data', (d) => (childOut += d));
  child.stderr!.on('data', (d) => (childErr += d));
  await until(() => childOut.includes('subscribed\n') || child.exitCode !== null, { timeout: 20000 });
  expect(childErr).toBe('');

  const seen: number[][] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const got: number[] = [];
    seen.push(got);
    const remote = await connect<Ticker>(sock, { localBypass: false });
    remotes.push(remote);
    await remote.on('tick', (n: number) => void got.push(n));
  }
  expect(ticker.listening()).toBe(CLIENTS + 1);
  expect(host.stats().connections).toBe(CLIENTS + 1);

  let n = 0;
  timer = setInterval(() => ticker.tick(++n), 2);

  // Mid-stream: the child has received ticks and more keep coming.
  await until(() => childOut.split('\n').length > 20);
  child.kill('SIGKILL');
  const killedAt = n;
  expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });

  await until(() => ticker.pruned.length === 1 && host!.stats().connections === CLIENTS);
  expect(ticker.listening()).toBe(CLIENTS);
  expect(ticker.pruned[0]).toBeInstanceOf(ConnectionClosedError);

  // Keep ticking well past the kill, then stop and let the last calls arrive.
  await until(() => n >= killedAt + 100);
  clearInterval(timer);
  const last = n;
  await until(() => seen.every((got) => got.at(-1) === last));

  // Every client subscribed before the first tick: each saw every tick, in order, none twice.
  const all = Array.from({ length: last }, (_, i) => i + 1);
  for (const got of seen) expect(got).toEqual(all);
  expect(ticker.pruned).toHaveLength(1);
  expect(ticker.otherErrors).toEqual([]);
  expect(unhandled).toEqual([]);
  expect(host.stats()).toEqual({ connections: CLIENTS, handles: 0, streams: 0, queued: 0 });
});
