/**
 * Message ports as a transport (issue 14), with real components: the seed's counter example
 * served in a worker thread (on parentPort, and on a MessageChannel port handed to it) and in a
 * child process (on its IPC channel), each ending by itself once told to stop; the worker or the
 * child killed mid-call; Electron's event shape (a real Node port dressed as MessagePortMain);
 * a secret over a port; and what the link does with bad input and with a peer that ignores its
 * window, at the level of raw port messages.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { AuthError, ConnectionClosedError, connect, NotListeningError, ProtocolError, type Remote, serve } from 'remoteobj';
import { MessagePortLink } from '../src/transport/message-port-link';
import type { LinkEvents } from '../src/transport/link';
import { compiledLib } from './fixtures/compiled-lib';
import { sleep, until } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'port-counter.js');

interface Counter {
  count: number;
  on: boolean;
  stop: boolean;
  toggle(state?: boolean): void;
  nap(ms: number): Promise<number>;
  where(): string;
  echo<T>(v: T): T;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A worker serving the counter: on parentPort (client port: the Worker) or on a MessageChannel port handed to it. */
function startWorker(opts: { channel?: boolean; electron?: boolean } = {}): { worker: Worker; port: Worker | MessagePort; exit: Promise<number> } {
  let port: Worker | MessagePort;
  let worker: Worker;
  if (opts.channel) {
    const { port1, port2 } = new MessageChannel();
    worker = new Worker(FIXTURE, { workerData: { lib: compiledLib(), port: port2, electron: opts.electron === true }, transferList: [port2] });
    port = port1;
    cleanups.push(() => port1.close());
  } else {
    worker = new Worker(FIXTURE, { workerData: { lib: compiledLib(), electron: opts.electron === true } });
    port = worker;
  }
  const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
  cleanups.push(() => worker.terminate());
  return { worker, port, exit };
}

/** A child process serving the counter on its IPC channel. */
function startChild(opts: { electron?: boolean } = {}): { child: ChildProcess; exit: Promise<{ code: number | null; signal: string | null }>; output: () => string } {
  const child = fork(FIXTURE, [compiledLib(), opts.electron ? 'electron' : ''], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
  });
  return { child, exit, output: () => out };
}

/** Remote<T> types members as read-only, while the proxy sends `remote.x = v`; assign through this view. */
type Writable<T> = { -readonly [K in keyof T]: unknown };

/** The seed's example: on, the count rises; off, it holds; stop, and the far side closes its host. */
async function counterScenario(remote: Remote<Counter>): Promise<void> {
  remote.toggle(true);
  const start = await remote.count.$get();
  await until(async () => (await remote.count.$get()) > start);
  expect(await remote.on).toBe(true);
  await remote.toggle(false);
  const held = await remote.count.$get();
  await sleep(100); // several turns of the far side's loop (20 ms each)
  expect(await remote.count.$get()).toBe(held);
  (remote as unknown as Writable<Counter>).stop = true;
  expect(await remote.stop).toBe(true);
  await remote.$close();
}

describe('the seed counter over a port', () => {
  test("a worker serves on its parentPort; the client connects on the Worker; stop ends the thread by itself", async () => {
    const { worker, exit } = startWorker();
    const remote = await connect<Counter>({ port: worker });
    expect(await remote.where()).toMatch(/^thread \d+$/);
    expect(remote.$connection.path).toBe(`port:worker ${worker.threadId}`);
    await counterScenario(remote);
    expect(await exit).toBe(0);
  });

  test('a MessageChannel port handed to a worker: served on one end, connected on the other', async () => {
    const { port, exit } = startWorker({ channel: true });
    const remote = await connect<Counter>({ port });
    expect(await remote.where()).toMatch(/^thread \d+$/);
    await counterScenario(remote);
    expect(await exit).toBe(0);
  });

  test("a child process serves on its IPC channel (child_process.fork); stop ends the process by itself", async () => {
    const { child, exit, output } = startChild();
    const remote = await connect<Counter>({ port: child, connectTimeout: 15000 });
    expect(await remote.where()).toBe(`process ${child.pid}`);
    await counterScenario(remote);
    const { code, signal } = await exit;
    expect({ code, signal, output: code === 0 ? '' : output() }).toEqual({ code: 0, signal: null, output: '' });
  });

  test("Electron's event shape ({ data, ports }, start()) on the serving side, over a worker and over a child", async () => {
    const w = startWorker({ electron: true });
    const viaWorker = await connect<Counter>({ port: w.port });
    await counterScenario(viaWorker);
    expect(await w.exit).toBe(0);

    const c = startChild({ electron: true });
    const viaChild = await connect<Counter>({ port: c.child, connectTimeout: 15000 });
    await counterScenario(viaChild);
    expect((await c.exit).code).toBe(0);
  });

  test('values beyond JSON and a 5 MB string cross a port; 2,000 calls in one tick keep their order', async () => {
    const { port } = startWorker({ channel: true });
    const remote = await connect<Counter>({ port });
    const value = { d: new Date(0), m: new Map([[1, 'a']]), b: 10n ** 20n, u: new Uint8Array([1, 2, 3]), big: 'é'.repeat(2_500_000) };
    expect(await remote.echo(value)).toEqual(value);
    const calls = Array.from({ length: 2000 }, (_, i) => remote.echo(i));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    (remote as unknown as Writable<Counter>).stop = true;
    await remote.$close();
  });
});

describe('the started side as the client', () => {
  const CLIENT = path.join(__dirname, 'fixtures', 'port-client.js');
  function total() {
    return { total: 0, from: '', add(k: number) { return (this.total += k); }, report(where: string) { this.from = where; } };
  }

  test('the parent serves on the Worker; the worker connects on parentPort, then ends by itself', async () => {
    const worker = new Worker(CLIENT, { workerData: { lib: compiledLib() } });
    const threadId = worker.threadId; // -1 once it has exited
    const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
    cleanups.push(() => worker.terminate());
    const target = total();
    const host = await serve(target, { port: worker });
    expect(await exit).toBe(0);
    expect(target).toMatchObject({ total: 55, from: `thread ${threadId}` });
    await until(() => host.connections === 0);
    await host.close();
  });

  test('the parent serves on the ChildProcess; the child connects on process, then exits by itself', async () => {
    const child = fork(CLIENT, [compiledLib()], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => child.kill('SIGKILL'));
    const target = total();
    const host = await serve(target, { port: child });
    expect({ code: await exit, out }).toEqual({ code: 0, out: '' });
    expect(target).toMatchObject({ total: 55, from: `process ${child.pid}` });
    await until(() => host.connections === 0);
    await host.close();
  });
});

describe('the far side killed mid-call', () => {
  async function midCall(remote: Remote<Counter>, kill: () => unknown): Promise<void> {
    expect(await remote.where()).toBeTruthy();
    const call = remote.nap(60_000);
    const settled = call.then(
      () => undefined,
      (e: unknown) => e,
    );
    await sleep(50); // let the call reach the far side (it fails the same way if it has not)
    kill();
    const err = await settled;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    await expect(remote.where()).rejects.toBeInstanceOf(NotListeningError);
  }

  test('worker.terminate() → ConnectionClosedError (connected on the Worker)', async () => {
    const { worker, port } = startWorker();
    await midCall(await connect<Counter>({ port }), () => void worker.terminate());
  });

  test("worker.terminate() → ConnectionClosedError (connected on a MessageChannel port: its 'close')", async () => {
    const { worker, port } = startWorker({ channel: true });
    await midCall(await connect<Counter>({ port }), () => void worker.terminate());
  });

  test("child.kill('SIGKILL') → ConnectionClosedError", async () => {
    const { child, exit } = startChild();
    await midCall(await connect<Counter>({ port: child, connectTimeout: 15000 }), () => child.kill('SIGKILL'));
    expect((await exit).signal).toBe('SIGKILL');
  });

  test('a port whose far side never serves: the connect timeout, typed; a child already gone: NotListeningError', async () => {
    const { port1, port2 } = new MessageChannel();
    cleanups.push(() => port1.close());
    await expect(connect({ port: port1, connectTimeout: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    port2.close();

    const { child, exit } = startChild();
    child.kill('SIGKILL');
    await exit;
    await expect(connect({ port: child })).rejects.toBeInstanceOf(NotListeningError);

    const w = startWorker();
    await w.worker.terminate();
    await expect(connect({ port: w.worker })).rejects.toBeInstanceOf(NotListeningError);
  });
});

describe('in one thread, over a MessageChannel', () => {
  function channel(): { port1: MessagePort; port2: MessagePort } {
    const c = new MessageChannel();
    cleanups.push(() => {
      c.port1.close();
      c.port2.close();
    });
    return c;
  }

  test('a secret works over a port too; a wrong one is refused with AuthError', async () => {
    const a = channel();
    const host = await serve({ n: 1 }, { port: a.port1, secret: 's3cret' });
    cleanups.push(() => host.close());
    const remote = await connect<{ n: number }>({ port: a.port2, secret: 's3cret' });
    expect(await remote.n).toBe(1);
    await remote.$close();

    const b = channel();
    const other = await serve({ n: 1 }, { port: b.port1, secret: 's3cret' });
    cleanups.push(() => other.close());
    await expect(connect({ port: b.port2, secret: 'wrong' })).rejects.toBeInstanceOf(AuthError);
  });

  test('one port is one connection: after $close the client cannot reconnect, and host.close() ends cleanly', async () => {
    const { port1, port2 } = channel();
    const host = await serve({ n: 1 }, { port: port1 });
    expect(host.path).toBe('port:message port');
    const remote = await connect<{ n: number }>({ port: port2 });
    expect(await remote.n).toBe(1);
    expect(host.connections).toBe(1);
    await remote.$close();
    await until(() => host.connections === 0);
    await expect(remote.n.$get()).rejects.toBeInstanceOf(NotListeningError);
    await host.close();
  });

  test('host.close() with fulfillFinal runs what has arrived, then the client sees the host gone', async () => {
    const { port1, port2 } = channel();
    const target = { n: 0, add(k: number) { return (this.n += k); } };
    const host = await serve(target, { port: port1, mode: 'manual' });
    const remote = await connect<typeof target>({ port: port2 });
    const calls = [remote.add(1), remote.add(2)];
    await until(() => host.queued === 2);
    await host.close();
    expect(await Promise.all(calls)).toEqual([1, 3]);
    await until(() => !remote.$connection.isOpen);
    await expect(remote.n.$get()).rejects.toBeInstanceOf(NotListeningError);
  });

  test("back-pressure: a host that stops reading holds one window; the rest waits in the client's link", async () => {
    const { port1, port2 } = channel();
    const target = { echo: (s: string) => s.length };
    const host = await serve(target, { port: port1, mode: 'manual', maxQueuedBytesPerConnection: 10_000 });
    cleanups.push(() => host.close());
    // The client's port as a port-shaped object that counts the characters it posts.
    let posted = 0;
    const counting = {
      postMessage(m: unknown) {
        if (typeof m === 'string') posted += m.length;
        port2.postMessage(m);
      },
      on: (e: string, f: (m: unknown) => void) => port2.on(e, f),
      off: (e: string, f: (m: unknown) => void) => port2.off(e, f),
    };
    const remote = await connect<typeof target>({ port: counting });
    const arg = 'q'.repeat(1000);
    const calls = Array.from({ length: 3000 }, () => remote.echo(arg)); // about 3 MB of requests
    await until(() => host.queued > 0);
    await sleep(100); // let whatever would cross the port cross it
    expect(host.queued).toBeLessThan(20); // the host stopped reading at 10,000 bytes
    expect(posted).toBeGreaterThan(10_000);
    expect(posted).toBeLessThanOrEqual((1 << 20) + 2000); // one window, not 3 MB
    while (host.queued > 0 || remote.$connection.inFlight > 0) {
      await host.processRequests();
      await sleep(1);
    }
    expect(await Promise.all(calls)).toEqual(Array(3000).fill(1000));
    await remote.$close();
  });

  /** A raw client on `port`: posts the link's open, collects what the host posts. */
  function rawClient(port: MessagePort): { got: unknown[]; lines: () => string[]; post: (m: unknown) => void } {
    const got: unknown[] = [];
    port.on('message', (m) => got.push(m));
    port.postMessage({ remoteobjLink: 'open', window: 1 << 20 });
    return {
      got,
      lines: () => got.filter((m): m is string => typeof m === 'string').flatMap((m) => m.split('\n').filter(Boolean)),
      post: (m) => port.postMessage(m),
    };
  }

  test('bad input, typed: non-string messages, malformed JSON, unknown controls; the connection goes on', async () => {
    const { port1, port2 } = channel();
    const host = await serve({ n: 7 }, { port: port1, closeGraceMs: 200 });
    cleanups.push(() => host.close());
    const raw = rawClient(port2);
    await until(() => raw.lines().length === 1);
    expect(JSON.parse(raw.lines()[0]!)).toMatchObject({ kind: 'hello', protocol: 'remoteobj' });

    raw.post({ x: 1 });
    raw.post(42);
    raw.post(null);
    raw.post('{nope\n');
    raw.post({ remoteobjLink: 'bogus' });
    raw.post({ remoteobjLink: 'ack', chars: 'many' });
    raw.post(new Uint8Array([123, 125, 10]));
    raw.post('{"id":1,"ops":[{"op":"get","key":"n"}]}\n');
    await until(() => raw.lines().length === 9);
    const replies = raw.lines().slice(1).map((l) => JSON.parse(l));
    expect(replies.slice(0, 7).map((r) => [r.id, r.kind, r.error.code])).toEqual(Array(7).fill([null, 'error', 'BAD_JSON']));
    expect(replies[0].error.message).toMatch(/not a string \(object\)/);
    expect(replies[3].error.message).toMatch(/JSON/);
    expect(replies[4].error.message).toMatch(/unknown kind/);
    expect(replies[7]).toEqual({ id: 1, kind: 'value', value: 7 });
  });

  test('a line over maxMessageBytes: TOO_LARGE, then the host ends and closes the connection', async () => {
    const { port1, port2 } = channel();
    const host = await serve({ n: 7 }, { port: port1, maxMessageBytes: 1000, closeGraceMs: 200 });
    cleanups.push(() => host.close());
    const raw = rawClient(port2);
    await until(() => raw.lines().length === 1);
    raw.post(`{"id":1,"ops":[{"op":"get","key":"${'x'.repeat(2000)}"}]}\n`);
    await until(() => raw.got.some((m) => (m as { remoteobjLink?: string })?.remoteobjLink === 'close'));
    const reply = JSON.parse(raw.lines()[1]!);
    expect(reply).toMatchObject({ id: null, kind: 'error', error: { code: 'TOO_LARGE' } });
    const controls = raw.got.filter((m) => typeof m !== 'string').map((m) => (m as { remoteobjLink: string }).remoteobjLink);
    expect(controls.slice(-2)).toEqual(['end', 'close']);
    await until(() => host.connections === 0);
  });

  test("a host that sends a non-string message: the client's requests fail with ConnectionClosedError caused by ProtocolError", async () => {
    const { port1, port2 } = channel();
    port1.on('message', (m: { remoteobjLink?: string }) => {
      if (m?.remoteobjLink === 'open') {
        port1.postMessage({ remoteobjLink: 'ready', window: 1 << 20 });
        port1.postMessage('{"kind":"hello","protocol":"remoteobj","version":1,"pid":1,"limits":{"maxMessageBytes":1000}}\n');
      } else if (typeof m === 'string') {
        port1.postMessage({ not: 'a line' });
      }
    });
    const remote = await connect<{ n: number }>({ port: port2 });
    const err = await remote.n.$get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).cause).toBeInstanceOf(ProtocolError);
    expect(String((err as Error).cause)).toMatch(/not a string/);
  });
});

describe('the link: window, half-close, death', () => {
  function events(): LinkEvents & { lines: string[]; ended: jest.Mock; closed: jest.Mock; overflow: jest.Mock; badLine: jest.Mock } {
    const lines: string[] = [];
    return { lines, line: (t) => void lines.push(t), badLine: jest.fn(), overflow: jest.fn(), ended: jest.fn(), closed: jest.fn() };
  }
  function channel(): { port1: MessagePort; port2: MessagePort } {
    const c = new MessageChannel();
    cleanups.push(() => {
      c.port1.close();
      c.port2.close();
    });
    return c;
  }

  test('a sender posts no more than the window the receiver gave, says "wait", and goes on when acknowledged', async () => {
    const { port1, port2 } = channel();
    const link = new MessagePortLink(port1);
    link.start(events());
    const got: unknown[] = [];
    port2.on('message', (m) => got.push(m));
    port2.postMessage({ remoteobjLink: 'open', window: 1000 });
    const line = 'y'.repeat(99); // 100 characters with its "\n"
    for (let i = 0; i < 50; i++) link.send(line);
    await until(() => got.some((m) => (m as { remoteobjLink?: string }).remoteobjLink === 'wait'));
    await sleep(20);
    const data = () => got.filter((m): m is string => typeof m === 'string');
    const chars = () => data().reduce((n, s) => n + s.length, 0);
    expect(chars()).toBeLessThanOrEqual(1000);
    expect(chars()).toBeGreaterThan(0);
    // Acknowledge everything, again and again, until all 50 lines are in.
    let acked = 0;
    await until(() => {
      if (chars() > acked) {
        port2.postMessage({ remoteobjLink: 'ack', chars: chars() - acked });
        acked = chars();
      }
      return chars() === 50 * 100;
    });
    expect(data().join('')).toBe(`${line}\n`.repeat(50));
    link.destroy();
  });

  test('a paused receiver holds one window at most: a peer that ignores it gets overflow, not memory', async () => {
    const { port1, port2 } = channel();
    const link = new MessagePortLink(port1);
    const ev = events();
    link.start(ev);
    link.pause();
    port2.postMessage({ remoteobjLink: 'open', window: 1 << 20 });
    const chunk = `${'z'.repeat(600_000)}\n`;
    port2.postMessage(chunk);
    port2.postMessage(chunk); // over the window without an ack
    await until(() => ev.overflow.mock.calls.length === 1);
    link.resume();
    await sleep(20);
    expect(ev.lines).toEqual([]);
    link.destroy();
  });

  test('end is a half-close: the other end reads on, can still answer, and both close once both have ended', async () => {
    const { port1, port2 } = channel();
    const a = new MessagePortLink(port1);
    const b = new MessagePortLink(port2);
    const ea = events();
    const eb = events();
    a.start(ea);
    b.start(eb);
    a.send('one');
    a.end();
    await until(() => eb.ended.mock.calls.length === 1);
    expect(eb.lines).toEqual(['one']);
    b.send('answer');
    b.end();
    await until(() => ea.closed.mock.calls.length === 1 && eb.closed.mock.calls.length === 1);
    expect(ea.lines).toEqual(['answer']);
    expect(ea.ended).toHaveBeenCalledTimes(1);
  });

  test("the far port closing (its thread gone) closes the link; pause at a line boundary, drainArrived takes what has arrived", async () => {
    const { port1, port2 } = channel();
    const link = new MessagePortLink(port1);
    const ev = events();
    link.start(ev);
    port2.postMessage({ remoteobjLink: 'open', window: 1 << 20 });
    ev.line = (t) => {
      ev.lines.push(t);
      if (t === 'b') link.pause();
    };
    port2.postMessage('a\nb\nc\r\n\n');
    port2.postMessage('d');
    await until(() => link.holding);
    expect(ev.lines).toEqual(['a', 'b']);
    link.drainArrived();
    expect(ev.lines).toEqual(['a', 'b', 'c', 'd']);
    port2.close();
    await until(() => ev.closed.mock.calls.length === 1);
  });

  test('a port that can neither post nor emit is refused with a TypeError; so is process without an IPC channel', () => {
    expect(() => new MessagePortLink({ on() {} } as never)).toThrow(TypeError);
    expect(() => new MessagePortLink({ postMessage() {} } as never)).toThrow(TypeError);
    if (process.send === undefined) expect(() => new MessagePortLink(process)).toThrow(/no IPC channel/);
  });
});
