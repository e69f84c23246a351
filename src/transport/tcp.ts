/**
 * The plain TCP transport: listen on and dial HOST:PORT, handing out StreamLinks. Only for
 * loopback addresses with a secret (address.ts refuses the rest): nothing here encrypts. The
 * server and dial helpers are shared with tls.ts, which differs only in the socket it makes.
 */
import net from 'node:net';
import { NotListeningError } from '../errors';
import type { Link } from './link';
import { StreamLink } from './stream-link';
import type { Listener } from './unix';

/** A listener on a port: `address` is what it is reachable at (with the real port when 0 was asked). */
export interface NetListener extends Listener {
  readonly address: string;
}

/** Errors of a TCP connect that mean "nobody is listening there". */
export const NOT_THERE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export function listenTcp(host: string, port: number, maxLineBytes: number, accept: (link: Link) => void): Promise<NetListener> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  return listenServer(server, 'tcp', host, port, 'connection', (socket: net.Socket, address) => accept(new StreamLink(socket, address, maxLineBytes)));
}

/**
 * Listen on `host:port` with `server`; each socket its `event` reports goes to `accept`. Resolves
 * once listening, with the address it got; rejects with the listen error (EADDRINUSE, EACCES).
 */
export function listenServer<S extends net.Socket>(
  server: net.Server,
  scheme: 'tcp' | 'tls',
  host: string,
  port: number,
  event: 'connection' | 'secureConnection',
  accept: (socket: S, address: string) => void,
): Promise<NetListener> {
  server.maxConnections = Infinity;
  return new Promise<NetListener>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      // accept() can fail (EMFILE): that is the one connection's loss, not the host's.
      server.on('error', () => undefined);
      const bound = server.address() as net.AddressInfo;
      const address = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
      server.on(event, (socket: S) => accept(socket, address));
      let closed: Promise<void> | undefined;
      resolve({ address, close: () => (closed ??= new Promise<void>((done) => server.close(() => done()))) });
    });
  });
}

export function dialTcp(host: string, port: number, address: string, signal: AbortSignal, maxLineBytes: number): Promise<Link> {
  return dialSocket(() => net.connect({ host, port, allowHalfOpen: true, noDelay: true }), 'connect', address, signal, (socket) => new StreamLink(socket, address, maxLineBytes));
}

/**
 * Open a socket with `open` and wait for its `ready` event; NotListeningError when nobody is
 * there, `refusal(err)` (a typed error) or the error itself otherwise, and `signal`'s reason when
 * it aborts first.
 */
export function dialSocket<S extends net.Socket>(
  open: () => S,
  ready: 'connect' | 'secureConnect',
  address: string,
  signal: AbortSignal,
  link: (socket: S) => Link,
  refusal?: (e: Error) => Error | undefined,
): Promise<Link> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = open();
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const onError = (e: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      const typed = refusal?.(e);
      if (typed) return reject(typed);
      reject(NOT_THERE.has(e.code ?? '') ? new NotListeningError(`no host is listening on ${address} (${e.code})`, { cause: e }) : e);
    };
    socket.once('error', onError);
    socket.once(ready, () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      resolve(link(socket));
    });
  });
}
