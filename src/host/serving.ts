/**
 * A request's life on the host once its line has been read: it waits in the lock's queue (a
 * QueuedRequest), runs through evaluate() when its turn comes, and is answered exactly once
 * (a PendingReply writes the reply line through its connection). One object each, no closures:
 * this is on every request's path.
 */
import { type EvalContext, evaluate, OpFailure, type Outcome, trimHostFrames } from '../evaluate';
import { ShutdownError, TimeoutError } from '../errors';
import { type ErrorOrigin } from '../errors';
import type { CodecContext } from '../protocol/codec';
import { errorToWire, type WireError } from '../protocol/error-wire';
import type { Op, RequestId } from '../protocol/wire-types';
import { errorReplyLine, selfReplyLine, valueReplyLine } from '../protocol/wire';
import { type Cancellable, clientCancelled } from './cancel';
import type { BesideRuns } from './concurrent';
import type { Job } from './lock';
import { newTurn, type RequestConnection, type RunningRequest, runAsRequest } from './request-context';

/** What a queued request needs to run: the hosted object and how to reach into it. */
export interface Runner {
  readonly target: unknown;
  readonly ctx: EvalContext;
  readonly lockTimeout?: number;
  /** A connection speaks protocol v2: requests run inside a request context (request-context.ts), which costs on every await. */
  twoWay: boolean;
  /** The lock, to forget a request cancelled while it waits (O(1)). */
  readonly lock?: { forget(job: Job): void };
}

/** Where a connection's queued requests wait their turn: its flow control (flow.ts). */
export interface JobGate {
  mayRun(): boolean;
  park(job: Job): void;
  /** A parked job was cancelled: it is skipped when the parked jobs go back (O(1)). */
  forget(job: Job): void;
  readonly hasParked: boolean;
}

/** The connection a reply goes back on. */
export interface Answerer {
  /** Replies go nowhere (the connection is gone or ended): a reply need not even be built. */
  readonly dropsReplies: boolean;
  /** This host's origin for the errors it sends. */
  readonly origin: ErrorOrigin;
  /** How references in a reply are written (v2) or refused (v1). */
  readonly codec?: CodecContext;
  /** Send a request's reply (when the connection is still there) and count the request answered. */
  answer(line: string, bytes: number, id: RequestId): void;
  /** A request its client cancelled before it ran: count it answered, send nothing. */
  dropped(bytes: number): void;
}

export interface Replier {
  value(value: unknown): void;
  self(): void;
  error(err: unknown, op?: number, opName?: string): void;
  /** The request was cancelled by a closing host; `reason` says why. */
  shutdown(reason: string): void;
  /** Its client cancelled it before it ran: no reply (the client has given up on it). */
  dropped(): void;
}

/** The one way to answer a queued request. */
export class PendingReply implements Replier {
  readonly #to: Answerer;
  readonly #id: RequestId;
  readonly #bytes: number;
  /** Answered (or dropped): a request run at once is done before its connection could keep it for a cancel. */
  done = false;

  constructor(to: Answerer, id: RequestId, bytes: number) {
    this.#to = to;
    this.#id = id;
    this.#bytes = bytes;
  }

  value(value: unknown): void {
    this.done = true;
    // Encoding can be the costly part (a big value): skip it when nobody will read the reply.
    this.#to.answer(this.#to.dropsReplies ? '' : valueLine(this.#id, value, this.#to.origin, this.#to.codec), this.#bytes, this.#id);
  }

  self(): void {
    this.done = true;
    this.#to.answer(selfReplyLine(this.#id), this.#bytes, this.#id);
  }

  error(err: unknown, op?: number, opName?: string): void {
    this.done = true;
    this.#to.answer(this.#to.dropsReplies ? '' : errorLine(this.#id, err, op === undefined ? this.#to.origin : { ...this.#to.origin, op, opName }), this.#bytes, this.#id);
  }

  shutdown(reason: string): void {
    this.done = true;
    this.#to.answer(errorLine(this.#id, new ShutdownError(`the host at ${this.#to.origin.path} closed before running this request (${reason})`), this.#to.origin), this.#bytes, this.#id);
  }

  dropped(): void {
    this.done = true;
    this.#to.dropped(this.#bytes);
  }
}

/** The reply line for a value, or, when it cannot be sent, for the error saying so. */
function valueLine(id: RequestId, value: unknown, origin: ErrorOrigin, codec: CodecContext | undefined): string {
  try {
    return valueReplyLine(id, value, codec);
  } catch (e) {
    return errorLine(id, e, origin); // not sendable, or a getter that threw while it was written
  }
}

/** The reply line for an error thrown by a request, without the host's own frames. */
export function errorLine(id: RequestId | null, err: unknown, origin: ErrorOrigin): string {
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
  return errorReplyLine(id, wire);
}

/** A request in the lock's queue; while it runs, the request context's RunningRequest. */
export class QueuedRequest implements Job, Cancellable, RunningRequest {
  readonly #runner: Runner;
  readonly #ops: Op[];
  readonly #strict: boolean;
  readonly #reply: Replier;
  readonly #queuedAt: number;
  readonly #gate: JobGate | undefined;
  /** Set for a call of a `concurrent` method: it runs without holding the lock (concurrent.ts). */
  #beside: BesideRuns | undefined = undefined;
  /** v2: the exported object the ops start at (undefined: the hosted object). */
  readonly #to: object | undefined;
  /** v2: the connection it came on (for the request context). */
  readonly #from: RequestConnection | undefined;
  /** Run inside this turn (admitted past the lock) instead of a new one. */
  readonly #turn: number;
  /** The turn it runs in (its own, or #turn), once it runs. */
  #runTurn = 0;
  #started = false;
  /** Made when someone asks for the signal (currentSignal()) or it is aborted. */
  #controller: AbortController | undefined = undefined;
  /** Job: set once it was forgotten by the lock or its flow. */
  dropped = false;
  /** Job: held aside by its connection's flow. */
  parked = false;
  /** Job: where it waits (set by the lock, or by its flow while parked). */
  slot = -1;

  constructor(runner: Runner, ops: Op[], strict: boolean, reply: Replier, gate: JobGate | undefined, to?: object, from?: RequestConnection, turn = 0) {
    this.#to = to;
    this.#from = from;
    this.#turn = turn;
    this.#runner = runner;
    this.#ops = ops;
    this.#strict = strict;
    this.#reply = reply;
    this.#queuedAt = runner.lockTimeout === undefined ? 0 : performance.now();
    this.#gate = gate;
  }

  /** Make it a call of a `concurrent` method: it will run without holding the lock, counted in `runs`. */
  besideLock(runs: BesideRuns): this {
    this.#beside = runs;
    return this;
  }

  ready(): boolean {
    return this.#gate === undefined || this.#gate.mayRun();
  }

  park(): void {
    this.#gate!.park(this);
  }

  run(): void | Promise<void> {
    if (this.#beside === undefined) return this.#evaluate();
    // Beside the lock: started (by the host at once, or by the lock after back-pressure parked
    // it), never waited for by the lock; close() waits for it through BesideRuns.
    const running = this.#evaluate();
    if (running !== undefined) this.#beside.track(running);
  }

  #evaluate(): void | Promise<void> {
    const runner = this.#runner;
    this.#started = true;
    if (runner.twoWay && this.#from !== undefined) {
      // The request context: the running request's connection, turn and signal, for what runs below it.
      this.#runTurn = this.#turn || newTurn();
      return runAsRequest(this, QueuedRequest.#runIt, this);
    }
    return this.#run(runner);
  }

  // --- RunningRequest (request-context.ts) ---------------------------------------------------

  get connection(): RequestConnection {
    return this.#from!;
  }

  get turn(): number {
    return this.#runTurn;
  }

  /** Aborts when its client cancels it, its client's timeout passes, or its connection drops (currentSignal()). */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  // --- Cancellable (cancel.ts) -------------------------------------------------------------

  cancelled(): void {
    if (this.#started) return this.abort(clientCancelled());
    // Not started: forget it where it waits, in O(1), and count it answered without a reply.
    if (this.parked) this.#gate!.forget(this);
    else this.#runner.lock?.forget(this);
    if (this.dropped) this.#reply.dropped();
  }

  abort(reason: Error): void {
    const controller = (this.#controller ??= new AbortController());
    if (!controller.signal.aborted) controller.abort(reason);
  }

  /** #run as a function of the request (runAsRequest takes a function and its argument: no closure per request). */
  static readonly #runIt = (q: QueuedRequest): void | Promise<void> => q.#run(q.#runner);

  #run(runner: Runner): void | Promise<void> {
    const reply = this.#reply;
    const lockTimeout = runner.lockTimeout;
    if (this.#turn === 0 && this.#beside === undefined && this.#queuedAt !== 0 && performance.now() - this.#queuedAt > lockTimeout!) {
      reply.error(new TimeoutError(`the request waited more than ${lockTimeout} ms for the host's lock and was not run`));
      return;
    }
    let out: Outcome | Promise<Outcome>;
    try {
      out = evaluate(runner.target, this.#ops, runner.ctx, this.#strict, this.#to);
    } catch (e) {
      fail(reply, e);
      return;
    }
    if (out instanceof Promise) return out.then((o) => settle(reply, o), (e) => fail(reply, e));
    settle(reply, out);
  }

  cancel(reason: string): void {
    this.#reply.shutdown(reason);
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
