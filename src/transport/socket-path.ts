/**
 * Socket paths: length limits, owner-only directories, and removing a host's own socket file.
 * (Claiming a path — listen, replace a stale file, refuse a live host — is in path-claim.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const IS_WINDOWS = process.platform === 'win32';

/** Longest Unix socket path in bytes (sun_path minus the NUL): Linux 107, macOS and BSDs 103. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

export function isWindowsPipe(p: string): boolean {
  return /^\\\\[.?]\\pipe\\/i.test(p);
}

/**
 * Throw a clear error for a path the OS would silently truncate (Node does not check), and for
 * an address that is not a path at all (a URL, `host:port`: see networkAddressKind).
 * Windows named pipes (`\\.\pipe\name`) have no such limit.
 */
export function checkSocketPath(p: string): void {
  if (typeof p !== 'string' || p.length === 0) throw new TypeError('socket path must be a non-empty string');
  if (isWindowsPipe(p)) return;
  const network = networkAddressKind(p);
  if (network !== undefined) {
    throw new TypeError(
      `${JSON.stringify(p)} looks like ${network}, not a socket path: write it as a tls://, tcp:// or ssh:// address ` +
        `(serve, connect and the CLI take those; docs/transports.md)${network === 'a URL' ? '' : ` or, for a file of that name, ./${p}`}`,
    );
  }
  if (IS_WINDOWS) return;
  if (p.includes('\0')) throw new TypeError('socket path must not contain NUL bytes (abstract sockets have no permissions and are not supported)');
  const bytes = Buffer.byteLength(p);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new RangeError(
      `socket path is ${bytes} bytes, over this platform's limit of ${MAX_SOCKET_PATH_BYTES}: ${p} (use a shorter path, e.g. socketPath('name'))`,
    );
  }
}

/**
 * What kind of network address `p` looks like, or undefined for anything that can be a path:
 *  - a URL: `scheme://…` (`tcp://`, `tls://`, `ssh://`, `unix:///tmp/a.sock`, `http://`);
 *  - `host:port`: no `/` or `\\` at all, and `:` then digits at the end (`127.0.0.1:7777`,
 *    `localhost:80`, `[::1]:7777`, `tcp:host:7777`); a bare IPv6 address (`::1`, `fe80::2`);
 *  - an ssh/scp target: `user@host:…`, or a first path part that ends in `:` (`server:/run/app.sock`).
 * Paths stay paths: absolute ones, `./` and `../` ones, and relative ones with a `:` inside a name
 * (`2024-01-01T10:00/app.sock`, `data:v2/app.sock`, `app:v2.sock`). Windows drive paths (`C:\…`,
 * `C:/…`) are paths too. A file whose name is exactly like an address is reached as `./name`.
 */
export function networkAddressKind(p: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(p)) return 'a URL';
  if (/^[A-Za-z]:[\\/]/.test(p)) return undefined; // C:\dir\a.sock, C:/dir/a.sock
  if (/^[0-9A-Fa-f]*(:[0-9A-Fa-f]*){2,}$/.test(p)) return 'an IPv6 address';
  if (/^[^/\\]*:\d+$/.test(p)) return 'a host:port address';
  if (/^[^/\\@]+@[^/\\]*:/.test(p)) return 'an ssh address (user@host:path)';
  if (/^[^/\\.][^/\\]*:\//.test(p)) return 'an ssh address (host:path)';
  return undefined;
}

/**
 * A good default path for a named host: a `\\.\pipe\` name on Windows; elsewhere
 * `$XDG_RUNTIME_DIR/remoteobj/<name>.sock`, or `<tmpdir>/remoteobj-<uid>/<name>.sock`.
 * The directory is created owner-only (0700) when missing, and refused when it is not a real
 * directory owned by this user and closed to everyone else: a socket in a directory others can
 * write could be swapped for theirs.
 */
export function socketPath(name: string): string {
  if (!/^[\w.-]{1,64}$/.test(name)) throw new TypeError('name must be 1-64 characters of letters, digits, "_", "." or "-"');
  if (IS_WINDOWS) return `\\\\.\\pipe\\remoteobj-${os.userInfo().username}-${name}`;
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime && path.isAbsolute(runtime) ? path.join(runtime, 'remoteobj') : path.join(os.tmpdir(), `remoteobj-${process.getuid?.() ?? 'user'}`);
  const p = path.join(dir, `${name}.sock`);
  checkSocketPath(p);
  ensurePrivateDir(dir);
  return p;
}

/** Create `dir` 0700 if missing; throw unless it is a directory (not a symlink) owned by us with no group/other access. */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.lstatSync(dir);
  const problem = !st.isDirectory()
    ? 'is not a directory (or is a symbolic link)'
    : process.getuid && st.uid !== process.getuid()
      ? `is owned by uid ${st.uid}, not by this user (uid ${process.getuid()})`
      : (st.mode & 0o077) !== 0
        ? `has mode ${(st.mode & 0o777).toString(8)}: others could replace the socket (expected 700)`
        : undefined;
  if (problem) throw Object.assign(new Error(`refusing socket directory ${dir}: it ${problem}`), { code: 'EPERM' });
}

/** Identifies the socket file a host created, so it never removes a file that another host has since put there. */
export interface SocketFileId {
  dev: number;
  ino: number;
}

/** Remove the socket file at `p` if it is still the one `id` names. */
export function removeSocketFile(p: string, id: SocketFileId | undefined): void {
  if (!id) return;
  try {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSocket() && st.dev === id.dev && st.ino === id.ino) fs.unlinkSync(p);
  } catch {
    /* already gone */
  }
}
