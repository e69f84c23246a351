/**
 * Host: serves one object on a socket path. Accepts connections (one Session each), runs every
 * request under one FIFO lock, and shuts down per `fulfillFinal`.
 */
import net from 'node:net';
import path from 'node:path';
import type { AccessOptions } from '../access';
import { type EvalContext, type EvalOp, evaluate, OpFailure, type Outcome } from '../evaluate';
import { isWindowsPipe, removeSocketFile, type SocketFileId } from '../transport/socket-path';
import { listenOwnerOnly } from '../transport/path-claim';
import { DEFAULT_MAX_MESSAGE_BYTES, LineSplitter, LineWriter } from '../transport/lines';
import { AuthError, LimitError, TimeoutError } from '../errors';
import { MAX_PRE_AUTH_BYTES } from '../protocol/auth';
import { errorToWire } from '../protocol/error-wire';
import { FifoLock, type Job } from './lock';
import { type Channel, type Replier, Session, type SessionHost } from './session';
import { registerLocal, unregisterLocal } from './local-registry';

export type PasstoFunction = (value: any, ...args: any[]) => unknown;

/** Functions every host offers to `$passto` unless `functions` replaces them. */
export const DEFAULT_FUNCTIONS: Readonly<Record<string, PasstoFunction>> = Object.freeze({
  String: (v: unknown) => String(v),
  Number: (v: unknown) => Number(v),
  Boolean: (v: unknown) => Boolean(v),
  'Object.keys': (v: object) => Object.keys(v),
  'Object.entries': (v: object) => Object.entries(v),
  'Array.from': (v: Iterable<unknown>) => Array.from(v),
  'JSON.stringify': (v: unknown, space?: number) => JSON.stringify(v, null, space),
});

export interface ServeOptions extends AccessOptions {
  /** On close, run the requests that have arrived but not run (true, default) or reject them with ShutdownError (false). */
  fulfillFinal?: boolean;
  /** 'auto' (default): requests run as they arrive. 'manual': they wait for `host.processRequests()`. */
  mode?: 'auto' | 'manual';
  /** Functions a client may name in `$passto`, added to (or, with `replaceFunctions`, instead of) DEFAULT_FUNCTIONS. */
  functions?: Record<string, PasstoFunction>;
  replaceFunctions?: boolean;
  /** Longest request line accepted, in bytes (default 16 MiB); a longer one is refused and the connection closed. */
  maxMessageBytes?: number;
  /**
   * A shared secret: clients must prove they know it (HMAC-SHA256 challenge in the hello) before
   * any request runs, and the host proves it knows it too. See docs/security.md.
   */
  secret?: string | Buffer;
  /** How long a client may take to authenticate (ms, default 10000). */
  authTimeoutMs?: number;
  /** Most open connections (default unlimited); one more is refused with a LimitError. */
  maxConnections?: number;
  /**
   * Most requests one connection may have unanswered (default 1024). At the limit the host stops
   * reading from that connection until half have been answered: back-pressure, nothing is dropped.
   */
  maxQueuedPerConnection?: number;
  /** Most ms a request may wait for the lock; after that it is answered with TimeoutError instead of running (default: no limit). */
  lockTimeout?: number;
  /** Let clients in this process use the host without a socket (default true). */
  localBypass?: boolean;
  /**
   * How long close() waits (ms, default 5000) for the requests it runs to finish, and then again for
   * clients to hang up after their last reply. A request still running after that is abandoned:
   * its client sees ConnectionClosedError, and requests queued behind it get ShutdownError.
   */
  closeGraceMs?: number;
}

export class Host<T = unknown> implements SessionHost {
  readonly path: string;
  readonly maxMessageBytes: number;
  private readonly lock: FifoLock;
  private readonly ctx: EvalContext;
  private readonly fulfillFinal: boolean;
  private readonly closeGraceMs: number;
  readonly secret?: string | Buffer;
  private readonly authTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxQueuedPerConnection: number;
  private readonly lockTimeout?: number;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Map<Session, Channel>();
  private closingFlag = false;
  private closePromise?: Promise<void>;
  private server?: net.Server;
  private socketFile?: SocketFileId;

  /** @internal use serve() */
  constructor(
    readonly target: T,
    socketPath: string,
    options: ServeOptions = {},
  ) {
    this.path = isWindowsPipe(socketPath) ? socketPath : path.resolve(socketPath);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.lock = new FifoLock(options.mode ?? 'auto');
    this.fulfillFinal = options.fulfillFinal ?? true;
    this.closeGraceMs = options.closeGraceMs ?? 5000;
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('secret must not be empty');
    this.secret = options.secret;
    this.authTimeoutMs = options.authTimeoutMs ?? 10000;
    this.maxConnections = options.maxConnections ?? Infinity;
    this.maxQueuedPerConnection = Math.max(1, options.maxQueuedPerConnection ?? 1024);
    this.lockTimeout = options.lockTimeout;
    const functions = options.replaceFunctions ? { ...options.functions } : { ...DEFAULT_FUNCTIONS, ...options.functions };
    this.ctx = { functions, access: { expose: options.expose, readonly: options.readonly, policy: options.policy } };
  }

  /** True from listen until close() is called. */
  get listening(): boolean {
    return this.server !== undefined && !this.closingFlag;
  }

  get closing(): boolean {
    return this.closingFlag;
  }

  /** Requests waiting for the lock (in manual mode: waiting for processRequests()). */
  get queued(): number {
    return this.lock.size;
  }

  /** Number of open client connections (socket and in-process). */
  get connections(): number {
    return this.sessions.size;
  }

  /** @internal */
  async listen(localBypass: boolean): Promise<void> {
    // allowHalfOpen: a client that sends its requests and then ends its side (`printf ... | socat`)
    // still gets every reply; the host ends the connection once they are all written.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    server.maxConnections = Infinity;
    this.socketFile = await listenOwnerOnly(server, this.path);
    this.server = server;
    if (localBypass) registerLocal(this.path, this);
  }

  /** Run the requests queued so far (manual mode), and any that arrive meanwhile; resolves with how many ran. */
  processRequests(): Promise<number> {
    return this.lock.drain();
  }

  /** Run `fn` under the same lock as remote requests: no request runs while it does. */
  exclusive<R>(fn: (target: T) => R | Promise<R>): Promise<Awaited<R>> {
    return new Promise<Awaited<R>>((resolve, reject) => {
      this.lock.runExclusive({
        run: () => {
          let r: R | Promise<R>;
          try {
            r = fn(this.target);
          } catch (e) {
            reject(e);
            return;
          }
          if (r instanceof Promise || (r !== null && typeof r === 'object' && typeof (r as unknown as PromiseLike<R>).then === 'function')) {
            return Promise.resolve(r).then(
              (v) => resolve(v as Awaited<R>),
              (e) => reject(e),
            );
          }
          resolve(r as Awaited<R>);
        },
        cancel: () => reject(new Error('the host closed before this exclusive() ran')),
      });
    });
  }

  /** @internal queue one decoded request from a session */
  enqueue(ops: EvalOp[], reply: Replier): void {
    this.lock.push(new QueuedRequest(this, ops, reply, this.lockTimeout === undefined ? 0 : performance.now()));
  }

  /** @internal run one queued request (QueuedRequest calls this when the lock reaches it) */
  runRequest(ops: EvalOp[], reply: Replier, queuedAt: number): void | Promise<void> {
    const lockTimeout = this.lockTimeout;
    if (lockTimeout !== undefined && performance.now() - queuedAt > lockTimeout) {
      reply.error(new TimeoutError(`the request waited more than ${lockTimeout} ms for the host's lock and was not run`));
      return;
    }
    let out: Outcome | Promise<Outcome>;
    try {
      out = evaluate(this.target, ops, this.ctx);
    } catch (e) {
      fail(reply, e);
      return;
    }
    if (out instanceof Promise) return out.then((o) => settle(reply, o), (e) => fail(reply, e));
    settle(reply, out);
  }

  /** @internal an in-process client (local bypass): same session code, no socket. */
  acceptLocal(toClient: (line: string) => void, onEnd: () => void): { send(line: string): void; end(): void } {
    if (this.sessions.size >= this.maxConnections) {
      throw new LimitError('maxConnections', `the host at ${this.path} already has ${this.maxConnections} connections`);
    }
    let ended = false;
    const channel: Channel = {
      send: (line) => {
        if (!ended) queueMicrotask(() => toClient(line));
      },
      end: () => {
        if (ended) return;
        ended = true;
        session.markClosed();
        this.sessions.delete(session);
        queueMicrotask(onEnd);
      },
    };
    const session = new Session(this, channel);
    this.sessions.set(session, channel);
    channel.send(session.hello());
    return {
      send: (line) => queueMicrotask(() => session.onLine(line)),
      end: () => channel.end(),
    };
  }

  private accept(socket: net.Socket): void {
    if (this.closingFlag) {
      socket.destroy();
      return;
    }
    if (this.sessions.size >= this.maxConnections) {
      const refusal = errorToWire(new LimitError('maxConnections', `the host at ${this.path} already has ${this.maxConnections} connections`), { pid: process.pid, path: this.path });
      socket.on('error', () => undefined);
      // Written, then closed both ways: a refused socket is never read, so it must not wait for the client's end.
      socket.end(JSON.stringify({ id: null, kind: 'error', error: refusal }) + '\n', () => socket.destroy());
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay?.(true);

    // Back-pressure: stop reading a client that has too many requests unanswered, or whose
    // replies the socket cannot take; start again once both have drained.
    let inFlight = 0;
    let writeBlocked = false;
    let reading = true;
    let clientEnded = false;
    let hangUpWhenIdle = false;
    const updateFlow = () => {
      const shouldRead = !writeBlocked && inFlight < this.maxQueuedPerConnection;
      if (shouldRead === reading) return;
      if (!shouldRead) {
        reading = false;
        socket.pause();
        splitter.pause();
      } else if (inFlight <= this.maxQueuedPerConnection >> 1) {
        reading = true;
        socket.resume();
        splitter.resume();
      }
    };
    const writer = new LineWriter((data) => {
      const ok = socket.write(data);
      if (!ok && !writeBlocked) {
        writeBlocked = true;
        updateFlow();
        socket.once('drain', () => {
          writeBlocked = false;
          updateFlow();
        });
      }
      return ok;
    });
    let authTimer: NodeJS.Timeout | undefined;
    const channel: Channel = {
      send: (line) => writer.send(line),
      end: () => {
        writer.flush();
        socket.end(); // half-close: a request still arriving gets its NOT_LISTENING answer
      },
      hangUp: () => {
        writer.flush();
        socket.end();
        // A refused client gets a moment to read the refusal (what it still sends is read and
        // dropped, so its writes do not fail first); then the connection is closed both ways, so
        // one that keeps its end open does not keep the connection, or a maxConnections slot.
        setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      },
      authenticated: () => {
        clearTimeout(authTimer);
        splitter.maxBytes = this.maxMessageBytes;
      },
      inFlightChanged: (n) => {
        inFlight = n;
        updateFlow(); // may resume reading held lines, raising inFlight again
        if (inFlight === 0 && hangUpWhenIdle) channel.hangUp!();
        else if (inFlight === 0 && clientEnded && !splitter.holding) channel.end();
      },
    };
    const session = new Session(this, channel);
    this.sessions.set(session, channel);
    const splitter = new LineSplitter(
      {
        line: (text) => session.onLine(text),
        badUtf8: (n) => session.onBadUtf8(n),
        overflow: (n) => {
          if (!session.authenticated) return session.refuse(new AuthError('authentication required: the first message must be an auth message'));
          session.onOverflow(n);
          // Requests that arrived before the oversized line still get their replies: hang up after them.
          hangUpWhenIdle = true;
          if (inFlight === 0) channel.hangUp!();
        },
      },
      session.authenticated ? this.maxMessageBytes : MAX_PRE_AUTH_BYTES,
    );
    if (!session.authenticated) {
      authTimer = setTimeout(() => session.refuse(new AuthError(`the client did not authenticate within ${this.authTimeoutMs} ms`)), this.authTimeoutMs);
    }
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('end', () => {
      // The client will send nothing more: hang up once every request it sent has its reply.
      clientEnded = true;
      if (inFlight === 0) channel.end();
    });
    socket.on('error', () => {
      /* ECONNRESET and friends: 'close' follows */
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      session.markClosed();
      this.sessions.delete(session);
      this.sockets.delete(socket);
    });
    channel.send(session.hello());
  }


  /**
   * Stop: refuse new connections and requests, then run (fulfillFinal) or reject every request
   * that has arrived, send the last replies, close every connection and remove the socket file.
   * Safe to call more than once. From inside a hosted method, call it without awaiting it: the
   * method's own request holds the lock that close() waits for (until closeGraceMs).
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    this.closingFlag = true;
    unregisterLocal(this.path, this);
    const serverClosed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    let drained: Promise<unknown>;
    if (this.fulfillFinal) {
      this.lock.setAuto();
      drained = this.lock.drain();
    } else {
      this.lock.cancelQueued('fulfillFinal: false');
      drained = this.lock.idle(); // the request running now may finish
    }
    // A request that never settles (an async method stuck forever) must not hold close() hostage.
    const finished = await withDeadline(drained, this.closeGraceMs);
    if (!finished) this.lock.cancelQueued(`a request ahead of it did not finish within closeGraceMs, ${this.closeGraceMs} ms`);
    await this.endConnections();
    await serverClosed;
    removeSocketFile(this.path, this.socketFile);
  }

  private async endConnections(): Promise<void> {
    const sockets = [...this.sockets];
    const closed = sockets.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve()))));
    // Flush the last replies and half-close; clients see end-of-stream and hang up.
    for (const channel of [...this.sessions.values()]) channel.end();
    await withDeadline(Promise.all(closed), this.closeGraceMs);
    for (const s of sockets) s.destroy();
    await Promise.all(closed);
    for (const session of this.sessions.keys()) session.markClosed();
    this.sessions.clear();
  }
}

/** How long a refused connection may stay open to read its refusal. */
const REFUSED_LINGER_MS = 1000;

/** Resolves true when `p` settles within `ms`, false otherwise. */
function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p.then(() => true), deadline]).finally(() => clearTimeout(timer));
}

/** A request in the lock's queue: one object per request, no closures (it is on every request's path). */
class QueuedRequest implements Job {
  constructor(
    private readonly host: Host<unknown>,
    private readonly ops: EvalOp[],
    private readonly reply: Replier,
    private readonly queuedAt: number,
  ) {}

  run(): void | Promise<void> {
    return this.host.runRequest(this.ops, this.reply, this.queuedAt);
  }

  cancel(reason: string): void {
    this.reply.shutdown(reason);
  }
}

function settle(reply: Replier, out: Outcome): void {
  if (out.kind === 'self') reply.self();
  else reply.value(out.value);
}

function fail(reply: Replier, e: unknown): void {
  if (e instanceof OpFailure) reply.error(e.error, e.op, e.opName);
  else reply.error(e);
}

/**
 * Host `target` on `socketPath` and start listening. Resolves once clients can connect.
 * A stale socket file is replaced; a path where a live host answers is refused.
 */
export async function serve<T>(target: T, socketPath: string, options: ServeOptions = {}): Promise<Host<T>> {
  const host = new Host(target, socketPath, options);
  await host.listen(options.localBypass ?? true);
  return host;
}
