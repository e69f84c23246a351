/**
 * Requests and replies are checked with zod's compiled form of the protocol schemas (z.compile),
 * which answers a valid line without the runtime parser. Those answers must be exactly the
 * schemas' own: the same lines accepted, the same values out (defaults filled), the same first
 * issue for a rejected line. Checked here on hand-picked edge cases and on 20,000 fuzzer lines.
 */
import { Reply, ReplySchema, Request, RequestSchema } from '../src/protocol/messages';
import { generateLine, Rng, type GenContext } from '../scripts/fuzz';

function sameAnswer(compiled: { safeParse(v: unknown): any }, runtime: { safeParse(v: unknown): any }, input: unknown): void {
  const a = compiled.safeParse(input);
  const b = runtime.safeParse(input);
  expect({ input, success: a.success }).toEqual({ input, success: b.success });
  if (a.success) {
    expect(a.data).toEqual(b.data);
    if (input !== null && typeof input === 'object') expect(a.data).not.toBe(input); // a copy, as the runtime makes
  } else {
    expect(a.error.issues[0]).toEqual(b.error.issues[0]);
  }
}

test('the compiled schemas are in use (a zod upgrade that cannot compile them would show here)', () => {
  expect(RequestSchema.compiled).not.toBe(Request);
  expect(ReplySchema.compiled).not.toBe(Reply);
});

const long = (n: number, unit = 'x') => unit.repeat(n);
const requests: unknown[] = [
  { id: 1, ops: [] },
  { id: 1, ops: [{ op: 'get', key: 'a' }, { op: 'call', args: [1, 'two', null, { x: [true] }] }] },
  { id: 1, ops: [{ op: 'call' }] }, // args default to []
  { id: 1, ops: [{ op: 'passto', name: 'f' }] },
  { id: 1, ops: [{ op: 'super', key: 'm' }] }, // depth defaults to 1
  ...[0, 1, 64, 65, 1.5].map((depth) => ({ id: 1, ops: [{ op: 'super', key: 'm', depth }] })),
  { kind: 'request', id: 'abc', ops: [{ op: 'len' }, { op: 'describe' }] },
  { kind: 'other', id: 1, ops: [] },
  ...[2 ** 53 - 1, 2 ** 53, -1, 0, 1.5, NaN, Infinity, null, true, long(128), long(129), ''].map((id) => ({ id, ops: [] })),
  { ops: [] },
  { id: 1 },
  { id: 1, ops: {} },
  { id: 1, ops: Array.from({ length: 256 }, () => ({ op: 'len' })) },
  { id: 1, ops: Array.from({ length: 257 }, () => ({ op: 'len' })) },
  { id: 1, ops: [{ op: 'call', args: Array.from({ length: 1024 }, (_, i) => i) }] },
  { id: 1, ops: [{ op: 'call', args: Array.from({ length: 1025 }, (_, i) => i) }] },
  ...[long(4096), long(4097), long(2048, '😀'), long(2049, '😀'), long(4096, '\ud800'), '', -1, 1.5, 2 ** 53, 0, null, ['a']].map((key) => ({ id: 1, ops: [{ op: 'get', key }] })),
  ...['', long(256), long(257), 7].map((name) => ({ id: 1, ops: [{ op: 'passto', name, args: [] }] })),
  { id: 1, ops: [{ op: 'get', key: 'a', extra: 1 }] },
  { id: 1, ops: [], extra: 1 },
  { id: 1, ops: [{ op: 'set', key: 'a' }] }, // value missing
  { id: 1, ops: [{ op: 'set', key: 'a', value: { $date: '2020-01-01T00:00:00.000Z' } }] },
  { id: 1, ops: [{ op: 'has' }] },
  { id: 1, ops: [{ op: 'nope' }] },
  { id: 1, ops: [{ key: 'a' }] },
  { id: 1, ops: [null] },
  { id: 1, ops: ['get'] },
  { id: 1, ops: [{ op: 'call', args: 'x' }] },
  JSON.parse('{"id":1,"ops":[],"__proto__":{"polluted":true}}'),
  JSON.parse('{"id":1,"ops":[{"op":"get","key":"a","__proto__":{}}]}'),
  JSON.parse('{"__proto__":{"id":1,"ops":[]}}'),
  null,
  [],
  'text',
  42,
  undefined,
];

test.each(requests.map((r, i) => [i, r]))('request edge case %#', (_i, input) => sameAnswer(RequestSchema, Request, input));

const replies: unknown[] = [
  { id: 1, kind: 'value', value: 2 },
  { id: 'a', kind: 'value', value: { nested: [1] }, extra: true },
  { id: null, kind: 'error', error: { name: 'Error', message: 'x', code: 'E', stack: 's' } },
  { id: 1, kind: 'self' },
  { id: 1, kind: 'value' },
  { id: 1, kind: 'error', error: { name: 'Error' } },
  { id: 1, kind: 'error', error: null },
  { id: 1, kind: 'ref', ref: 3 },
  { id: 1.5, kind: 'self' },
  { id: long(129), kind: 'self' },
  { kind: 'self' },
  null,
  [1],
];

test.each(replies.map((r, i) => [i, r]))('reply edge case %#', (_i, input) => sameAnswer(ReplySchema, Reply, input));

test('fuzzer lines (20,000 drawn; those up to 4 KiB) get the same answer from the compiled and the runtime request schema', () => {
  const g: GenContext = { rng: new Rng(20261130), maxMessageBytes: 1 << 20, expect: new Map(), nextCheckId: 1, kinds: {} };
  let valid = 0;
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const line = generateLine(g).toString('utf8');
    if (line.length > 4096) continue; // the fuzzer's enormous lines test size limits, not the schema (and take long to compare)
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      continue; // not JSON: never reaches the schema
    }
    parsed++;
    if (Request.safeParse(msg).success) valid++;
    sameAnswer(RequestSchema, Request, msg);
  }
  // The corpus has both kinds in numbers, or the comparison proves little.
  expect(parsed).toBeGreaterThan(10_000);
  expect(valid).toBeGreaterThan(3_000);
  expect(parsed - valid).toBeGreaterThan(1_000);
});
