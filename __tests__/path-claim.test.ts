/**
 * Claiming the socket path (issue 10 items 5 and 12): of many serve() calls racing for one path in
 * separate processes, exactly one wins, whether the path starts empty or holds a stale socket file;
 * a live host whose accept backlog is full keeps its path; and serve() works in a worker thread.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect, MAX_SOCKET_PATH_BYTES, serve } from 'remoteobj';
import { Cleanup, range } from './fixtures/host-kit';
import { compiledLib } from './fixtures/compiled-lib';
import { until } from './helpers';

const RACER = nodePath.join(__dirname, 'fixtures', 'claim-racer.js');
const BUSY_HOST = nodePath.join(__dirname, 'fixtures', 'busy-host.js');
const SERVE_WORKER = nodePath.join(__dirname, 'fixtures', 'serve-worker.js');

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A fresh private directory for one test's socket paths; removed after it. */
function privateDir(): string {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'ro-claim-'));
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Leave a stale socket file at `p`: a socket inode nobody listens on (as after a SIGKILL). */
async function makeStale(p: string): Promise<void> {
  const bound = nodePath.join(os.tmpdir(), `ro-mk-${process.pid}-${Math.random().toString(36).slice(2, 10)}`); // same file system as privateDir()
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(bound, resolve));
  fs.linkSync(bound, p);
  await new Promise<void>((resolve) => server.close(() => resolve())); // removes `bound` only
  expect(fs.lstatSync(p).isSocket()).toBe(true);
}

interface Racer {
  child: ChildProcess;
  ask(msg: object): Promise<Record<string, any>>;
}

function startRacer(lib: string): Promise<Racer> {
  const child = fork(RACER, [lib], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  cleanup.defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const replies: Record<string, any>[] = [];
  const waiters: { resolve: (m: Record<string, any>) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m: Record<string, any>) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else replies.push(m);
  });
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w.reject(new Error(`racer exited: ${stderr}`));
  });
  const next = () =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const m = replies.shift();
      if (m) return resolve(m);
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`racer exited: ${stderr}`));
      waiters.push({ resolve, reject });
    });
  return next().then(() => ({
    child,
    ask: (msg) => {
      child.send(msg);
      return next();
    },
  }));
}

test('20 processes call serve() on one path at once, 10 rounds (empty path, then a stale file): exactly one wins each time', async () => {
  const lib = compiledLib();
  const racers = await Promise.all(range(20).map(() => startRacer(lib)));
  const dir = privateDir();
  const path = nodePath.join(dir, 'race.sock');
  for (const round of range(10)) {
    const stale = round % 2 === 1;
    if (stale) await makeStale(path);
    const results = await Promise.all(racers.map((r, who) => r.ask({ cmd: 'serve', path, who })));
    const winners = results.flatMap((res, who) => (res.ok ? [who] : []));
    const context = `round ${round} (${stale ? 'stale file' : 'empty path'})`;
    expect([context, winners.length]).toEqual([context, 1]);
    for (const res of results) if (!res.ok) expect([context, res.code]).toEqual([context, 'EADDRINUSE']);
    // The winner is the one that answers at the path.
    const remote = await connect<{ who: number }>(path, { localBypass: false });
    expect([context, await remote.who]).toEqual([context, winners[0]]);
    await remote.$close();
    await racers[winners[0]!]!.ask({ cmd: 'close' });
    // Nothing left behind: no socket, no temporary names, no markers.
    expect([context, fs.readdirSync(dir)]).toEqual([context, []]);
  }
}, 120_000);

test('a live host whose accept backlog is full keeps its path: serve() gets EADDRINUSE', async () => {
  const lib = compiledLib();
  const dir = privateDir();
  const path = nodePath.join(dir, 'busy.sock');
  const flag = nodePath.join(dir, 'unblock');
  const child = spawn(process.execPath, [BUSY_HOST, lib, path, flag], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await until(() => out.includes('ready'));
  const client = await connect<{ block(): string; value: string }>(path, { localBypass: false });
  cleanup.defer(() => client.$close());
  const blocked = client.block();
  cleanup.defer(() => fs.writeFileSync(flag, '')); // (cleanup runs in reverse: unblock before closing the client)
  await until(() => out.includes('blocking'));

  // The host's thread is stopped: the kernel queues connections until the backlog is full, then
  // answers EAGAIN. (At most ~4,100 attempts: the backlog is at most net.core.somaxconn.)
  const flood: net.Socket[] = [];
  cleanup.defer(() => flood.forEach((s) => s.destroy()));
  let refusal: string | undefined;
  while (refusal === undefined && flood.length < 5000) {
    refusal = await new Promise<string | undefined>((resolve) => {
      const s = net.connect(path);
      s.once('connect', () => resolve(undefined));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      flood.push(s);
    });
  }
  expect(refusal).toBe('EAGAIN');
  if (process.env.REPORT_FIGURES) process.stdout.write(`busy host: ${flood.length - 1} connections queued, the next got ${refusal}\n`);

  const intruder = serve({ value: 'intruder' }, path, { localBypass: false });
  cleanup.defer(async () => (await intruder.catch(() => undefined))?.close());
  await expect(intruder).rejects.toMatchObject({ code: 'EADDRINUSE' });

  fs.writeFileSync(flag, '');
  expect(await blocked).toBe('unblocked');
  for (const s of flood) s.destroy();
  const again = await connect<{ value: string }>(path, { localBypass: false });
  expect(await again.value).toBe('busy host');
  expect(again.$connection.hostPid).toBe(child.pid);
  await again.$close();
});

test('serve() works in a worker thread: the socket is 0600 and clients are served', async () => {
  const dir = privateDir();
  const path = nodePath.join(dir, 'worker.sock');
  const worker = new Worker(SERVE_WORKER, { workerData: { lib: compiledLib(), path } });
  cleanup.defer(() => worker.terminate());
  const first = await new Promise<Record<string, any>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  expect(first).toEqual({ ok: true });
  expect(fs.lstatSync(path).mode & 0o777).toBe(0o600);
  const remote = await connect<{ add(k: number): number; where(): string }>(path, { localBypass: false });
  expect(await remote.add(2)).toBe(2);
  expect(await remote.add(3)).toBe(5);
  expect(await remote.where()).toBe('worker');
  await remote.$close();
  const closed = new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('close');
  expect(await closed).toEqual({ closed: true });
  expect(fs.readdirSync(dir)).toEqual([]);
});

test(`a path of ${MAX_SOCKET_PATH_BYTES} bytes in a long directory with a one-letter name is claimed too (the temporary name does not fit next to it)`, async () => {
  const base = privateDir();
  const dir = nodePath.join(base, 'd'.repeat(MAX_SOCKET_PATH_BYTES - Buffer.byteLength(base) - 3));
  fs.mkdirSync(dir);
  const path = nodePath.join(dir, 's');
  expect(Buffer.byteLength(path)).toBe(MAX_SOCKET_PATH_BYTES);
  await makeStale(path);
  const host = cleanup.host(await serve({ value: 'long' }, path, { localBypass: false }));
  expect(fs.lstatSync(path).mode & 0o777).toBe(0o600);
  const remote = await connect<{ value: string }>(path, { localBypass: false });
  expect(await remote.value).toBe('long');
  await remote.$close();
  await expect(serve({}, path, { localBypass: false })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  await host.close();
  expect(fs.readdirSync(dir)).toEqual([]);
});
