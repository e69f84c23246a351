/**
 * The Unix socket transport (and Windows named pipes, which Node serves the same way): listen on
 * a path with the socket file 0600, claimed atomically (path-claim.ts); dial a path. Both hand
 * out StreamLinks.
 */
import net from 'node:net';
import { NotListeningError } from '../errors';
import { StreamLink } from './stream-link';
import { listenOwnerOnly } from './path-claim';
import { removeSocketFile } from './socket-path';
import type { Link } from './link';

export interface Listener {
  /** Stop accepting; resolves once every connection it accepted has closed and its socket file is removed. */
  close(): Promise<void>;
}

/**
 * Listen on `path`: `accept` gets a Link for each connection (whose first line limit is
 * `maxLineBytes`). Half-open connections are allowed: a client that sends its requests and then
 * ends its side (`printf ... | socat`) still gets every reply.
 */
export async function listenUnix(path: string, maxLineBytes: number, accept: (link: Link) => void): Promise<Listener> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => accept(new StreamLink(socket, path, maxLineBytes)));
  server.maxConnections = Infinity;
  const file = await listenOwnerOnly(server, path);
  // accept() itself can fail (EMFILE when the process is out of file descriptors): that is the
  // one connection's loss, not the host's; without a listener Node would throw it.
  server.on('error', () => undefined);
  let closed: Promise<void> | undefined;
  return {
    close: () =>
      (closed ??= new Promise<void>((resolve) => server.close(() => resolve())).then(() => removeSocketFile(path, file))),
  };
}

/** Errors of connect() that mean "nobody is listening there". */
const NOT_THERE = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR', 'ECONNRESET', 'EPIPE']);

/**
 * Connect to the host at `path`. Rejects with NotListeningError when nobody listens there, and
 * with `signal`'s reason when it aborts first.
 */
export function dialUnix(path: string, signal: AbortSignal, maxLineBytes: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      resolve(new StreamLink(socket, path, maxLineBytes));
    });
    const onError = (e: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(NOT_THERE.has(e.code ?? '') ? new NotListeningError(`no host is listening on ${path} (${e.code})`, { cause: e }) : e);
    };
    socket.once('error', onError);
  });
}
