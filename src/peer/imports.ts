/**
 * A peer's import table (protocol v2): the stand-ins this side made for the far side's exports on
 * one connection (a callable for `$fn`, a Remote proxy for `$handle`, an async iterable for
 * `$stream`), by id. The same id maps to the same stand-in while it is alive, and each arrival is
 * counted, so that releasing it gives back exactly as many references as were received (a release
 * may cross a new arrival of the same id: the exporter frees it only when the counts meet).
 */

interface Entry {
  readonly id: number;
  readonly standIn: object;
  /** References received and not yet released. */
  count: number;
}

export class ImportTable {
  readonly #byId = new Map<number, Entry>();
  readonly #ids = new WeakMap<object, number>();

  get size(): number {
    return this.#byId.size;
  }

  /** One more arrival of `id`: its stand-in (made by `make` the first time). */
  arrive(id: number, make: () => object): object {
    const known = this.#byId.get(id);
    if (known !== undefined) {
      known.count++;
      return known.standIn;
    }
    const standIn = make();
    this.#byId.set(id, { id, standIn, count: 1 });
    this.#ids.set(standIn, id);
    return standIn;
  }

  /** The far side's id for one of this side's stand-ins (alive or released), or undefined when `v` is none. */
  idOf(v: object): number | undefined {
    return this.#ids.get(v);
  }

  /** Whether the stand-in's import is still held. */
  alive(id: number): boolean {
    return this.#byId.has(id);
  }

  /** Drop the import: the count to send in a release message (0: it was not held). */
  take(id: number): number {
    const e = this.#byId.get(id);
    if (e === undefined) return 0;
    this.#byId.delete(id);
    return e.count;
  }

  /** The connection closed: nothing is held any more (the far side freed its exports). */
  clear(): void {
    this.#byId.clear();
  }
}
