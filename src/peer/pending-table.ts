/**
 * The requests a connection is waiting on, by id.
 *
 * Ids are sequential and replies mostly come back in order, so a power-of-two ring of slots
 * indexed by the id's low bits holds them; an id whose slot is still taken by an older request
 * goes to a Map. Why not a Map alone: one insert and one delete per request keeps rebuilding its
 * hash table, and V8 links each obsolete table to its successor, so once one old table reaches
 * the old generation every later request's objects are promoted with it (case (b) of the
 * benchmark spent 15 % of the client's time in 3.5 ms scavenges; see docs/performance.md).
 */
export interface Keyed {
  readonly id: number;
}

export class PendingTable<T extends Keyed> {
  private slots: (T | undefined)[];
  private mask: number;
  private readonly overflow = new Map<number, T>();
  private count = 0;

  constructor(capacity = 256) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.slots = new Array<T | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  set(entry: T): void {
    this.count++;
    const i = entry.id & this.mask; // ToInt32 keeps the low bits of any safe integer
    if (this.slots[i] === undefined) this.slots[i] = entry;
    else {
      this.overflow.set(entry.id, entry);
      if (this.overflow.size > this.slots.length >> 1) this.grow();
    }
  }

  /** Remove and return the entry for `id`, if there is one. */
  take(id: number): T | undefined {
    const i = id & this.mask;
    const inSlot = this.slots[i];
    if (inSlot !== undefined && inSlot.id === id) {
      this.slots[i] = undefined;
      this.count--;
      return inSlot;
    }
    if (this.overflow.size === 0) return undefined;
    const e = this.overflow.get(id);
    if (e === undefined) return undefined;
    this.overflow.delete(id);
    this.count--;
    return e;
  }

  /** Every entry, oldest id first. */
  values(): T[] {
    const all: T[] = [];
    for (const e of this.slots) if (e !== undefined) all.push(e);
    for (const e of this.overflow.values()) all.push(e);
    return all.sort((a, b) => a.id - b.id);
  }

  /** Remove and return every entry, oldest id first. */
  drain(): T[] {
    const all = this.values();
    this.slots.fill(undefined);
    this.overflow.clear();
    this.count = 0;
    return all;
  }

  /** Many requests outlive the ones after them: a ring twice the size, everything placed again. */
  private grow(): void {
    const all = this.values();
    this.slots = new Array<T | undefined>(this.slots.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    this.overflow.clear();
    this.count = 0;
    for (const e of all) this.set(e);
  }
}
