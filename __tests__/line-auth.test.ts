/**
 * Line authentication (protocol/line-auth.ts) on its own: what the sealer writes checks with an
 * implementation written from docs/protocol.md; the verifier hands on lines only after their mac
 * line checks, in order, across pauses; and anything else — a changed, dropped, added or replayed
 * line, a malformed mac line, too much without a mac — fails once, handing on nothing more.
 */
import crypto from 'node:crypto';
import { LineSealer, LineVerifier } from '../src/protocol/line-auth';
import { MacChain } from './fixtures/sec-kit';

const KEY = crypto.createHmac('sha256', 's').update('remoteobj-lines-v2 client N1 N2').digest('hex');

function verifier(max = 1 << 20) {
  const got: string[] = [];
  const failures: string[] = [];
  const v = new LineVerifier(KEY, max, { line: (t) => got.push(t), fail: (r) => failures.push(r) });
  const feed = (text: string) => {
    for (const line of text.split('\n')) if (line) v.line(line, Buffer.byteLength(line));
  };
  return { v, got, failures, feed };
}

/** What a sealing LineWriter writes for one batch. */
function sealed(sealer: LineSealer, lines: string[]): string {
  const batch = lines.map((l) => l + '\n').join('');
  return batch + sealer.seal(batch) + '\n';
}

test('a mac is HMAC-SHA256 keyed with the key’s hex digits, whatever the text (the two-hash computation equals crypto.createHmac)', () => {
  for (const batch of ['', 'a\n', 'é😀\u0000\n', 'x'.repeat(100_000) + '\n', '\ud800 lone surrogate\n']) {
    const sealer = new LineSealer(KEY);
    const line = sealer.seal(batch);
    expect(line).toBe(JSON.stringify({ mac: crypto.createHmac('sha256', KEY).update(batch).digest('hex') }));
  }
});

test('the sealer writes what docs/protocol.md describes, and the verifier hands the lines on, batch after batch', () => {
  const sealer = new LineSealer(KEY);
  const reference = new MacChain('s', 'client', 'N1', 'N2');
  const { got, failures, feed } = verifier();
  for (const lines of [['{"id":1,"ops":[]}'], ['{"id":2,"ops":[]}', '{"id":3,"ops":[{"op":"get","key":"é😀"}]}'], ['{"id":4,"ops":[]}']]) {
    const text = sealed(sealer, lines);
    expect(text).toBe(reference.seal(lines.map((l) => l + '\n').join('')));
    feed(text);
  }
  expect(failures).toEqual([]);
  expect(got.map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4]);
});

test('nothing is handed on before its mac line; a paused verifier keeps checked lines, in order, until resumed or drained', () => {
  const sealer = new LineSealer(KEY);
  const { v, got, feed } = verifier();
  const text = sealed(sealer, ['a1', 'a2']) + sealed(sealer, ['b1']);
  const [a1, a2, macA, b1, macB] = text.split('\n');
  feed(a1! + '\n' + a2!);
  expect(got).toEqual([]);
  v.pause();
  feed(macA!);
  expect(got).toEqual([]);
  expect(v.holding).toBe(true);
  v.resume();
  expect(got).toEqual(['a1', 'a2']);
  v.pause();
  feed(b1! + '\n' + macB!);
  v.drain(() => undefined);
  expect(got).toEqual(['a1', 'a2', 'b1']);
});

describe('fails once, and hands on nothing after', () => {
  const sealer = () => new LineSealer(KEY);
  const cases: [string, () => string][] = [
    ['a changed line', () => sealed(sealer(), ['{"id":1}']).replace('"id":1', '"id":2')],
    ['an added line', () => 'extra\n' + sealed(sealer(), ['{"id":1}'])],
    ['a dropped batch', () => {
      const s = sealer();
      sealed(s, ['first']);
      return sealed(s, ['second']);
    }],
    ['a replayed batch', () => {
      const once = sealed(sealer(), ['{"id":1}']);
      return once + once;
    }],
    ['a mac in upper case', () => sealed(sealer(), ['x']).replace(/"mac":"([0-9a-f]+)"/, (_m, h: string) => `"mac":"${h.toUpperCase()}"`)],
    ['a malformed mac line', () => 'x\n{"mac":"00"}\n'],
    ['a mac line with extra fields', () => 'x\n{"mac":"' + '0'.repeat(64) + '","x":1}\n'],
  ];
  test.each(cases)('%s', (_what, text) => {
    const { got, failures, feed } = verifier();
    feed(text());
    expect(failures).toHaveLength(1);
    expect(got.length).toBeLessThanOrEqual(1); // a first genuine batch may pass before the replay
    feed(sealed(sealer(), ['after']));
    expect(failures).toHaveLength(1);
    expect(got).not.toContain('after');
  });

  test('more than the limit without a mac line', () => {
    const { got, failures, feed } = verifier(100);
    feed('x'.repeat(60) + '\n' + 'y'.repeat(60) + '\n');
    expect(failures).toEqual([expect.stringMatching(/more than 100 bytes/)]);
    expect(got).toEqual([]);
  });
});
