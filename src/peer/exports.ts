/**
 * A peer's export table (protocol v2): what this side handed out by reference on one connection
 * (functions, ref() handles, streams), by id. The same value exported again gets the same id and
 * one more count, so `on(fn)` … `off(fn)` sees one function; the far side's release messages take
 * counts back, and at zero the entry is freed. Closing the connection frees everything.
 *
 * A ref() object may be exported on several connections at once: it is disposed
 * (Symbol.asyncDispose, else Symbol.dispose) when the last table anywhere lets go of it, never
 * while another connection still holds it.
 */
import type { ExportKind } from '../protocol/codec';

interface Entry {
  readonly id: number;
  readonly value: object;
  readonly kind: ExportKind;
  count: number;
}

/** How many export tables hold each ref() object (process-wide), to dispose it on the last release. */
const holders = new WeakMap<object, number>();

export class ExportTable {
  readonly #byId = new Map<number, Entry>();
  readonly #byValue = new Map<object, Entry>();
  #nextId = 1;
  /** A dispose that failed or rejected (default: a process warning). */
  readonly #onDisposeError: (err: unknown) => void;

  constructor(onDisposeError: (err: unknown) => void = reportDisposeError) {
    this.#onDisposeError = onDisposeError;
  }

  /** Entries alive. */
  get size(): number {
    return this.#byId.size;
  }

  /** Handles (ref() objects) alive. */
  get handles(): number {
    let n = 0;
    for (const e of this.#byId.values()) if (e.kind === 'handle') n++;
    return n;
  }

  /** Export `value` once more: its id (the same as before while it is alive). */
  add(value: object, kind: ExportKind): number {
    const known = this.#byValue.get(value);
    if (known !== undefined) {
      known.count++;
      return known.id;
    }
    const e: Entry = { id: this.#nextId++, value, kind, count: 1 };
    this.#byId.set(e.id, e);
    this.#byValue.set(value, e);
    if (kind === 'handle') holders.set(value, (holders.get(value) ?? 0) + 1);
    return e.id;
  }

  /** The value exported as `id`, or undefined when it was released (or never was). */
  get(id: number): object | undefined {
    return this.#byId.get(id)?.value;
  }

  kindOf(id: number): ExportKind | undefined {
    return this.#byId.get(id)?.kind;
  }

  /** The far side dropped `count` references to `id`; at zero the entry goes (and a last-held handle is disposed). Unknown ids are ignored: a release may cross a close. */
  release(id: number, count: number): void {
    const e = this.#byId.get(id);
    if (e === undefined) return;
    e.count -= count;
    if (e.count > 0) return;
    this.#free(e);
  }

  /** The connection closed: every entry goes. */
  releaseAll(): void {
    const entries = [...this.#byId.values()];
    for (const e of entries) this.#free(e);
  }

  #free(e: Entry): void {
    this.#byId.delete(e.id);
    this.#byValue.delete(e.value);
    if (e.kind !== 'handle') return;
    const left = (holders.get(e.value) ?? 1) - 1;
    if (left > 0) {
      holders.set(e.value, left);
      return;
    }
    holders.delete(e.value);
    dispose(e.value, this.#onDisposeError);
  }
}

/** Call the object's Symbol.asyncDispose (else Symbol.dispose), reporting what it throws or rejects with. */
function dispose(value: object, onError: (err: unknown) => void): void {
  const o = value as { [Symbol.asyncDispose]?: unknown; [Symbol.dispose]?: unknown };
  const fn = typeof o[Symbol.asyncDispose] === 'function' ? o[Symbol.asyncDispose] : o[Symbol.dispose];
  if (typeof fn !== 'function') return;
  try {
    const r = (fn as () => unknown).call(value);
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(undefined, onError);
  } catch (e) {
    onError(e);
  }
}

function reportDisposeError(err: unknown): void {
  process.emitWarning(`disposing a released handle failed: ${(err as Error)?.message ?? String(err)}`, 'RemoteObjWarning');
}
