/** The client's table of requests awaiting replies: a ring by id, with a Map for ids whose slot is taken. */
import { PendingTable } from '../src/peer/pending-table';

interface E {
  id: number;
  tag: string;
}
const e = (id: number): E => ({ id, tag: `#${id}` });

test('in-order use: every entry comes back once, by its own id', () => {
  const t = new PendingTable<E>(16);
  for (let id = 1; id <= 10_000; id++) {
    t.set(e(id));
    if (id > 8) expect(t.take(id - 8)).toEqual(e(id - 8));
  }
  expect(t.size).toBe(8);
  expect(t.values().map((x) => x.id)).toEqual([9993, 9994, 9995, 9996, 9997, 9998, 9999, 10000]);
  expect(t.take(9993)).toEqual(e(9993));
  expect(t.take(9993)).toBeUndefined(); // taken once only
  expect(t.size).toBe(7);
});

test('an id whose slot holds an older request is kept too (overflow), and neither is confused with the other', () => {
  const t = new PendingTable<E>(16);
  t.set(e(1)); // a request that stays
  t.set(e(17)); // same slot as 1 in a ring of 16
  t.set(e(33));
  expect(t.take(49)).toBeUndefined(); // same slot, never sent
  expect(t.take(17)).toEqual(e(17));
  expect(t.take(1)).toEqual(e(1));
  expect(t.take(33)).toEqual(e(33));
  expect(t.size).toBe(0);
  expect(t.take(1)).toBeUndefined();
});

test('one request outliving thousands of others, and many long-lived ones (the ring grows), lose nothing', () => {
  const t = new PendingTable<E>(16);
  const kept: number[] = [];
  for (let id = 1; id <= 5000; id++) {
    t.set(e(id));
    if (id % 7 === 0) kept.push(id); // every 7th stays pending
    else expect(t.take(id)?.id).toBe(id);
  }
  expect(t.size).toBe(kept.length);
  expect(t.values().map((x) => x.id)).toEqual(kept);
  for (const id of kept.reverse()) expect(t.take(id)?.id).toBe(id);
  expect(t.size).toBe(0);
});

test('replies in reverse and shuffled order', () => {
  const t = new PendingTable<E>(16);
  const ids = Array.from({ length: 300 }, (_, i) => i + 1);
  for (const id of ids) t.set(e(id));
  let seed = 7;
  const shuffled = [...ids].sort(() => ((seed = (seed * 16807) % 2147483647) % 3) - 1);
  for (const id of shuffled) expect(t.take(id)?.id).toBe(id);
  expect(t.size).toBe(0);
});

test('ids past 2^32 (a connection that has sent billions of requests) still find their slots', () => {
  const t = new PendingTable<E>(16);
  const base = 2 ** 32 + 5;
  for (let k = 0; k < 40; k++) t.set(e(base + k));
  t.set(e(2 ** 52 + 3));
  for (let k = 39; k >= 0; k--) expect(t.take(base + k)?.id).toBe(base + k);
  expect(t.take(2 ** 52 + 3)?.id).toBe(2 ** 52 + 3);
});

test('drain() hands back everything, oldest first, and empties the table', () => {
  const t = new PendingTable<E>(16);
  for (const id of [5, 21, 3, 37, 4]) t.set(e(id));
  expect(t.drain().map((x) => x.id)).toEqual([3, 4, 5, 21, 37]);
  expect(t.size).toBe(0);
  expect(t.values()).toEqual([]);
  expect(t.take(5)).toBeUndefined();
});
