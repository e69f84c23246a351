/**
 * One REPL input at a time, in order, even when lines arrive faster than the host answers (piped
 * stdin): each input's turn starts when the one before it has ended.
 *
 * Ending a turn is the delicate part. Node's REPL does not always call an eval's callback: when
 * the code throws, or the promise of a top-level `await` rejects, its default eval hands the
 * error to the REPL's domain instead, whose 'error' handler prints `Uncaught …` and the next
 * prompt, and the callback is never called (lib/repl.js, defaultEval: "not recoverable, send to
 * domain"). A queue that waited only for the callback froze at the first such error, and `.exit`
 * then waited for it forever (issue 11 item 1). So a turn ends at its callback or at the error
 * the REPL reports through its domain, whichever comes first.
 */
import { EventEmitter } from 'node:events';
import type { REPLServer } from 'node:repl';

export class ReplTurns {
  #queue: Promise<void> = Promise.resolve();
  #endCurrent: (() => void) | undefined;
  /** Turns queued or running. */
  #open = 0;

  /**
   * Queue `task`; it gets `done`, to call once its input is finished (calling it again is
   * harmless). With no turn open it starts at once, synchronously: Node's REPL decides whether
   * the next line continues this one (`function f() {` …) as soon as that line arrives, which for
   * pasted text is within the same tick, so the eval must have answered by then.
   */
  run(task: (done: () => void) => void): void {
    const start = () =>
      new Promise<void>((resolve) => {
        let ended = false;
        const done = () => {
          if (ended) return;
          ended = true;
          this.#open--;
          if (this.#endCurrent === done) this.#endCurrent = undefined;
          resolve();
        };
        this.#endCurrent = done;
        task(done);
      });
    this.#open++;
    this.#queue = this.#open === 1 ? start() : this.#queue.then(start);
  }

  /** End the running turn, if any: the REPL has reported its error and shown the next prompt. */
  endCurrent(): void {
    this.#endCurrent?.();
  }

  /** Resolves once every queued turn has ended, including turns queued while waiting. */
  async drained(): Promise<void> {
    for (let last: Promise<void> | undefined; last !== this.#queue; ) await (last = this.#queue);
  }

  /**
   * End the running turn whenever `server` reports an evaluation's error through its domain.
   * The listener is added after the REPL's own, so the error and the prompt are printed first.
   */
  followErrorsOf(server: REPLServer): void {
    errorChannelOf(server)?.on('error', () => this.endCurrent());
  }
}

/**
 * The domain Node's REPL reports evaluation errors to: its eval is bound to it by
 * `domain.bind()`, which names the domain on the bound function (`_domain` on the server is the
 * same object). Undefined on a Node whose REPL has no domain: its errors then come through the
 * eval's callback, and turns end there.
 */
function errorChannelOf(server: REPLServer): EventEmitter | undefined {
  const candidates: unknown[] = [(server.eval as { domain?: unknown }).domain, (server as { _domain?: unknown })._domain];
  return candidates.find((c): c is EventEmitter => c instanceof EventEmitter);
}
