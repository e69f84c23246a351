/**
 * The control object `remoteobj serve` hands the hosted module's factory or constructor
 * (ServeControl). Its state is in #private fields and its members are getters and a method on
 * the class (issue 10 item 1): a module that keeps it on the hosted object gives a client no own
 * data of it to read, overwrite or delete. The access rules refuse chains that meet it too.
 */
import type { Host } from '../host/host';
import type { ServeControl } from './load-module';

export class ServeControlObject implements ServeControl {
  readonly #path: string;
  readonly #signal: AbortSignal;
  readonly #close: () => Promise<void>;
  #host: Host | undefined;

  constructor(path: string, signal: AbortSignal, close: () => Promise<void>) {
    this.#path = path;
    this.#signal = signal;
    this.#close = close;
  }

  get path(): string {
    return this.#path;
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  get host(): Host | undefined {
    return this.#host;
  }

  close(): Promise<void> {
    return this.#close();
  }

  /** Serve calls this once the host listens. Static, so nothing reachable from the instance can set it. */
  static attach(control: ServeControlObject, host: Host): void {
    control.#host = host;
  }
}
