/**
 * Host and client read the lines remoteobj writes by hand (protocol/line-reader.ts). Whatever
 * the line, the result must be exactly JSON.parse's: the same value when JSON.parse succeeds, the
 * same error when it throws. Checked on the client's and the host's own lines, on every
 * one-character edit of them, and on 20,000 fuzzer lines; and the canonical lines must really
 * take the fast road.
 */
import { canonicalCancelId, parseCancelLine, parseItemLine, parseItemsLine, parseReplyLine, parseRequestLine, readCanonicalCancel, readCanonicalIdLine, readCanonicalItem, readCanonicalItems, readCanonicalReply, readCanonicalRequest as readCanonical } from '../src/protocol/line-reader';
import net from 'node:net';
import util, { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { decode, decodeList } from '../src/protocol/codec';
import { ControlMessage, MAX_ARGS, MAX_KEY_CHARS, MAX_OPS, ReplySchema, RequestSchema, RequestV2Schema } from '../src/protocol/messages';
import { cancelLine, itemsLine, itemText, readLineV2, readRequest, RequestFault, requestLine } from '../src/protocol/wire';
import { connect, serve } from 'remoteobj';
import { generateLine, Rng, type GenContext } from '../scripts/fuzz';
import { tmpSock, until } from './helpers';

function sameAsJsonParse(line: string, parse: (line: string) => unknown = parseRequestLine): void {
  let want: unknown;
  let wantError: string | undefined;
  let got: unknown;
  let gotError: string | undefined;
  // Most edited lines are not JSON: both sides throw, and capturing two stacks per line was a third
  // of this file's time. Only the errors' names and messages are compared.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    try {
      want = JSON.parse(line);
    } catch (e) {
      wantError = String(e);
    }
    try {
      got = parse(line);
    } catch (e) {
      gotError = String(e);
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  // Checked by hand rather than with expect(): this runs for tens of thousands of lines.
  if (gotError !== wantError) throw new Error(`for ${JSON.stringify(line.slice(0, 300))}: threw ${gotError}, JSON.parse ${wantError}`);
  if (wantError === undefined && !sameJson(got, want)) throw new Error(`for ${JSON.stringify(line.slice(0, 300))}: a different value than JSON.parse's`);
}

/** Deep equality of two JSON.parse results, own keys in order, without recursion (fuzzer values nest deep). */
function sameJson(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === null || typeof x !== 'object' || y === null || typeof y !== 'object') {
      if (!Object.is(x, y)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length || kx.some((k, i) => k !== ky[i])) return false;
    for (const k of kx) stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
  }
  return true;
}

/** Lines as the client writes them (connection.ts opsJson). */
const canonical = [
  '{"id":1,"ops":[]}',
  '{"id":12345,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}',
  '{"id":7,"ops":[{"op":"get","key":"data"},{"op":"get","key":"users"},{"op":"get","key":3},{"op":"get","key":"profile"},{"op":"get","key":"name"}]}',
  '{"id":0,"ops":[{"op":"get","key":""}]}',
  '{"id":9007199254740991,"ops":[{"op":"get","key":0}]}',
  '{"id":2,"ops":[{"op":"call","args":[]}]}',
  '{"id":3,"ops":[{"op":"get","key":"echo"},{"op":"call","args":[{"a":[1,2,{"$date":"2020-01-01T00:00:00.000Z"}],"s":"h\\u00e9 \\"q\\" }]}"},null,true,-1.5e3]}]}',
  '{"id":4,"ops":[{"op":"get","key":"a b-c.d!~"},{"op":"call","args":["}]}"]}]}',
  '{"id":5,"ops":[{"op":"get","key":"f"},{"op":"call","args":[0,12,"a,b]",true,false,null,""]}]}',
  '{"id":6,"ops":[{"op":"get","key":"g"},{"op":"call","args":[123456789012345,1234567890123456,-1,1.5]}]}',
  '{"id":8,"strict":true,"ops":[{"op":"get","key":"count"}]}', // a strict request (connect's `strict` option)
  '{"id":9,"strict":true,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}',
  // Protocol 2: a request on a handle (`to`), in a lock turn (`turn`), both (wire.ts requestLine).
  '{"id":10,"to":3,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}',
  '{"id":11,"turn":4,"ops":[{"op":"get","key":"n"}]}',
  '{"id":12,"to":1,"turn":2,"ops":[]}',
  '{"id":13,"strict":true,"to":5,"turn":6,"ops":[{"op":"get","key":"a"},{"op":"get","key":0},{"op":"call","args":[]}]}',
];

test.each(canonical)('the client\'s line %s is read by hand, to the same value', (line) => {
  expect(readCanonical(line)).toBeDefined();
  sameAsJsonParse(line);
});

test('member names read before are reused only when they are the same name (same length and first letter are not enough)', () => {
  // The reader keeps recent names by length and first letter: these collide in its table.
  const keys = ['abc', 'abd', 'abc', 'axc', 'a', 'b', 'a', 'users', 'usern', 'users', 'ab"', 'abc'];
  for (const [i, key] of keys.entries()) {
    const line = `{"id":${i + 1},"ops":[{"op":"get","key":${JSON.stringify(key)}},{"op":"get","key":"abc"}]}`;
    sameAsJsonParse(line);
    expect((readCanonical(line)?.ops[0] as { key?: unknown } | undefined)?.key).toBe(key.includes('"') ? undefined : key);
  }
});

test('long lists (past the reader\'s 1,024-slot scratch lists) give what JSON.parse gives, and the next line is read right', () => {
  const ops = Array.from({ length: 1100 }, (_, i) => `{"op":"get","key":"k${i % 7}"}`).join(',');
  const args = Array.from({ length: 1500 }, (_, i) => String(i)).join(',');
  for (const line of [
    `{"id":1,"ops":[${ops}]}`,
    `{"id":2,"ops":[{"op":"get","key":"f"},{"op":"call","args":[${args}]}]}`,
    `{"id":3,"ops":[{"op":"get","key":"f"},{"op":"call","args":[1,2,{"x":1}]}]}`, // a list abandoned midway
    '{"id":4,"ops":[{"op":"get","key":"a"},{"op":"get","key":"b"},{"op":"set"}]}', // ops abandoned midway
    '{"id":5,"ops":[{"op":"get","key":"g"},{"op":"call","args":[7]}]}',
  ]) {
    sameAsJsonParse(line);
  }
  expect(readCanonical('{"id":5,"ops":[{"op":"get","key":"g"},{"op":"call","args":[7]}]}')).toEqual({ id: 5, ops: [{ op: 'get', key: 'g' }, { op: 'call', args: [7] }] });
});

test('lines not in the canonical form go to JSON.parse', () => {
  for (const line of [
    '{"id": 1,"ops":[]}',
    '{"ops":[],"id":1}',
    '{"id":1,"ops":[{"op":"call","args":[]},{"op":"get","key":"x"}]}', // a call that is not last
    '{"id":1,"ops":[{"op":"get","key":"caf\\u00e9"}]}',
    '{"id":1,"ops":[{"op":"get","key":"é"}]}',
    '{"id":1,"ops":[{"op":"set","key":"x","value":1}]}',
    '{"id":"a","ops":[]}',
    '{"id":-1,"ops":[]}',
    '{"id":1.5,"ops":[]}',
    '{"id":01,"ops":[]}',
    '{"id":12345678901234567,"ops":[]}',
    '{"id":1,"ops":[{"op":"get","key":1e3}]}',
    '{"id":1,"ops":[],"id":2}',
    '{"id":1,"ops":[{"op":"get","key":"a","key":"b"}]}',
  ]) {
    expect(readCanonical(line)).toBeUndefined();
    sameAsJsonParse(line);
  }
});

test('every one-character deletion, insertion and replacement of the client\'s lines gives what JSON.parse gives', () => {
  expect(everyEdit(canonical, parseRequestLine)).toBeGreaterThan(20_000);
});

test('a request of a shape read just before (same ops up to the call\'s arguments) gives what JSON.parse gives, whatever follows the shape', () => {
  // Each edit is read right after its original, so the original's shape is the one remembered:
  // the known-shape road is tried first for every edit (and must hand over when the rest differs).
  const withCall = canonical.filter((line) => line.includes('"op":"call"'));
  let checked = 0;
  for (const line of withCall) {
    expect(readCanonical(line)).toBeDefined();
    checked += everyEdit([line], (edited) => {
      readCanonical(line);
      return parseRequestLine(edited);
    });
    // New ids and arguments in the same shape: read by hand, to the same value.
    for (const args of ['[2]', '[]', '["}]}"]', '[{"x":[1,{"y":null}]}]', '[1,2', '[1]}]}', '[1]},{"op":"get","key":"x"}]}']) {
      readCanonical(line);
      const next = line.replace(/^\{"id":\d+/, '{"id":77').replace(/"args":.*\}\]\}$/, `"args":${args}}]}`);
      sameAsJsonParse(next);
    }
  }
  // Two shapes in turn (two methods called alternately) and a strict one beside a plain one.
  const a = '{"id":1,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}';
  const b = '{"id":2,"ops":[{"op":"get","key":"data"},{"op":"get","key":3},{"op":"get","key":"push"},{"op":"call","args":["x"]}]}';
  const c = '{"id":3,"strict":true,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}';
  for (let i = 0; i < 50; i++) for (const line of [a, b, c]) sameAsJsonParse(line.replace(/"id":\d+/, `"id":${i}`).replace(/\[1\]|\["x"\]/, `[${i}]`));
  expect(checked).toBeGreaterThan(5_000);
});

test('member names and request shapes the reader keeps do not keep the lines they came in alive', () => {
  // Lines of 2 MB, decoded as the framing decodes a chunk (latin1: held off the heap), each with a
  // new member name of 13 to 300 characters: a kept name that is a view into its line kept the
  // line (40 lines kept 45 MB before).
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().external;
  const kept: string[] = [];
  for (let i = 0; i < 40; i++) {
    const key = String.fromCharCode(97 + (i % 26)) + 'x'.repeat(12 + ((i * 7) % 288));
    const line = `{"id":${i},"ops":[{"op":"get","key":"${key}"},{"op":"call","args":["kept by the hosted method ${i}","${'p'.repeat(2_000_000)}"]}]}`;
    const text = Buffer.from(line).toString('latin1');
    const read = parseRequestLine(text) as { ops: { key?: string; args?: string[] }[] };
    expect(read.ops[0]!.key).toBe(key);
    // A string argument the host keeps (and a string result a client keeps) is its own string too.
    kept.push(read.ops[1]!.args![0]!);
    // The same shape again: read from what was kept, to the same value.
    sameAsJsonParse(text.replace(`"id":${i}`, `"id":${i + 1000}`));
  }
  gc();
  gc();
  expect(process.memoryUsage().external - before).toBeLessThan(16_000_000);
  expect(kept).toHaveLength(40);
});

test('fuzzer lines (20,000 drawn; those up to 4 KiB) give what JSON.parse gives', () => {
  let fast = 0;
  for (const line of fuzzerLines(424242, 20_000)) {
    if (readCanonical(line)) fast++;
    sameAsJsonParse(line);
  }
  expect(fast).toBeGreaterThan(1_000); // the fuzzer writes canonical lines too: the fast road is exercised here as well
});

/** Lines as the host writes them (session.ts replyValue / replySelf). */
const replies = [
  '{"id":1,"kind":"self"}',
  '{"id":12345,"kind":"value","value":2}',
  '{"id":0,"kind":"value","value":null}',
  '{"id":2,"kind":"value","value":"text, with } and ]"}',
  '{"id":3,"kind":"value","value":[1,"a",true,false,null]}',
  '{"id":4,"kind":"value","value":{"a":[1.5,-2,{"$bigint":"12"}],"s":"h\\u00e9"}}',
  '{"id":5,"kind":"value","value":[]}',
  '{"id":6,"kind":"value","value":1234567890123456}',
  '{"id":7,"kind":"value","value":"caf\\u00e9"}', // not simple: the value goes to JSON.parse, the line stays canonical
];

test.each(replies)("the host's reply %s is read by hand, to the same value", (line) => {
  expect(readCanonicalReply(line)).toBeDefined();
  sameAsJsonParse(line, parseReplyLine);
});

test('replies not in the canonical form go to JSON.parse', () => {
  for (const line of [
    '{"id":"a","kind":"value","value":1}',
    '{"id":null,"kind":"error","error":{"name":"Error","message":"x"}}',
    '{"id":1,"kind":"error","error":{"name":"Error","message":"x"}}',
    '{"kind":"value","id":1,"value":1}',
    '{"id":1,"kind":"value","value":1,"extra":2}',
    '{"id":1,"kind":"self","x":1}',
    '{"id":1,"kind":"value","value":}',
  ]) {
    expect(readCanonicalReply(line)).toBeUndefined();
    sameAsJsonParse(line, parseReplyLine);
  }
});

test("every one-character deletion, insertion and replacement of the host's replies gives what JSON.parse gives", () => {
  expect(everyEdit(replies, parseReplyLine)).toBeGreaterThan(10_000);
});

test('fuzzer lines read as replies give what JSON.parse gives', () => {
  for (const line of fuzzerLines(777, 5_000)) sameAsJsonParse(line, parseReplyLine);
});

/** Items as a stream's producer writes them (wire.ts itemLine). */
const items = [
  '{"kind":"item","stream":1,"value":{"n":12345}}',
  '{"kind":"item","stream":42,"value":7}',
  '{"kind":"item","stream":3,"value":"text, with } and ]"}',
  '{"kind":"item","stream":4,"value":[1,"a",true,false,null]}',
  '{"kind":"item","stream":5,"value":{"a":[1.5,-2,{"$bigint":"12"}],"s":"h\\u00e9"}}',
  '{"kind":"item","stream":9007199254740991,"value":null}',
  '{"kind":"item","stream":6,"value":{"$undefined":true}}',
];

test.each(items)("a stream's item %s is read by hand, to the same value", (line) => {
  expect(readCanonicalItem(line)).toBeDefined();
  sameAsJsonParse(line, parseItemLine);
});

test('items not in the canonical form go to JSON.parse', () => {
  for (const line of [
    '{"kind":"item","value":1,"stream":1}',
    '{"kind":"item","stream":"1","value":1}',
    '{"kind":"item","stream":-1,"value":1}',
    '{"kind":"item","stream":01,"value":1}',
    '{"kind":"item","stream":1.5,"value":1}',
    '{"kind":"item","stream":1,"value":1,"extra":2}',
    '{"kind":"item","stream":1,"value":}',
    '{"kind":"item","stream":1,"value":1} ',
    '{"kind":"item", "stream":1,"value":1}',
  ]) {
    expect(readCanonicalItem(line)).toBeUndefined();
    sameAsJsonParse(line, parseItemLine);
  }
});

test("every one-character deletion, insertion and replacement of a producer's items gives what JSON.parse gives", () => {
  expect(everyEdit(items, parseItemLine)).toBeGreaterThan(10_000);
});

test('fuzzer lines read as items give what JSON.parse gives', () => {
  for (const line of fuzzerLines(4242, 5_000)) sameAsJsonParse(line, parseItemLine);
});

/** Items several to a line (feature `items`) as the producer writes them (wire.ts itemsLine of itemText). */
const itemsLines = [
  itemsLine(1, [itemText({ n: 1 }), itemText({ n: 2 })]),
  itemsLine(42, [itemText(7)]),
  itemsLine(3, [itemText('text, with } and ]'), itemText([1, 'a', true, false, null])]),
  itemsLine(5, [itemText({ a: [1.5, -2, 12n], s: 'h\u00e9' }), itemText(undefined)]),
  itemsLine(9007199254740991, [itemText(null), itemText({ $x: 1 })]),
];

test.each(itemsLines)("a stream's items line %s is read by hand, to the same value", (line) => {
  expect(readCanonicalItems(line)).toBeDefined();
  sameAsJsonParse(line, parseItemsLine);
});

test('items lines not in the canonical form go to JSON.parse', () => {
  for (const line of [
    '{"kind":"items","values":[1],"stream":1}',
    '{"kind":"items","stream":"1","values":[1]}',
    '{"kind":"items","stream":01,"values":[1]}',
    '{"kind":"items","stream":1,"values":[1],"extra":2}',
    '{"kind":"items","stream":1,"values":[1],"values":[2]}',
    '{"kind":"items","stream":1,"values":5}',
    '{"kind":"items","stream":1,"values":[1,]}',
    '{"kind":"items","stream":1,"values":[1]} ',
    '{"kind":"items", "stream":1,"values":[1]}',
  ]) {
    expect(readCanonicalItems(line)).toBeUndefined();
    sameAsJsonParse(line, parseItemsLine);
  }
});

test("every one-character deletion, insertion and replacement of a producer's items lines gives what JSON.parse gives", () => {
  expect(everyEdit(itemsLines, parseItemsLine)).toBeGreaterThan(10_000);
});

test('fuzzer lines read as items lines give what JSON.parse gives', () => {
  for (const line of fuzzerLines(4343, 5_000)) sameAsJsonParse(line, parseItemsLine);
});

/** Cancel messages as the client writes them (wire.ts cancelLine, what the peer sends when a signal aborts). */
const cancels = [cancelLine(1), cancelLine(12345), cancelLine(9007199254740991), cancelLine(0)];

test.each(cancels)('a cancel %s is read by hand, to the same value', (line) => {
  expect(readCanonicalCancel(line)).toBeDefined();
  sameAsJsonParse(line, parseCancelLine);
});

test('cancels not in the canonical form (a string id among them) go to JSON.parse', () => {
  for (const line of [
    cancelLine('abc'),
    '{"kind":"cancel","id":-1}',
    '{"kind":"cancel","id":1.5}',
    '{"kind":"cancel","id":01}',
    '{"kind":"cancel","id":1,"x":2}',
    '{"kind":"cancel","id":1 }',
    '{"id":1,"kind":"cancel"}',
    '{"kind":"cancel","id":}',
  ]) {
    expect(readCanonicalCancel(line)).toBeUndefined();
    sameAsJsonParse(line, parseCancelLine);
  }
});

test("every one-character deletion, insertion and replacement of a client's cancels gives what JSON.parse gives", () => {
  expect(everyEdit(cancels, parseCancelLine)).toBeGreaterThan(2_000);
});

test("the peer's cancel road (canonicalCancelId): the id exactly when the line is a cancel the schema accepts, else -1", () => {
  const edits: string[] = [];
  for (const line of [...cancels, cancelLine(9007199254740992), cancelLine(99999999999999999)]) {
    edits.push(line);
    for (let i = 0; i < line.length; i++) {
      edits.push(line.slice(0, i) + line.slice(i + 1));
      for (const c of ['0', '9', '"', '}', ' ', '-']) edits.push(line.slice(0, i) + c + line.slice(i), line.slice(0, i) + c + line.slice(i + 1));
    }
  }
  let read = 0;
  for (const line of edits) {
    const id = canonicalCancelId(line);
    if (id === -1) continue;
    read++;
    // What it reads is exactly a valid cancel message by JSON.parse and the schema.
    expect(ControlMessage.parse(JSON.parse(line))).toEqual({ kind: 'cancel', id });
    expect(line).toBe(cancelLine(id));
  }
  expect(read).toBeGreaterThan(100);
  expect(canonicalCancelId(cancelLine(9007199254740991))).toBe(9007199254740991);
  expect(canonicalCancelId(cancelLine(9007199254740992))).toBe(-1); // not a safe integer: the schema refuses it
  expect(canonicalCancelId(cancelLine('7'))).toBe(-1);
  expect(canonicalCancelId('{"id":1,"ops":[]}')).toBe(-1);
});

/** readCanonicalIdLine reads the id once and goes on as a reply or a request: the same as either reader, then JSON.parse. */
const idLineOrJson = (line: string): unknown => readCanonicalIdLine(line) ?? JSON.parse(line);

test("readCanonicalIdLine: the client's requests and the host's replies, with every one-character edit and fuzzer lines, give what JSON.parse gives", () => {
  for (const line of [...canonical, ...replies]) expect(readCanonicalIdLine(line)).toBeDefined();
  expect(everyEdit([...canonical.slice(0, 4), ...replies], idLineOrJson)).toBeGreaterThan(20_000);
  for (const line of fuzzerLines(31337, 5_000)) sameAsJsonParse(line, idLineOrJson);
});

test('readLineV2 takes canonical replies without zod, and reads every reply (edits and fuzzer lines too) as JSON.parse + the reply schema do', () => {
  /** What readLineV2 gave for replies before: JSON.parse, then ReplySchema. */
  const zodRoad = (line: string): unknown => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return 'not JSON';
    }
    const kind = msg !== null && typeof msg === 'object' && !Array.isArray(msg) ? (msg as { kind?: unknown }).kind : undefined;
    if ((kind !== 'value' && kind !== 'self' && kind !== 'error') || 'ops' in (msg as object)) return 'not a reply';
    const parsed = ReplySchema.safeParse(msg);
    return parsed.success ? { type: 'reply', reply: parsed.data } : 'a bad reply';
  };
  // Checked by hand rather than with expect(): this runs for ~20,000 lines.
  const check = (line: string) => {
    const want = zodRoad(line);
    const got = readLineV2(line, {}) as { type?: string };
    if (typeof want === 'object' ? !isDeepStrictEqual(got, want) : got.type === 'reply') {
      throw new Error(`for ${JSON.stringify(line.slice(0, 200))}: readLineV2 gave ${util.inspect(got)}, JSON.parse + the schema ${util.inspect(want)}`);
    }
  };
  for (const line of replies) check(line);
  check(replies[1]!.replace('12345', '9007199254740993')); // not a safe integer: the schema refuses it
  let n = 0;
  everyEdit(replies, (line) => {
    check(line);
    n++;
    return JSON.parse(line);
  });
  expect(n).toBeGreaterThan(10_000);
  for (const line of fuzzerLines(4711, 5_000)) check(line);
});

test('requests read by hand skip zod when the schema\'s limits hold, and every request (edits, limits, fuzzer lines) is read as JSON.parse + the request schema + decoding read it', () => {
  /** What the host gave for a request line before: JSON.parse, then the schema (zod's copy), then the values decoded. */
  const zodRoad = (line: string, v2: boolean): unknown => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return 'not JSON';
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || !('ops' in msg)) return 'not a request';
    const parsed = (v2 ? RequestV2Schema : RequestSchema).safeParse(msg);
    if (!parsed.success) return 'a bad request';
    try {
      for (const op of parsed.data.ops) {
        if (op.op === 'call' || op.op === 'passto') op.args = decodeList(op.args, {});
        else if (op.op === 'set' || op.op === 'has') op.value = decode(op.value, {});
      }
    } catch {
      return 'a bad value';
    }
    return parsed.data;
  };
  let handRead = 0;
  // Checked by hand rather than with expect(): this runs for ~20,000 lines (util's deep equality
  // also compares the decoded values: dates, bytes, ...).
  const check = (line: string) => {
    if (readCanonical(line) !== undefined) handRead++;
    const fail = (what: string) => {
      throw new Error(`for ${JSON.stringify(line.slice(0, 200))}: ${what}`);
    };
    const want = zodRoad(line, true);
    const got = readLineV2(line, {}) as { type?: string; request?: unknown };
    if (typeof want === 'object') {
      if (got.type !== 'request' || !isDeepStrictEqual(got.request, want)) fail(`readLineV2 gave ${util.inspect(got)}, the schema ${util.inspect(want)}`);
    } else if (want !== 'not a request' && got.type === 'request') fail(`readLineV2 took a request the schema refuses (${want})`);
    const wantV1 = zodRoad(line, false);
    const gotV1 = readRequest(line, {});
    if (typeof wantV1 === 'object') {
      if (!isDeepStrictEqual(gotV1, wantV1)) fail(`readRequest gave ${util.inspect(gotV1)}, the schema ${util.inspect(wantV1)}`);
    } else if (!(gotV1 instanceof RequestFault)) fail(`readRequest took a request the schema refuses (${wantV1})`);
  };
  const call = (args: string, id: number | string = 1) => `{"id":${id},"ops":[{"op":"get","key":"f"},{"op":"call","args":${args}}]}`;
  const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
  const gets = (n: number) => `{"id":1,"ops":[${Array.from({ length: n }, () => '{"op":"get","key":"a"}').join(',')}]}`;
  const limits = [
    // The schema's limits, each just within and just past (the reader reads them all by hand).
    `{"id":1,"ops":[{"op":"get","key":"${'k'.repeat(MAX_KEY_CHARS)}"}]}`,
    `{"id":1,"ops":[{"op":"get","key":"${'k'.repeat(MAX_KEY_CHARS + 1)}"}]}`,
    call(list(MAX_ARGS)),
    call(list(MAX_ARGS + 1)),
    gets(MAX_OPS),
    gets(MAX_OPS + 1),
    call('[1]', '9007199254740991'),
    call('[1]', '9007199254740993'), // not a safe integer
    // Keys the reader takes as scalars and the schema refuses.
    '{"id":1,"ops":[{"op":"get","key":-1}]}',
    '{"id":1,"ops":[{"op":"get","key":1.5}]}',
    '{"id":1,"ops":[{"op":"get","key":9007199254740992}]}',
    '{"id":1,"ops":[{"op":"get","key":true}]}',
    // Arguments that are JSON but not a list.
    call('5'),
    call('{}'),
    call('null'),
    call('"x"'),
    // Values the decoder refuses: the schema passes them, the decoding fails.
    call('[{"$date":"not a date"}]'),
    call('[{"$nope":1}]'),
    // Protocol 2's `to` and `turn`: integers of at least 1, safe (protocol 1 refuses both).
    '{"id":1,"to":0,"ops":[]}',
    '{"id":1,"turn":0,"ops":[]}',
    '{"id":1,"to":9007199254740991,"turn":9007199254740991,"ops":[]}',
    '{"id":1,"to":9007199254740993,"ops":[]}',
    '{"id":1,"turn":9007199254740993,"ops":[]}',
  ];
  for (const line of [...canonical, ...limits]) check(line);
  expect(handRead).toBeGreaterThanOrEqual(canonical.length + limits.length - 4); // all but the four whose keys or id are not JSON scalars the reader takes
  let n = 0;
  everyEdit(canonical.slice(0, 6), (line) => {
    check(line);
    n++;
    return JSON.parse(line);
  });
  expect(n).toBeGreaterThan(10_000);
  for (const line of fuzzerLines(90210, 3_000)) check(line);
});

/**
 * `n` lines drawn by the fuzzer (scripts/fuzz.ts) from `seed`, those up to 4 KiB: its enormous lines
 * test limits, not the readers' decisions (and take seconds each way).
 */
function* fuzzerLines(seed: number, n: number): Generator<string> {
  const g: GenContext = { rng: new Rng(seed), maxMessageBytes: 16 << 10, expect: new Map(), nextCheckId: 1, kinds: {} };
  for (let i = 0; i < n; i++) {
    const line = generateLine(g).toString('utf8');
    if (line.length <= 4096) yield line;
  }
}

/** A hand-written connection to a host at `path`: the lines it receives, as they come. */
function rawLines(path: string): { socket: net.Socket; lines: string[] } {
  const socket = net.connect(path);
  const lines: string[] = [];
  let buf = '';
  socket.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return { socket, lines };
}

function everyEdit(lines: string[], parse: (line: string) => unknown): number {
  const alphabet = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '0', '1', '9', '-', '.', 'e', 'a', 'x', 't', 'n', 'é', '\u0000'];
  let checked = 0;
  for (const line of lines) {
    for (let i = 0; i <= line.length; i++) {
      if (i < line.length) {
        sameAsJsonParse(line.slice(0, i) + line.slice(i + 1), parse);
        checked++;
      }
      for (const ch of alphabet) {
        sameAsJsonParse(line.slice(0, i) + ch + line.slice(i), parse);
        if (i < line.length) sameAsJsonParse(line.slice(0, i) + ch + line.slice(i + 1), parse);
        checked += 2;
      }
      sameAsJsonParse(line.slice(0, i), parse); // truncated
      checked++;
    }
  }
  return checked;
}

test('big bytes and typed arrays (4 KiB of base64 and more) are read without JSON.parse, to what JSON.parse gives, whatever is edited in or around them', () => {
  // valueAt takes `{"$bytes":"…"}`, `{"$buffer":"…"}` and a list of one of them by hand once they
  // are big, when the base64 is strict; anything else in the same place must still read as
  // JSON.parse reads it, or fail as it fails.
  const base64 = (n: number) => Buffer.from(new Uint8Array(n).map((_, i) => (i * 37 + 11) & 255)).toString('base64');
  const lines: [string, (line: string) => unknown][] = [];
  for (const n of [3069, 3072, 3073, 3074, 20_000]) {
    const b = base64(n);
    lines.push([`{"id":3,"ops":[{"op":"get","key":"echo"},{"op":"call","args":[{"$bytes":"${b}"}]}]}`, parseRequestLine]);
    lines.push([`{"id":3,"ops":[{"op":"get","key":"write"},{"op":"call","args":["name",{"$bytes":"${b}"}]}]}`, parseRequestLine]);
    lines.push([`{"id":4,"kind":"value","value":{"$bytes":"${b}"}}`, parseReplyLine]);
    lines.push([`{"id":4,"kind":"value","value":{"$buffer":"${b}"}}`, parseReplyLine]);
    lines.push([`{"kind":"item","stream":2,"value":{"$bytes":"${b}"}}`, parseItemLine]);
    lines.push([`{"kind":"items","stream":2,"values":[{"$bytes":"${b}"}]}`, parseItemsLine]);
    lines.push([`{"id":4,"kind":"value","value":{"$typed":{"type":"Float64Array","base64":"${b}"}}}`, parseReplyLine]);
    lines.push([`{"id":3,"ops":[{"op":"get","key":"f"},{"op":"call","args":[{"$typed":{"type":"Int16Array","base64":"${b}"}}]}]}`, parseRequestLine]);
  }
  const inserts = ['"', '\\', '\\"', '\u0001', '\u001f', ' ', '\t', '=', '==', '-', '_', '.', 'é', '\ud800', '}', ']', '"}', 'A', 'AAAA'];
  let checked = 0;
  for (const [line, parse] of lines) {
    sameAsJsonParse(line, parse);
    const from = line.indexOf('":"', line.indexOf(line.includes('$typed') ? 'base64' : '$b')) + 3;
    const to = line.lastIndexOf('"');
    const places = [from - 4, from - 3, from - 1, from, from + 1, from + 2, from + 3, from + 4, (from + to) >> 1, to - 4, to - 3, to - 2, to - 1, to, to + 1, to + 2, line.length - 1];
    const name = line.indexOf('"type":"');
    if (name >= 0) places.push(name - 1, name + 7, name + 8, name + 9, from - 14, from - 12, from - 10);
    for (const i of places) {
      sameAsJsonParse(line.slice(0, i) + line.slice(i + 1), parse);
      for (const ch of inserts) {
        sameAsJsonParse(line.slice(0, i) + ch + line.slice(i), parse);
        sameAsJsonParse(line.slice(0, i) + ch + line.slice(i + 1), parse);
      }
      checked += 1 + 2 * inserts.length;
    }
  }
  expect(checked).toBeGreaterThan(22_000);
});

describe('the real writers write the canonical forms (or the fast road silently closes)', () => {
  test("remoteobj's client: get and call chains arrive as canonical request lines", async () => {
    const path = tmpSock('lr');
    const lines: string[] = [];
    const server = net.createServer((s) => {
      s.write('{"kind":"hello","protocol":"remoteobj","version":1,"pid":1}\n');
      let buf = '';
      s.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          lines.push(line);
          s.write(JSON.stringify({ id: JSON.parse(line).id, kind: 'value', value: 1 }) + '\n');
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(path, r));
    const remote = (await connect(path, { localBypass: false })) as any;
    try {
      await remote.add(1, 'two', true, null);
      await remote.data.users[3].profile.name;
      await remote.ping();
      await remote.echo({ nested: [1.5, 'é'] }); // not simple: its arguments go to JSON.parse, the line is still canonical
      expect(lines).toHaveLength(4);
      for (const line of lines) {
        expect(readCanonical(line)).toBeDefined();
        sameAsJsonParse(line);
      }
    } finally {
      await remote.$close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("remoteobj's writer: requests with protocol 2's `to` (a handle) and `turn` (a callback's lock turn) are canonical request lines", () => {
    const ops = [{ op: 'get', key: 'add' }, { op: 'call', args: [2, 'x'] }] as const;
    for (const [to, turn, strict] of [[3, undefined, false], [undefined, 4, false], [1, 2, false], [5, 6, true], [9007199254740991, 9007199254740991, false]] as const) {
      const line = requestLine(7, ops as never, strict, undefined, to, turn);
      expect(readCanonical(line)).toMatchObject({ id: 7, ...(to === undefined ? {} : { to }), ...(turn === undefined ? {} : { turn }) });
      sameAsJsonParse(line);
      // Read on a protocol-2 connection without zod when the limits hold, as a root request is.
      expect(readLineV2(line, {})).toMatchObject({ type: 'request', request: { id: 7, ops: [{ op: 'get', key: 'add' }, { op: 'call', args: [2, 'x'] }] } });
    }
  });

  test("remoteobj's host: a stream's items arrive in the canonical item form", async () => {
    const path = tmpSock('lr');
    const target = {
      async *items() {
        yield { n: 1 };
        yield 'plain';
        yield [1, 'a', null];
        yield { a: { b: [true] } };
      },
    };
    const host = await serve(target, path, { localBypass: false });
    const { socket, lines } = rawLines(path);
    try {
      socket.write('{"kind":"hello","version":2}\n{"id":1,"ops":[{"op":"get","key":"items"},{"op":"call","args":[]}]}\n');
      await until(() => lines.some((l) => l.includes('"$stream"')));
      const stream = (JSON.parse(lines.find((l) => l.includes('"$stream"'))!) as { value: { $stream: number } }).value.$stream;
      socket.write(`{"kind":"credit","stream":${stream},"n":8}\n`);
      await until(() => lines.some((l) => l.startsWith('{"kind":"end"')));
      const itemLines = lines.filter((l) => l.includes('"kind":"item"'));
      expect(itemLines).toHaveLength(4);
      for (const line of itemLines) {
        expect(readCanonicalItem(line)).toBeDefined();
        sameAsJsonParse(line, parseItemLine);
      }
    } finally {
      socket.destroy();
      await host.close();
    }
  });

  test("remoteobj's host: to a client that reads items, a stream's items arrive in the canonical items form", async () => {
    const path = tmpSock('lr');
    const target = {
      async *items() {
        for (let i = 0; i < 40; i++) yield i % 2 ? { n: i, s: 'x' } : [i, null];
      },
    };
    const host = await serve(target, path, { localBypass: false });
    const { socket, lines } = rawLines(path);
    try {
      socket.write('{"kind":"hello","version":2,"features":["items"]}\n{"id":1,"ops":[{"op":"get","key":"items"},{"op":"call","args":[]}]}\n');
      await until(() => lines.some((l) => l.includes('"$stream"')));
      const stream = (JSON.parse(lines.find((l) => l.includes('"$stream"'))!) as { value: { $stream: number } }).value.$stream;
      socket.write(`{"kind":"credit","stream":${stream},"n":64}\n`);
      await until(() => lines.some((l) => l.startsWith('{"kind":"end"')));
      const batches = lines.filter((l) => l.includes('"kind":"items"'));
      expect(batches.length).toBeGreaterThan(1);
      let n = 0;
      for (const line of batches) {
        expect(readCanonicalItems(line)).toBeDefined();
        sameAsJsonParse(line, parseItemsLine);
        n += (JSON.parse(line) as { values: unknown[] }).values.length;
      }
      expect(n).toBe(40);
    } finally {
      socket.destroy();
      await host.close();
    }
  });

  test("remoteobj's host: value and self replies arrive in the canonical reply form", async () => {
    const path = tmpSock('lr');
    const target = { n: 1, self() { return this; }, text: 'plain', list: [1, 'a', null], obj: { a: 1 } };
    const host = await serve(target, path, { localBypass: false });
    const { socket, lines: replies } = rawLines(path);
    try {
      const keys = ['n', 'text', 'list', 'obj'];
      keys.forEach((key, i) => socket.write(JSON.stringify({ id: i + 1, ops: [{ op: 'get', key }] }) + '\n'));
      socket.write(JSON.stringify({ id: 9, ops: [{ op: 'get', key: 'self' }, { op: 'call', args: [] }] }) + '\n');
      await until(() => replies.length === 6); // the hello, then five replies
      for (const line of replies.slice(1)) {
        expect(readCanonicalReply(line)).toBeDefined();
        sameAsJsonParse(line, parseReplyLine);
      }
      expect(replies[5]).toBe('{"id":9,"kind":"self"}');
    } finally {
      socket.destroy();
      await host.close();
    }
  });
});
