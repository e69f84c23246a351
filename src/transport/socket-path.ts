/**
 * Socket paths: length limits, owner-only creation, and telling a stale socket file from a live host.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const IS_WINDOWS = process.platform === 'win32';

/** Longest Unix socket path in bytes (sun_path minus the NUL): Linux 107, macOS and BSDs 103. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

export function isWindowsPipe(p: string): boolean {
  return /^\\\\[.?]\\pipe\\/i.test(p);
}

/**
 * Throw a clear error for a path the OS would silently truncate (Node does not check).
 * Windows named pipes (`\\.\pipe\name`) have no such limit.
 */
export function checkSocketPath(p: string): void {
  if (typeof p !== 'string' || p.length === 0) throw new TypeError('socket path must be a non-empty string');
  if (IS_WINDOWS || isWindowsPipe(p)) return;
  if (p.includes('\0')) throw new TypeError('socket path must not contain NUL bytes (abstract sockets have no permissions and are not supported)');
  const bytes = Buffer.byteLength(p);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new RangeError(
      `socket path is ${bytes} bytes, over this platform's limit of ${MAX_SOCKET_PATH_BYTES}: ${p} (use a shorter path, e.g. socketPath('name'))`,
    );
  }
}

/**
 * A good default path for a named host: a `\\.\pipe\` name on Windows; elsewhere a file in
 * `$XDG_RUNTIME_DIR` (owner-only by design) or a per-user directory under the temp dir.
 */
export function socketPath(name: string): string {
  if (!/^[\w.-]{1,64}$/.test(name)) throw new TypeError('name must be 1-64 characters of letters, digits, "_", "." or "-"');
  if (IS_WINDOWS) return `\\\\.\\pipe\\remoteobj-${os.userInfo().username}-${name}`;
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime && path.isAbsolute(runtime) ? path.join(runtime, 'remoteobj') : path.join(os.tmpdir(), `remoteobj-${process.getuid?.() ?? 'user'}`);
  const p = path.join(dir, `${name}.sock`);
  checkSocketPath(p);
  return p;
}

/** Probe a path: 'live' (a process accepts connections), 'stale' (a socket file nobody serves), or 'absent'. */
export function probeSocket(p: string, timeoutMs = 1000): Promise<'live' | 'stale' | 'absent'> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const timer = setTimeout(() => {
      s.destroy();
      resolve('live'); // accepted but silent: someone is there
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('live');
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' ? 'stale' : 'absent');
    });
  });
}

/**
 * Listen on `p` with the socket file readable and writable by its owner only (0600).
 * A stale socket file left by a dead host is replaced; a path where a live host answers is refused.
 */
export async function listenOwnerOnly(server: net.Server, p: string): Promise<void> {
  checkSocketPath(p);
  try {
    await listenOnce(server, p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || IS_WINDOWS || isWindowsPipe(p)) throw e;
    const state = await probeSocket(p);
    if (state === 'live') {
      throw Object.assign(new Error(`a host is already listening on ${p}`), { code: 'EADDRINUSE' });
    }
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st && !st.isSocket()) {
      throw Object.assign(new Error(`${p} exists and is not a socket; refusing to replace it`), { code: 'EEXIST' });
    }
    if (st) fs.unlinkSync(p);
    await listenOnce(server, p);
  }
}

function listenOnce(server: net.Server, p: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (IS_WINDOWS || isWindowsPipe(p)) {
      server.listen(p);
      return;
    }
    // The umask makes the socket 0600 from the moment it exists (bind happens synchronously in
    // listen()); the chmod after is belt and braces for platforms where it does not.
    const old = process.umask(0o177);
    try {
      server.listen(p);
    } finally {
      process.umask(old);
    }
    server.once('listening', () => {
      try {
        fs.chmodSync(p, 0o600);
      } catch {
        /* the file may already be gone if the server closed at once */
      }
    });
  });
}
