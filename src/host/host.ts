/**
 * Host: serves one object at an address. A listener per transport hands it Links; each becomes a
 * HostConnection (handshake, then a Peer whose requests come here). The host owns the one FIFO
 * lock every request runs under, and shuts down per `fulfillFinal`. Its state is in #private
 * fields: a client that reaches a Host object (the access rules refuse it anyway) finds nothing
 * but the getters below.
 */
import type { AccessOptions } from '../access';
import { accessOptions } from '../access';
import { LimitError, type TlsRefusedError } from '../errors';
import { markLibraryOwned } from '../owned';
import { errorToWire } from '../protocol/error-wire';
import type { Op } from '../protocol/wire-types';
import { errorReplyLine } from '../protocol/wire';
import { jsonOf, stringOf } from '../safe-functions';
import type { Link } from '../transport/link';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/lines';
import { listenLocal } from '../transport/local-link';
import { type Address, checkAddressOptions, formatAddress, parseAddress } from '../transport/address';
import { listenTcp } from '../transport/tcp';
import { listenTls, type TlsOptions } from '../transport/tls';
import { MessagePortLink, type MessagePortLike, portAddress } from '../transport/message-port-link';
import { type Listener, listenUnix } from '../transport/unix';
import { BesideRuns, type BesideRule, besideRule, type ConcurrentOption } from './concurrent';
import { Admission, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNAUTHENTICATED } from './admission';
import { type ConnectionHost, HostConnection } from './connection';
import { DEFAULT_FLOW_LIMITS, FlowBudget } from './flow';
import { FifoLock } from './lock';
import { callAsRequest, type RequestConnection } from './request-context';
import { type JobGate, QueuedRequest, type Replier, type Runner } from './serving';
import { checkStreamWindow } from '../peer/streams';

/** A message port's host has no address to parse: its name (`port:…`) says which port. */
type PortName = { kind: 'port'; name: string };

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
  /**
   * Methods whose calls run without taking the lock (long polls, I/O waits): a list of the hosted
   * object's method names, or a predicate `(name, args, path) => boolean`. Only a chain of reads
   * ending in one call counts as a call of a method (see "Methods beside the lock" in docs/api.md);
   * everything else stays serialized. Default: none.
   */
  concurrent?: ConcurrentOption;
  /**
   * For a tls:// address: the host's key and certificate, and the CA its clients' certificates
   * must be signed by (mutual authentication; docs/transports.md).
   */
  tls?: TlsOptions;
  /** Let clients in this process use the host without a socket (default true). */
  localBypass?: boolean;
  /**
   * How long close() waits (ms, default 5000) for the requests it runs to finish, and then again for
   * clients to hang up after their last reply. A request still running after that is abandoned:
   * its client sees ConnectionClosedError, and requests queued behind it get ShutdownError.
   */
  closeGraceMs?: number;
  /**
   * Protocol v2 streams a client passes as arguments (docs/api.md "Streams"): how many items it may
   * send ahead of what the host has read, fixed (1 to 4096). By default the window adapts to the
   * items' size: 64 (DEFAULT_STREAM_WINDOW) before the first item, then about
   * STREAM_WINDOW_BYTES (1 MiB) of items, from 2 to 4096 of them.
   */
  streamWindow?: number;
}

/**
 * serve(obj, { port }): a host whose one connection is a message port (a worker's parentPort, a
 * MessagePort, a Worker, a child's IPC channel, Electron's MessagePortMain…). A port is private to
 * its two ends, so there is no address to claim, no local bypass, and exactly one peer.
 */
export interface PortServeOptions extends Omit<ServeOptions, 'localBypass' | 'maxConnections' | 'maxUnauthenticated'> {
  port: MessagePortLike;
}

let listenHost: <T>(host: Host<T>, localBypass: boolean) => Promise<void>;
let listenPortHost: <T>(host: Host<T>, port: MessagePortLike) => void;

export class Host<T = unknown> {
  readonly #target: T;
  readonly #address: Address | PortName;
  readonly #tls?: TlsOptions;
  /** The address as text; for a port asked as 0, the real port once listening. */
  #path: string;
  readonly #maxMessageBytes: number;
  readonly #lock: FifoLock;
  readonly #runner: Runner;
  readonly #fulfillFinal: boolean;
  readonly #closeGraceMs: number;
  readonly #secret?: string | Buffer;
  readonly #authTimeoutMs: number;
  readonly #admission: Admission;
  readonly #budget: FlowBudget;
  readonly #connections = new Set<HostConnection>();
  readonly #besideRule: BesideRule;
  readonly #beside = new BesideRuns();
  #closing = false;
  #closePromise?: Promise<void>;
  #listener?: Listener;
  #unlistenLocal?: () => void;
  /** What connections see of the host (never the Host itself). */
  readonly #connectionHost: ConnectionHost;

  static {
    listenHost = (host, localBypass) => host.#listen(localBypass);
    listenPortHost = (host, port) => host.#listenPort(port);
  }

  /** @internal use serve() */
  constructor(target: T, address: Address | PortName, options: ServeOptions = {}) {
    markLibraryOwned(this);
    this.#target = target;
    this.#address = address;
    this.#tls = options.tls;
    this.#path = address.kind === 'port' ? address.name : formatAddress(address);
    this.#maxMessageBytes = positive(options, 'maxMessageBytes', DEFAULT_MAX_MESSAGE_BYTES);
    checkStreamWindow(options.streamWindow);
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
    this.#besideRule = besideRule(options.concurrent);
    const functions = options.replaceFunctions ? { ...options.functions } : { ...DEFAULT_FUNCTIONS, ...options.functions };
    this.#runner = {
      target,
      ctx: { functions, access: accessOptions(options), invoke: callAsRequest },
      lockTimeout: options.lockTimeout,
      twoWay: false,
      lock: this.#lock,
    };
    const host = this;
    this.#connectionHost = {
      get address() {
        return host.#path;
      },
      maxMessageBytes: this.#maxMessageBytes,
      secret: this.#secret,
      authTimeoutMs: this.#authTimeoutMs,
      decodeOptions: { regexp: options.acceptRegExp === true },
      streamWindow: options.streamWindow,
      admission: this.#admission,
      budget: this.#budget,
      get closing() {
        return host.#closing;
      },
      enqueue: (ops, strict, reply, gate, to, from) => this.#enqueue(ops, strict, reply, gate, to, from),
      runInTurn: (ops, strict, reply, to, from, turn) => {
        // Admitted into a running turn: it runs now, beside the lock its turn holds (the holder waits on it).
        const job = new QueuedRequest(this.#runner, ops, strict, reply, undefined, to, from, turn);
        void job.run();
        return job;
      },
      upgraded: () => {
        this.#runner.twoWay = true;
      },
      requeue: (jobs) => this.#lock.requeue(jobs),
      gone: (c) => this.#connections.delete(c),
    };
  }

  /** The address: the absolute socket path (or the pipe name), tcp://HOST:PORT / tls://HOST:PORT with the real port, or for a port its name (`port:parent thread`, `port:child 4242`…). */
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
    return this.#listener !== undefined && !this.#closing;
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
    return this.#connections.size;
  }

  /**
   * A snapshot: open connections, handles (ref() objects) held by clients over all connections,
   * streams the host is producing (handed out to clients and not yet ended), and requests
   * waiting for the lock.
   */
  stats(): { connections: number; handles: number; streams: number; queued: number } {
    let handles = 0;
    let streams = 0;
    for (const c of this.#connections) {
      handles += c.handles;
      streams += c.streams;
    }
    return { connections: this.#connections.size, handles, streams, queued: this.queued };
  }

  async #listen(localBypass: boolean): Promise<void> {
    const a = this.#address;
    const accept = (link: Link) => this.#accept(link);
    if (a.kind === 'tcp' || a.kind === 'tls') {
      const listener = a.kind === 'tcp' ? await listenTcp(a.host, a.port, this.#maxMessageBytes, accept) : await listenTls(a.host, a.port, this.#tls!, this.#maxMessageBytes, accept, (link, why) => this.#refuse(link, why));
      this.#path = listener.address;
      this.#listener = listener;
    } else this.#listener = await listenUnix(this.#path, this.#maxMessageBytes, accept);
    if (localBypass) this.#unlistenLocal = listenLocal(this.#path, (link) => this.#accept(link));
  }

  /** Serve on a port: its one connection starts now (the far side's messages wait in the link until then). */
  #listenPort(port: MessagePortLike): void {
    const link = new MessagePortLink(port, this.#path, this.#maxMessageBytes);
    this.#listener = { close: () => Promise.resolve() }; // nothing to stop accepting: a port carries one connection
    this.#accept(link);
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

  #enqueue(ops: Op[], strict: boolean, reply: Replier, gate: JobGate, to?: object, from?: RequestConnection): QueuedRequest {
    const job = new QueuedRequest(this.#runner, ops, strict, reply, gate, to, from);
    // `concurrent` names the hosted object's methods: a chain starting at a handle (`to`) takes the lock.
    const beside = to === undefined && this.#besideRule?.(ops) === true;
    if (beside) job.besideLock(this.#beside);
    // Behind this connection's parked requests, if it has any: its requests run in the order it sent them.
    if (gate.hasParked || (beside && !gate.mayRun())) gate.park(job);
    else if (beside) job.run();
    else this.#lock.push(job);
    return job;
  }

  /** A new connection, from any listener (a socket, or an in-process client of the local bypass). */
  #accept(link: Link): void {
    if (this.#closing) {
      link.destroy();
      return;
    }
    if (this.#admission.full) {
      // No slot: say so and close (with a secret too: there would be no slot after authenticating).
      // A refused connection is never read, so it is closed as soon as the refusal is written.
      this.#refuse(link, new LimitError('maxConnections', `the host at ${this.#path} already has ${this.#admission.limits.maxConnections} connections`));
      return;
    }
    const connection = new HostConnection(link, this.#connectionHost);
    this.#connections.add(connection);
    connection.start();
  }

  /** Tell a connection why it is refused (in place of the hello) and close it; it is never read. */
  #refuse(link: Link, refusal: Error): void {
    link.send(errorReplyLine(null, errorToWire(refusal, { pid: process.pid, path: this.#path })));
    link.close();
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
    for (const connection of [...this.#connections]) connection.takeArrived();
    this.#closing = true;
    this.#unlistenLocal?.();
    // Stop accepting; the listener is done once every connection it accepted has closed.
    const listenerClosed = this.#listener ? this.#listener.close() : Promise.resolve();
    let settled: Promise<unknown>;
    if (this.#fulfillFinal) {
      this.#lock.setAuto();
      settled = Promise.all([this.#allRun(), this.#beside.idle()]);
    } else {
      this.#cancelWaiting('fulfillFinal: false');
      settled = Promise.all([this.#lock.idle(), this.#beside.idle()]); // the requests running now may finish
    }
    // A request that never settles (an async method stuck forever), or a connection that never
    // reads its replies, must not hold close() hostage.
    const finished = await withDeadline(settled, this.#closeGraceMs);
    if (!finished) this.#cancelWaiting(`a request ahead of it did not finish within closeGraceMs, ${this.#closeGraceMs} ms`);
    await this.#endConnections();
    await listenerClosed;
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
    const connections = [...this.#connections];
    // Flush the last replies and half-close; clients see end-of-stream and hang up.
    for (const c of connections) c.end();
    await withDeadline(Promise.all(connections.map((c) => c.closed)), this.#closeGraceMs);
    for (const c of connections) c.destroy();
    await Promise.all(connections.map((c) => c.closed));
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

/**
 * Host `target` at `address` (a socket path, unix:PATH, tls://HOST:PORT, tcp://127.0.0.1:PORT;
 * docs/transports.md) and start listening. Resolves once clients can connect. A stale socket file
 * is replaced; a path where a live host answers is refused.
 * Or host it on a message port, for the one client at its other end: `serve(obj, { port })`.
 */
export async function serve<T>(target: T, options: PortServeOptions): Promise<Host<T>>;
// The address form last: Parameters<typeof serve> (used by callers' helpers) sees this one.
export async function serve<T>(target: T, address: string, options?: ServeOptions): Promise<Host<T>>;
export async function serve<T>(target: T, address: string | PortServeOptions, options: ServeOptions = {}): Promise<Host<T>> {
  if (typeof address !== 'string') return servePort(target, address);
  // Parsed first: "127.0.0.1:7777" must not become a file in the working directory.
  const parsed = parseAddress(address);
  checkAddressOptions(parsed, 'serve', options, address);
  const host = new Host(target, parsed, options);
  await listenHost(host, options.localBypass ?? true);
  return host;
}

function servePort<T>(target: T, options: PortServeOptions): Promise<Host<T>> {
  const { port, ...rest } = options ?? ({} as PortServeOptions);
  if (port === null || typeof port !== 'object') throw new TypeError('serve(obj, { port }) needs a port: a MessagePort, parentPort, Worker, ChildProcess or process with an IPC channel');
  const host = new Host(target, { kind: 'port', name: portAddress(port) }, { ...rest, localBypass: false, maxConnections: 1 });
  listenPortHost(host, port);
  return Promise.resolve(host);
}
