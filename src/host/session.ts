/**
 * One client connection on the host: reads request lines, validates and decodes them, queues
 * them on the host's lock, and writes one reply line per request. Bad input gets an error
 * reply with a stable code; it never throws out of here, so one client cannot disturb another.
 */
import { AuthError, ErrorCodes, NotListeningError, ProtocolError, type ProtocolErrorCode, ShutdownError } from '../errors';
import { AUTH_METHOD, authDigest, digestsMatch, type LineKeys, lineKeys, MAX_PRE_AUTH_BYTES, newNonce, type Secret } from '../protocol/auth';
import { type EvalOp, trimHostFrames } from '../evaluate';
import type { Job } from './lock';
import { decode, decodeList, encodeReply } from '../protocol/codec';
import { errorToWire, type WireError } from '../protocol/error-wire';
import { parseRequestLine } from '../protocol/line-reader';
import { markLibraryOwned } from '../owned';
import { AuthRequest, OP_NAMES, type Op, PROTOCOL_NAME, PROTOCOL_VERSION, RequestSchema, type RequestId } from '../protocol/messages';

/** Where a session writes; a socket or the in-process channel of the local bypass. */
export interface Channel {
  send(line: string): void;
  /** Close after what was sent has been flushed. */
  end(): void;
  /** Close a refused connection both ways once what was sent is flushed (default: end()). */
  hangUp?(): void;
  /** The client proved the secret: take a connection slot. Returns the error to refuse it with when there is none. */
  admit?(): Error | undefined;
  /**
   * The authentication exchange is over (its last line has been sent): lift the pre-authentication
   * limits and, with `keys`, authenticate every later line both ways (a socket; the in-process
   * channel of the local bypass needs none).
   */
  authenticated?(keys?: LineKeys): void;
  /** A request line of `bytes` bytes was queued; answered() follows exactly once (back-pressure). */
  queued?(bytes: number): void;
  answered?(bytes: number): void;
}

/** Where a session's queued requests wait their turn: the connection's flow control (socket connections only). */
export interface JobGate {
  mayRun(): boolean;
  park(job: Job): void;
  readonly hasParked: boolean;
}

/** What a session needs from its host. */
export interface SessionHost {
  readonly path: string;
  readonly closing: boolean;
  readonly maxMessageBytes: number;
  /** When set, a client must answer the hello's HMAC challenge before any request runs. */
  readonly secret?: Secret;
  /** Build RegExp values from clients' `$regexp` (refused when not true: ReDoS). */
  readonly acceptRegExp?: boolean;
  /** Queue a decoded request; `reply` is called exactly once. */
  enqueue(ops: EvalOp[], reply: Replier, gate: JobGate | undefined): void;
}

export interface Replier {
  value(value: unknown): void;
  self(): void;
  error(err: unknown, op?: number, opName?: string): void;
  /** The request was cancelled by a closing host; `reason` says why. */
  shutdown(reason: string): void;
}

const KNOWN_OPS = new Set<string>(OP_NAMES);

export class Session {
  readonly #host: SessionHost;
  readonly #channel: Channel;
  readonly #gate?: JobGate;
  #closed = false;
  #refused = false;
  /** The challenge sent in the hello; undefined once authenticated (or when the host has no secret). */
  #nonce?: string;

  constructor(host: SessionHost, channel: Channel, gate?: JobGate) {
    markLibraryOwned(this);
    this.#host = host;
    this.#channel = channel;
    this.#gate = gate;
    if (host.secret !== undefined) this.#nonce = newNonce();
  }

  get authenticated(): boolean {
    return this.#nonce === undefined;
  }

  hello(): string {
    return JSON.stringify({
      kind: 'hello',
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      pid: process.pid,
      limits: { maxMessageBytes: this.#host.maxMessageBytes },
      ...(this.#nonce ? { auth: { method: AUTH_METHOD, nonce: this.#nonce } } : {}),
    });
  }

  /** Refuse the connection (bad or missing authentication, too slow to authenticate, no slot) and close it. */
  refuse(err: Error): void {
    if (this.#closed) return;
    this.#send(JSON.stringify({ id: null, kind: 'error', error: errorToWire(err, { pid: process.pid, path: this.#host.path }) }));
    this.#closed = true;
    this.#refused = true; // and read nothing more from it
    if (this.#channel.hangUp) this.#channel.hangUp();
    else this.#channel.end();
  }

  #onAuthLine(line: string): void {
    if (line.length > MAX_PRE_AUTH_BYTES) return this.refuse(new AuthError('authentication required: the first message must be an auth message'));
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = undefined;
    }
    const parsed = AuthRequest.safeParse(msg);
    if (!parsed.success) return this.refuse(new AuthError('authentication required: the first message must be {"kind":"auth",...} answering the hello\'s challenge'));
    const secret = this.#host.secret!;
    const hostNonce = this.#nonce!;
    const clientNonce = parsed.data.nonce;
    if (!digestsMatch(authDigest(secret, 'client', hostNonce, clientNonce), parsed.data.digest)) {
      return this.refuse(new AuthError('authentication failed: wrong secret'));
    }
    const refusal = this.#channel.admit?.();
    if (refusal) return this.refuse(refusal);
    this.#nonce = undefined;
    this.#channel.send(JSON.stringify({ kind: 'auth', ok: true, digest: authDigest(secret, 'host', hostNonce, clientNonce) }));
    this.#channel.authenticated?.(lineKeys(secret, hostNonce, clientNonce));
  }

  /** The connection is gone: replies still owed are dropped, queued requests still run. */
  markClosed(): void {
    this.#closed = true;
  }

  /** One complete line from the client (`bytes`: its length in UTF-8 bytes, for back-pressure). */
  onLine(line: string, bytes = line.length): void {
    if (this.#refused) return;
    if (this.#nonce !== undefined) return this.#onAuthLine(line);
    let msg: unknown;
    try {
      msg = parseRequestLine(line);
    } catch (e) {
      return this.#protocolError(null, 'BAD_JSON', `the line is not valid JSON (${(e as Error).message})`);
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      return this.#protocolError(null, 'BAD_MESSAGE', `a message must be a JSON object, got ${msg === null ? 'null' : Array.isArray(msg) ? 'an array' : typeof msg}`);
    }
    const rawId = (msg as { id?: unknown }).id;
    const id: RequestId | null = (typeof rawId === 'number' && Number.isSafeInteger(rawId)) || (typeof rawId === 'string' && rawId.length <= 128) ? rawId : null;
    const parsed = RequestSchema.safeParse(msg);
    if (!parsed.success) {
      const ops = (msg as { ops?: unknown }).ops;
      const unknown = Array.isArray(ops) ? ops.find((o) => o !== null && typeof o === 'object' && typeof o.op === 'string' && !KNOWN_OPS.has(o.op)) : undefined;
      if (unknown) return this.#protocolError(id, 'UNKNOWN_OP', `unknown op "${String(unknown.op).slice(0, 64)}"; known ops: ${OP_NAMES.join(', ')}`);
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
      return this.#protocolError(id, 'BAD_MESSAGE', `not a valid request${where}: ${issue?.message ?? 'invalid'}`);
    }
    let ops: EvalOp[];
    try {
      ops = decodeOps(parsed.data.ops, parsed.data.strict === true, this.#host.acceptRegExp === true);
    } catch (e) {
      if (e instanceof ProtocolError) return this.#protocolError(id, e.code as ProtocolErrorCode, e.message);
      return this.#protocolError(id, 'BAD_VALUE', (e as Error).message);
    }
    const reqId = parsed.data.id;
    if (this.#host.closing) {
      return this.#send(this.errorLine(reqId, new NotListeningError(`the host at ${this.#host.path} is closing`)));
    }
    this.#channel.queued?.(bytes);
    this.#host.enqueue(ops, new PendingReply(this, reqId, bytes), this.#gate);
  }

  /** A line longer than the host's limit: say so, then the caller closes the connection. */
  onOverflow(bytes: number): void {
    this.#protocolError(null, 'TOO_LARGE', `a message of more than ${this.#host.maxMessageBytes} bytes was refused (${bytes} bytes buffered); closing the connection`);
  }

  onBadUtf8(bytes: number): void {
    this.#protocolError(null, 'BAD_JSON', `a line of ${bytes} bytes is not valid UTF-8`);
  }

  /** @internal send a queued request's reply, then count it answered (which may end a half-closed connection). */
  answer(line: string, bytes: number): void {
    if (!this.#closed) this.#channel.send(line);
    this.#channel.answered?.(bytes);
  }

  /** @internal whether replies go nowhere (the connection is gone): a reply need not even be built. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal the reply line for a value (or, when it cannot be sent, for the error saying so). */
  valueLine(id: RequestId, value: unknown): string {
    let encoded: unknown;
    try {
      encoded = encodeReply(value);
    } catch (e) {
      return this.errorLine(id, e);
    }
    try {
      return '{"id":' + JSON.stringify(id) + ',"kind":"value","value":' + JSON.stringify(encoded) + '}';
    } catch (e) {
      return this.errorLine(id, e); // a getter that throws during JSON.stringify, say
    }
  }

  /** @internal */
  errorLine(id: RequestId, err: unknown, op?: number, opName?: string): string {
    const origin = { pid: process.pid, path: this.#host.path, ...(op !== undefined ? { op, opName } : {}) };
    let wire: WireError;
    try {
      wire = errorToWire(err, origin);
      for (let w: WireError | undefined = wire, depth = 0; w && depth < 20; w = w.cause as WireError | undefined, depth++) {
        if (typeof w.stack === 'string') w.stack = trimHostFrames(w.stack);
        if (w.cause === null || typeof w.cause !== 'object') break;
      }
    } catch {
      wire = { name: 'Error', message: 'the host could not serialize an error', origin };
    }
    return replyLine({ id, kind: 'error', error: wire });
  }

  /** @internal */
  shutdownLine(id: RequestId, reason: string): string {
    return this.errorLine(id, new ShutdownError(`the host at ${this.#host.path} closed before running this request (${reason})`));
  }

  #protocolError(id: RequestId | null, code: ProtocolErrorCode, message: string): void {
    const error = errorToWire(new ProtocolError(code, message), { pid: process.pid, path: this.#host.path });
    error.code = ErrorCodes[code];
    delete error.stack; // the host's own parsing frames: noise to the client, and they disclose paths
    this.#send(replyLine({ id, kind: 'error', error }));
  }

  /** A reply that answers no queued request (a refused line): sent at once. */
  #send(line: string): void {
    if (!this.#closed) this.#channel.send(line);
  }
}

function replyLine(reply: { id: RequestId | null; kind: string; [k: string]: unknown }): string {
  try {
    return JSON.stringify(reply);
  } catch (e) {
    // e.g. an error property holding a BigInt that serialize-error kept: send the bare error.
    return JSON.stringify({ id: reply.id, kind: 'error', error: { name: 'Error', message: `the host could not serialize the reply: ${(e as Error).message}` } });
  }
}

/** The one way to answer a queued request: an object per request, no closures. */
class PendingReply implements Replier {
  readonly #session: Session;
  readonly #id: RequestId;
  readonly #bytes: number;
  constructor(session: Session, id: RequestId, bytes: number) {
    this.#session = session;
    this.#id = id;
    this.#bytes = bytes;
  }
  value(value: unknown): void {
    // Encoding can be the costly part (a big value): skip it when nobody will read the reply.
    this.#session.answer(this.#session.closed ? '' : this.#session.valueLine(this.#id, value), this.#bytes);
  }
  self(): void {
    this.#session.answer('{"id":' + JSON.stringify(this.#id) + ',"kind":"self"}', this.#bytes);
  }
  error(err: unknown, op?: number, opName?: string): void {
    this.#session.answer(this.#session.closed ? '' : this.#session.errorLine(this.#id, err, op, opName), this.#bytes);
  }
  shutdown(reason: string): void {
    this.#session.answer(this.#session.shutdownLine(this.#id, reason), this.#bytes);
  }
}

const WITH_REGEXP = { regexp: true };
const WITHOUT_REGEXP = { regexp: false };

/**
 * Decode the ops' values. In place: zod's output is already a fresh copy of the request. A
 * strict request makes each get, super and del op strict (see evaluate.ts).
 */
function decodeOps(ops: Op[], strict: boolean, acceptRegExp: boolean): EvalOp[] {
  const options = acceptRegExp ? WITH_REGEXP : WITHOUT_REGEXP;
  for (const op of ops) {
    switch (op.op) {
      case 'call':
      case 'passto':
        op.args = decodeList(op.args, options);
        break;
      case 'set':
      case 'has':
        op.value = decode(op.value, options);
        break;
      case 'get':
      case 'super':
      case 'del':
        if (strict) (op as { strict?: boolean }).strict = true;
        break;
    }
  }
  return ops as EvalOp[];
}
