/**
 * One client connection on the host, over any Link (a socket, or the in-process pair of the local
 * bypass): the handshake, then a Peer whose requests go to the host's lock. Around them, what
 * makes one connection unable to hurt the others: admission (a slot, or the unauthenticated
 * pool), the authentication deadline, line authentication, byte-counted back-pressure (flow.ts)
 * and the ways a connection ends (the client half-closing, a refusal, the host closing).
 */
import { AuthError, LimitError, NotListeningError, ProtocolError, type ErrorOrigin } from '../errors';
import type { CodecContext, DecodeOptions } from '../protocol/codec';
import { type LineKeys, MAX_PRE_AUTH_BYTES, type Secret } from '../protocol/auth';
import { LineSealer, LineVerifier } from '../protocol/line-auth';
import type { Feature, Op, RequestId } from '../protocol/wire-types';
import { errorToWire } from '../protocol/error-wire';
import { errorReplyLine, readClientHello } from '../protocol/wire';
import type { Link } from '../transport/link';
import { MAX_SEALED_BATCH_CHARS } from '../transport/lines';
import { Peer, type RequestHandler } from '../peer/peer';
import { PeerStreams } from '../peer/streams';
import { markLibraryOwned } from '../owned';
import type { Admission, Admitted } from './admission';
import { type Cancellable, InFlight } from './cancel';
import { ConnectionFlow, type FlowBudget } from './flow';
import { HostHandshake } from './handshake';
import type { Job } from './lock';
import { contextEverywhere, currentRequest, type RequestConnection } from './request-context';
import { type Answerer, errorLine, type JobGate, PendingReply, type Replier } from './serving';

/** What a connection sees of its host (never the Host object itself). */
export interface ConnectionHost {
  readonly address: string;
  readonly maxMessageBytes: number;
  readonly secret?: Secret;
  readonly authTimeoutMs: number;
  readonly decodeOptions: DecodeOptions;
  readonly admission: Admission;
  readonly budget: FlowBudget;
  readonly closing: boolean;
  /**
   * Queue a request on the lock; `reply` answers it exactly once. v2: `to` is the exported object
   * the ops start at (undefined: the hosted object), `from` the connection it came on.
   */
  enqueue(ops: Op[], strict: boolean, reply: Replier, gate: JobGate, to?: object, from?: RequestConnection): Cancellable;
  /** v2: run a request now, inside the lock turn `turn` its connection was granted (the lock rule for callbacks). */
  runInTurn(ops: Op[], strict: boolean, reply: Replier, to: object | undefined, from: RequestConnection, turn: number): Cancellable;
  /** The credit window this host grants the streams its clients pass it (serve()'s streamWindow). */
  readonly streamWindow?: number;
  /** A connection switched to protocol v2. */
  upgraded(): void;
  requeue(jobs: Job[]): void;
  /** The connection is gone (closed both ways). */
  gone(c: HostConnection): void;
}

/** How long a refused connection may stay open to read its refusal. */
const REFUSED_LINGER_MS = 1000;

export class HostConnection implements Admitted, Answerer, RequestHandler, RequestConnection {
  readonly #link: Link;
  readonly #host: ConnectionHost;
  readonly #flow: ConnectionFlow;
  readonly #peer: Peer;
  readonly #handshake: HostHandshake;
  readonly origin: ErrorOrigin;
  /** After a secret handshake: checks every line the client sends (protocol/line-auth.ts). */
  #verifier?: LineVerifier;
  #authTimer?: NodeJS.Timeout;
  #clientEnded = false;
  #hangUpWhenIdle = false;
  #hangingUp = false;
  /** The host has ended the connection: nothing more is written, what arrives is dropped. */
  #ended = false;
  /** Replies go nowhere (ended, refused or gone). */
  #closed = false;
  #refused = false;
  #gone = false;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  /** The first line after the handshake may be the client's opt-in to protocol v2. */
  #firstLine = true;
  /** v2: turns granted to this connection (its callbacks outstanding in each), with how many. */
  readonly #grants = new Map<number, number>();
  /** Protocol 2: its unanswered requests by id, for its cancel messages and its close (cancel.ts). */
  #inFlight?: InFlight;
  /** Protocol v2: the streams of this connection both ways (set at upgrade). */
  #streams?: PeerStreams;

  constructor(link: Link, host: ConnectionHost) {
    markLibraryOwned(this);
    this.#link = link;
    this.#host = host;
    this.origin = { pid: process.pid, path: host.address };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#handshake = new HostHandshake(host.secret, () => link.channelBinding?.());
    this.#flow = new ConnectionFlow(host.budget, {
      pauseReading: () => {
        link.pause();
        this.#verifier?.pause();
      },
      resumeReading: () => {
        this.#verifier?.resume(); // checked lines first; may pause again
        if (this.#flow.reading) link.resume(); // then held lines; may pause again
        if (this.#flow.inFlight === 0) this.#idle();
      },
      requeue: (jobs) => host.requeue(jobs),
    });
    this.#peer = new Peer(
      { send: (line) => this.#send(line), flush: () => this.#link.flush?.() },
      { address: host.address, origin: this.origin, handler: this, decodeOptions: host.decodeOptions, refuseReferencesInV1: true },
    );
    link.maxLineBytes = this.#handshake.done ? host.maxMessageBytes : MAX_PRE_AUTH_BYTES;
    link.start({
      line: (text, bytes) => {
        if (this.#verifier) this.#verifier.line(text, bytes);
        else if (!this.#ended) this.#incoming(text, bytes);
      },
      badLine: (n, reason) => {
        if (this.#verifier) this.#verifier.fail(reason ?? `a line of ${n} bytes that is not UTF-8`);
        else this.#peer.protocolError(null, 'BAD_JSON', reason ?? `a line of ${n} bytes is not valid UTF-8`);
      },
      overflow: (n) => {
        if (!this.#handshake.done) return this.refuse(new AuthError('authentication required: the first message must be an auth message'));
        this.#peer.protocolError(null, 'TOO_LARGE', `a message of more than ${host.maxMessageBytes} bytes was refused (${n} bytes buffered); closing the connection`);
        // Requests that arrived before the oversized line still get their replies: hang up after them.
        this.#hangUpWhenIdle = true;
        if (this.#flow.inFlight === 0) this.#hangUp();
      },
      ended: () => {
        // The client will send nothing more: hang up once every request it sent has its reply.
        this.#clientEnded = true;
        // Protocol 2: a client that can send nothing more (a process killed mid-request looks
        // just like this) cannot cancel or answer a callback: its running requests' signals abort.
        this.#inFlight?.closed(undefined);
        if (this.#flow.inFlight === 0) this.#idle();
      },
      closed: () => this.#onClose(),
      // A reply counts as unsent from the moment it is handed to the link until the link has
      // handed it to the OS.
      written: (chars) => {
        if (!this.#gone) this.#flow.unsentTaken(chars);
      },
    });
  }

  /**
   * Greet the client. A client that must authenticate waits apart (and may be dropped for a newer
   * one); one that need not takes a slot (the host checked there is one).
   */
  start(): void {
    const admission = this.#host.admission;
    if (this.#handshake.done) {
      admission.enter(this);
    } else {
      admission.wait(this);
      this.#authTimer = setTimeout(() => this.refuse(new AuthError(`the client did not authenticate within ${this.#host.authTimeoutMs} ms`)), this.#host.authTimeoutMs);
    }
    this.#send(this.#handshake.hello(this.#host.maxMessageBytes));
  }

  /** Admission: this connection waited to authenticate longest while newer ones came; drop it. */
  evict(): void {
    this.refuse(new AuthError(`too many connections are waiting to authenticate (${this.#host.admission.limits.maxUnauthenticated}): the oldest was dropped`));
  }

  /** Refuse the connection (bad or missing authentication, too slow to authenticate, no slot) and close it. */
  refuse(err: Error): void {
    if (this.#closed) return;
    this.#send(errorReplyLine(null, errorToWire(err, this.origin)));
    this.#closed = true;
    this.#refused = true; // and read nothing more from it
    this.#hangUp();
  }

  /**
   * The host is closing: every request whose bytes it has already read has arrived (it runs, or is
   * cancelled, per fulfillFinal), even when back-pressure held it back. Take them now, before the
   * host starts refusing new requests. Bytes still in the kernel's buffer have not arrived.
   */
  takeArrived(): void {
    if (this.#gone) return;
    if (this.#verifier) this.#verifier.drain(() => this.#link.drainArrived());
    else this.#link.drainArrived();
  }

  /**
   * Flush the last replies and half-close: the client reads end-of-file. Nothing more is written
   * after that, so what the client still sends is read and dropped, unanswered (it never runs).
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#link.end();
    this.#closed = true;
    this.#flow.ended();
  }

  destroy(): void {
    this.#link.destroy();
  }

  // --- Answerer: replies from the lock -----------------------------------------------------

  /** @internal see Answerer: how references in replies are written (v2), or refused (v1). */
  get codec(): CodecContext | undefined {
    return this.#peer.codec;
  }

  /** Handles (ref() objects) this connection holds. */
  get handles(): number {
    return this.#peer.exports.handles;
  }

  /** Streams this host is producing on this connection (handed out and not yet ended). */
  get streams(): number {
    return this.#streams?.producers.size ?? 0;
  }

  /** @internal see RequestConnection */
  grantsTurn(turn: number): boolean {
    return this.#grants.has(turn);
  }

  /** @internal see Answerer */
  get dropsReplies(): boolean {
    return this.#closed;
  }

  /** @internal see Answerer */
  answer(line: string, bytes: number, id: RequestId): void {
    if (!this.#closed) this.#send(line);
    this.#inFlight?.settled(id);
    this.#flow.answered(bytes);
    if (this.#flow.inFlight === 0) this.#idle();
  }

  /** @internal see Answerer */
  dropped(bytes: number): void {
    this.#flow.answered(bytes);
    if (this.#flow.inFlight === 0) this.#idle();
  }

  // --- RequestHandler: requests from the peer -----------------------------------------------

  /** @internal see RequestHandler */
  request(id: RequestId, ops: Op[], strict: boolean, bytes: number, to?: object, turn?: number): void {
    if (turn !== undefined) {
      // The lock rule: only a turn this host granted this connection (a callback of it is
      // outstanding in that turn) lets a request past the lock; anything else is refused.
      if (!this.#grants.has(turn)) {
        return this.#send(errorLine(id, new ProtocolError('BAD_TURN', `turn ${turn} is not a turn of the host's lock this connection was granted (no callback of this host to it is outstanding in that turn)`), this.origin));
      }
      this.#flow.queued(bytes);
      const replyInTurn = new PendingReply(this, id, bytes);
      const inTurn = this.#host.runInTurn(ops, strict, replyInTurn, to, this, turn);
      if (this.#inFlight !== undefined && !replyInTurn.done) this.#inFlight.add(id, inTurn);
      return;
    }
    if (this.#host.closing) {
      return this.#send(errorLine(id, new NotListeningError(`the host at ${this.#host.address} is closing`), this.origin));
    }
    this.#flow.queued(bytes);
    const reply = new PendingReply(this, id, bytes);
    const job = this.#host.enqueue(ops, strict, reply, this.#flow, to, this);
    // Protocol 2: found by id for a cancel message (unless it ran and was answered already).
    if (this.#inFlight !== undefined && !reply.done) this.#inFlight.add(id, job);
  }

  // ------------------------------------------------------------------------------------------

  #incoming(text: string, bytes: number): void {
    if (this.#refused) return;
    if (!this.#handshake.done) return this.#authenticate(text);
    if (this.#firstLine) {
      this.#firstLine = false;
      const hello = readClientHello(text);
      if (hello !== undefined) return this.#upgrade(hello.features);
    }
    this.#peer.line(text, bytes);
  }

  /** The client opted into protocol v2 (its first line): requests both ways from now on. `features`: those it reads. */
  #upgrade(features: readonly Feature[]): void {
    const inFlight = (this.#inFlight = new InFlight());
    this.#peer.upgrade({
      handler: this,
      cancel: (id) => inFlight.cancel(id),
      currentTurn: () => currentRequest()?.turn,
      grant: (turn, delta) => {
        const n = (this.#grants.get(turn) ?? 0) + delta;
        if (n > 0) this.#grants.set(turn, n);
        else this.#grants.delete(turn);
      },
      streams: (this.#streams = new PeerStreams(this.#peer, this.#host.streamWindow, features.includes('items'))),
      // The host may call it back from now on, after awaits too: requests keep their context (request-context.ts).
      imported: contextEverywhere,
    });
    this.#host.upgraded();
  }

  #authenticate(line: string): void {
    let answer: { reply: string; keys?: LineKeys };
    try {
      answer = this.#handshake.answer(line);
    } catch (e) {
      return this.refuse(e as Error);
    }
    if (!this.#host.admission.promote(this)) return this.refuse(this.#limitError());
    this.#handshake.finish();
    this.#send(answer.reply);
    clearTimeout(this.#authTimer);
    this.#link.maxLineBytes = this.#host.maxMessageBytes;
    // No keys: the proof was bound to the TLS connection, which protects every later line.
    if (!this.#link.inProcess && answer.keys !== undefined) this.#authenticateLines(answer.keys);
  }

  /** From now on the client's lines count only once their authentication line checks, and ours carry one. */
  #authenticateLines(keys: LineKeys): void {
    this.#verifier = new LineVerifier(keys.client, this.#host.maxMessageBytes + MAX_SEALED_BATCH_CHARS, {
      line: (text, bytes) => {
        if (!this.#ended) this.#incoming(text, bytes);
      },
      fail: (reason) => this.refuse(new AuthError(`line authentication failed: ${reason}`)),
    });
    if (!this.#flow.reading) this.#verifier.pause();
    this.#link.sealWith(new LineSealer(keys.host));
  }

  /** A line that answers no queued request (the hello, a refusal, a refused line): sent at once. */
  #send(line: string): void {
    if (this.#closed) return;
    this.#flow.unsentAdded(line.length + 1);
    this.#link.send(line);
  }

  /** Nothing in flight: hang up if a refusal is waiting for that, or end if the client has ended and nothing it sent is held back. */
  #idle(): void {
    if (this.#hangUpWhenIdle) this.#hangUp();
    else if (this.#clientEnded && !this.#link.holding && !this.#verifier?.holding) this.end();
  }

  /**
   * Close a refused connection: flush the refusal, half-close, and once it is written and a
   * moment has passed, close both ways, so a client that keeps its end open does not keep the
   * connection (or a slot). What it still sends meanwhile is read and dropped.
   */
  #hangUp(): void {
    if (this.#hangingUp) return;
    this.#hangingUp = true;
    this.end();
    this.#link.close(REFUSED_LINGER_MS);
  }

  #limitError(): Error {
    const max = this.#host.admission.limits.maxConnections;
    return new LimitError('maxConnections', `the host at ${this.#host.address} already has ${max} connections`);
  }

  #onClose(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#closed = true;
    clearTimeout(this.#authTimer);
    this.#host.admission.leave(this);
    // Callbacks to this client reject with ConnectionClosedError; what it held by reference is released.
    this.#peer.failAll(`the connection to the client of ${this.#host.address} closed`);
    // What it asked for and is still running (or waiting) sees currentSignal() abort.
    this.#inFlight?.closed(undefined);
    this.#flow.closed();
    this.#host.gone(this);
    this.#resolveClosed();
  }
}
