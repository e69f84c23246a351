/**
 * The socket file: a stale one (left by a host killed with SIGKILL) is replaced, a live host's is
 * refused and left alone, the file is owner-only (0600), over-long paths are refused up front,
 * and close() removes the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { connect, MAX_SOCKET_PATH_BYTES, NotListeningError, serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { exited, killChildren, removeFile, spawnTs, tmpSock, until } from './helpers';

const HOST_FIXTURE = nodePath.join(__dirname, 'fixtures', 'host-hang.ts');

const cleanup = new Cleanup();
afterEach(async () => {
  await killChildren();
  await cleanup.run();
});


function isSocket(p: string): boolean {
  return fs.lstatSync(p, { throwIfNoEntry: false })?.isSocket() ?? false;
}

/** A path of exactly `bytes` bytes in the temp dir. */
function pathOfBytes(bytes: number): string {
  const head = nodePath.join(os.tmpdir(), `ro-len-${process.pid}-`);
  const p = head + 'x'.repeat(bytes - Buffer.byteLength(head) - 5) + '.sock';
  expect(Buffer.byteLength(p)).toBe(bytes);
  return p;
}

test('a stale socket file left by a host killed with SIGKILL is replaced by a new serve()', async () => {
  const path = tmpSock('stale');
  const child = spawnTs(HOST_FIXTURE, [path]);
  await until(() => child.output().includes('ready'));
  const old = cleanup.remote(await connect<{ value: number }>(path));
  expect(await old.value).toBe(1);
  child.kill('SIGKILL');
  await exited(child);
  // The file stays behind and nobody answers on it.
  expect(isSocket(path)).toBe(true);
  await expect(connect(path)).rejects.toBeInstanceOf(NotListeningError);

  const host = cleanup.host(await serve({ value: 2 }, path));
  const fresh = cleanup.remote(await connect<{ value: number }>(path, { localBypass: false }));
  expect(await fresh.value).toBe(2);
  await fresh.$close();
  await host.close();
  expect(fs.existsSync(path)).toBe(false);
});

test('a path where a live host answers is refused with EADDRINUSE, and the live host keeps working', async () => {
  const path = tmpSock('live');
  const child = spawnTs(HOST_FIXTURE, [path]);
  await until(() => child.output().includes('ready'));
  const client = cleanup.remote(await connect<{ value: number }>(path));

  await expect(serve({ value: 2 }, path)).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(path) });
  expect(isSocket(path)).toBe(true);
  expect(await client.value.$get()).toBe(1);
  const another = cleanup.remote(await connect<{ value: number }>(path));
  expect(await another.value).toBe(1);
  await Promise.all([client.$close(), another.$close()]);
});

test('a second serve() in the same process on a live path is refused too, and the first host keeps working', async () => {
  const path = tmpSock('live');
  const first = cleanup.host(await serve({ value: 1 }, path));
  await expect(serve({ value: 2 }, path)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  for (const localBypass of [true, false]) {
    const c = cleanup.remote(await connect<{ value: number }>(path, { localBypass }));
    expect(await c.value).toBe(1);
    await c.$close();
  }
  await first.close();
});

test('a path that exists and is not a socket is never replaced', async () => {
  const path = tmpSock('file');
  fs.writeFileSync(path, 'precious');
  try {
    await expect(serve({}, path)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(path, 'utf8')).toBe('precious');
  } finally {
    removeFile(path);
  }
});

test('the socket file is owner-only (0600) and is removed on close', async () => {
  const path = tmpSock('mode');
  const host = cleanup.host(await serve({}, path));
  const st = fs.lstatSync(path);
  expect(st.isSocket()).toBe(true);
  expect(st.mode & 0o777).toBe(0o600);
  await host.close();
  expect(fs.existsSync(path)).toBe(false);
});

test(`a path over ${MAX_SOCKET_PATH_BYTES} bytes is refused with RangeError; one of exactly ${MAX_SOCKET_PATH_BYTES} works`, async () => {
  const tooLong = pathOfBytes(MAX_SOCKET_PATH_BYTES + 1);
  await expect(serve({}, tooLong)).rejects.toBeInstanceOf(RangeError);
  await expect(serve({}, tooLong)).rejects.toThrow(String(MAX_SOCKET_PATH_BYTES));
  await expect(connect(tooLong)).rejects.toBeInstanceOf(RangeError);
  expect(fs.existsSync(tooLong)).toBe(false);
  // A truncated path must not have been bound either.
  expect(fs.existsSync(tooLong.slice(0, MAX_SOCKET_PATH_BYTES))).toBe(false);

  const longest = pathOfBytes(MAX_SOCKET_PATH_BYTES);
  const host = cleanup.host(await serve({ value: 'long' }, longest));
  expect(isSocket(longest)).toBe(true);
  const c = cleanup.remote(await connect<{ value: string }>(longest, { localBypass: false }));
  expect(await c.value).toBe('long');
  await c.$close();
  await host.close();
  expect(fs.existsSync(longest)).toBe(false);
});

test('close() does not remove a socket file that another host has since taken over', async () => {
  const path = tmpSock('take');
  const first = cleanup.host(await serve({ value: 1 }, path));
  // Someone removes the file and a new host binds the same path (e.g. a restarted service).
  fs.unlinkSync(path);
  const second = cleanup.host(await serve({ value: 2 }, path));
  await first.close();
  const c = cleanup.remote(await connect<{ value: number }>(path, { localBypass: false }));
  expect(await c.value).toBe(2);
  await c.$close();
  await second.close();
});
