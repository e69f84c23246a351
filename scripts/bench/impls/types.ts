import type { BenchTarget } from '../target';

/** What the cases ask of a client; each implementation answers with its own wire. */
export interface BenchClient {
  /** The tiny call: `add(1)`. */
  add(n: number): PromiseLike<number>;
  /** A 1-op request: read `version`. */
  one(): PromiseLike<unknown>;
  /** The 5-op chain `data.users[3].profile.name` in one request. */
  chain(): PromiseLike<unknown>;
  /** Send a value and get it back. */
  echo(v: unknown): PromiseLike<unknown>;
  /** Send bytes and get them back. */
  echoBytes(b: Uint8Array): PromiseLike<Uint8Array>;
  /** Case (e), raw and remoteobj: the host calls a client function `n` times in a row; each round trip as the host timed it (ms). */
  callbackLoop?(n: number): PromiseLike<number[]>;
  /** Case (f), raw and remoteobj: read a stream of `n` small items to its end; resolves with how many arrived. */
  stream?(n: number): Promise<number>;
  /** remoteobj's root proxy, for the cases only remoteobj has (handles, cancellation). */
  remote?: any;
  close(): Promise<void>;
}

export interface BenchServer {
  /** Where clients dial, when it is not the socket path the server was given (tls://127.0.0.1:PORT). */
  address?: string;
  /** remoteobj's host: requests waiting for the lock (case (h)). */
  queued?(): number;
  close(): Promise<void>;
}

export interface BenchImpl {
  name: string;
  /** How bytes travel on this implementation's wire. */
  bytes: string;
  serve(target: BenchTarget, path: string): Promise<BenchServer>;
  connect(path: string): Promise<BenchClient>;
}
