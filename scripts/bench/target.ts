/**
 * The object every implementation hosts, and the payloads the cases send. All peers serve the
 * same object and answer the same questions, so the figures compare transports and libraries,
 * not workloads.
 */

export class BenchTarget {
  version = 1;
  count = 0;
  data = {
    users: Array.from({ length: 8 }, (_, i) => ({ id: i, profile: { name: `user${i}`, email: `user${i}@example.com` } })),
  };

  /** The tiny call of cases (a), (b), (e). */
  add(n: number): number {
    this.count += n;
    return this.count;
  }

  /** Case (d): the value comes back as it went. */
  echo<T>(v: T): T {
    return v;
  }

  /**
   * Case (e): call the client's function `n` times in a row, each awaited, and time each round
   * trip here, where it starts and ends (ms). The host is the caller, so only the host can time it.
   */
  async callbackLoop(fn: (i: number) => unknown, n: number): Promise<number[]> {
    const out: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await fn(i);
      out[i] = performance.now() - s;
    }
    return out;
  }

  /** Case (f): `n` small items, one at a time (the source both the raw stream and remoteobj's read). */
  async *items(n: number): AsyncGenerator<{ n: number }> {
    for (let i = 0; i < n; i++) yield { n: i };
  }

  /** Case (g): how a host hands out an object by reference; remoteobj's host sets it to its ref(). */
  refFn: <T extends object>(obj: T) => T = (obj) => obj;
  opened = 0;
  disposed = 0;

  /** Case (g): a handle on an object shaped like this one (so the same chain runs on both), disposed when released. */
  open(): { version: number; data: BenchTarget['data'] } {
    this.opened++;
    const owner = this;
    return this.refFn({
      version: this.version,
      data: this.data,
      [Symbol.dispose]() {
        owner.disposed++;
      },
    });
  }

  private letGo: (() => void) | undefined;

  /** Case (h): holds the host's lock until the host process is told to let go (over its IPC channel, host.ts). */
  hold(): Promise<void> {
    return new Promise((resolve) => (this.letGo = resolve));
  }

  get holding(): boolean {
    return this.letGo !== undefined;
  }

  /** Ends the running hold(), if any. */
  releaseHold(): boolean {
    const letGo = this.letGo;
    this.letGo = undefined;
    letGo?.();
    return letGo !== undefined;
  }
}

/** Case (c): the 5-op chain `data.users[3].profile.name`. */
export const CHAIN: readonly (string | number)[] = ['data', 'users', 3, 'profile', 'name'];
/** Case (c): the 1-op read `version`. */
export const ONE: readonly (string | number)[] = ['version'];

/** What a hand-written server does with a path: read it step by step. */
export function walk(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root as Record<string | number, unknown>;
  for (const k of path) cur = cur[k] as Record<string | number, unknown>;
  return cur;
}

/** Deterministic pseudo-random numbers (xorshift32), so every run sends the same bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

/** About `bytes` of mixed JSON (as JSON.stringify counts): records of strings, ints, floats, booleans, nulls, nested arrays and objects. */
export function mixedJson(bytes = 1 << 20): unknown[] {
  const r = rng(42);
  const out: unknown[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i++) {
    const rec = {
      id: i,
      name: `${WORDS[i % WORDS.length]} ${Math.floor(r() * 1e6)}`,
      score: Math.round(r() * 1e6) / 1e3,
      active: r() > 0.5,
      parent: i % 7 === 0 ? null : i - 1,
      tags: [WORDS[(i * 3) % WORDS.length], WORDS[(i * 5) % WORDS.length]],
      point: { x: r() * 100, y: -r() * 100, label: 'päivä ✓' },
    };
    size += JSON.stringify(rec).length + 1;
    out.push(rec);
  }
  return out;
}

/** `n` deterministic pseudo-random bytes. */
export function bytesPayload(n = 1 << 20): Uint8Array {
  const r = rng(7);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}
