/**
 * NDJSON framing (transport/lines.ts): however the bytes are cut into chunks, and wherever the
 * reader pauses, the same lines come out, in order, each once; bad UTF-8 is reported per line;
 * a line over the limit stops the splitter. Compared with a reference that splits the whole
 * stream at once.
 */
import { LineSplitter, LineWriter } from '../src/transport/lines';
import { Rng } from '../scripts/fuzz';

type Event = ['line', string] | ['bad', number] | ['overflow', number];

/** What the splitter must report for `bytes` given all at once (no overflow in these streams). */
function reference(bytes: Buffer): Event[] {
  const out: Event[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(10); nl !== -1; start = nl + 1, nl = bytes.indexOf(10, start)) {
    let end = nl;
    if (end > start && bytes[end - 1] === 13) end--;
    if (end === start) continue;
    const view = bytes.subarray(start, end);
    const text = view.toString('utf8');
    out.push(Buffer.from(text, 'utf8').equals(view) ? ['line', text] : ['bad', end - start]);
  }
  return out;
}

const PIECES = ['{"id":1,"ops":[]}', 'plain ascii', 'héllo €', '𝄞 and 😀', '', '\r', 'x'.repeat(300), '{"a":"\\u00e9"}'];

function randomStream(rng: Rng, lines: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < lines; i++) {
    const r = rng.next();
    if (r < 0.05) parts.push(Buffer.from([0x61, 0xff, 0xfe, 0x62])); // not UTF-8
    else if (r < 0.08) parts.push(Buffer.from([0xe2, 0x82])); // a truncated 3-byte character
    else parts.push(Buffer.from(PIECES[Math.floor(rng.next() * PIECES.length)]!, 'utf8'));
    parts.push(Buffer.from(rng.next() < 0.1 ? '\r\n' : '\n'));
  }
  if (rng.next() < 0.5) parts.push(Buffer.from('an unfinished line')); // never emitted
  return Buffer.concat(parts);
}

function run(bytes: Buffer, rng: Rng, opts: { pauseEvery?: number } = {}): Event[] {
  const events: Event[] = [];
  let paused = false;
  const splitter: LineSplitter = new LineSplitter({
    line: (t) => {
      events.push(['line', paused ? `(while paused) ${t}` : t]);
      if (opts.pauseEvery && rng.next() < 1 / opts.pauseEvery) {
        splitter.pause();
        paused = true;
      }
    },
    badUtf8: (n) => events.push(['bad', n]),
    overflow: (n) => events.push(['overflow', n]),
  });
  let at = 0;
  while (at < bytes.length || paused) {
    if (paused) {
      paused = false;
      splitter.resume(); // may pause again inside
      continue;
    }
    const size = 1 + Math.floor(rng.next() * (rng.next() < 0.3 ? 8 : 600));
    splitter.push(bytes.subarray(at, at + size));
    at += size;
  }
  return events;
}

test('random streams cut at random places give the reference lines', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 300; i++) {
    const bytes = randomStream(rng, 1 + Math.floor(rng.next() * 60));
    expect(run(bytes, rng)).toEqual(reference(bytes));
  }
});

test('pausing mid-chunk (back-pressure) and resuming loses, repeats and reorders nothing', () => {
  const rng = new Rng(12);
  for (let i = 0; i < 300; i++) {
    const bytes = randomStream(rng, 1 + Math.floor(rng.next() * 60));
    expect(run(bytes, rng, { pauseEvery: 3 })).toEqual(reference(bytes));
  }
});

test('every cut point of one small stream, ASCII and not', () => {
  const bytes = Buffer.from('{"id":1}\nhé\r\n\n€x\nplain\n', 'utf8');
  const want = reference(bytes);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const events: Event[] = [];
    const s = new LineSplitter({ line: (t) => events.push(['line', t]), badUtf8: (n) => events.push(['bad', n]), overflow: (n) => events.push(['overflow', n]) });
    s.push(bytes.subarray(0, cut));
    s.push(bytes.subarray(cut));
    expect(events).toEqual(want);
  }
});

test('a line over the limit stops the splitter, in an ASCII chunk, a non-ASCII chunk, and across chunks', () => {
  for (const [bytes, cut] of [
    [Buffer.from('ok\n' + 'a'.repeat(11) + '\nlater\n'), 0],
    [Buffer.from('ok\n' + 'é'.repeat(6) + '\nlater\n'), 0],
    [Buffer.from('ok\n' + 'a'.repeat(11) + '\nlater\n'), 6],
  ] as const) {
    const events: Event[] = [];
    const s = new LineSplitter({ line: (t) => events.push(['line', t]), badUtf8: (n) => events.push(['bad', n]), overflow: (n) => events.push(['overflow', n]) }, 10);
    if (cut) {
      s.push(bytes.subarray(0, cut));
      s.push(bytes.subarray(cut));
    } else s.push(bytes);
    expect(events[0]).toEqual(['line', 'ok']);
    expect(events[1]![0]).toBe('overflow');
    expect(events).toHaveLength(2); // nothing after the overflow
  }
  // At the limit exactly: accepted.
  const events: Event[] = [];
  new LineSplitter({ line: (t) => events.push(['line', t]), badUtf8: () => {}, overflow: (n) => events.push(['overflow', n]) }, 10).push(Buffer.from('a'.repeat(10) + '\r\n'));
  expect(events).toEqual([['line', 'a'.repeat(10)]]);
});

test('LineWriter writes each batch as its lines, each ending in "\\n", in order, and counts their characters: short lines joined, a long line alone, a long line among others', () => {
  const long = (n: number, c: string) => c.repeat(n);
  const batches: string[][] = [
    ['{"id":1}'],
    ['a', 'b', 'c'],
    [long(64 * 1024, 'x')], // exactly LONG_LINE_CHARS with its "\n": written without join
    [long(64 * 1024 - 2, 'x')], // one short of it: joined
    [long(200_000, 'é') + '✓'], // two-byte text
    ['first', long(100_000, 'y'), 'last'],
    [long(70_000, '😀')],
  ];
  const writes: [string, number][] = [];
  const writer = new LineWriter((data, chars) => {
    writes.push([data, chars]);
    return true;
  });
  for (const batch of batches) {
    for (const line of batch) writer.send(line);
    expect(writer.queuedChars).toBe(batch.reduce((n, l) => n + l.length + 1, 0));
    writer.flush();
    expect(writer.queuedChars).toBe(0);
  }
  expect(writes).toEqual(batches.map((b) => [b.map((l) => l + '\n').join(''), b.reduce((n, l) => n + l.length + 1, 0)]));
});
