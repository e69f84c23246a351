/**
 * One end of a connection, after its handshake: the same class on the host and in the client
 * (symmetric, like birpc's and Cap'n Web's sessions). It owns
 *  - the table of its outgoing requests (ids, timeouts, the sink each reply goes to), and
 *  - the dispatch of incoming lines: requests go to its RequestHandler, replies settle pending
 *    requests, and anything else is answered or reported with a typed protocol error.
 * It writes and reads lines only through protocol/wire.ts and sends them through its Link.
 *
 * In protocol v1 a host's peer only answers requests and a client's only makes them (the `accepts`
 * option); the two-way sessions of protocol v2 (docs/architecture.md) let both do both.
 */
import path from 'node:path';
import { ConnectionClosedError, EncodeError, ProtocolError, type ProtocolErrorCode, RemoteObjError, TimeoutError } from '../errors';
import { decode, type DecodeOptions } from '../protocol/codec';
import { errorFromWire, type WireError } from '../protocol/error-wire';
import type { Op, RequestId } from '../protocol/messages';
import { errorReplyLine, protocolErrorWire, readReply, readRequest, ReplyFault, RequestFault, requestLine } from '../protocol/wire';
import { PendingTable } from './pending-table';
import { DeadlineTimer } from './deadlines';

/** Where a reply goes: exactly one of these is called, once. */
export interface ReplySink {
  value(v: unknown): void;
  /** The reply was "the far side's hosted object itself". */
  self(): void;
  fail(e: Error): void;
}

/** What the peer does with a checked, decoded request from the far side. */
export interface RequestHandler {
  /** Answer it exactly once (peer.send with a reply line of wire.ts). `bytes`: the line's UTF-8 length. */
  request(id: RequestId, ops: Op[], strict: boolean, bytes: number): void;
}

/** The sending side of the peer's link. */
export interface PeerOutput {
  send(line: string): void;
}

export interface PeerOptions {
  /** The far side's address, for messages. */
  readonly address: string;
  /** This side's origin for the errors it sends: `{pid, path}`. */
  readonly origin: WireError['origin'];
  /** Incoming requests (a host); without one, a request line is a protocol error. */
  readonly handler?: RequestHandler;
  /** How values in incoming requests are decoded (a host refuses `$regexp` unless told otherwise). */
  readonly decodeOptions?: DecodeOptions;
  /** Mark remote errors whose stack still needs the awaiting code's frames (see client/proxy.ts). */
  readonly markCallerNeeded?: (err: Error) => void;
  /** An error reply that names no request: a complaint about the connection (it explains the close that follows). */
  readonly complaint?: (err: Error) => void;
}

/** Marks a remote error whose stack still lacks the caller's frames (see proxy.ts `rethrowToCaller`). */
export const NEEDS_CALLER = Symbol('remoteobj.needsCallerFrames');

interface Pending {
  readonly id: number;
  sink: ReplySink;
  callSite?: Error;
  /** performance.now() ms after which the request fails with a TimeoutError; 0: none. */
  deadline: number;
  /** The timeout it was given, for the message. */
  timeout: number;
}

export class Peer {
  readonly #out: PeerOutput;
  readonly #options: PeerOptions;
  readonly #pending = new PendingTable<Pending>();
  /** One timer for every request's deadline (deadlines.ts: no setTimeout per request). */
  readonly #deadlines = new DeadlineTimer((now) => this.#expire(now));
  readonly #decodeOptions: DecodeOptions;
  #nextId = 1;
  /** Longest line the far side accepts (from its hello). */
  maxMessageBytes = Infinity;

  constructor(out: PeerOutput, options: PeerOptions) {
    this.#out = out;
    this.#options = options;
    this.#decodeOptions = options.decodeOptions ?? {};
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Send a line as it is (a reply built with wire.ts). */
  send(line: string): void {
    this.#out.send(line);
  }

  /**
   * Send one request; its outcome goes to `sink`. Values are encoded here, so a value that cannot
   * be sent fails at once and nothing is written. `timeout` in ms (0 or undefined: none);
   * `callSite`: where the request was made (its stack is appended to a remote error's). Positional,
   * not an options object: this is on every request's path.
   */
  request(ops: readonly Op[], sink: ReplySink, timeout: number | undefined, callSite: Error | undefined, strict: boolean | undefined): void {
    let line: string;
    const id = this.#nextId++;
    try {
      line = requestLine(id, ops, strict);
    } catch (e) {
      sink.fail(e instanceof RemoteObjError ? e : new EncodeError((e as Error).message, { cause: e }));
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when the line might be too long.
    if (line.length * 3 > this.maxMessageBytes && Buffer.byteLength(line) > this.maxMessageBytes) {
      sink.fail(new ProtocolError('TOO_LARGE', `the request is ${Buffer.byteLength(line)} bytes; the host accepts at most ${this.maxMessageBytes}`));
      return;
    }
    const p: Pending = { id, sink, callSite, deadline: 0, timeout: 0 };
    if (timeout && timeout > 0) {
      p.deadline = performance.now() + timeout;
      p.timeout = timeout;
      this.#deadlines.add(p.deadline);
    }
    this.#pending.set(p);
    this.#out.send(line);
  }

  /** One line from the far side. */
  line(text: string, bytes: number): void {
    if (this.#options.handler) this.#request(text, bytes, this.#options.handler);
    else this.#reply(text);
  }

  /** The connection is gone: every request still waiting fails with ConnectionClosedError (`cause`: why). */
  failAll(message: string, cause?: Error): void {
    this.#deadlines.clear();
    for (const p of this.#pending.drain()) {
      p.sink.fail(new ConnectionClosedError(message, { cause }));
    }
  }

  /** Call `fn` once every request in flight now has settled (the sinks still get their outcomes first). */
  whenSettled(fn: () => void): void {
    const waiting = this.#pending.values();
    let left = waiting.length;
    if (left === 0) return fn();
    for (const p of waiting) {
      const { sink } = p;
      const done = () => --left === 0 && fn();
      p.sink = {
        value: (v) => (sink.value(v), done()),
        self: () => (sink.self(), done()),
        fail: (e) => (sink.fail(e), done()),
      };
    }
  }

  /** Answer a line the host could not take as a request. */
  protocolError(id: RequestId | null, code: ProtocolErrorCode, message: string): void {
    this.#out.send(errorReplyLine(id, protocolErrorWire(code, message, this.#options.origin)));
  }

  #request(text: string, bytes: number, handler: RequestHandler): void {
    const r = readRequest(text, this.#decodeOptions);
    if (r instanceof RequestFault) return this.protocolError(r.id, r.code, r.message);
    handler.request(r.id, r.ops, r.strict === true, bytes);
  }

  #reply(text: string): void {
    const reply = readReply(text);
    if (reply instanceof ReplyFault) {
      const p = typeof reply.id === 'number' ? this.#take(reply.id) : undefined;
      if (p) p.sink.fail(new ProtocolError('BAD_MESSAGE', `the host sent a reply this client does not understand: ${text.slice(0, 200)}`));
      return;
    }
    if (typeof reply.id !== 'number') {
      if (reply.kind === 'error') this.#options.complaint?.(errorFromWire(reply.error));
      return;
    }
    const p = this.#take(reply.id);
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
        if (!p.callSite) this.#options.markCallerNeeded?.(err);
        p.sink.fail(err);
        return;
      }
    }
  }

  #take(id: number): Pending | undefined {
    const p = this.#pending.take(id);
    if (!p) return undefined;
    if (p.deadline !== 0) this.#deadlines.remove();
    return p;
  }

  /** The deadline timer fired: fail the requests that are due; returns the next deadline (Infinity: none). */
  #expire(now: number): number {
    let next = Infinity;
    for (const p of this.#pending.values()) {
      if (p.deadline === 0) continue;
      if (p.deadline > now) {
        next = Math.min(next, p.deadline);
        continue;
      }
      this.#take(p.id);
      p.sink.fail(new TimeoutError(`no reply from ${this.#options.address} within ${p.timeout} ms (the request may still run on the host)`));
    }
    return next;
  }
}

/** The client's directory (src/client or dist/client): frames in it are the proxy's, not the caller's. */
const CLIENT_DIR = path.join(path.dirname(__dirname), 'client') + path.sep;

/**
 * The stack of the code that made a request, without the client's own frames (the proxy's
 * traps, the outbox), so a remote error's stack ends where the user awaited.
 */
function callerStack(callSite: Error | undefined): string | undefined {
  const stack = callSite?.stack;
  if (!stack) return undefined;
  return stack
    .split('\n')
    .filter((line, i) => i === 0 || !line.includes(CLIENT_DIR))
    .join('\n');
}
