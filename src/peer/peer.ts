/**
 * One end of a connection, after its handshake: the same class on the host and in the client
 * (symmetric, like birpc's and Cap'n Web's sessions). It owns
 *  - the table of its outgoing requests (ids, timeouts, the sink each reply goes to), and
 *  - the dispatch of incoming lines: requests go to its RequestHandler, replies settle pending
 *    requests, and anything else is answered or reported with a typed protocol error.
 * It writes and reads lines only through protocol/wire.ts and sends them through its Link.
 *
 * In protocol v1 a host's peer only answers requests and a client's only makes them. Once
 * upgraded to protocol v2 (upgrade(), after the client's opt-in line) both do both, and the peer
 * also owns the connection's reference tables: its exports (exports.ts: what it handed out by
 * reference) and imports (imports.ts: its stand-ins for the far side's exports). It is the codec's
 * context for the connection (protocol/codec.ts CodecContext), so values in requests, replies and
 * stream items find their references through it. Streams (streams.ts) and cancellation plug in
 * through the hooks of V2Setup.
 */
import path from 'node:path';
import { AbortError, ConnectionClosedError, EncodeError, ProtocolError, type ProtocolErrorCode, ReleasedError, RemoteObjError, TimeoutError } from '../errors';
import { isLibraryOwned } from '../owned';
import { type CodecContext, decode, type DecodeOptions, type ExportKind, type Json, type RefTag } from '../protocol/codec';
import { errorFromWire, errorToWire, type WireError } from '../protocol/error-wire';
import { type ControlMessage, MAX_RELEASE_REFS, type Op, type Reply, type RequestId } from '../protocol/wire-types';
import {
  cancelLine,
  errorReplyLine,
  LineFault,
  protocolErrorWire,
  readCancelId,
  readLineV2,
  readReply,
  readRequest,
  releaseLine,
  ReplyFault,
  RequestFault,
  requestLine,
  selfReplyLine,
  valueReplyLine,
} from '../protocol/wire';
import { ExportTable } from './exports';
import { ImportTable } from './imports';
import { PendingTable } from './pending-table';
import { registerStandIn } from './release';
import { type FarRef, typedRef } from './typed-refs';
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
  /**
   * Answer it exactly once (peer.send with a reply line of wire.ts). `bytes`: the line's UTF-8
   * length. Protocol v2: `to` is this side's exported value the ops start at (the peer has
   * checked it is alive; undefined: the root), `turn` the lock turn the request claims.
   */
  request(id: RequestId, ops: Op[], strict: boolean, bytes: number, to?: object, turn?: number): void;
}

/** The streams helper's side of a v2 peer (peer/streams.ts). */
export interface StreamHooks {
  /** Export an async iterable: its `$stream` id. */
  export(iterable: object, path: string): number;
  /** A `$stream` tag arrived: the local async iterable. */
  import(id: number): unknown;
  /** A credit, item, items, end or return message arrived, in a line of `bytes` bytes. */
  message(msg: Extract<ControlMessage, { kind: 'credit' | 'item' | 'items' | 'end' | 'return' }>, bytes?: number): void;
  /** The connection closed: end every stream both ways. */
  closed(reason: Error): void;
}

/** What a peer does in protocol v2, given at upgrade(). */
export interface V2Setup {
  /** Requests from the far side (the host: its lock; a client: the callbacks it exported). */
  readonly handler: RequestHandler;
  /** The lock turn an outgoing request belongs to (the host: the running request's; a client: the callback's it runs in). */
  readonly currentTurn?: () => number | undefined;
  /** An outgoing request carrying `turn` was sent (+1) or settled (-1): the host grants that turn to this connection meanwhile. */
  readonly grant?: (turn: number, delta: 1 | -1) => void;
  /** The stand-in for the far side's `$handle` N (the client: a Remote proxy whose chains carry `"to": N`); default: a function-call stand-in. */
  readonly makeHandle?: (id: number) => object | undefined;
  /** The far side gave up on its request `id` (the control helper). */
  readonly cancel?: (id: RequestId) => void;
  /** Streams (the streams helper). */
  readonly streams?: StreamHooks;
  /** A reference to one of the far side's objects (a function, handle or stream) arrived (the host: keep request contexts from now on). */
  readonly imported?: () => void;
}

/** The sending side of the peer's link. */
export interface PeerOutput {
  send(line: string): void;
  /** Write what was sent now rather than at the end of the tick (Link.flush). */
  flush?(): void;
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
  /**
   * A host's peer: until upgraded to v2, a function, handle or stream in a reply is refused with
   * NEEDS_PROTOCOL_2 (a v1 client could not use it). Without this (a v1 client) the codec does as in v1.
   */
  readonly refuseReferencesInV1?: boolean;
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
  /** v2: the lock turn it carried (0: none). */
  turn: number;
  /** The AbortSignal it was made with, and the listener that cancels it (removed when it settles). */
  abort?: { signal: AbortSignal; listener: () => void };
}

export class Peer implements CodecContext {
  readonly #out: PeerOutput;
  readonly #options: PeerOptions;
  readonly #pending = new PendingTable<Pending>();
  /** One timer for every request's deadline (deadlines.ts: no setTimeout per request). */
  readonly #deadlines = new DeadlineTimer((now) => this.#expire(now));
  #decodeOptions: DecodeOptions;
  #nextId = 1;
  /** Longest line the far side accepts (from its hello). */
  maxMessageBytes = Infinity;
  /** Protocol v2: what it does, once upgraded. */
  #v2?: V2Setup;
  /** The codec context for what this side encodes: the peer itself (v2), a refusing one (a host's v1), or none. */
  #codec: CodecContext | undefined;
  readonly exports = new ExportTable();
  /** Stand-ins nobody holds any more are released by themselves (imports.ts), in batches. */
  readonly imports = new ImportTable((id, count) => this.#releaseCollected(id, count));
  /** References of collected stand-ins, sent together at the end of the tick. */
  #collectedRefs: [number, number][] = [];
  /** The connection is gone: requests fail at once with ConnectionClosedError. */
  #closed?: Error;

  constructor(out: PeerOutput, options: PeerOptions) {
    this.#out = out;
    this.#options = options;
    this.#decodeOptions = options.decodeOptions ?? {};
    this.#codec = options.refuseReferencesInV1 ? V1_REFUSAL : undefined;
  }

  /** Whether the connection speaks protocol v2. */
  get v2(): boolean {
    return this.#v2 !== undefined;
  }

  /** The codec context for values this side sends on this connection (replies included). */
  get codec(): CodecContext | undefined {
    return this.#codec;
  }

  /** Decode a value the far side sent outside a request or reply (a stream item), as this connection decodes its values. */
  decodeValue(json: unknown): unknown {
    return decode(json, this.#decodeOptions);
  }

  /** This side's origin for the errors it sends. */
  get origin(): WireError['origin'] {
    return this.#options.origin;
  }

  /** Switch to protocol v2: requests both ways, reference tags, control messages. */
  upgrade(setup: V2Setup): void {
    this.#v2 = setup;
    this.#codec = this;
    this.#decodeOptions = { ...this.#decodeOptions, context: this };
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Send a line as it is (a reply built with wire.ts). */
  send(line: string): void {
    this.#out.send(line);
  }

  /** Write the lines sent so far now, not at the end of the tick (a stream's credit: see streams.ts). */
  flush(): void {
    this.#out.flush?.();
  }

  /**
   * Send one request; its outcome goes to `sink`. Values are encoded here, so a value that cannot
   * be sent fails at once and nothing is written. `timeout` in ms (0 or undefined: none);
   * `callSite`: where the request was made (its stack is appended to a remote error's). Positional,
   * not an options object: this is on every request's path.
   */
  request(ops: readonly Op[], sink: ReplySink, timeout: number | undefined, callSite: Error | undefined, strict: boolean | undefined, to?: number, turn?: number, signal?: AbortSignal): void {
    if (this.#closed) {
      sink.fail(new ConnectionClosedError(this.#closed.message, { cause: this.#closed }));
      return;
    }
    if (signal?.aborted) return sink.fail(this.#aborted(signal)); // never sent
    let line: string;
    const id = this.#nextId++;
    const v2 = this.#v2;
    try {
      if (v2 === undefined) line = requestLine(id, ops, strict);
      else {
        // The turn: given by the caller (the proxy takes it when the request is made), else the one running now.
        // 0: explicitly none.
        turn = (turn ?? v2.currentTurn?.()) || undefined;
        line = requestLine(id, ops, strict, this, to, turn);
      }
    } catch (e) {
      sink.fail(e instanceof RemoteObjError ? e : new EncodeError((e as Error).message, { cause: e }));
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when the line might be too long.
    if (line.length * 3 > this.maxMessageBytes && Buffer.byteLength(line) > this.maxMessageBytes) {
      sink.fail(new ProtocolError('TOO_LARGE', `the request is ${Buffer.byteLength(line)} bytes; the host accepts at most ${this.maxMessageBytes}`));
      return;
    }
    const p: Pending = { id, sink, callSite, deadline: 0, timeout: 0, turn: turn ?? 0, abort: undefined };
    if (turn !== undefined) v2!.grant?.(turn, 1);
    if (timeout && timeout > 0) {
      p.deadline = performance.now() + timeout;
      p.timeout = timeout;
      this.#deadlines.add(p.deadline);
    }
    this.#pending.set(p);
    if (signal !== undefined) {
      const listener = () => this.cancel(id, signal);
      p.abort = { signal, listener };
      signal.addEventListener('abort', listener, { once: true });
    }
    this.#out.send(line);
  }

  /**
   * Give up on request `id` now: its sink fails with an AbortError at once, and in protocol v2 the
   * far side is told (a cancel message: dropped if it has not started, its currentSignal()
   * aborted if it runs). A request already settled is left alone.
   */
  cancel(id: number, signal?: AbortSignal): void {
    const p = this.#take(id);
    if (p === undefined) return;
    this.#sendCancel(id);
    p.sink.fail(this.#aborted(signal));
  }

  #aborted(signal: AbortSignal | undefined): AbortError {
    return new AbortError(`the request to ${this.#options.address} was aborted`, { cause: signal?.reason });
  }

  /** v2: tell the far side a request was given up (cancelled, or its timeout passed). */
  #sendCancel(id: number): void {
    if (this.#v2 !== undefined && this.#closed === undefined) this.#out.send(cancelLine(id));
  }

  /** One line from the far side. */
  line(text: string, bytes: number): void {
    if (this.#v2) this.#lineV2(text, bytes, this.#v2);
    else if (this.#options.handler) this.#request(text, bytes, this.#options.handler);
    else this.#reply(text);
  }

  /**
   * The connection is gone: every request still waiting fails with ConnectionClosedError
   * (`cause`: why), later ones fail at once, every export is freed (disposing handles nobody else
   * holds), every import is forgotten and streams end.
   */
  failAll(message: string, cause?: Error): void {
    this.#closed ??= new ConnectionClosedError(`the connection to ${this.#options.address} is closed`, { cause });
    this.#deadlines.clear();
    for (const p of this.#pending.drain()) {
      this.#ungrant(p);
      p.sink.fail(new ConnectionClosedError(message, { cause }));
    }
    this.exports.releaseAll();
    this.imports.clear();
    this.#v2?.streams?.closed(this.#closed);
  }

  /** Whether the connection is gone (failAll ran). */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  // --- Protocol v2 ---------------------------------------------------------------------------

  /** CodecContext: a value that is not data, about to be sent. */
  exportValue(value: object, kind: ExportKind | undefined, path: string): Json | undefined {
    const yours = this.imports.idOf(value);
    if (yours !== undefined) {
      if (!this.imports.holds(value)) throw new ReleasedError(`cannot send a released reference at ${path}`);
      return { $yours: yours };
    }
    switch (kind) {
      case undefined:
        return undefined;
      case 'fn':
        // The library's own functions (a client's proxies, a host's methods) are never handed out.
        if (isLibraryOwned(value)) return undefined;
        return { $fn: this.exports.add(value, 'fn') };
      case 'handle':
        return { $handle: this.exports.add(value, 'handle') };
      case 'except': {
        const kind = typedRef('except');
        return kind === undefined ? undefined : { $except: { id: this.exports.add(value, 'except'), ...kind.describe(value) } };
      }
      case 'stream': {
        const streams = this.#v2?.streams;
        return streams === undefined ? undefined : { $stream: streams.export(value, path) };
      }
    }
  }

  /** CodecContext: a reference tag arrived. */
  importTag(tag: RefTag, id: number, info?: Record<string, unknown>): unknown {
    if (tag !== '$yours') this.#v2?.imported?.();
    switch (tag) {
      case '$yours': {
        const value = this.exports.get(id);
        if (value === undefined) throw new ProtocolError('BAD_VALUE', `$yours ${id} names nothing this side exported (or it was released)`);
        return value;
      }
      case '$fn':
        return this.imports.arrive(id, () => this.#functionStandIn(id));
      case '$handle':
        return this.imports.arrive(id, () => this.#v2?.makeHandle?.(id) ?? this.#functionStandIn(id));
      case '$except': {
        const kind = typedRef('except');
        if (kind === undefined) throw new ProtocolError('BAD_VALUE', '$except: this side takes no Except');
        return this.imports.arrive(id, () => this.#typedStandIn(id, info ?? {}, kind.revive));
      }
      case '$stream': {
        const streams = this.#v2?.streams;
        if (streams === undefined) throw new ProtocolError('BAD_VALUE', '$stream: this side takes no streams');
        return streams.import(id);
      }
    }
  }

  /**
   * The stand-in for the far side's function `id`: calling it runs the far side's function and
   * gives its result. `release(fn)`, `fn[Symbol.dispose]()` or `await using` give it back early.
   */
  #functionStandIn(id: number): (...args: unknown[]) => Promise<unknown> {
    const fn = (...args: unknown[]): Promise<unknown> => {
      const p = this.#callStandIn(fn, id, [{ op: 'call', args }]);
      // Host code often calls a listener without awaiting it (emitter.emit): a far side that has
      // gone must not crash this process with an unhandled rejection. Who awaits still sees it.
      p.catch(ignore);
      return p;
    };
    const dispose = () => void this.release(fn);
    Object.defineProperties(fn, {
      [Symbol.dispose]: { value: dispose },
      [Symbol.asyncDispose]: { value: async () => dispose() },
    });
    registerStandIn(fn, async () => dispose());
    return fn;
  }

  /** The stand-in for the far side's typed reference `id` (an Except handle), made by its class. */
  #typedStandIn(id: number, info: Record<string, unknown>, revive: (info: Record<string, unknown>, far: FarRef) => object): object {
    let standIn: object | undefined;
    const far: FarRef = {
      request: (ops) => this.#callStandIn(standIn!, id, ops, 'reference'),
      origin: this.#options.origin,
      address: this.#options.address,
    };
    standIn = revive(info, far);
    registerStandIn(standIn, async () => void this.release(standIn!));
    return standIn;
  }

  /** Run `ops` starting at the far side's export `to`, reached through `standIn`; resolves with the value. */
  #callStandIn(standIn: object, to: number, ops: readonly Op[], what = 'function'): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.#closed && !this.imports.holds(standIn)) {
        reject(new ReleasedError(`this ${what} of ${this.#options.address} was released (release() or a dispose): it cannot be used any more`));
        return;
      }
      this.request(ops, { value: resolve, self: () => resolve(undefined), fail: reject }, undefined, undefined, undefined, to);
    });
  }

  /**
   * Release this side's stand-in for a far export (`release(x)`, a handle's $release(), a
   * dispose): sends back every reference of it received, at once (after what was already sent on
   * it). Returns false when it was not held (released before, or the connection is closed).
   */
  release(standIn: object): boolean {
    const id = this.imports.idOf(standIn);
    if (id === undefined) return false;
    const count = this.imports.take(standIn);
    if (count === 0) return false;
    if (!this.#closed) this.#out.send(releaseLine([[id, count]]));
    return true;
  }

  /** A stand-in was collected (imports.ts): its references go back with the others of this tick. */
  #releaseCollected(id: number, count: number): void {
    if (this.#closed) return;
    if (this.#collectedRefs.length === 0) queueMicrotask(() => this.#flushCollected());
    this.#collectedRefs.push([id, count]);
  }

  #flushCollected(): void {
    const refs = this.#collectedRefs;
    this.#collectedRefs = [];
    if (this.#closed) return;
    for (let i = 0; i < refs.length; i += MAX_RELEASE_REFS) this.#out.send(releaseLine(refs.slice(i, i + MAX_RELEASE_REFS)));
  }

  /** Answer a request of the far side with a value (v2: references go out through this peer). */
  replyValue(id: RequestId, value: unknown): void {
    let line: string;
    try {
      line = valueReplyLine(id, value, this.#codec);
    } catch (e) {
      return this.replyError(id, e);
    }
    this.#out.send(line);
  }

  replySelf(id: RequestId): void {
    this.#out.send(selfReplyLine(id));
  }

  replyError(id: RequestId, err: unknown): void {
    this.#out.send(errorReplyLine(id, errorToWire(err, this.#options.origin)));
  }

  #lineV2(text: string, bytes: number, v2: V2Setup): void {
    // A cancel as cancelLine writes it: its id, with no message object, no zod copy and no result
    // to allocate (a client that aborts its queued requests sends one per request: case (h)).
    const cancelId = readCancelId(text);
    if (cancelId >= 0) return v2.cancel?.(cancelId);
    const r = readLineV2(text, this.#decodeOptions);
    if (r instanceof LineFault) {
      if (r.replyId !== undefined) {
        const p = typeof r.replyId === 'number' ? this.#take(r.replyId) : undefined;
        if (p) p.sink.fail(new ProtocolError('BAD_MESSAGE', `${this.#options.address} sent a reply this side does not understand: ${text.slice(0, 200)}`));
        return;
      }
      return this.protocolError(r.id, r.code, r.message);
    }
    switch (r.type) {
      case 'request': {
        const q = r.request;
        let to: object | undefined;
        if (q.to !== undefined) {
          to = this.exports.get(q.to);
          if (to === undefined) return this.replyError(q.id, new ReleasedError(`the reference ${q.to} was released (or never existed on this connection)`));
          // A typed reference (an Except) answers by itself, beside any lock: recording an error
          // is not an operation on the hosted object.
          if (this.exports.kindOf(q.to) === 'except') return this.#answerTyped(q.id, to, q.ops);
        }
        v2.handler.request(q.id, q.ops, q.strict === true, bytes, to, q.turn);
        return;
      }
      case 'reply':
        return this.#settle(r.reply);
      case 'control': {
        const m = r.message;
        switch (m.kind) {
          case 'release':
            for (const [id, count] of m.refs) this.exports.release(id, count);
            return;
          case 'cancel':
            v2.cancel?.(m.id);
            return;
          default:
            if (v2.streams) v2.streams.message(m, bytes);
            else this.protocolError(null, 'BAD_MESSAGE', `a ${m.kind} message names a stream this side never opened`);
        }
      }
    }
  }

  #answerTyped(id: RequestId, value: object, ops: readonly Op[]): void {
    let out: unknown;
    try {
      out = typedRef('except')!.answer(value, ops);
    } catch (e) {
      return this.replyError(id, e);
    }
    if (out instanceof Promise) out.then((v) => this.replyValue(id, v), (e) => this.replyError(id, e));
    else this.replyValue(id, out);
  }

  #ungrant(p: Pending): void {
    if (p.turn !== 0) this.#v2?.grant?.(p.turn, -1);
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
    this.#settle(reply);
  }

  #settle(reply: Reply): void {
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
          value = decode(reply.value, this.#decodeOptions);
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
    if (p.abort !== undefined) p.abort.signal.removeEventListener('abort', p.abort.listener);
    this.#ungrant(p);
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
      this.#sendCancel(p.id); // the host aborts it too (v2)
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

function ignore(): void {}

/** A host's context for a v1 connection: values that need protocol 2 are refused with a clear error. */
const V1_REFUSAL: CodecContext = {
  exportValue(value: object, kind: ExportKind | undefined, path: string): Json | undefined {
    if (kind === undefined) return undefined;
    if (kind === 'fn' && isLibraryOwned(value)) return undefined;
    const what = kind === 'fn' ? 'a function' : kind === 'handle' ? 'a handle (a ref() object)' : kind === 'except' ? 'an Except' : 'a stream (an async iterable)';
    throw new ProtocolError('NEEDS_PROTOCOL_2', `cannot send ${what} at ${path} to this client: it speaks protocol 1, and functions, streams, handles and Excepts need protocol 2 (docs/protocol.md)`);
  },
  importTag(tag: RefTag): unknown {
    throw new ProtocolError('BAD_VALUE', `${tag} is a protocol 2 reference and this connection speaks protocol 1`);
  },
};
