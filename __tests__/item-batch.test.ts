/**
 * Stream items batched into one `items` line (wire.ts ItemBatch): small flat items are kept as
 * copies and listed with one JSON.stringify, the rest as their own text. What the line says must
 * not depend on which way an item went:
 *  - every batch, flat or mixed, gives exactly the line of each item's itemText (random values
 *    included), and the bound it reports is never below the line's real length;
 *  - an item is sent as it was when the producer took it: a generator that reuses one object (or
 *    list) for every item it yields, over a real socket, gives each value as it was yielded;
 *  - an item that cannot be sent throws from add() and leaves the batch as it was.
 */
import { connect, type Host, ref, serve } from 'remoteobj';
import type { CodecContext } from '../src/protocol/codec';
import { ItemBatch, itemsLine, itemText } from '../src/protocol/wire';
import { tmpSock } from './helpers';

function perItemLine(stream: number, values: unknown[]): string {
  return itemsLine(stream, values.map((v) => itemText(v)));
}

function batchLine(stream: number, values: unknown[]): { line: string; chars: number } {
  const b = new ItemBatch();
  for (const v of values) b.add(v);
  const chars = b.chars;
  return { line: b.line(stream), chars };
}

/** The characters the items take in an `items` line: the list without its brackets, and a comma each. */
function listChars(line: string, stream: number): number {
  return line.length - `{"kind":"items","stream":${stream},"values":[]}`.length + 1;
}

const cases: [string, unknown[]][] = [
  ['numbers, strings, booleans, null', [1, -2.5, 1e21, 5e-324, 'a', '', true, false, null]],
  ['flat records', [{ n: 1 }, { a: 'x', b: 2, c: true, d: null }, {}]],
  ['flat lists', [[1, 2, 3], [], ['a', null]]],
  ['-0, NaN and Infinity need tags', [{ z: -0 }, [NaN], Infinity, -0, 1]],
  ['a lone "$" key needs its escape', [{ $undefined: true }, { $a: 1, b: 2 }, { n: 1 }]],
  ['nested values are not flat', [{ n: 1 }, { p: { x: 1 } }, { n: 2 }, [[1]]]],
  ['tagged values in the middle', [{ n: 1 }, new Date(0), undefined, 10n, new Uint8Array([1, 2]), { n: 2 }]],
  ['text that needs escapes', ['"\\\n\u0001', { 'k"\n': '\u2028' }, 'lone \ud800 surrogate', { '\ud83d': '\udc00' }]],
  ['long strings and keys', ['x'.repeat(1024), 'y'.repeat(1025), { ['k'.repeat(1025)]: 1 }, { k: 'v'.repeat(2000) }]],
  ['objects without a prototype and __proto__ keys', [Object.assign(Object.create(null) as object, { a: 1 }), JSON.parse('{"__proto__":1,"b":2}') as unknown]],
  ['a list with a hole', [[1, , 3]]], // eslint-disable-line no-sparse-arrays
  ['symbol keys are not sent', [{ a: 1, [Symbol('s')]: 2 }]],
];

describe('an items line says the same whichever way its items went', () => {
  test.each(cases)('%s', (_name, values) => {
    const { line, chars } = batchLine(7, values);
    expect(line).toBe(perItemLine(7, values));
    expect(chars).toBeGreaterThanOrEqual(listChars(line, 7));
  });

  test('random values: 2,000 batches of up to 20 items', () => {
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const leaf = (): unknown => {
      const r = rnd();
      if (r < 0.2) return Math.floor(rnd() * 1e6) - 5e5;
      if (r < 0.3) return [rnd() * 1e-9, -0, NaN, 1 / 0][Math.floor(rnd() * 4)];
      if (r < 0.5) return String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 0x3000)));
      if (r < 0.6) return rnd() < 0.5;
      if (r < 0.7) return null;
      if (r < 0.75) return undefined;
      return rnd() < 0.5 ? '$x' : 'plain';
    };
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 1 || r < 0.4) return leaf();
      if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rnd() * 4); i > 0; i--) o[rnd() < 0.2 ? '$k' + i : 'k' + i] = value(depth + 1);
      return o;
    };
    for (let n = 0; n < 2000; n++) {
      const values = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => value(0));
      const { line, chars } = batchLine(n + 1, values);
      expect(line).toBe(perItemLine(n + 1, values));
      expect(chars).toBeGreaterThanOrEqual(listChars(line, n + 1));
    }
  });

  test('with a key on a polluted Object.prototype, records still go as they are', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      const values = [{ $undefined: true }, { n: 1 }];
      expect(batchLine(1, values).line).toBe('{"kind":"items","stream":1,"values":[{"$escape":{"$undefined":true}},{"n":1}]}');
    } finally {
      delete proto.polluted;
    }
  });

  test('a getter is read once, when the item is taken', () => {
    let reads = 0;
    const item = {
      get n() {
        return ++reads;
      },
    };
    const b = new ItemBatch();
    b.add(item);
    b.add(item);
    expect(b.line(1)).toBe('{"kind":"items","stream":1,"values":[{"n":1},{"n":2}]}');
    expect(reads).toBe(2);
  });

  test('an item that cannot be sent throws from add() and the batch keeps what it had', () => {
    const b = new ItemBatch();
    b.add({ n: 1 });
    expect(() => b.add({ s: Symbol('no') })).toThrow(/symbol/i);
    expect(b.count).toBe(1);
    b.add(new Date(0));
    expect(() => b.add(() => 1)).toThrow();
    expect(b.count).toBe(2);
    expect(b.line(1)).toBe('{"kind":"items","stream":1,"values":[{"n":1},{"$date":"1970-01-01T00:00:00.000Z"}]}');
    expect(b.count).toBe(0);
    expect(b.chars).toBe(0);
  });

  test('a record marked with ref() goes as a handle on a connection that has them, not as data', () => {
    const marked = ref({ n: 1 });
    const ctx: CodecContext = {
      exportValue: (_v, kind) => (kind === 'handle' ? { $handle: 5 } : undefined),
      importTag: () => undefined,
    };
    const b = new ItemBatch(ctx);
    b.add({ n: 1 });
    b.add(marked);
    expect(b.line(2)).toBe('{"kind":"items","stream":2,"values":[{"n":1},{"$handle":5}]}');
  });
});

describe('over a real socket, each item arrives as it was yielded', () => {
  class Feed {
    /** One object (and one list) for every item, changed after each yield. */
    async *reused(n: number): AsyncGenerator<{ i: number; tag: string }> {
      const item = { i: 0, tag: '' };
      for (let i = 0; i < n; i++) {
        item.i = i;
        item.tag = 't' + i;
        yield item;
      }
    }
    async *reusedList(n: number): AsyncGenerator<number[]> {
      const list = [0, 0];
      for (let i = 0; i < n; i++) {
        list[0] = i;
        list[1] = -i;
        yield list;
      }
    }
  }

  let host: Host<Feed>;
  let sock: string;
  beforeEach(async () => {
    sock = tmpSock('ib');
    host = await serve(new Feed(), sock, { localBypass: false });
  });
  afterEach(async () => {
    await host.close();
  });

  test('a generator that reuses one object and one list', async () => {
    const r = await connect<Feed>(sock);
    try {
      const got: { i: number; tag: string }[] = [];
      for await (const x of await r.reused(3000)) got.push(x);
      expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => ({ i, tag: 't' + i })));
      const lists: number[][] = [];
      for await (const x of await r.reusedList(3000)) lists.push(x);
      expect(lists).toEqual(Array.from({ length: 3000 }, (_, i) => [i, -i]));
    } finally {
      await r.$close();
    }
  });
});
