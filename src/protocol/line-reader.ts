/**
 * Reading the lines remoteobj itself writes. JSON.parse costs ~0.15–0.2 µs per object it builds,
 * and a request of remoteobj's client builds four
 * (`{"id":1,"ops":[{"op":"get","key":"add"},{"op":"call","args":[1]}]}`): in a hot loop that was
 * more than half of the host's work per request. The lines remoteobj's client and host write have
 * one exact form each, so those are read here by hand, with JSON.parse only for values that are
 * not simple.
 *
 * The contract: `parseRequestLine(line)` and `parseReplyLine(line)` return exactly what
 * `JSON.parse(line)` returns, and throw what it throws. Lines in the canonical form are read by
 * hand; any other line (other ops, whitespace, escapes, another key order, a call that is not the
 * last op, a string id...) goes to JSON.parse. A request read by hand then skips zod only when
 * the schema's limits hold (wire.ts handReadRequestPasses); any other is validated by the zod
 * schema, like any other message. __tests__/line-reader.test.ts holds them to it.
 */

import { BUFFER_START, BYTES_START, CALL_OP_START, CANCEL_START, GET_OP_START, ID_START, ITEM_START, ITEM_VALUE, ITEMS_START, ITEMS_VALUES, OPS_FIELD, SELF_REPLY_END, STRICT_FIELD, TO_FIELD, TURN_FIELD, TYPED_BASE64, TYPED_NAME, TYPED_START, VALUE_REPLY_MIDDLE } from './canonical';
import { decodeBase64Exactly } from './codec';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/** JSON.parse(line), read by hand when the line is a request in the client's canonical form. */
export function parseRequestLine(line: string): unknown {
  return readCanonicalRequest(line) ?? JSON.parse(line);
}

/** JSON.parse(line), read by hand when the line is a value or self reply in the host's canonical form. */
export function parseReplyLine(line: string): unknown {
  return readCanonicalReply(line) ?? JSON.parse(line);
}


/** A request as the hand reader gives it: the keys JSON.parse would give, in the same order. */
export type CanonicalRequest = { id: number; strict?: true; to?: number; turn?: number; ops: object[] };

/**
 * `{"id":<digits>,"ops":[<op>,...]}` (or `{"id":<digits>,"strict":true,"ops":[...]}`; protocol 2's
 * `"to":<digits>` and `"turn":<digits>` may come before the ops, in that order) with each op
 * exactly `{"op":"get","key":"<plain>"}`, `{"op":"get","key":<digits>}` or, as the last op only,
 * `{"op":"call","args":<json>}`; else undefined.
 */
export function readCanonicalRequest(line: string): CanonicalRequest | undefined {
  if (!line.startsWith(ID_START)) return undefined;
  const idEnd = digitsEnd(line, ID_START.length);
  if (idEnd < 0) return undefined;
  return requestAfterId(line, integerAt(line, ID_START.length, idEnd), idEnd);
}

/** A canonical reply (readCanonicalReply) or request (readCanonicalRequest), its id read once; else undefined. */
export function readCanonicalIdLine(line: string): CanonicalReply | CanonicalRequest | undefined {
  if (!line.startsWith(ID_START)) return undefined;
  const idEnd = digitsEnd(line, ID_START.length);
  if (idEnd < 0) return undefined;
  const id = integerAt(line, ID_START.length, idEnd);
  // After the id: `,"kind"` in a reply, `,"ops"`, `,"strict"`, `,"to"` or `,"turn"` in a request.
  return line.charCodeAt(idEnd + 2) === 107 /* k */ ? replyAfterId(line, id, idEnd) : requestAfterId(line, id, idEnd);
}

/**
 * The shapes of requests read lately: the exact text from the end of the id to the call's
 * arguments (`,"ops":[{"op":"get","key":"add"},{"op":"call","args":`), with the keys it holds. A
 * client calls the same few methods over and over, so most requests are a known shape with a new
 * id and new arguments: one string comparison then stands for reading every op by hand. In a hot
 * loop over sliced lines (as the framing hands them out) a get + call request took 157 ns instead
 * of 410. The shape must match to the character, so what is read is exactly what the slow road
 * would read. Sixteen slots, by a few characters after the id, so two or three methods called in
 * turn do not keep evicting each other.
 */
interface Shape {
  readonly text: string;
  readonly keys: readonly (string | number)[];
  readonly strict: boolean;
}
const SHAPES = new Array<Shape | undefined>(16).fill(undefined);
const MAX_SHAPE_CHARS = 512;

/** The slot of a request's shape: characters at fixed places after its id (`strict`, the first key's first two). */
function shapeSlot(line: string, idEnd: number): number {
  return (line.charCodeAt(idEnd + 2) * 31 + line.charCodeAt(idEnd + 27) * 7 + line.charCodeAt(idEnd + 28)) & 15;
}

/** A request whose ops up to the call's arguments are a shape read before; else undefined (the slow road). */
function requestOfKnownShape(line: string, id: number, idEnd: number): CanonicalRequest | undefined {
  const shape = SHAPES[shapeSlot(line, idEnd)];
  if (shape === undefined) return undefined;
  const argsAt = idEnd + shape.text.length;
  const end = line.length - 3;
  // `}]}` closes the call, the ops and the request, as on the slow road.
  if (end <= argsAt || line.charCodeAt(end) !== CLOSE_BRACE || line.charCodeAt(end + 1) !== CLOSE_BRACKET || line.charCodeAt(end + 2) !== CLOSE_BRACE) return undefined;
  if (line.substring(idEnd, argsAt) !== shape.text) return undefined;
  const args = valueAt(line, argsAt, end);
  if (args === NOT_JSON) return undefined;
  const keys = shape.keys;
  let n = 0;
  for (; n < keys.length; n++) OPS[n] = { op: 'get', key: keys[n] };
  OPS[n++] = { op: 'call', args };
  return request(id, shape.strict, exactList(OPS, n));
}

/** Remember the shape of a request just read by hand: its `n` get ops (in OPS) and then a call. */
function rememberShape(line: string, idEnd: number, strict: boolean, n: number): void {
  // Built from the parts rather than cut from the line: a substring would keep the whole chunk
  // the line came in alive. The keys are plain strings (no escapes) or integers, so this is the text.
  // A shape is kept only while it is small: sixteen of them then hold a few KiB at most (its keys
  // are strings of their own, ownCopy, and no longer than its text).
  let text = (strict ? STRICT_FIELD : '') + OPS_FIELD + '[';
  const keys: (string | number)[] = [];
  for (let i = 0; i < n; i++) {
    const key = (OPS[i] as { key: string | number }).key;
    keys.push(key);
    text += GET_OP_START + (typeof key === 'string' ? '"' + key + '"' : String(key)) + '},';
    if (text.length > MAX_SHAPE_CHARS) return;
  }
  text += CALL_OP_START;
  if (text.length > MAX_SHAPE_CHARS) return;
  text.charCodeAt(0); // flattened once here, not at every comparison
  SHAPES[shapeSlot(line, idEnd)] = { text, keys, strict };
}

/** readCanonicalRequest from the end of the id on. */
function requestAfterId(line: string, id: number, idEnd: number): CanonicalRequest | undefined {
  const known = requestOfKnownShape(line, id, idEnd);
  if (known !== undefined) return known;
  const strict = line.startsWith(STRICT_FIELD, idEnd);
  let opsAt = strict ? idEnd + STRICT_FIELD.length : idEnd;
  // Protocol 2: a request on a handle or function (`to`), one in a lock turn (`turn`). Such
  // requests are read here too (the known shapes hold only requests without them).
  let to: number | undefined;
  let turn: number | undefined;
  if (line.startsWith(TO_FIELD, opsAt)) {
    const end = digitsEnd(line, opsAt + TO_FIELD.length);
    if (end < 0) return undefined;
    to = integerAt(line, opsAt + TO_FIELD.length, end);
    opsAt = end;
  }
  if (line.startsWith(TURN_FIELD, opsAt)) {
    const end = digitsEnd(line, opsAt + TURN_FIELD.length);
    if (end < 0) return undefined;
    turn = integerAt(line, opsAt + TURN_FIELD.length, end);
    opsAt = end;
  }
  const plain = to === undefined && turn === undefined;
  if (!line.startsWith(OPS_FIELD, opsAt) || line.charCodeAt(opsAt + OPS_FIELD.length) !== 91 /* [ */) return undefined;
  let pos = opsAt + OPS_FIELD.length + 1;
  if (line.charCodeAt(pos) === CLOSE_BRACKET) return line.length === pos + 2 && line.charCodeAt(pos + 1) === CLOSE_BRACE ? (plain ? request(id, strict, []) : requestV2(id, strict, to, turn, [])) : undefined;
  let n = 0;
  for (;;) {
    if (n === MAX_LISTED) return clearList(OPS, n); // longer than any valid request: JSON.parse's (and zod's) turn
    if (line.startsWith(GET_OP_START, pos)) {
      // The key: a plain string or a non-negative integer (a scalar that is neither: JSON.parse's turn).
      const end = keyAt(line, pos + GET_OP_START.length);
      if (end < 0 || (typeof scalar !== 'string' && typeof scalar !== 'number') || line.charCodeAt(end) !== CLOSE_BRACE) return clearList(OPS, n);
      OPS[n++] = { op: 'get', key: scalar };
      pos = end + 1;
    } else if (line.startsWith(CALL_OP_START, pos)) {
      // Only as the last op: the arguments then run to the line's closing `}]}`, and whatever
      // JSON they are, they are read (or the whole line goes to JSON.parse).
      const end = line.length - 3;
      if (!line.endsWith('}]}') || end <= pos + CALL_OP_START.length) return clearList(OPS, n);
      const args = valueAt(line, pos + CALL_OP_START.length, end);
      if (args === NOT_JSON) return clearList(OPS, n);
      if (plain) rememberShape(line, idEnd, strict, n);
      OPS[n++] = { op: 'call', args };
      return plain ? request(id, strict, exactList(OPS, n)) : requestV2(id, strict, to, turn, exactList(OPS, n));
    } else {
      return clearList(OPS, n);
    }
    const c = line.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      continue;
    }
    if (c !== CLOSE_BRACKET || line.length !== pos + 2 || line.charCodeAt(pos + 1) !== CLOSE_BRACE) return clearList(OPS, n);
    return plain ? request(id, strict, exactList(OPS, n)) : requestV2(id, strict, to, turn, exactList(OPS, n));
  }
}

/** The request object, with the same keys in the same order as JSON.parse's. */
function request(id: number, strict: boolean, ops: object[]): CanonicalRequest {
  return strict ? { id, strict: true, ops } : { id, ops };
}

/** A request with `to` or `turn` (or both): the same keys in the same order as JSON.parse's. */
function requestV2(id: number, strict: boolean, to: number | undefined, turn: number | undefined, ops: object[]): CanonicalRequest {
  const r: CanonicalRequest = strict ? { id, strict: true } as CanonicalRequest : { id } as CanonicalRequest;
  if (to !== undefined) r.to = to;
  if (turn !== undefined) r.turn = turn;
  r.ops = ops;
  return r;
}

/**
 * Lists are read into these and copied out at their exact length: an array literal grown by push
 * reserves 17 slots at the first push (~150 bytes for a one- or two-element list), and a request
 * holds two lists (ops, args). Read + evaluate + reply allocated ~1,235 bytes per request before.
 */
const OPS: object[] = [];
const ITEMS: unknown[] = [];
/** The scratch lists stay small: a longer list (past any the schema accepts: 256 ops, 1,024 arguments) goes to JSON.parse. */
const MAX_LISTED = 1024;

/** list[0, n) as a new array of exactly n elements; the scratch slots are cleared (no value is kept alive). */
function exactList<T>(list: T[], n: number): T[] {
  const out = list.slice(0, n);
  clearList(list, n);
  return out;
}

/** Clear the first n scratch slots (a line that is not canonical after all); undefined, for the caller to return. */
function clearList(list: unknown[], n: number): undefined {
  for (let i = 0; i < n; i++) list[i] = undefined;
  return undefined;
}


/** `{"id":<digits>,"kind":"value","value":<json>}` or `{"id":<digits>,"kind":"self"}`; else undefined. */
export type CanonicalReply = { id: number; kind: 'value'; value: unknown } | { id: number; kind: 'self' };

export function readCanonicalReply(line: string): CanonicalReply | undefined {
  if (!line.startsWith(ID_START)) return undefined;
  const idEnd = digitsEnd(line, ID_START.length);
  if (idEnd < 0) return undefined;
  return replyAfterId(line, integerAt(line, ID_START.length, idEnd), idEnd);
}

/** readCanonicalReply from the end of the id on. */
function replyAfterId(line: string, id: number, idEnd: number): CanonicalReply | undefined {
  if (line.startsWith(VALUE_REPLY_MIDDLE, idEnd)) {
    const start = idEnd + VALUE_REPLY_MIDDLE.length;
    const end = line.length - 1;
    if (end <= start || line.charCodeAt(end) !== CLOSE_BRACE) return undefined;
    const value = valueAt(line, start, end);
    return value === NOT_JSON ? undefined : { id, kind: 'value', value };
  }
  return line.length === idEnd + SELF_REPLY_END.length && line.endsWith(SELF_REPLY_END) ? { id, kind: 'self' } : undefined;
}

/**
 * `{"kind":"item","stream":<digits>,"value":<json>}` (a stream's item, protocol 2: the most
 * frequent line of a stream, one per item); else undefined. The envelope by hand, the value as
 * valueAt reads it: JSON.parse of the whole line cost ~2.4x JSON.parse of the value alone.
 */
export function readCanonicalItem(line: string): { kind: 'item'; stream: number; value: unknown } | undefined {
  if (!line.startsWith(ITEM_START)) return undefined;
  const idEnd = digitsEnd(line, ITEM_START.length);
  if (idEnd < 0 || !line.startsWith(ITEM_VALUE, idEnd)) return undefined;
  const start = idEnd + ITEM_VALUE.length;
  const end = line.length - 1;
  if (end <= start || line.charCodeAt(end) !== CLOSE_BRACE) return undefined;
  const value = valueAt(line, start, end);
  return value === NOT_JSON ? undefined : { kind: 'item', stream: integerAt(line, ITEM_START.length, idEnd), value };
}

/** JSON.parse(line), read by hand when the line is a stream item in the producer's canonical form. */
export function parseItemLine(line: string): unknown {
  return readCanonicalItem(line) ?? JSON.parse(line);
}

/**
 * `{"kind":"items","stream":<digits>,"values":[...]}` (feature `items`: a stream's items, several
 * to a line); else undefined. The envelope by hand, the list by one JSON.parse of its text (what
 * it holds, how many, is zod's to check, as for any line).
 */
export function readCanonicalItems(line: string): { kind: 'items'; stream: number; values: unknown } | undefined {
  if (!line.startsWith(ITEMS_START)) return undefined;
  const idEnd = digitsEnd(line, ITEMS_START.length);
  if (idEnd < 0 || !line.startsWith(ITEMS_VALUES, idEnd)) return undefined;
  const start = idEnd + ITEMS_VALUES.length;
  const end = line.length - 1;
  if (end <= start || line.charCodeAt(start) !== 91 /* [ */ || line.charCodeAt(end) !== CLOSE_BRACE) return undefined;
  // A stream of big chunks of bytes sends one to a line (ItemBatch: a line closes past 16 KiB).
  let values = end - start >= BIG_BYTES_CHARS ? bytesAt(line, start, end) : undefined;
  try {
    values ??= JSON.parse(line.slice(start, end));
  } catch {
    return undefined;
  }
  return { kind: 'items', stream: integerAt(line, ITEMS_START.length, idEnd), values };
}

/** JSON.parse(line), read by hand when the line is a stream's items in the producer's canonical form. */
export function parseItemsLine(line: string): unknown {
  return readCanonicalItems(line) ?? JSON.parse(line);
}

/**
 * `{"kind":"cancel","id":<digits>}` (a client gives up on a request, protocol 2); else undefined.
 * A client that aborts many queued requests sends one per request, and the bound for a
 * cancelled queued request is 1 µs of host CPU: JSON.parse of the line was a quarter of that.
 */
export function readCanonicalCancel(line: string): { kind: 'cancel'; id: number } | undefined {
  const id = canonicalCancelId(line);
  return id < 0 ? undefined : { kind: 'cancel', id };
}

/**
 * The id of a cancel message in the canonical form whose id is a safe integer (all the schema's
 * CancelMessage can then hold: such a line needs no object and no zod); -1 for any other line.
 * What the peer reads first (peer.ts): the cancel's message object, zod's copy of it and its
 * result were most of what a cancelled queued request allocated on the host (case (h)).
 */
export function canonicalCancelId(line: string): number {
  // Asked of every line a protocol-2 peer reads: a request or reply (`{"id":`) differs from
  // CANCEL_START (`{"kind":`) at its third character, one charCodeAt rather than a startsWith.
  if (line.charCodeAt(2) !== CANCEL_START.charCodeAt(2) || !line.startsWith(CANCEL_START)) return -1;
  const idEnd = digitsEnd(line, CANCEL_START.length);
  if (idEnd < 0 || idEnd !== line.length - 1 || line.charCodeAt(idEnd) !== CLOSE_BRACE) return -1;
  const id = integerAt(line, CANCEL_START.length, idEnd);
  return id <= Number.MAX_SAFE_INTEGER ? id : -1;
}

/** JSON.parse(line), read by hand when the line is a cancel message in the client's canonical form. */
export function parseCancelLine(line: string): unknown {
  return readCanonicalCancel(line) ?? JSON.parse(line);
}

const NOT_JSON = Symbol('not JSON');

/** The JSON value that is exactly line[start, end): simple ones and big bytes by hand, the rest by JSON.parse. */
function valueAt(line: string, start: number, end: number): unknown {
  const simple = simpleValue(line, start, end);
  if (simple !== NOT_SIMPLE) return simple;
  if (end - start >= BIG_BYTES_CHARS) {
    const bytes = bytesAt(line, start, end);
    if (bytes !== undefined) return bytes;
  }
  try {
    return JSON.parse(line.slice(start, end));
  } catch {
    return NOT_JSON;
  }
}

/** Below this, bytes go to JSON.parse like any value (bytesAt saves nothing worth a second look). */
const BIG_BYTES_CHARS = 4096;

/**
 * line[start, end) when it is bytes as the codec writes them, `{"$bytes":"<base64>"}` or
 * `{"$buffer":"<base64>"}` (or another typed array, `{"$typed":{"type":…,"base64":…}}`), or a
 * list of one of those (a call's only argument), and what lies
 * between the quotes is strict base64 (Buffer.from decodes it to exactly its length, so it holds
 * no quote, backslash or other character JSON would escape or refuse); else undefined, and
 * JSON.parse reads it. What JSON.parse would give, without its scan of every character: 1.4 MB of
 * base64, 1.5-1.8 ms for JSON.parse, ~0.07 for the decode here (the codec decodes it again).
 */
function bytesAt(line: string, start: number, end: number): unknown {
  const list = line.charCodeAt(start) === 91; /* [ */
  if (list) {
    if (line.charCodeAt(end - 1) !== CLOSE_BRACKET) return undefined;
    start++;
    end--;
  }
  let tag: object;
  if (line.startsWith(TYPED_START, start)) {
    // {"$typed":{"type":"<letters and digits>","base64":"<base64>"}}
    const nameEnd = line.indexOf('"', start + TYPED_START.length);
    const name = nameEnd < 0 ? '' : line.slice(start + TYPED_START.length, nameEnd);
    if (!TYPED_NAME.test(name) || !line.startsWith(TYPED_BASE64, nameEnd) || line.charCodeAt(end - 1) !== CLOSE_BRACE) return undefined;
    const base64 = strictBase64(line, nameEnd + TYPED_BASE64.length, end - 1);
    if (base64 === undefined) return undefined;
    tag = { $typed: { type: name, base64 } };
  } else {
    const key = line.startsWith(BYTES_START, start) ? '$bytes' : line.startsWith(BUFFER_START, start) ? '$buffer' : undefined;
    if (key === undefined) return undefined;
    const base64 = strictBase64(line, start + (key === '$bytes' ? BYTES_START : BUFFER_START).length, end);
    if (base64 === undefined) return undefined;
    tag = key === '$bytes' ? { $bytes: base64 } : { $buffer: base64 };
  }
  return list ? [tag] : tag;
}

/** line[from, end - 2) when line[end - 2, end) is `"}` and it is strict base64 (codec decodeBase64Exactly). */
function strictBase64(line: string, from: number, end: number): string | undefined {
  const to = end - 2;
  if (to < from || line.charCodeAt(to) !== QUOTE || line.charCodeAt(to + 1) !== CLOSE_BRACE) return undefined;
  const base64 = line.slice(from, to);
  return decodeBase64Exactly(base64) === undefined ? undefined : base64;
}

const NOT_SIMPLE = Symbol('not simple');

/**
 * line[start, end) when it is a scalar (plain string, non-negative integer, true, false, null) or
 * a flat list of them (most call arguments and results); NOT_SIMPLE otherwise.
 */
function simpleValue(line: string, start: number, end: number): unknown {
  if (line.charCodeAt(start) !== 91 /* [ */) return scalarAt(line, start) === end ? scalar : NOT_SIMPLE;
  if (line.charCodeAt(end - 1) !== CLOSE_BRACKET) return NOT_SIMPLE;
  let pos = start + 1;
  if (pos === end - 1) return [];
  let n = 0;
  for (;;) {
    pos = scalarAt(line, pos);
    if (pos < 0) return clearList(ITEMS, n) ?? NOT_SIMPLE;
    if (n === MAX_LISTED) return clearList(ITEMS, n) ?? NOT_SIMPLE;
    ITEMS[n++] = scalar;
    if (pos === end - 1) return exactList(ITEMS, n);
    if (line.charCodeAt(pos) !== COMMA) return clearList(ITEMS, n) ?? NOT_SIMPLE;
    pos++;
  }
}

/**
 * Member names read lately, by length and first letter: a client asks for the same few names over
 * and over (`add`, `data`, `users`), and handing back the same string each time saves a copy per
 * op and lets every later lookup of it (the access checks' Set and hasOwnProperty, the member
 * read) use the hash it already has. Case (b), host CPU per call: see docs/performance.md.
 */
const KEYS = new Array<string | undefined>(64).fill(undefined);

/** Longer member names are not kept (a member name that long is rare, and each kept name is held until replaced). */
const MAX_KEPT_KEY = 128;

/**
 * `s` as a string of its own. A slice of 13 characters or more is a view into the string it was
 * cut from (here the text of a whole chunk, or a whole line of up to maxMessageBytes, held off the
 * heap): a kept member name, or a string argument a hosted method keeps (a string result a client
 * keeps), would keep that alive. 40 lines of 2 MB with new names kept 45 MB (line-reader.test.ts);
 * JSON.parse's strings are their own. Slicing a concatenation copies the characters into a new
 * string first (V8 flattens it), so the slice's parent is that copy: 99-152 ns for 20-100
 * characters, against 27-35 for the bare slice and ~400-550 for a latin1 Buffer round trip.
 */
function ownCopy(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Like scalarAt for a get op's key, reusing the string of a key read before when it is the same. */
function keyAt(line: string, pos: number): number {
  if (line.charCodeAt(pos) === QUOTE) {
    const close = plainStringEnd(line, pos + 1);
    if (close < 0) return -1;
    const len = close - pos - 1;
    const slot = (len * 7 + line.charCodeAt(pos + 1)) & 63;
    const known = KEYS[slot];
    if (known !== undefined && known.length === len && line.startsWith(known, pos + 1)) scalar = known;
    else {
      scalar = ownCopy(line.slice(pos + 1, close));
      if (len <= MAX_KEPT_KEY) KEYS[slot] = scalar as string;
    }
    return close + 1;
  }
  return scalarAt(line, pos);
}

/** The last scalar scalarAt read (a module slot rather than a returned pair: nothing to allocate). */
let scalar: unknown;

/** Read a scalar at `pos` into `scalar`; returns where it ends, or -1 when there is none. */
function scalarAt(line: string, pos: number): number {
  const c = line.charCodeAt(pos);
  if (c === QUOTE) {
    const close = plainStringEnd(line, pos + 1);
    if (close < 0) return -1;
    scalar = ownCopy(line.slice(pos + 1, close));
    return close + 1;
  }
  if (c >= 48 && c <= 57) {
    const end = digitsEnd(line, pos);
    if (end < 0) return -1;
    scalar = integerAt(line, pos, end);
    return end;
  }
  if (line.startsWith('true', pos)) {
    scalar = true;
    return pos + 4;
  }
  if (line.startsWith('false', pos)) {
    scalar = false;
    return pos + 5;
  }
  if (line.startsWith('null', pos)) {
    scalar = null;
    return pos + 4;
  }
  return -1;
}

/**
 * The end of a JSON non-negative integer (no sign, fraction, exponent or leading zero) at `pos`,
 * or -1. A digit after it (a fraction or exponent) is the caller's to refuse: it checks what follows.
 */
function digitsEnd(line: string, pos: number): number {
  const first = line.charCodeAt(pos);
  if (first === 48 /* 0 */) return isDigit(line.charCodeAt(pos + 1)) ? -1 : pos + 1;
  let end = pos;
  while (isDigit(line.charCodeAt(end))) end++;
  // Longer than 16 digits is past any safe integer: leave such a line to JSON.parse.
  return end === pos || end - pos > 16 ? -1 : end;
}

/** The integer written in line[start, end) (digits only): what Number() reads. */
function integerAt(line: string, start: number, end: number): number {
  // Exact in a double up to 15 digits; longer ones are left to Number's correct rounding.
  if (end - start > 15) return Number(line.slice(start, end));
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (line.charCodeAt(i) - 48);
  return n;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The closing quote of a string of printable ASCII without escapes starting at `pos`, or -1. */
function plainStringEnd(line: string, pos: number): number {
  for (let i = pos; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}
