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
  close(): Promise<void>;
}

export interface BenchServer {
  close(): Promise<void>;
}

export interface BenchImpl {
  name: string;
  /** How bytes travel on this implementation's wire. */
  bytes: string;
  serve(target: BenchTarget, path: string): Promise<BenchServer>;
  connect(path: string): Promise<BenchClient>;
}
