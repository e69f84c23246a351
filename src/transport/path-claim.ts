/**
 * Claiming a socket path: listen on `p` so that, of any number of hosts racing for it (in any
 * processes or threads), exactly one wins; a live host keeps its path even when it is too busy to
 * accept; and a stale file left by a dead host is replaced without ever removing a live one.
 *
 *  1. Bind under a private name: the socket `s` in a fresh directory that mkdtemp makes next to
 *     `p` (mode 0700, so nobody can reach the socket before it is 0600 — no umask needed, which
 *     worker threads cannot set). chmod it 0600.
 *  2. Hard-link it to `p`. link() fails with EEXIST when `p` exists, so the claim is atomic.
 *  3. When `p` exists: not a socket → EEXIST. Otherwise probe it with connect(): ENOENT → it has
 *     just gone, try again; ECONNREFUSED → stale; anything else (accepted, EAGAIN from a full
 *     accept backlog, EACCES, no answer) → someone is there: EADDRINUSE.
 *  4. A stale file is removed by exactly one claimant: the one that creates the marker
 *     `.ro-reap-<inode>-<ctime>` next to it. Nobody can put a new file at `p` while the stale one
 *     is there, and only the marker's owner removes it (after checking it is still that inode),
 *     so a live host's file is never removed. The marker is a link to its owner's listening
 *     socket: a marker left by a claimant that died is itself stale, and is reaped the same way.
 *  5. Remove the private name and directory; the socket stays reachable at `p`.
 *
 * (The previous way — probe, bind a temporary name, rename() it over `p` — let two concurrent
 * serve() calls both "win", and read EAGAIN from a busy live host as "nobody there".)
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkSocketPath, isWindowsPipe, MAX_SOCKET_PATH_BYTES, type SocketFileId } from './socket-path';

const IS_WINDOWS = process.platform === 'win32';
/** How many times to look again when the path changes under us before giving up. */
const MAX_ATTEMPTS = 200;
/** How deep a chain of markers left by dead claimants is followed (each needs a crash mid-claim). */
const MAX_MARKER_DEPTH = 3;

/**
 * Listen on `p` with the socket file readable and writable by its owner only (0600), claiming the
 * path as described above. Returns the file's identity for removeSocketFile().
 */
export async function listenOwnerOnly(server: net.Server, p: string): Promise<SocketFileId | undefined> {
  checkSocketPath(p);
  if (IS_WINDOWS || isWindowsPipe(p)) {
    await listen(server, p);
    return undefined;
  }
  if (identify(p)?.socket === false) throw notASocket(p);
  const dir = privateDirNextTo(p);
  const own = path.join(dir, 's');
  let dirFd: number | undefined;
  try {
    let bindName = own;
    if (Buffer.byteLength(own) > MAX_SOCKET_PATH_BYTES) {
      // `p` fits, but the private name next to it does not: reach the directory through its
      // file descriptor instead (Linux), which makes a short name for the same place.
      if (process.platform !== 'linux') {
        throw new RangeError(`the directory of ${p} is too long to bind a temporary socket next to it (${MAX_SOCKET_PATH_BYTES} bytes at most): use a shorter directory`);
      }
      dirFd = fs.openSync(dir, 'r');
      bindName = `/proc/self/fd/${dirFd}/s`;
    }
    await listen(server, bindName);
    if (dirFd !== undefined) {
      // libuv unlinks the bound name when the server closes: keep the descriptor until then, so
      // that name can never mean another directory.
      const fd = dirFd;
      dirFd = undefined;
      server.once('close', () => fs.closeSync(fd));
    }
    fs.chmodSync(own, 0o600);
    const st = fs.lstatSync(own);
    try {
      await claim(own, p);
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw e;
    }
    return { dev: st.dev, ino: st.ino };
  } finally {
    if (dirFd !== undefined) fs.closeSync(dirFd);
    fs.rmSync(own, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Link `own` (our bound socket) to `p`, replacing a stale file there; throws EADDRINUSE or EEXIST. */
async function claim(own: string, p: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      fs.linkSync(own, p);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = identify(p);
    if (!found) continue; // gone meanwhile
    if (!found.socket) throw notASocket(p);
    const state = await probe(p);
    if (state === 'absent') continue;
    if (state !== 'stale') {
      throw Object.assign(new Error(`a host is already listening on ${p}${state === 'accepted' ? '' : ` (a connection attempt got ${state})`}`), { code: 'EADDRINUSE' });
    }
    if (sameFile(found, identify(p))) await reap(p, found, own, 0);
  }
  throw Object.assign(new Error(`could not claim ${p}: it kept changing (${MAX_ATTEMPTS} attempts)`), { code: 'EADDRINUSE' });
}

/** Remove the stale file `stale` at `p`, unless another claimant is doing it (see the header, step 4). */
async function reap(p: string, stale: FileId, own: string, depth: number): Promise<void> {
  const marker = path.join(path.dirname(p), `.ro-reap-${stale.ino}-${stale.ctimeNs}`);
  try {
    fs.linkSync(own, marker);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another claimant is removing the same file (it takes microseconds), or died doing it.
    const holder = identify(marker);
    if (!holder) return;
    const state = await probe(marker);
    if (state === 'stale' && depth < MAX_MARKER_DEPTH && sameFile(holder, identify(marker))) await reap(marker, holder, own, depth + 1);
    else if (state !== 'absent') await new Promise((resolve) => setTimeout(resolve, 1));
    return;
  }
  try {
    // Synchronous from the marker's creation to its removal: only we may remove `stale`, and
    // nobody can put another file at `p` while it is there.
    if (sameFile(stale, identify(p))) fs.unlinkSync(p);
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

interface FileId {
  dev: bigint;
  ino: bigint;
  /** The inode's change time in ns: an inode number the kernel reuses for a new file comes with a new one. */
  ctimeNs: bigint;
  socket: boolean;
}

function identify(p: string): FileId | undefined {
  const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  return st && { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs, socket: st.isSocket() };
}

function sameFile(a: FileId, b: FileId | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs;
}

/**
 * connect() to `p`: 'stale' (ECONNREFUSED: a socket file nobody listens on), 'absent' (ENOENT), or
 * why someone seems to be there: 'accepted', an error code such as EAGAIN (a live host whose
 * accept backlog is full) or EACCES, or 'no answer' after `timeoutMs`.
 */
function probe(p: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const done = (result: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    s.once('connect', () => done('accepted'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'stale' : e.code === 'ENOENT' ? 'absent' : (e.code ?? String(e))));
  });
}

/** A fresh directory (0700) next to `p`, for the socket's private name. */
function privateDirNextTo(p: string): string {
  try {
    return fs.mkdtempSync(path.join(path.dirname(p), '.ro-'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw Object.assign(new Error(`cannot listen on ${p}: its directory does not exist`, { cause: e }), { code });
    if (code === 'EACCES') throw Object.assign(new Error(`cannot listen on ${p}: no permission to create files in its directory`, { cause: e }), { code });
    throw e;
  }
}

function notASocket(p: string): Error {
  return Object.assign(new Error(`${p} exists and is not a socket; refusing to replace it`), { code: 'EEXIST' });
}

function listen(server: net.Server, p: string): Promise<void> {
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
    server.listen(p);
  });
}
