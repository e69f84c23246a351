/**
 * Host: serves one object on a socket path. Accepts connections (a SocketLink and a Session each),
 * runs every request under one FIFO lock, and shuts down per `fulfillFinal`. Its state is in
 * #private fields: a client that reaches a Host object (the access rules refuse it anyway) finds
 * nothing but the getters below.
 */
import net from 'node:net';
import path from 'node:path';
import type { AccessOptions } from '../access';
import { type EvalContext, type EvalOp, evaluate, OpFailure, type Outcome } from '../evaluate';
import { isWindowsPipe, removeSocketFile, type SocketFileId } from '../transport/socket-path';
import { listenOwnerOnly } from '../transport/path-claim';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/lines';
import { LimitError, TimeoutError } from '../errors';
import { errorToWire } from '../protocol/error-wire';
import { Admission, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNAUTHENTICATED } from './admission';
import { DEFAULT_FLOW_LIMITS, FlowBudget } from './flow';
import { FifoLock, type Job } from './lock';
import { type Channel, type JobGate, type Replier, Session, type SessionHost } from './session';
import { type LinkHost, SocketLink } from './socket-link';
import { type LocalHost, registerLocal, unregisterLocal } from './local-registry';
import { markLibraryOwned } from '../owned';
import { accessOptions } from '../access';
import { checkSocketPath } from '../transport/socket-path';
import { jsonOf, stringOf } from '../safe-functions';

export type PasstoFunction = (value: any, ...args: any[]) => unknown;

/** Functions every host offers to `$passto` unless `functions` replaces them. */
export const DEFAULT_FUNCTIONS: Readonly<Record<string, PasstoFunction>> = Object.freeze({
  String: stringOf, // String(v), without a function's source code
  Number: (v: unknown) => Number(v),
  Boolean: (v: unknown) => Boolean(v),
  'Object.keys': (v: object) => Object.keys(v),
  'Object.entries': (v: object) => Object.entries(v),
  'Array.from': (v: Iterable<unknown>) => Array.from(v),
  'JSON.stringify': jsonOf, // JSON.stringify(v, null, space), refusing the library's objects and I/O handles inside
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
  /** How long a client may take to authenticate (ms, default 5000). */
  authTimeoutMs?: number;
  /** Most open connections that have authenticated, or need not (default 256; Infinity for no limit); one more is refused with a LimitError. */
  maxConnections?: number;
  /**
   * With a secret: most connections waiting to authenticate (default 128). They never take one of
   * the `maxConnections` slots; when one more arrives, the one that has waited longest is dropped.
   */
  maxUnauthenticated?: number;
  /**
   * Most requests one connection may have unanswered (default 1024). At the limit the host stops
   * reading from that connection until half have been answered: back-pressure, nothing is dropped.
   */
  maxQueuedPerConnection?: number;
  /** Bytes of request lines one connection may have unanswered before the host stops reading it (default 16 MiB). */
  maxQueuedBytesPerConnection?: number;
  /**
   * Bytes of replies one connection may have waiting to be sent (default 8 MiB): past it the host
   * stops reading that connection and runs none of its requests until the client has read them.
   */
  maxUnsentBytesPerConnection?: number;
  /** The same two bounds over all connections (default 64 MiB each); see docs/security.md. */
  maxQueuedBytesTotal?: number;
  maxUnsentBytesTotal?: number;
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

/** What a queued request needs to run: the hosted object and how to reach into it. */
interface Runner {
  readonly target: unknown;
  readonly ctx: EvalContext;
  readonly lockTimeout?: number;
}

/** An in-process connection (local bypass). */
interface LocalLink {
  session: Session;
  end(): void;
}

let listenHost: <T>(host: Host<T>, localBypass: boolean) => Promise<void>;

export class Host<T = unknown> {
  readonly #target: T;
  readonly #path: string;
  readonly #maxMessageBytes: number;
  readonly #lock: FifoLock;
  readonly #runner: Runner;
  readonly #fulfillFinal: boolean;
  readonly #closeGraceMs: number;
  readonly #secret?: string | Buffer;
  readonly #authTimeoutMs: number;
  readonly #admission: Admission;
  readonly #budget: FlowBudget;
  readonly #links = new Set<SocketLink>();
  readonly #locals = new Set<LocalLink>();
  #closing = false;
  #closePromise?: Promise<void>;
  #server?: net.Server;
  #socketFile?: SocketFileId;
  /** What sessions and socket links see of the host (never the Host itself). */
  readonly #sessionHost: SessionHost;
  readonly #linkHost: LinkHost;
  /** What the local registry holds for the bypass. */
  readonly #localEntry: LocalHost = { acceptLocal: (toClient, onEnd) => this.#acceptLocal(toClient, onEnd) };

  static {
    listenHost = (host, localBypass) => host.#listen(localBypass);
  }

  /** @internal use serve() */
  constructor(target: T, socketPath: string, options: ServeOptions = {}) {
    markLibraryOwned(this);
    this.#target = target;
    this.#path = isWindowsPipe(socketPath) ? socketPath : path.resolve(socketPath);
    this.#maxMessageBytes = positive(options, 'maxMessageBytes', DEFAULT_MAX_MESSAGE_BYTES);
    this.#lock = new FifoLock(options.mode ?? 'auto');
    this.#fulfillFinal = options.fulfillFinal ?? true;
    this.#closeGraceMs = options.closeGraceMs ?? 5000;
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('secret must not be empty');
    this.#secret = options.secret;
    this.#authTimeoutMs = positive(options, 'authTimeoutMs', 5000);
    this.#admission = new Admission({
      maxConnections: positive(options, 'maxConnections', DEFAULT_MAX_CONNECTIONS),
      maxUnauthenticated: positive(options, 'maxUnauthenticated', DEFAULT_MAX_UNAUTHENTICATED),
    });
    this.#budget = new FlowBudget({
      maxQueuedPerConnection: positive(options, 'maxQueuedPerConnection', DEFAULT_FLOW_LIMITS.maxQueuedPerConnection),
      maxQueuedBytesPerConnection: positive(options, 'maxQueuedBytesPerConnection', DEFAULT_FLOW_LIMITS.maxQueuedBytesPerConnection),
      maxUnsentBytesPerConnection: positive(options, 'maxUnsentBytesPerConnection', DEFAULT_FLOW_LIMITS.maxUnsentBytesPerConnection),
      maxQueuedBytesTotal: positive(options, 'maxQueuedBytesTotal', DEFAULT_FLOW_LIMITS.maxQueuedBytesTotal),
      maxUnsentBytesTotal: positive(options, 'maxUnsentBytesTotal', DEFAULT_FLOW_LIMITS.maxUnsentBytesTotal),
    });
    const functions = options.replaceFunctions ? { ...options.functions } : { ...DEFAULT_FUNCTIONS, ...options.functions };
    this.#runner = {
      target,
      ctx: { functions, access: accessOptions(options) },
      lockTimeout: options.lockTimeout,
    };
    const host = this;
    this.#sessionHost = {
      path: this.#path,
      maxMessageBytes: this.#maxMessageBytes,
      secret: this.#secret,
      acceptRegExp: options.acceptRegExp === true,
      get closing() {
        return host.#closing;
      },
      enqueue: (ops, reply, gate) => this.#enqueue(ops, reply, gate),
    };
    this.#linkHost = {
      path: this.#path,
      maxMessageBytes: this.#maxMessageBytes,
      authTimeoutMs: this.#authTimeoutMs,
      admission: this.#admission,
      budget: this.#budget,
      requeue: (jobs) => this.#lock.requeue(jobs),
      newSession: (channel, flow) => new Session(this.#sessionHost, channel, flow),
      gone: (link) => this.#links.delete(link),
    };
  }

  /** The absolute socket path (or the pipe name). */
  get path(): string {
    return this.#path;
  }

  /** The hosted object. */
  get target(): T {
    return this.#target;
  }

  /** The longest request line accepted, in bytes. */
  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  /** True from listen until close() is called. */
  get listening(): boolean {
    return this.#server !== undefined && !this.#closing;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Requests waiting for the lock (in manual mode: waiting for processRequests()), including those of connections that are not reading their replies. */
  get queued(): number {
    return this.#lock.size + this.#budget.parked;
  }

  /** Number of open client connections (socket and in-process, authenticated or not). */
  get connections(): number {
    return this.#links.size + this.#locals.size;
  }

  async #listen(localBypass: boolean): Promise<void> {
    // allowHalfOpen: a client that sends its requests and then ends its side (`printf ... | socat`)
    // still gets every reply; the host ends the connection once they are all written.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    server.maxConnections = Infinity;
    this.#socketFile = await listenOwnerOnly(server, this.#path);
    // accept() itself can fail (EMFILE when the process is out of file descriptors): that is the
    // one connection's loss, not the host's; without a listener Node would throw it.
    server.on('error', () => undefined);
    this.#server = server;
    if (localBypass) registerLocal(this.#path, this.#localEntry);
  }

  /** Run the requests queued so far (manual mode), and any that arrive meanwhile; resolves with how many ran. */
  processRequests(): Promise<number> {
    return this.#lock.drain();
  }

  /** Run `fn` under the same lock as remote requests: no request runs while it does. */
  exclusive<R>(fn: (target: T) => R | Promise<R>): Promise<Awaited<R>> {
    return new Promise<Awaited<R>>((resolve, reject) => {
      this.#lock.runExclusive({
        run: () => {
          let r: R | Promise<R>;
          try {
            r = fn(this.#target);
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

  #enqueue(ops: EvalOp[], reply: Replier, gate: JobGate | undefined): void {
    const job = new QueuedRequest(this.#runner, ops, reply, this.#runner.lockTimeout === undefined ? 0 : performance.now(), gate);
    // Behind this connection's parked requests, if it has any: its requests run in the order it sent them.
    if (gate?.hasParked) gate.park(job);
    else this.#lock.push(job);
  }

  /** An in-process client (local bypass): same session code, no socket. */
  #acceptLocal(toClient: (line: string) => void, onEnd: () => void): { send(line: string): void; end(): void } {
    if (this.#admission.full) {
      throw new LimitError('maxConnections', `the host at ${this.#path} already has ${this.#admission.limits.maxConnections} connections`);
    }
    let ended = false;
    const admitted = { evict: () => undefined };
    this.#admission.enter(admitted);
    const local: LocalLink = {
      session: undefined as unknown as Session,
      end: () => {
        if (ended) return;
        ended = true;
        local.session.markClosed();
        this.#locals.delete(local);
        this.#admission.leave(admitted);
        queueMicrotask(onEnd);
      },
    };
    const channel: Channel = {
      send: (line) => {
        if (!ended) queueMicrotask(() => toClient(line));
      },
      end: () => local.end(),
    };
    local.session = new Session(this.#sessionHost, channel);
    this.#locals.add(local);
    channel.send(local.session.hello());
    return {
      send: (line) => queueMicrotask(() => local.session.onLine(line)),
      end: () => local.end(),
    };
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    if (this.#admission.full) {
      // No slot: say so and close (with a secret too: there would be no slot after authenticating).
      const refusal = errorToWire(new LimitError('maxConnections', `the host at ${this.#path} already has ${this.#admission.limits.maxConnections} connections`), {
        pid: process.pid,
        path: this.#path,
      });
      socket.on('error', () => undefined);
      // Written, then closed both ways: a refused socket is never read, so it must not wait for the client's end.
      socket.end(JSON.stringify({ id: null, kind: 'error', error: refusal }) + '\n', () => socket.destroy());
      return;
    }
    const link = new SocketLink(socket, this.#linkHost);
    this.#links.add(link);
    link.start();
  }

  /**
   * Stop: refuse new connections and requests, then run (fulfillFinal) or reject every request
   * that has arrived, send the last replies, close every connection and remove the socket file.
   * Safe to call more than once. From inside a hosted method, call it without awaiting it: the
   * method's own request holds the lock that close() waits for (until closeGraceMs).
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#shutdown();
    return this.#closePromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    // What the host has read from a socket has arrived, even if back-pressure held it back: it
    // is queued now, before new requests are refused. (Bytes still in the kernel have not.)
    for (const link of [...this.#links]) link.takeArrived();
    this.#closing = true;
    unregisterLocal(this.#path, this.#localEntry);
    const serverClosed = new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    let settled: Promise<unknown>;
    if (this.#fulfillFinal) {
      this.#lock.setAuto();
      settled = this.#allRun();
    } else {
      this.#cancelWaiting('fulfillFinal: false');
      settled = this.#lock.idle(); // the request running now may finish
    }
    // A request that never settles (an async method stuck forever), or a connection that never
    // reads its replies, must not hold close() hostage.
    const finished = await withDeadline(settled, this.#closeGraceMs);
    if (!finished) this.#cancelWaiting(`a request ahead of it did not finish within closeGraceMs, ${this.#closeGraceMs} ms`);
    await this.#endConnections();
    await serverClosed;
    removeSocketFile(this.#path, this.#socketFile);
  }

  /** Resolves once every queued request has run, including those parked by connections that were not reading. */
  async #allRun(): Promise<void> {
    for (;;) {
      await this.#lock.drain();
      if (this.#budget.parked === 0 && this.#lock.size === 0 && !this.#lock.busy) return;
      if (this.#budget.parked > 0) await this.#budget.nextUnpark();
    }
  }

  #cancelWaiting(reason: string): void {
    this.#budget.cancelParked(reason);
    this.#lock.cancelQueued(reason);
  }

  async #endConnections(): Promise<void> {
    const links = [...this.#links];
    // Flush the last replies and half-close; clients see end-of-stream and hang up.
    for (const link of links) link.end();
    for (const local of [...this.#locals]) local.end();
    await withDeadline(Promise.all(links.map((l) => l.closed)), this.#closeGraceMs);
    for (const link of links) link.destroy();
    await Promise.all(links.map((l) => l.closed));
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p.then(() => true), deadline]).finally(() => clearTimeout(timer));
}

/** A number option that must be positive (Infinity allowed): a clear TypeError instead of a host that misbehaves. */
function positive(options: ServeOptions, name: keyof ServeOptions, fallback: number): number {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0)) throw new TypeError(`${name} must be a positive number, got ${String(v)}`);
  return v;
}

/** A request in the lock's queue: one object per request, no closures (it is on every request's path). */
class QueuedRequest implements Job {
  readonly #runner: Runner;
  readonly #ops: EvalOp[];
  readonly #reply: Replier;
  readonly #queuedAt: number;
  readonly #gate: JobGate | undefined;

  constructor(runner: Runner, ops: EvalOp[], reply: Replier, queuedAt: number, gate: JobGate | undefined) {
    this.#runner = runner;
    this.#ops = ops;
    this.#reply = reply;
    this.#queuedAt = queuedAt;
    this.#gate = gate;
  }

  ready(): boolean {
    return this.#gate === undefined || this.#gate.mayRun();
  }

  park(): void {
    this.#gate!.park(this);
  }

  run(): void | Promise<void> {
    return runRequest(this.#runner, this.#ops, this.#reply, this.#queuedAt);
  }

  cancel(reason: string): void {
    this.#reply.shutdown(reason);
  }
}

/** Run one queued request (when the lock reaches it). */
function runRequest(runner: Runner, ops: EvalOp[], reply: Replier, queuedAt: number): void | Promise<void> {
  const lockTimeout = runner.lockTimeout;
  if (lockTimeout !== undefined && performance.now() - queuedAt > lockTimeout) {
    reply.error(new TimeoutError(`the request waited more than ${lockTimeout} ms for the host's lock and was not run`));
    return;
  }
  let out: Outcome | Promise<Outcome>;
  try {
    out = evaluate(runner.target, ops, runner.ctx);
  } catch (e) {
    fail(reply, e);
    return;
  }
  if (out instanceof Promise) return out.then((o) => settle(reply, o), (e) => fail(reply, e));
  settle(reply, out);
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
  checkSocketPath(socketPath); // before it is resolved: "127.0.0.1:7777" must not become a file in the working directory
  const host = new Host(target, socketPath, options);
  await listenHost(host, options.localBypass ?? true);
  return host;
}
