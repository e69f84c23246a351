/**
 * The client's side of protocol v2's requests from the host: the host calls a function (or uses
 * a ref() object) this client passed it. Each runs here, in this process, under the same access
 * rules a host applies by default (no `_private` names, no `constructor`, none of the library's
 * objects), and is answered once through the peer.
 *
 * The lock rule for callbacks (docs/architecture.md): a request of the host that carries a lock
 * turn runs inside an AsyncLocalStorage context holding that turn, and every request this client
 * sends from inside it (however deeply nested) carries the turn too, so the host runs it inside
 * the turn that is waiting for this callback instead of queueing it behind that turn.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { accessOptions } from '../access';
import { type EvalContext, evaluate, OpFailure, type Outcome } from '../evaluate';
import type { Op, RequestId } from '../protocol/wire-types';
import type { Peer, RequestHandler } from '../peer/peer';

/** The turn a callback runs in, and the peer (connection) that was granted it. */
interface CallbackTurn {
  readonly turn: number;
  readonly peer: Peer;
}

const turns = new AsyncLocalStorage<CallbackTurn>();

/**
 * The host's lock turn the code running now belongs to, for a request to `peer`: inside a callback
 * that host made on that connection, its turn; else none (a request to another connection, even
 * from inside the callback, is not part of the turn and waits for its host's lock).
 */
export function currentTurn(peer: Peer | undefined): number | undefined {
  const t = turns.getStore();
  return t !== undefined && t.peer === peer ? t.turn : undefined;
}

const CALLBACK_CONTEXT: EvalContext = { functions: {}, access: accessOptions({}) };

export class CallbackHandler implements RequestHandler {
  readonly #peer: Peer;

  constructor(peer: Peer) {
    this.#peer = peer;
  }

  request(id: RequestId, ops: Op[], strict: boolean, _bytes: number, to?: object, turn?: number): void {
    if (to === undefined) {
      this.#peer.replyError(id, new TypeError('this client hosts no object: a request from the host must start at something the client passed it ("to")'));
      return;
    }
    if (turn === undefined) this.#run(id, ops, strict, to);
    else turns.run({ turn, peer: this.#peer }, () => this.#run(id, ops, strict, to));
  }

  #run(id: RequestId, ops: Op[], strict: boolean, to: object): void {
    let out: Outcome | Promise<Outcome>;
    try {
      // A passed function called as itself: `this` is undefined, as for a plain call.
      out = ops.length === 1 && ops[0]!.op === 'call' && typeof to === 'function' ? callFunction(to, ops[0]!.args) : evaluate(to, ops, CALLBACK_CONTEXT, strict, to);
    } catch (e) {
      this.#fail(id, e);
      return;
    }
    if (out instanceof Promise) out.then((o) => this.#settle(id, o, to), (e) => this.#fail(id, e));
    else this.#settle(id, out, to);
  }

  #settle(id: RequestId, out: Outcome, to: object): void {
    // "self" is this side's export itself: send it as a reference, like any other value.
    this.#peer.replyValue(id, out.kind === 'self' ? to : out.value);
  }

  #fail(id: RequestId, e: unknown): void {
    this.#peer.replyError(id, e instanceof OpFailure ? e.error : e);
  }
}

function callFunction(fn: Function, args: unknown[]): Outcome | Promise<Outcome> {
  const r = Reflect.apply(fn, undefined, args);
  if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(r).then((value) => ({ kind: 'value', value }));
  }
  return { kind: 'value', value: r };
}
