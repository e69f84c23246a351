/**
 * The request line the client writes (protocol/wire.ts requestLine) is written partly by hand (get
 * ops from a table by key, short argument lists without JSON.stringify): it must be exactly the
 * line JSON.stringify gives for the same ops, for any keys and arguments.
 */
import vm from 'node:vm';
import { ref } from 'remoteobj';
import { itemLine, itemText, requestLine, selfReplyLine, valueReplyLine } from '../src/protocol/wire';
import { type CodecContext, encodeList, encodeReply } from '../src/protocol/codec';
import type { Op } from '../src/protocol/messages';

/** The line as written before the hand-written parts: JSON.stringify of each key and argument list. */
function reference(id: number, ops: Op[]): string {
  const text = ops.map((op) =>
    op.op === 'get' ? `{"op":"get","key":${JSON.stringify(op.key)}}` : op.op === 'call' ? `{"op":"call","args":${JSON.stringify(encodeList(op.args, 'args'))}}` : JSON.stringify(op),
  );
  return `{"id":${id},"ops":[${text.join(',')}]}`;
}

const SCALARS: unknown[] = [
  0, 1, -1, 1.5, -2.25, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -1e300, 123456789.123,
  true, false, null,
  '', 'a', 'add', 'with space', 'quote"inside', 'back\\slash', 'tab\there', 'new\nline', 'é', '日本', '\u0000', '\u001f', '\u007f', '\ud800', 'x'.repeat(64), 'y'.repeat(65), '~!@#$%^&*()_+{}|:<>?',
];

test('hand-written request lines are exactly what JSON.stringify writes', () => {
  let checked = 0;
  const keys = ['add', 'data', '', 'a b', 'quote"', '日本', 'k'.repeat(300), 0, 7, 1234];
  for (const key of keys) {
    for (let n = 0; n <= 10; n++) {
      for (let start = 0; start < SCALARS.length; start += 3) {
        const args = Array.from({ length: n }, (_, i) => SCALARS[(start + i * 7) % SCALARS.length]);
        const ops: Op[] = [{ op: 'get', key }, { op: 'call', args }];
        expect(requestLine(42, ops, false)).toBe(reference(42, ops));
        checked++;
      }
    }
  }
  // Values that need the codec (undefined, -0, NaN, a Date) go through its tags, as before.
  for (const args of [[undefined], [-0], [NaN, 1], [new Date(0)], [[1, 2]], [{ a: 1 }], [1, 'x', { $y: 1 }]]) {
    const ops: Op[] = [{ op: 'get', key: 'f' }, { op: 'call', args }];
    expect(requestLine(1, ops, false)).toBe(reference(1, ops));
    checked++;
  }
  expect(checked).toBeGreaterThan(1000);
});

test('the table of get texts stays bounded and right after it is cleared', () => {
  for (let i = 0; i < 2000; i++) {
    const ops: Op[] = [{ op: 'get', key: `member${i}` }, { op: 'get', key: 'add' }];
    expect(requestLine(i, ops, false)).toBe(reference(i, ops));
  }
});

/**
 * Integers below 10^9 are written from tables of three-digit groups (wire.ts numberText): every
 * place a group ends or a zero pads it, and the numbers just past the tables, must come out as
 * JSON.stringify writes them, as ids, as arguments and as results.
 */
test('numbers are written as JSON.stringify writes them, at every edge of the digit tables', () => {
  const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1010, 1100, 9999, 10000, 99999, 100000, 100100, 999999, 1000000, 1000001, 1001000, 1010101, 99999999, 100000000, 100000001, 100100100, 123000789, 999999999];
  const numbers = [...edges, 1e9, 1e9 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, -0, -1, -999, 0.5, 1000.5, 1e21, 5e-324];
  for (let i = 0; i < 500; i++) numbers.push(Math.floor(Math.random() * 1e9), Math.floor(Math.random() * 1e6));
  for (const n of numbers) {
    const ops: Op[] = [{ op: 'get', key: 'add' }, { op: 'call', args: [n, n + 1] }];
    if (Number.isSafeInteger(n) && n >= 0) expect(requestLine(n, ops, false)).toBe(reference(n, ops));
    expect(requestLine(7, ops, false)).toBe(reference(7, ops));
    if (Object.is(n, -0)) continue; // the codec's tag, not a number text (covered above)
    expect(valueReplyLine(n, n)).toBe(JSON.stringify({ id: n, kind: 'value', value: n }));
    expect(selfReplyLine(n)).toBe(JSON.stringify({ id: n, kind: 'self' }));
  }
  expect(valueReplyLine('a"b', 12345)).toBe(JSON.stringify({ id: 'a"b', kind: 'value', value: 12345 }));
});

test('bytes and typed arrays are written around their base64 as it is: the same text as JSON.stringify, in a request, a reply and a stream item', () => {
  const backing = new Uint8Array(300).map((_, i) => (i * 31) & 255);
  const realm = vm.runInNewContext('new Uint8Array([1, 2, 3])') as Uint8Array;
  class Sub extends Uint8Array {}
  const floats = new Float64Array(100).map((_, i) => i / 3);
  const values: unknown[] = [
    new Uint8Array(0), new Uint8Array([0, 255, 62, 63]), backing, backing.subarray(7, 200), Buffer.from('a"b\\c\n'), Buffer.alloc(0), new Sub([9, 8]), realm, new Uint8Array(1 << 16).fill(0xfb),
    // Other typed arrays travel as $typed, also around their base64.
    floats, floats.subarray(3, 50), new Float32Array([1.5, -0, NaN]), new Int16Array([-1, 2]), new BigInt64Array([-5n]), new Uint8ClampedArray([300 & 255]), new Float64Array(0), vm.runInNewContext('new Int32Array([7])'),
  ];
  for (const v of values) {
    const ops: Op[] = [{ op: 'get', key: 'f' }, { op: 'call', args: [1, v, 'x', v] }];
    expect(requestLine(3, ops, false)).toBe(reference(3, ops));
    expect(valueReplyLine(4, v)).toBe(`{"id":4,"kind":"value","value":${JSON.stringify(encodeReply(v))}}`);
    expect(itemLine(5, v)).toBe(`{"kind":"item","stream":5,"value":${JSON.stringify(encodeReply(v))}}`);
    expect(itemText(v)).toBe(JSON.stringify(encodeReply(v)));
  }
  // A ref()'d Uint8Array goes by reference on a connection that has them: its tag is not bytes.
  const marked = ref(new Uint8Array([1]));
  const ctx: CodecContext = { exportValue: (_v, kind) => (kind === 'handle' ? { $handle: 9 } : undefined), importTag: () => undefined };
  expect(valueReplyLine(6, marked, ctx)).toBe('{"id":6,"kind":"value","value":{"$handle":9}}');
  expect(requestLine(7, [{ op: 'call', args: [marked] }], false, ctx)).toBe('{"id":7,"ops":[{"op":"call","args":[{"$handle":9}]}]}');
});
