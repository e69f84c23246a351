/**
 * Who may connect, at the file-system level (docs/security.md, "The socket file and its directory"):
 * the socket is 0600 whatever the umask, another user is refused by the kernel (tested for real
 * when the tests run as root, by connecting as `nobody`), socketPath() makes and checks a private
 * directory, and serve() never replaces what is not a stale socket of its own kind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { connect, MAX_SOCKET_PATH_BYTES, serve, socketPath } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { exited, killChildren, spawnTs, tmpSock } from './helpers';

const SOCKETPATH = nodePath.join(__dirname, 'fixtures', 'sec-socketpath.ts');

const cleanup = new Cleanup();
afterEach(async () => {
  await killChildren();
  await cleanup.run();
});

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Run `fn` with the process umask set to `mask`. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

/** Fresh directories for one test; XDG_RUNTIME_DIR points at one (TMPDIR only reaches child processes). */
function isolatedDirs() {
  const base = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'ro-sec-'));
  fs.chmodSync(base, 0o755); // so that `nobody` can walk into it
  const saved = process.env.XDG_RUNTIME_DIR;
  const runtime = nodePath.join(base, 'run');
  const tmp = nodePath.join(base, 'tmp');
  fs.mkdirSync(runtime, { mode: 0o755 });
  fs.mkdirSync(tmp, { mode: 0o755 });
  process.env.XDG_RUNTIME_DIR = runtime;
  cleanup.defer(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    fs.rmSync(base, { recursive: true, force: true });
  });
  return { base, runtime, tmp };
}

/** Try to connect to `path` as another user; resolves with the error code (or 'connected'). */
function connectAs(uid: number, path: string): Promise<string> {
  const script = `const s=require('net').connect(${JSON.stringify(path)});s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',e=>console.log(e.code))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { uid, gid: uid, cwd: '/' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

describe('the socket file', () => {
  test.each([0o000, 0o002, 0o022, 0o077])('is 0600 whatever the umask (umask %o)', async (mask) => {
    const path = tmpSock('mode');
    const host = await withUmask(mask, () => serve({ v: 1 }, path, { localBypass: false }));
    cleanup.host(host);
    const st = fs.lstatSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
  });

  (isRoot ? test : test.skip)('refuses another user at the kernel: `nobody` gets EACCES, the owner connects', async () => {
    const { base } = isolatedDirs();
    const path = nodePath.join(base, 'h.sock');
    cleanup.host(await withUmask(0, () => serve({ v: 1 }, path, { localBypass: false })));
    expect(await connectAs(NOBODY, path)).toBe('EACCES');
    // Made world-writable by hand, the same socket lets `nobody` in: the file mode is the barrier.
    fs.chmodSync(path, 0o666);
    expect(await connectAs(NOBODY, path)).toBe('connected');
  });

  test('serve() refuses a path that is a symlink, even one pointing at a live host', async () => {
    const real = tmpSock('real');
    cleanup.host(await serve({ v: 1 }, real, { localBypass: false }));
    const link = tmpSock('link');
    fs.symlinkSync(real, link);
    cleanup.defer(() => fs.rmSync(link, { force: true }));
    await expect(serve({ v: 2 }, link, { localBypass: false })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const remote = cleanup.remote(await connect<{ v: number }>(real, { localBypass: false }));
    expect(await remote.v).toBe(1);
  });
});

describe('socketPath(name)', () => {
  test('under $XDG_RUNTIME_DIR: a remoteobj/ directory made 0700 even with umask 000', async () => {
    const { runtime } = isolatedDirs();
    const p = await withUmask(0, async () => socketPath('svc'));
    expect(p).toBe(nodePath.join(runtime, 'remoteobj', 'svc.sock'));
    const st = fs.lstatSync(nodePath.dirname(p));
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
  });

  test('without $XDG_RUNTIME_DIR (or with a relative one): remoteobj-<uid> under the temp dir, 0700', async () => {
    const { tmp } = isolatedDirs();
    for (const xdg of ['', 'relative/dir']) {
      // TMPDIR is read by the OS layer, not from process.env: ask a child process.
      const child = spawnTs(SOCKETPATH, ['svc', '0'], { TMPDIR: tmp, XDG_RUNTIME_DIR: xdg });
      await exited(child);
      expect(JSON.parse(child.output())).toEqual({ path: nodePath.join(tmp, `remoteobj-${process.getuid!()}`, 'svc.sock'), mode: 0o700 });
    }
  });

  test.each([0o750, 0o705, 0o770, 0o1777])('refuses an existing directory with mode %o', (mode) => {
    const { runtime } = isolatedDirs();
    const dir = nodePath.join(runtime, 'remoteobj');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, mode);
    expect(() => socketPath('svc')).toThrow(/mode .*expected 700/);
  });

  (isRoot ? test : test.skip)('refuses a directory owned by another user, even with mode 0700', () => {
    const { runtime } = isolatedDirs();
    const dir = nodePath.join(runtime, 'remoteobj');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, NOBODY, NOBODY);
    expect(() => socketPath('svc')).toThrow(/owned by uid 65534/);
  });

  test('refuses a file or a symlink where the directory should be', () => {
    const { runtime } = isolatedDirs();
    const dir = nodePath.join(runtime, 'remoteobj');
    fs.writeFileSync(dir, '');
    expect(() => socketPath('svc')).toThrow(/not a directory/);
    fs.rmSync(dir);
    const elsewhere = nodePath.join(runtime, 'elsewhere');
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    fs.symlinkSync(elsewhere, dir);
    expect(() => socketPath('svc')).toThrow(/symbolic link/);
  });

  test(`refuses, before creating anything, a directory that would make the path longer than ${MAX_SOCKET_PATH_BYTES} bytes`, () => {
    const { runtime } = isolatedDirs();
    const deep = nodePath.join(runtime, 'd'.repeat(Math.max(1, MAX_SOCKET_PATH_BYTES - runtime.length)));
    fs.mkdirSync(deep);
    process.env.XDG_RUNTIME_DIR = deep;
    expect(() => socketPath('svc')).toThrow(RangeError);
    expect(fs.existsSync(nodePath.join(deep, 'remoteobj'))).toBe(false);
  });

  test('a host serves at socketPath(name) and its socket there is 0600', async () => {
    isolatedDirs();
    const p = socketPath('svc');
    cleanup.host(await serve({ v: 5 }, p, { localBypass: false }));
    expect(fs.lstatSync(p).mode & 0o777).toBe(0o600);
    const remote = cleanup.remote(await connect<{ v: number }>(p, { localBypass: false }));
    expect(await remote.v).toBe(5);
  });
});
