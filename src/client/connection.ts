/**
 * Connection: one client's connection to a host. It dials the address (in process when this
 * process hosts it: the local bypass), runs the handshake, and then speaks through its Peer, which
 * owns request ids and the table of pending requests. Requests leave in the order they were made
 * (all requests made in one tick go out in one write), and every pending request ends exactly
 * once: by its reply, by a timeout, or by the connection closing. With `reconnect`, a request made
 * after the connection dropped dials again first.
 */
import { EventEmitter } from 'node:events';
import { AuthError, NotListeningError, ProtocolError, TimeoutError } from '../errors';
import { markLibraryOwned } from '../owned';
import { LineSealer, LineVerifier } from '../protocol/line-auth';
import { type Feature, PROTOCOL_V2, type Op } from '../protocol/wire-types';
import { clientHelloLine, type Json } from '../protocol/wire';
import { NEEDS_CALLER, Peer, type ReplySink } from '../peer/peer';
import { CallbackHandler, currentTurn } from './callbacks';
import { checkStreamWindow, PeerStreams } from '../peer/streams';
import type { Link } from '../transport/link';
import { MAX_SEALED_BATCH_CHARS } from '../transport/lines';
import { dialLocal } from '../transport/local-link';
import { type Address, checkAddressOptions, formatAddress, parseAddress } from '../transport/address';
import { dialSsh, type SshOptions } from '../transport/ssh';
import { dialTcp } from '../transport/tcp';
import { dialTls, type TlsOptions } from '../transport/tls';
import { MessagePortLink, type MessagePortLike, portAddress } from '../transport/message-port-link';
import { dialUnix } from '../transport/unix';
import { ClientHandshake, type Greeting } from './handshake';

export { NEEDS_CALLER };
export type { ReplySink };

/** Longest line the client reads from a host: replies may be larger than requests (the client trusts its host more than the host trusts clients). */
const REPLY_LINE_LIMIT = 1 << 30;

/** What a settled request gives back: a value, or "the hosted object itself". */
export type Result = { kind: 'value'; value: unknown } | { kind: 'self' };

export interface ConnectOptions {
  /** Milliseconds to wait for the connection and the host's hello (default 5000). */
  connectTimeout?: number;
  /** Default per-request timeout in ms; 0 or undefined means none. The request may still run on the host. */
  timeout?: number;
  /** Use an in-process host directly when the path is hosted in this process (default true). */
  localBypass?: boolean;
  /**
   * How a remote error's stack shows the code that made the call, under the `--- remote` line:
   * true (default): the awaiting async functions' frames (V8's async stack trace; free);
   * a number N: also N synchronous frames captured where each chain starts (costs µs per chain,
   * useful for code that uses `.then()` instead of `await`); false: remote frames only.
   */
  captureStack?: boolean | number;
  /** The host's shared secret, when it has one (mutual HMAC challenge; see docs/security.md). */
  secret?: string | Buffer;
  /** For a tls:// address: this client's key and certificate, and the CA that signed the host's (docs/transports.md). */
  tls?: TlsOptions;
  /** For an ssh:// address: more ssh arguments (identity, known_hosts), the ssh program, the remote command. */
  ssh?: SshOptions;
  /**
   * After the connection drops, connect again on the next request instead of failing with
   * NotListeningError (default false). Requests in flight when it dropped still reject with
   * ConnectionClosedError: they are never re-sent, since they may have run.
   */
  reconnect?: boolean;
  /** Called with the error of a request nobody awaited (`remote.x = 1`, an un-awaited call). Default: process.emitWarning. */
  onUnobservedError?: (err: Error) => void;
  /**
   * Reading (or deleting) a member that does not exist rejects with MissingMemberError, which
   * names close matches (`remote.countr` → did you mean "count"?), instead of giving `undefined`.
   * Default false. Sent with each request (the `strict` field of docs/protocol.md).
   */
  strict?: boolean;
  /**
   * The protocol to speak: 2 (default, when the host offers it) passes functions, handles and
   * streams by reference and lets the host call back; 1 keeps to protocol v1 (values only).
   */
  protocol?: 1 | 2;
  /**
   * Protocol v2 streams (docs/api.md "Streams"): how many items of a stream the host may send
   * ahead of what this client has read, fixed (1 to 4096). By default the window adapts to the
   * items' size: 64 (DEFAULT_STREAM_WINDOW) before the first item, then about
   * STREAM_WINDOW_BYTES (1 MiB) of items, from 2 to 4096 of them.
   */
  streamWindow?: number;
}

/** connect({ port }): the client of the host at the other end of a message port (one connection per port). */
export interface PortConnectOptions extends Omit<ConnectOptions, 'localBypass' | 'reconnect'> {
  port: MessagePortLike;
}

/** A message port's connection has no address to parse: its name (`port:…`) says which port. */
type PortName = { kind: 'port'; name: string };

/**
 * What `remote.$connection` emits. `close`: an open connection ended (the host closed or died,
 * the link broke, or this client closed it); `reason` says which (a NotListeningError, with the
 * underlying error as its `cause` when there is one). `reconnect` (with `reconnect: true`): a
 * request made after a drop connected again, to a host whose pid is `hostPid`; listeners run
 * before that request is sent, so requests they make (resubscribing) go first.
 */
export interface ConnectionEvents {
  close: [reason: Error];
  reconnect: [info: { hostPid: number }];
}

export class Connection extends EventEmitter<ConnectionEvents> {
  readonly path: string;
  readonly #address: Address | PortName;
  hostPid = 0;
  /** Whether this connection talks to a host in the same process (no socket). */
  local = false;
  readonly options: ConnectOptions;
  #link?: Link;
  #peer?: Peer;
  /** connect({ port }): the port, until its one connection has been dialled. */
  #port?: MessagePortLike;
  #portDialled = false;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Makes the stand-in for a host's `$handle` (client/proxy.ts sets it: a Remote proxy whose chains carry "to"). */
  handleMaker?: (id: number, peer: Peer) => object;
  #closedByClient = false;
  #closeReason?: Error;
  /** Set while a reconnect is under way: requests made meanwhile wait for it. */
  #reopening?: Promise<void>;
  readonly #closeWaiters: (() => void)[] = [];

  private constructor(address: Address | PortName, options: ConnectOptions) {
    super();
    markLibraryOwned(this);
    this.#address = address;
    this.path = address.kind === 'port' ? address.name : formatAddress(address);
    this.options = { ...options };
  }

  /** Open a connection and wait for the host's hello. Rejects with NotListeningError when nobody serves the path. */
  static async open(address: string, options: ConnectOptions = {}): Promise<Connection> {
    const parsed = parseAddress(address);
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('secret must not be empty');
    checkAddressOptions(parsed, 'connect', options, address);
    checkStreamWindow(options.streamWindow);
    const conn = new Connection(parsed, options);
    await conn.#establish();
    return conn;
  }

  /** Open the connection at the other end of a message port and wait for the host's hello. */
  static async openPort(options: PortConnectOptions): Promise<Connection> {
    const { port, ...rest } = options ?? ({} as PortConnectOptions);
    if (port === null || typeof port !== 'object') throw new TypeError('connect({ port }) needs a port: a MessagePort, parentPort, Worker, ChildProcess or process with an IPC channel');
    if (rest.secret !== undefined && rest.secret.length === 0) throw new TypeError('secret must not be empty');
    checkStreamWindow(rest.streamWindow);
    const conn = new Connection({ kind: 'port', name: portAddress(port) }, { ...rest, localBypass: false });
    conn.#port = port;
    await conn.#establish();
    return conn;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#peer?.inFlight ?? 0;
  }

  /** Dial (in process when the address is hosted here, else over the socket) and run the handshake. */
  async #establish(): Promise<void> {
    this.#state = 'connecting';
    this.#closeReason = undefined;
    const local = this.options.localBypass === false || this.#address.kind === 'ssh' || this.#address.kind === 'port' ? undefined : dialLocal(this.path);
    this.local = local !== undefined;
    if (local) return this.#greet(local, undefined);
    const timeoutMs = this.options.connectTimeout ?? 5000;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new TimeoutError(`no hello from a host at ${this.path} within ${timeoutMs} ms`)), timeoutMs);
    try {
      await this.#greet(await this.#dial(deadline.signal), deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Open a link to the host by the address's transport. */
  #dial(signal: AbortSignal): Promise<Link> {
    const a = this.#address;
    switch (a.kind) {
      case 'unix':
      case 'pipe':
        return dialUnix(a.path, signal, REPLY_LINE_LIMIT);
      case 'tcp':
        return dialTcp(a.host, a.port, this.path, signal, REPLY_LINE_LIMIT);
      case 'tls':
        return dialTls(a.host, a.port, this.options.tls ?? {}, this.path, signal, REPLY_LINE_LIMIT);
      case 'ssh':
        return dialSsh(a, this.options.ssh ?? {}, this.path, signal, REPLY_LINE_LIMIT);
      case 'port':
        return Promise.resolve(this.#dialPort(this.#port!));
    }
  }

  /** The port's link; a port carries one connection, so once it has closed there is nobody to dial. */
  #dialPort(port: MessagePortLike): Link {
    if (this.#portDialled) throw new NotListeningError(`the connection over ${this.path} has closed, and a port carries only one`);
    this.#portDialled = true;
    return new MessagePortLink(port, this.path, REPLY_LINE_LIMIT);
  }

  /** Start `link` and run the handshake on it; resolves once requests may be sent. */
  #greet(link: Link, deadline: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#link = link;
      const handshake = new ClientHandshake(this.path, this.options.secret, () => link.channelBinding?.());
      let greeted = false;
      let verifier: LineVerifier | undefined;
      const peer = new Peer(link, {
        address: this.path,
        origin: { pid: process.pid, path: this.path },
        markCallerNeeded: this.options.captureStack === false ? undefined : markCallerNeeded,
        complaint: (err) => (this.#closeReason = err),
      });
      const fail = (e: unknown) => {
        greeted = true;
        deadline?.removeEventListener('abort', onDeadline);
        link.destroy();
        reject(e);
      };
      const onDeadline = () => fail(deadline!.reason);
      deadline?.addEventListener('abort', onDeadline, { once: true });
      const handshakeLine = (text: string) => {
        let step;
        try {
          step = handshake.line(text);
        } catch (e) {
          return fail(e);
        }
        if (!step.done) return link.send(step.reply);
        greeted = true;
        deadline?.removeEventListener('abort', onDeadline);
        verifier = this.#open(link, peer, step.greeting);
        resolve();
      };
      link.start({
        line: (text, bytes) => {
          if (verifier) verifier.line(text, bytes);
          else if (greeted) peer.line(text, bytes);
          else handshakeLine(text);
        },
        badLine: (_n, reason) => this.#fatal(link, new ProtocolError('BAD_JSON', `the host sent ${reason ?? 'a line that is not valid UTF-8'}`)),
        overflow: (n) => this.#fatal(link, new ProtocolError('TOO_LARGE', `the host sent a line of more than ${n} bytes`)),
        // The host half-closed (it is closing, or refused us): it will send nothing more, so hang up too.
        ended: () => link.close(),
        closed: () => {
          if (!greeted) {
            greeted = true;
            deadline?.removeEventListener('abort', onDeadline);
            reject(this.#closeReason ?? link.failure ?? new NotListeningError(`the host at ${this.path} closed the connection before saying hello`));
          }
          if (this.#link === link) this.#onClosed(new NotListeningError(`the host at ${this.path} ${link.inProcess ? 'closed' : 'is gone'}`));
        },
      });
    });
  }

  /** The handshake is done: requests go through `peer`. Returns the line verifier when the lines are authenticated. */
  #open(link: Link, peer: Peer, greeting: Greeting): LineVerifier | undefined {
    this.hostPid = greeting.pid;
    if (greeting.maxMessageBytes !== undefined) peer.maxMessageBytes = greeting.maxMessageBytes;
    this.#peer = peer;
    this.#state = 'open';
    const v2 = this.options.protocol !== 1 && greeting.versions?.includes(PROTOCOL_V2) === true;
    if (greeting.keys === undefined || link.inProcess) {
      if (v2) this.#upgrade(link, peer, greeting.features ?? []);
      return undefined;
    }
    // Every line the host sends counts only once its authentication line checks, and ours carry one.
    link.sealWith(new LineSealer(greeting.keys.client));
    if (v2) this.#upgrade(link, peer, greeting.features ?? []);
    return new LineVerifier(greeting.keys.host, REPLY_LINE_LIMIT + MAX_SEALED_BATCH_CHARS, {
      line: (text, bytes) => peer.line(text, bytes),
      fail: (reason) => this.#fatal(link, new AuthError(`the lines from ${this.path} failed authentication (${reason}): closing the connection`)),
    });
  }

  /**
   * Opt into protocol v2 (the first line after the handshake): the host may now call back. The
   * host's features are named back (this client reads them all), so it may use them too.
   */
  #upgrade(link: Link, peer: Peer, features: readonly Feature[]): void {
    link.send(clientHelloLine(features));
    peer.upgrade({
      handler: new CallbackHandler(peer),
      currentTurn: () => currentTurn(peer),
      makeHandle: (id) => (this.handleMaker ? this.handleMaker(id, peer) : undefined),
      streams: new PeerStreams(peer, this.options.streamWindow, features.includes('items')),
    });
  }

  /** Whether this connection speaks protocol v2 (functions, handles and streams by reference). */
  get v2(): boolean {
    return this.#peer?.v2 ?? false;
  }

  /** The peer of the connection open now (protocol v2's handles use it). @internal */
  get peer(): Peer | undefined {
    return this.#peer;
  }

  /**
   * Send one request. Values are encoded here, so a value that cannot be sent rejects at once
   * with EncodeError and nothing is written. With `reconnect`, a request made after the
   * connection dropped first connects again.
   */
  request(ops: readonly Op[], opts: RequestOptions = {}): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.send(
        ops,
        { value: (value) => resolve({ kind: 'value', value }), self: () => resolve({ kind: 'self' }), fail: reject },
        opts.timeout,
        opts.callSite,
        opts.strict,
        undefined,
        undefined,
        opts.signal,
      );
    });
  }

  /**
   * Send one request; its outcome goes to `sink` (the proxy's hot path: no promise needed).
   * Values are encoded here, so a value that cannot be sent fails at once and nothing is written.
   * With `reconnect`, a request made after the connection dropped first connects again.
   */
  send(ops: readonly Op[], sink: ReplySink, timeout = this.options.timeout, callSite?: Error, strict = this.options.strict, to?: number, turn?: number, signal?: AbortSignal): void {
    if (this.#state !== 'open') {
      if (this.#reopening || (this.#state === 'closed' && this.options.reconnect && !this.#closedByClient)) {
        this.#reopen().then(
          () => this.send(ops, sink, timeout, callSite, strict, to, turn, signal),
          (e: Error) => sink.fail(e),
        );
        return;
      }
      sink.fail(this.#closeReason ?? new NotListeningError(`not connected to ${this.path}`));
      return;
    }
    this.#peer!.request(ops, sink, timeout, callSite, strict, to, turn, signal);
  }

  /** One reconnect at a time; every request waiting on it shares the outcome. */
  #reopen(): Promise<void> {
    this.#reopening ??= this.#establish().then(
      () => {
        this.#reopening = undefined;
        this.#announce(() => this.emit('reconnect', { hostPid: this.hostPid }));
      },
      (e: unknown) => {
        this.#reopening = undefined;
        this.#state = 'closed'; // now, not when the failed socket's 'close' event comes
        throw e;
      },
    );
    return this.#reopening;
  }

  #fatal(link: Link, err: Error): void {
    this.#closeReason = err;
    link.destroy();
  }

  #onClosed(reason: Error): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#link = undefined;
    const cause = this.#closeReason;
    this.#closeReason =
      cause instanceof NotListeningError ? cause : cause ? new NotListeningError(`the connection to ${this.path} was closed: ${cause.message}`, { cause }) : reason;
    if (wasOpen) this.#peer?.failAll(`the connection to ${this.path} closed with the request in flight (it may or may not have run)`, cause);
    for (const w of this.#closeWaiters.splice(0)) w();
    const closeReason = this.#closeReason;
    if (wasOpen) this.#announce(() => this.emit('close', closeReason));
  }

  /**
   * Emit an event once the connection's own state is settled. A listener that throws does not
   * undo that state or fail the requests waiting on it: its error is rethrown on its own, as an
   * uncaught exception (as a throwing listener of any emitter would be).
   */
  #announce(emit: () => void): void {
    try {
      emit();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** Wait for in-flight requests, then hang up. Later requests fail with NotListeningError (no reconnect). */
  async close(): Promise<void> {
    this.#closedByClient = true;
    if (this.#reopening) await this.#reopening.catch(() => undefined);
    if (this.#state === 'closed') {
      this.#closeReason = new NotListeningError(`the connection to ${this.path} was closed by this client`);
      return;
    }
    const done = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    await new Promise<void>((settled) => (this.#peer ? this.#peer.whenSettled(settled) : settled()));
    if ((this.#state as string) !== 'closed') {
      this.#closeReason = new NotListeningError(`the connection to ${this.path} was closed by this client`);
      // Once our last bytes are out, close both ways: the client owes nothing more and expects
      // nothing more (requests that timed out may still be running on a host that would otherwise
      // keep a half-closed connection open for their replies).
      this.#link?.close();
    }
    await done;
  }
}

/** Mark a remote error whose stack still lacks the awaiting code's frames (the proxy adds them when it delivers the error). */
function markCallerNeeded(err: Error): void {
  Object.defineProperty(err, NEEDS_CALLER, { value: true, configurable: true });
}

export interface RequestOptions {
  timeout?: number;
  /** Overrides the connection's `strict` for this request. */
  strict?: boolean;
  /** Where the request was made; its stack is appended to a remote error's. */
  callSite?: Error;
  /** Give up on the request when it aborts: it rejects with AbortError at once, and the host is told (protocol 2). */
  signal?: AbortSignal;
}

export type { Json };
