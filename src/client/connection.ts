/**
 * Connection: one client's link to a host. Owns request ids and the table of pending requests,
 * sends requests in the order they were made (all requests made in one tick go out in one
 * write), and ends every pending request exactly once: by its reply, by a timeout, or by the
 * connection closing.
 */
import net from 'node:net';
import {
  AuthError,
  ConnectionClosedError,
  EncodeError,
  NotListeningError,
  ProtocolError,
  RemoteObjError,
  TimeoutError,
} from '../errors';
import type { EvalOp } from '../evaluate';
import { decode, encode, encodeList, type Json } from '../protocol/codec';
import { errorFromWire } from '../protocol/error-wire';
import { AUTH_METHOD, authDigest, digestsMatch, type LineKeys, lineKeys, newNonce } from '../protocol/auth';
import { LineSealer, LineVerifier } from '../protocol/line-auth';
import { AuthReply, ErrorReply, Hello, PROTOCOL_NAME, PROTOCOL_VERSION, type Reply, ReplySchema } from '../protocol/messages';
import { findLocal } from '../host/local-registry';
import { PendingTable } from './pending-table';
import { parseReplyLine } from '../protocol/line-reader';
import { DEFAULT_MAX_MESSAGE_BYTES, LineSplitter, LineWriter, MAX_SEALED_BATCH_CHARS } from '../transport/lines';
import { checkSocketPath, isWindowsPipe } from '../transport/socket-path';
import path from 'node:path';
import { markLibraryOwned } from '../owned';

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
}

/** Marks a remote error whose stack still lacks the caller's frames (see proxy.ts `rethrowToCaller`). */
export const NEEDS_CALLER = Symbol('remoteobj.needsCallerFrames');

/** Where a reply goes: exactly one of these is called, once. */
export interface ReplySink {
  value(v: unknown): void;
  /** The reply was "the hosted object itself". */
  self(): void;
  fail(e: Error): void;
}

interface Pending {
  readonly id: number;
  sink: ReplySink;
  callSite?: Error;
  timer?: NodeJS.Timeout;
}

/** The link the connection writes to: a socket or an in-process host. */
interface Link {
  send(line: string): void;
  end(): void;
  destroy(): void;
}

export class Connection {
  readonly path: string;
  hostPid = 0;
  /** Whether this connection talks to a host in the same process (no socket). */
  local = false;
  readonly options: ConnectOptions;
  private link?: Link;
  private nextId = 1;
  private readonly pending = new PendingTable<Pending>();
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private closedByClient = false;
  private closeReason?: Error;
  /** Set while a reconnect is under way: requests made meanwhile wait for it. */
  private reopening?: Promise<void>;
  private maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(socketPath: string, options: ConnectOptions) {
    markLibraryOwned(this);
    this.path = socketPath;
    this.options = { ...options };
  }

  /** Open a connection and wait for the host's hello. Rejects with NotListeningError when nobody serves the path. */
  static async open(socketPath: string, options: ConnectOptions = {}): Promise<Connection> {
    checkSocketPath(socketPath);
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('secret must not be empty');
    const conn = new Connection(isWindowsPipe(socketPath) ? socketPath : path.resolve(socketPath), options);
    await conn.establish();
    return conn;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Connect (in process when the path is hosted here, else over the socket) and wait for the hello. */
  private establish(): Promise<void> {
    this.state = 'connecting';
    this.closeReason = undefined;
    this.authNonce = undefined;
    this.hostNonce = undefined;
    this.secureLink = undefined;
    const local = this.options.localBypass === false ? undefined : findLocal(this.path);
    this.local = local !== undefined;
    return local ? this.openLocal(local) : this.openSocket(this.options.connectTimeout ?? 5000);
  }

  private openLocal(host: NonNullable<ReturnType<typeof findLocal>>): Promise<void> {
    return new Promise((resolve, reject) => {
      let greeted = false;
      const link: Link = {
        send: (l) => channel.send(l),
        end: () => channel.end(),
        destroy: () => channel.end(),
      };
      const channel = host.acceptLocal(
        (line) => {
          if (this.link !== link) return;
          if (greeted) return this.onLine(line);
          try {
            if (this.onHandshakeLine(line)) {
              greeted = true;
              resolve();
            }
          } catch (e) {
            greeted = true;
            reject(e);
            channel.end();
          }
        },
        () => {
          if (this.link === link) this.onClosed(new NotListeningError(`the host at ${this.path} closed`));
        },
      );
      this.link = link;
    });
  }

  private openSocket(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.path);
      let greeted = false;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`no hello from a host at ${this.path} within ${timeoutMs} ms`));
      }, timeoutMs);
      const writer = new LineWriter((data) => socket.write(data));
      const link: Link = {
        send: (l) => writer.send(l),
        end: () => {
          writer.flush();
          // Once our last bytes are out, close both ways: the client owes nothing more and expects
          // nothing more (requests that timed out may still be running on a host that would
          // otherwise keep a half-closed connection open for their replies).
          socket.end(() => socket.destroy());
        },
        destroy: () => socket.destroy(),
      };
      this.link = link;
      // After a secret handshake, every line the host sends counts only once its authentication
      // line checks, and ours carry one (protocol/line-auth.ts).
      let verifier: LineVerifier | undefined;
      this.secureLink = (keys) => {
        verifier = new LineVerifier(keys.host, REPLY_LINE_LIMIT + MAX_SEALED_BATCH_CHARS, {
          line: (text) => this.onLine(text),
          fail: (reason) => this.fatal(new AuthError(`the lines from ${this.path} failed authentication (${reason}): closing the connection`)),
        });
        writer.sealWith(new LineSealer(keys.client));
      };
      const splitter = new LineSplitter(
        {
          line: (text, bytes) => {
            if (verifier) return verifier.line(text, bytes);
            if (greeted) return this.onLine(text);
            try {
              if (!this.onHandshakeLine(text)) return;
              greeted = true;
              clearTimeout(timer);
              resolve();
            } catch (e) {
              greeted = true;
              clearTimeout(timer);
              socket.destroy();
              reject(e);
            }
          },
          badUtf8: () => this.fatal(new ProtocolError('BAD_JSON', 'the host sent a line that is not valid UTF-8')),
          overflow: (n) => this.fatal(new ProtocolError('TOO_LARGE', `the host sent a line of more than ${n} bytes`)),
        },
        REPLY_LINE_LIMIT,
      );
      socket.setNoDelay?.(true);
      socket.on('data', (chunk: Buffer) => splitter.push(chunk));
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (greeted) return; // 'close' follows
        clearTimeout(timer);
        const notThere = ['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR', 'ECONNRESET', 'EPIPE'].includes(e.code ?? '');
        reject(notThere ? new NotListeningError(`no host is listening on ${this.path} (${e.code})`, { cause: e }) : e);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (!greeted) reject(this.closeReason ?? new NotListeningError(`the host at ${this.path} closed the connection before saying hello`));
        if (this.link === link) this.onClosed(new NotListeningError(`the host at ${this.path} is gone`));
      });
    });
  }

  /** The nonce this client sent with its auth message, while waiting for the host's proof. */
  private authNonce?: string;
  /** The hello's nonce, while authenticating. */
  private hostNonce?: string;
  /** Starts line authentication on a socket once the handshake is done (the local bypass needs none). */
  private secureLink?: (keys: LineKeys) => void;

  /**
   * One line of the opening exchange: the hello, then (with a secret) the host's answer to our
   * authentication. Returns true once the connection is ready; throws when it cannot be.
   */
  private onHandshakeLine(line: string): boolean {
    const msg = safeJson(line);
    if (this.authNonce !== undefined) {
      const ok = AuthReply.safeParse(msg);
      if (!ok.success) {
        const refusal = ErrorReply.safeParse(msg);
        throw refusal.success ? errorFromWire(refusal.data.error) : new AuthError(`the host at ${this.path} sent no valid answer to authentication`);
      }
      const secret = this.options.secret!;
      const hostNonce = this.hostNonce!;
      if (!digestsMatch(authDigest(secret, 'host', hostNonce, this.authNonce), ok.data.digest)) {
        throw new AuthError(`the host at ${this.path} does not know the secret: refusing to talk to it`);
      }
      this.secureLink?.(lineKeys(secret, hostNonce, this.authNonce));
      this.authNonce = undefined;
      this.hostNonce = undefined;
      this.state = 'open';
      return true;
    }
    const parsed = Hello.safeParse(msg);
    if (!parsed.success) {
      const refusal = ErrorReply.safeParse(msg);
      if (refusal.success) throw errorFromWire(refusal.data.error); // e.g. the host has too many connections
      throw new ProtocolError('BAD_MESSAGE', `${this.path} did not greet as a ${PROTOCOL_NAME} host: ${line.slice(0, 200)}`);
    }
    const hello = parsed.data as Hello & { limits?: { maxMessageBytes?: unknown }; auth?: { method?: unknown; nonce?: unknown } };
    if (hello.version !== PROTOCOL_VERSION) {
      throw new ProtocolError('VERSION_MISMATCH', `the host at ${this.path} speaks protocol version ${hello.version}; this client speaks ${PROTOCOL_VERSION}`);
    }
    this.hostPid = hello.pid;
    if (typeof hello.limits?.maxMessageBytes === 'number') this.maxMessageBytes = hello.limits.maxMessageBytes;
    const secret = this.options.secret;
    if (hello.auth !== undefined) {
      if (secret === undefined) throw new AuthError(`the host at ${this.path} requires a secret: pass connect(path, { secret })`);
      if (hello.auth.method !== AUTH_METHOD) {
        throw new AuthError(`the host at ${this.path} asks for an unsupported authentication method ${JSON.stringify(hello.auth.method)} (this client speaks ${AUTH_METHOD})`);
      }
      if (typeof hello.auth.nonce !== 'string' || !/^[0-9a-f]{64}$/.test(hello.auth.nonce)) {
        throw new AuthError(`the host at ${this.path} sent a malformed challenge`);
      }
      this.hostNonce = hello.auth.nonce;
      this.authNonce = newNonce();
      this.link!.send(JSON.stringify({ kind: 'auth', method: AUTH_METHOD, digest: authDigest(secret, 'client', this.hostNonce, this.authNonce), nonce: this.authNonce }));
      return false;
    }
    if (secret !== undefined) {
      throw new AuthError(`the host at ${this.path} did not ask for the secret this client holds: refusing to talk to it`);
    }
    this.state = 'open';
    return true;
  }

  /**
   * Send one request. Values are encoded here, so a value that cannot be sent rejects at once
   * with EncodeError and nothing is written. With `reconnect`, a request made after the
   * connection dropped first connects again.
   */
  request(ops: readonly EvalOp[], opts: RequestOptions = {}): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.send(
        ops,
        { value: (value) => resolve({ kind: 'value', value }), self: () => resolve({ kind: 'self' }), fail: reject },
        opts.timeout,
        opts.callSite,
        opts.strict,
      );
    });
  }

  /**
   * Send one request; its outcome goes to `sink` (the proxy's hot path: no promise needed).
   * Values are encoded here, so a value that cannot be sent fails at once and nothing is written.
   * With `reconnect`, a request made after the connection dropped first connects again.
   */
  send(ops: readonly EvalOp[], sink: ReplySink, timeout = this.options.timeout, callSite?: Error, strict = this.options.strict): void {
    if (this.state !== 'open') {
      if (this.reopening || (this.state === 'closed' && this.options.reconnect && !this.closedByClient)) {
        this.reopen().then(
          () => this.send(ops, sink, timeout, callSite, strict),
          (e: Error) => sink.fail(e),
        );
        return;
      }
      sink.fail(this.closeReason ?? new NotListeningError(`not connected to ${this.path}`));
      return;
    }
    let line: string;
    const id = this.nextId++;
    try {
      line = '{"id":' + id + (strict ? ',"strict":true,"ops":' : ',"ops":') + opsJson(ops) + '}';
    } catch (e) {
      sink.fail(e instanceof RemoteObjError ? e : new EncodeError((e as Error).message, { cause: e }));
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when the line might be too long.
    if (line.length * 3 > this.maxMessageBytes && Buffer.byteLength(line) > this.maxMessageBytes) {
      sink.fail(new ProtocolError('TOO_LARGE', `the request is ${Buffer.byteLength(line)} bytes; the host accepts at most ${this.maxMessageBytes}`));
      return;
    }
    const p: Pending = { id, sink, callSite };
    if (timeout && timeout > 0) {
      p.timer = setTimeout(() => {
        this.pending.take(id);
        sink.fail(new TimeoutError(`no reply from ${this.path} within ${timeout} ms (the request may still run on the host)`));
      }, timeout);
    }
    this.pending.set(p);
    this.link!.send(line);
  }

  /** One reconnect at a time; every request waiting on it shares the outcome. */
  private reopen(): Promise<void> {
    this.reopening ??= this.establish().then(
      () => {
        this.reopening = undefined;
      },
      (e: unknown) => {
        this.reopening = undefined;
        this.state = 'closed'; // now, not when the failed socket's 'close' event comes
        throw e;
      },
    );
    return this.reopening;
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = parseReplyLine(line);
    } catch {
      msg = undefined;
    }
    const parsed = ReplySchema.safeParse(msg);
    if (!parsed.success) {
      const id = (msg as { id?: unknown } | undefined)?.id;
      const p = typeof id === 'number' ? this.take(id) : undefined;
      if (p) p.sink.fail(new ProtocolError('BAD_MESSAGE', `the host sent a reply this client does not understand: ${line.slice(0, 200)}`));
      return;
    }
    const reply: Reply = parsed.data;
    if (typeof reply.id !== 'number') {
      // A complaint the host could not tie to a request (e.g. a line too large): it explains the close that follows.
      if (reply.kind === 'error') this.closeReason = errorFromWire(reply.error);
      return;
    }
    const p = this.take(reply.id);
    if (!p) return; // timed out earlier
    switch (reply.kind) {
      case 'value': {
        let value: unknown;
        try {
          value = decode(reply.value);
        } catch (e) {
          p.sink.fail(e as Error);
          return;
        }
        p.sink.value(value);
        return;
      }
      case 'self':
        p.sink.self();
        return;
      case 'error': {
        const err = errorFromWire(reply.error, callerStack(p.callSite));
        // Without captured frames, the proxy adds the awaiting code's frames when it delivers the error.
        if (!p.callSite && this.options.captureStack !== false) Object.defineProperty(err, NEEDS_CALLER, { value: true, configurable: true });
        p.sink.fail(err);
        return;
      }
    }
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.take(id);
    if (!p) return undefined;
    if (p.timer) clearTimeout(p.timer);
    return p;
  }

  private fatal(err: Error): void {
    this.closeReason = err;
    this.link?.destroy();
  }

  private onClosed(reason: Error): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.link = undefined;
    const cause = this.closeReason;
    this.closeReason =
      cause instanceof NotListeningError ? cause : cause ? new NotListeningError(`the connection to ${this.path} was closed: ${cause.message}`, { cause }) : reason;
    if (wasOpen) {
      for (const p of this.pending.drain()) {
        if (p.timer) clearTimeout(p.timer);
        p.sink.fail(new ConnectionClosedError(`the connection to ${this.path} closed with the request in flight (it may or may not have run)`, { cause }));
      }
    }
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Wait for in-flight requests, then hang up. Later requests fail with NotListeningError (no reconnect). */
  async close(): Promise<void> {
    this.closedByClient = true;
    if (this.reopening) await this.reopening.catch(() => undefined);
    if (this.state === 'closed') {
      this.closeReason = new NotListeningError(`the connection to ${this.path} was closed by this client`);
      return;
    }
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    await Promise.all(
      this.pending.values().map(
        (p) =>
          new Promise<void>((settled) => {
            const { sink } = p;
            p.sink = {
              value: (v) => (sink.value(v), settled()),
              self: () => (sink.self(), settled()),
              fail: (e) => (sink.fail(e), settled()),
            };
          }),
      ),
    );
    if ((this.state as string) !== 'closed') {
      this.closeReason = new NotListeningError(`the connection to ${this.path} was closed by this client`);
      this.link?.end();
    }
    await done;
  }
}

export interface RequestOptions {
  timeout?: number;
  /** Overrides the connection's `strict` for this request. */
  strict?: boolean;
  /** Where the request was made; its stack is appended to a remote error's. */
  callSite?: Error;
}

/**
 * The stack of the code that made a request, without this library's own client frames
 * (the proxy's traps, the outbox), so a remote error's stack ends where the user awaited.
 */
function callerStack(callSite: Error | undefined): string | undefined {
  const stack = callSite?.stack;
  if (!stack) return undefined;
  return stack
    .split('\n')
    .filter((line, i) => i === 0 || !line.includes(__dirname + path.sep))
    .join('\n');
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * The ops as wire JSON. `get` and `call`, nearly every op sent, are written by hand around
 * JSON.stringify of their key or arguments: JSON.stringify of nested objects costs ~0.15 µs per
 * object, twice the whole line's text built this way (0.24 µs instead of 0.51 for get + call).
 */
function opsJson(ops: readonly EvalOp[]): string {
  let text = '[';
  for (let i = 0; i < ops.length; i++) text += (i > 0 ? ',' : '') + opJson(ops[i]!);
  return text + ']';
}

function opJson(op: EvalOp): string {
  switch (op.op) {
    case 'get':
      return '{"op":"get","key":' + JSON.stringify(op.key) + '}';
    case 'call':
      return '{"op":"call","args":' + JSON.stringify(encodeList(op.args, 'args')) + '}';
    default:
      return JSON.stringify(wireOp(op));
  }
}

/** An op with its values encoded (itself when they are plain JSON already). */
function wireOp(op: EvalOp): unknown {
  switch (op.op) {
    case 'call': {
      const args = encodeList(op.args, 'args');
      return args === op.args ? op : { op: 'call', args };
    }
    case 'passto': {
      const args = encodeList(op.args, 'args');
      return args === op.args ? op : { op: 'passto', name: op.name, args };
    }
    case 'set': {
      const value = encode(op.value, 'value');
      return value === op.value ? op : { op: 'set', key: op.key, value };
    }
    case 'has': {
      const value = encode(op.value, 'value');
      return value === op.value ? op : { op: 'has', value };
    }
    default:
      return op;
  }
}

export type { Json };
