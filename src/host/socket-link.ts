/**
 * One client connection over a socket: bytes in through the framing (and, after a secret
 * handshake, the line authenticator) to its Session, replies out through a LineWriter; its flow
 * control (flow.ts), its place among the host's connections (admission.ts), its authentication
 * deadline, and how it ends.
 */
import type net from 'node:net';
import { AuthError, LimitError } from '../errors';
import { type LineKeys, MAX_PRE_AUTH_BYTES } from '../protocol/auth';
import { LineSealer, LineVerifier } from '../protocol/line-auth';
import { LineSplitter, LineWriter, MAX_SEALED_BATCH_CHARS } from '../transport/lines';
import type { Admission, Admitted } from './admission';
import { ConnectionFlow, type FlowBudget } from './flow';
import type { Job } from './lock';
import type { Channel, Session } from './session';

/** What a link needs from its host. */
export interface LinkHost {
  readonly path: string;
  readonly maxMessageBytes: number;
  readonly authTimeoutMs: number;
  readonly admission: Admission;
  readonly budget: FlowBudget;
  requeue(jobs: Job[]): void;
  newSession(channel: Channel, flow: ConnectionFlow): Session;
  /** The link is gone (its socket closed). */
  gone(link: SocketLink): void;
}

/** How long a refused connection may stay open to read its refusal. */
const REFUSED_LINGER_MS = 1000;
/** How long a hung-up connection may take to read what was written to it before the refusal. */
const HANG_UP_MAX_MS = 30_000;

export class SocketLink implements Admitted {
  readonly #socket: net.Socket;
  readonly #host: LinkHost;
  readonly #session: Session;
  readonly #flow: ConnectionFlow;
  readonly #splitter: LineSplitter;
  readonly #writer: LineWriter;
  readonly #channel: Channel;
  /** After a secret handshake: checks every line the client sends (protocol/line-auth.ts). */
  #verifier?: LineVerifier;
  /** Sizes of the writes the socket has not finished yet, oldest first (their callbacks come in order). */
  #writes: number[] = [];
  #writesHead = 0;
  #authTimer?: NodeJS.Timeout;
  #clientEnded = false;
  #hangUpWhenIdle = false;
  #hangingUp = false;
  #ended = false;
  #gone = false;
  readonly closed: Promise<void>;

  constructor(socket: net.Socket, host: LinkHost) {
    this.#socket = socket;
    this.#host = host;
    socket.setNoDelay?.(true);
    this.#flow = new ConnectionFlow(host.budget, {
      pauseReading: () => {
        socket.pause();
        this.#splitter.pause();
        this.#verifier?.pause();
      },
      resumeReading: () => {
        this.#verifier?.resume(); // checked lines first; may pause again
        if (this.#flow.reading) this.#splitter.resume(); // then held bytes; may pause again
        if (this.#flow.reading) socket.resume();
        if (this.#flow.inFlight === 0) this.#idle();
      },
      requeue: (jobs) => host.requeue(jobs),
    });
    // A reply counts as unsent from the moment it is built (handed to the writer) until the
    // socket has handed its write to the OS.
    this.#writer = new LineWriter((data, chars) => {
      this.#writes.push(chars);
      return socket.write(data, this.#written);
    });
    const channel: Channel = (this.#channel = {
      send: (line) => {
        this.#flow.unsentAdded(line.length + 1);
        this.#writer.send(line);
      },
      end: () => this.end(),
      hangUp: () => this.#hangUp(),
      admit: () => (host.admission.promote(this) ? undefined : this.#limitError()),
      authenticated: (keys) => {
        clearTimeout(this.#authTimer);
        this.#splitter.maxBytes = host.maxMessageBytes;
        if (keys) this.#authenticateLines(keys);
      },
      queued: (bytes) => this.#flow.queued(bytes),
      answered: (bytes) => {
        this.#flow.answered(bytes);
        if (this.#flow.inFlight === 0) this.#idle();
      },
    });
    this.#session = host.newSession(channel, this.#flow);
    this.#splitter = new LineSplitter(
      {
        line: (text, bytes) => {
          if (this.#verifier) this.#verifier.line(text, bytes);
          else if (!this.#ended) this.#session.onLine(text, bytes);
        },
        badUtf8: (n) => {
          if (this.#verifier) this.#verifier.fail(`a line of ${n} bytes that is not UTF-8`);
          else this.#session.onBadUtf8(n);
        },
        overflow: (n) => {
          if (!this.#session.authenticated) return this.#session.refuse(new AuthError('authentication required: the first message must be an auth message'));
          this.#session.onOverflow(n);
          // Requests that arrived before the oversized line still get their replies: hang up after them.
          this.#hangUpWhenIdle = true;
          if (this.#flow.inFlight === 0) this.#hangUp();
        },
      },
      this.#session.authenticated ? host.maxMessageBytes : MAX_PRE_AUTH_BYTES,
    );
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#splitter.push(chunk));
    socket.on('end', () => {
      // The client will send nothing more: hang up once every request it sent has its reply.
      this.#clientEnded = true;
      if (this.#flow.inFlight === 0) this.#idle();
    });
    socket.on('error', () => {
      /* ECONNRESET and friends: 'close' follows */
    });
    socket.on('close', () => this.#onClose());
  }

  /**
   * Start: greet the client. A client that must authenticate waits apart (and may be dropped for
   * a newer one); one that need not takes a slot, or is refused with LIMIT when none is free.
   */
  start(): void {
    const admission = this.#host.admission;
    if (this.#session.authenticated) {
      admission.enter(this); // (the host checked there is a slot)
    } else {
      admission.wait(this);
      this.#authTimer = setTimeout(
        () => this.#session.refuse(new AuthError(`the client did not authenticate within ${this.#host.authTimeoutMs} ms`)),
        this.#host.authTimeoutMs,
      );
    }
    this.#channel.send(this.#session.hello());
  }

  /** Admission: this connection waited to authenticate longest while newer ones came; drop it. */
  evict(): void {
    this.#session.refuse(new AuthError(`too many connections are waiting to authenticate (${this.#host.admission.limits.maxUnauthenticated}): the oldest was dropped`));
  }

  /**
   * The host is closing: every request whose bytes it has already read has arrived (it runs, or is
   * cancelled, per fulfillFinal), even when back-pressure held it back. Take them now, before the
   * host starts refusing new requests. Bytes still in the kernel's buffer have not arrived.
   */
  takeArrived(): void {
    if (this.#gone) return;
    while (this.#socket.readableLength > 0 && this.#socket.read() !== null) {
      /* read() hands the buffered bytes to the 'data' handler, i.e. to the (paused) splitter */
    }
    if (this.#verifier) this.#verifier.drain(() => this.#splitter.drain());
    else this.#splitter.drain();
  }

  /** From now on the client's lines count only once their authentication line checks, and ours carry one. */
  #authenticateLines(keys: LineKeys): void {
    this.#verifier = new LineVerifier(keys.client, this.#host.maxMessageBytes + MAX_SEALED_BATCH_CHARS, {
      line: (text, bytes) => {
        if (!this.#ended) this.#session.onLine(text, bytes);
      },
      fail: (reason) => this.#session.refuse(new AuthError(`line authentication failed: ${reason}`)),
    });
    if (!this.#flow.reading) this.#verifier.pause();
    this.#writer.sealWith(new LineSealer(keys.host));
  }

  /**
   * Flush the last replies and half-close: the client reads end-of-file. Nothing more is written
   * after that, so what the client still sends is read and dropped, unanswered (it never runs).
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer.flush();
    this.#session.markClosed();
    this.#socket.end();
    this.#flow.ended();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  readonly #written = (): void => {
    const n = this.#writes[this.#writesHead];
    if (n === undefined) return;
    this.#writes[this.#writesHead++] = 0;
    if (this.#writesHead > 64 && this.#writesHead * 2 > this.#writes.length) {
      this.#writes = this.#writes.slice(this.#writesHead);
      this.#writesHead = 0;
    }
    if (!this.#gone) this.#flow.unsentTaken(n);
  };

  /** Nothing in flight: hang up if a refusal is waiting for that, or end if the client has ended and nothing it sent is held back. */
  #idle(): void {
    if (this.#hangUpWhenIdle) this.#hangUp();
    else if (this.#clientEnded && !this.#splitter.holding && !this.#verifier?.holding) this.end();
  }

  /**
   * Close a refused connection: flush the refusal, half-close, and after a moment close both
   * ways, so a client that keeps its end open does not keep the connection (or a slot). What it
   * still sends meanwhile is read and dropped, so its writes do not fail first.
   */
  #hangUp(): void {
    if (this.#hangingUp) return;
    this.#hangingUp = true;
    this.end();
    // The linger starts once our last bytes are with the OS: closing before would discard replies
    // still in this process's buffer (a client slow to read lost them; found by the fuzzer). A
    // client that reads nothing at all is cut off after HANG_UP_MAX_MS all the same.
    const destroy = () => this.#socket.destroy();
    if (this.#socket.writableFinished) setTimeout(destroy, REFUSED_LINGER_MS).unref();
    else {
      this.#socket.once('finish', () => setTimeout(destroy, REFUSED_LINGER_MS).unref());
      setTimeout(destroy, HANG_UP_MAX_MS).unref();
    }
  }

  #limitError(): Error {
    const max = this.#host.admission.limits.maxConnections;
    return new LimitError('maxConnections', `the host at ${this.#host.path} already has ${max} connections`);
  }

  #onClose(): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#authTimer);
    this.#session.markClosed();
    this.#host.admission.leave(this);
    this.#flow.closed();
    this.#host.gone(this);
  }
}
