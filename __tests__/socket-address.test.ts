/**
 * Issue 11 item 10, and issue 14's addresses: something that looks like host:port or an scp-style
 * ssh target is a clear AddressError in serve, connect, waitUntilListening and the CLI (saying to
 * write tcp://, tls:// or ssh://), instead of a socket file named "127.0.0.1:7777" in the working
 * directory. Paths that merely contain ":" stay paths; a file named like an address is reached as
 * ./name. (Every address form: transports-address.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AddressError, checkSocketPath, connect, serve, waitUntilListening } from 'remoteobj';
import { cli, requireBuild } from './fixtures/cli-kit';
import { Cleanup } from './fixtures/host-kit';

const NOT_A_PATH = /looks like .*not a socket path: write .*(tls|tcp|ssh):\/\//;

const ADDRESSES = ['127.0.0.1:7777', 'localhost:7777', '[::1]:7777', '::1', 'tcp:127.0.0.1:7777', 'user@example.com:/run/app.sock', 'example.com:/run/app.sock'];

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

/** A scratch working directory for the CLI, so a wrongly created socket file would show up there. */
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-addr-'));
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

test.each(ADDRESSES)('%s is refused by serve, connect and waitUntilListening with an AddressError that says why', async (address) => {
  const before = fs.readdirSync(process.cwd());
  for (const attempt of [() => serve({}, address), () => connect(address), () => waitUntilListening(address, { timeout: 5000 })]) {
    const err = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toMatch(NOT_A_PATH);
  }
  expect(() => checkSocketPath(address)).toThrow(/looks like .*not a socket path: write it as a tls:\/\/, tcp:\/\/ or ssh:\/\/ address/);
  expect(fs.readdirSync(process.cwd())).toEqual(before); // no socket file made in the working directory
});

test('the CLI: get, serve --path and wait refuse them as usage errors (exit 2), creating nothing', async () => {
  requireBuild();
  for (const args of [
    ['get', '127.0.0.1:7777', 'x'],
    ['wait', 'localhost:7777', '-t', '5'],
    ['serve', path.join(__dirname, 'fixtures', 'cli-app.js'), '--path', '127.0.0.1:7777'],
  ]) {
    const r = await cli(args, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(NOT_A_PATH);
  }
  expect(fs.readdirSync(cwd)).toEqual([]);
});

test('paths with ":" inside a name stay paths; ./name reaches a file named like an address', async () => {
  for (const p of ['./127.0.0.1:7777', '2024-01-01T10:00/app.sock', 'data:v2/app.sock', 'app:v2.sock', '/tmp/a:b/c.sock', '../x:1', 'C:/dir/app.sock']) {
    expect(() => checkSocketPath(p)).not.toThrow();
  }
  // A real host on an absolute path whose directory has a ":" in its name.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-a:b-'));
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, 'h:1.sock');
  cleanup.host(await serve({ ok: 1 }, p, { localBypass: false }));
  const remote = cleanup.remote(await connect<{ ok: number }>(p, { localBypass: false }));
  expect(await remote.ok).toBe(1);
});
