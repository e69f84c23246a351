/**
 * A peer's import table (protocol v2): the stand-ins this side made for the far side's exports on
 * one connection (a callable for `$fn`, a Remote proxy for `$handle`), by id. Each arrival of an
 * id is counted, so that releasing it gives back exactly as many references as were received (a
 * release may cross a new arrival of the same id: the exporter frees it only when the counts meet).
 *
 * Lifetimes. An import ends in one of three ways:
 *  - released on purpose (`release(x)`, `$release()`, a dispose): `take()` hands the count to
 *    send back, and that stand-in is dead for good, even if the same id arrives again later (the
 *    new arrival gets a new stand-in: a released function must keep failing with ReleasedError);
 *  - collected: the table holds its stand-ins only weakly (WeakRef), and a FinalizationRegistry
 *    reports a stand-in that nobody holds any more, so the far side can free what it exported
 *    (a long-lived connection that receives many distinct closures would otherwise keep each of
 *    them alive on both sides until it closes);
 *  - the connection closed (`clear()`).
 * Identity: while a stand-in is alive, the same id maps to that same stand-in (so `off(fn)` finds
 * the listener `on(fn)` added). A stand-in collected before its finalizer ran is replaced by a new
 * one on the next arrival; the counts stay with the id, and the late finalizer sees that the entry
 * has a live stand-in again and does nothing.
 */

interface Entry {
  readonly id: number;
  /** The current stand-in (weakly: collecting it releases the import). */
  ref: WeakRef<object>;
  /** References received and not yet released. */
  count: number;
}

/** What the finalizer learns: the entry the collected stand-in belonged to. */
interface Held {
  readonly table: ImportTable;
  readonly entry: Entry;
}

/** One registry for every table: its callback finds the table through what was registered. */
const collected = new FinalizationRegistry<Held>((held) => held.table.collected(held.entry));

export class ImportTable {
  readonly #byId = new Map<number, Entry>();
  readonly #ids = new WeakMap<object, number>();
  /** A stand-in was collected: send `count` references of `id` back (the peer batches them). */
  readonly #onCollected: (id: number, count: number) => void;

  constructor(onCollected: (id: number, count: number) => void = () => {}) {
    this.#onCollected = onCollected;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** One more arrival of `id`: its stand-in (made by `make` the first time, or when the last one was collected). */
  arrive(id: number, make: () => object): object {
    const known = this.#byId.get(id);
    if (known !== undefined) {
      known.count++;
      const alive = known.ref.deref();
      if (alive !== undefined) return alive;
      const standIn = make();
      known.ref = new WeakRef(standIn);
      this.#track(standIn, known);
      return standIn;
    }
    const standIn = make();
    const entry: Entry = { id, ref: new WeakRef(standIn), count: 1 };
    this.#byId.set(id, entry);
    this.#track(standIn, entry);
    return standIn;
  }

  #track(standIn: object, entry: Entry): void {
    this.#ids.set(standIn, entry.id);
    collected.register(standIn, { table: this, entry }, standIn);
  }

  /** The far side's id for one of this side's stand-ins (held or released), or undefined when `v` is none. */
  idOf(v: object): number | undefined {
    return this.#ids.get(v);
  }

  /** Whether `standIn` is still held: not released, and the current stand-in of its id. */
  holds(standIn: object): boolean {
    const id = this.#ids.get(standIn);
    return id !== undefined && this.#byId.get(id)?.ref.deref() === standIn;
  }

  /** Release `standIn` on purpose: the count to send in a release message (0: it was not held). */
  take(standIn: object): number {
    if (!this.holds(standIn)) return 0;
    const id = this.#ids.get(standIn)!;
    const e = this.#byId.get(id)!;
    this.#byId.delete(id);
    collected.unregister(standIn);
    return e.count;
  }

  /** @internal (the registry) A stand-in of `entry` was collected. */
  collected(entry: Entry): void {
    // Released meanwhile, the connection closed, or a newer stand-in of the same id is alive: nothing to do.
    if (this.#byId.get(entry.id) !== entry || entry.ref.deref() !== undefined) return;
    this.#byId.delete(entry.id);
    this.#onCollected(entry.id, entry.count);
  }

  /** The connection closed: nothing is held any more (the far side freed its exports). */
  clear(): void {
    for (const e of this.#byId.values()) {
      const standIn = e.ref.deref();
      if (standIn !== undefined) collected.unregister(standIn);
    }
    this.#byId.clear();
  }
}
