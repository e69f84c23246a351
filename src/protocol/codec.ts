/**
 * Value codec: JavaScript values ⇄ JSON-ready trees.
 *
 * Plain JSON (null, booleans, finite numbers, strings, arrays, plain objects) passes through
 * unchanged, so the wire stays readable. Everything else that can be copied travels as a
 * *tag*: an object with exactly one key that starts with `$` (`{"$date": "2024-…"}`).
 * A plain object that happens to look like a tag is wrapped in `{"$escape": {...}}`.
 *
 * Nothing here ever runs code from the wire: decoding only builds plain data, never looks up
 * classes by name, and defines `__proto__` keys as ordinary own properties. Decoding is strict:
 * anything malformed (unknown tag, bad payload, too deep) is a ProtocolError BAD_VALUE.
 */
import { EventEmitter } from 'node:events';
import { types } from 'node:util';
import { AccessError, EncodeError, ProtocolError } from '../errors';
import { isLibraryOwned, refusalOf } from '../owned';
import { isRef, refKindOf, refsInUse } from '../ref';
import { errorFromWire, errorToWire } from './error-wire';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How deep a value may nest, in both directions; protects the stack from hostile input. */
export const MAX_DEPTH = 200;

/** Longest BigInt (in decimal digits) either side accepts: parsing is quadratic, so a cap keeps hostile input cheap. */
export const MAX_BIGINT_DIGITS = 100_000;

/** Every tag the codec writes; docs/protocol.md lists them with examples. */
export const TAGS = [
  '$undefined',
  '$number',
  '$bigint',
  '$date',
  '$regexp',
  '$map',
  '$set',
  '$bytes',
  '$buffer',
  '$typed',
  '$error',
  '$escape',
] as const;
const TAG_SET = new Set<string>(TAGS);

/**
 * Protocol v2's reference tags (docs/protocol.md, "Protocol 2"): `$fn`, `$handle` and `$stream`
 * name something the SENDER exported (its id in the sender's export table of this connection);
 * `$yours` names something the RECEIVER exported earlier, passed back. `$except` is an Except the
 * sender exported, with what the receiver needs to build its handle: `{"$except": {"id": N,
 * "raises": …, "catchOnce": …, "types": [...]}}`. They need a CodecContext: without one
 * (protocol v1, the CLI's printing) the decoder refuses them.
 */
export const REF_TAGS = ['$fn', '$handle', '$stream', '$yours', '$except'] as const;
export type RefTag = (typeof REF_TAGS)[number];
const REF_TAG_SET = new Set<string>(REF_TAGS);

/** What the sender exports a value as: a function, a ref() object, an async iterable, an Except. */
export type ExportKind = 'fn' | 'handle' | 'stream' | 'except';

/**
 * A connection's side of the reference tags, implemented by the Peer (peer/peer.ts). The codec
 * asks it about every value that is not data; it decides what travels by reference.
 */
export interface CodecContext {
  /**
   * `value` is a function, a ref() object or an async iterable (`kind`), or one of this side's
   * stand-ins for the far side's exports. Return its tag (`{"$fn": N}`, `{"$yours": N}`...), or
   * undefined to treat it as without a context (a function is refused, an object copied). Throw
   * to refuse it (e.g. NEEDS_PROTOCOL_2 on a v1 connection). `path` names it for messages.
   */
  exportValue(value: object, kind: ExportKind | undefined, path: string): Json | undefined;
  /**
   * A reference tag from the far side: the local stand-in (or, for `$yours`, this side's own
   * value). `info`: the tag's whole payload when it is an object (`$except`). Throw
   * ProtocolError/ReleasedError when `id` names nothing.
   */
  importTag(tag: RefTag, id: number, info?: Record<string, unknown>): unknown;
}

/** The context of the encode or decode running now (one at a time: neither re-enters). */
let context: CodecContext | undefined;

const TYPED_ARRAYS = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED_ARRAYS;
const TYPED_NAMES = Object.keys(TYPED_ARRAYS) as TypedName[];

/** The typed-array kind by its internal slot (util.types), so subclasses and other realms (vm, Jest) count too. */
function typedName(v: ArrayBufferView): TypedName | undefined {
  return TYPED_NAMES.find((name) => (types as unknown as Record<string, (x: unknown) => boolean>)[`is${name}`]!(v));
}

/** The last quantum of padded base64 (the decoded length check covers the rest). */
const BASE64_TAIL = /^(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

function describeKind(v: unknown): string {
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  if (typeof v === 'symbol') return `a symbol (${String(v)})`;
  const ctor = (v as object)?.constructor?.name;
  return ctor ? `an instance of ${ctor}` : typeof v;
}

const article = (noun: string) => (/^[aeiou]/i.test(noun) ? 'an ' : 'a ') + noun;

/**
 * An iterator, a generator or an async iterable: what it is and what to do instead, for an
 * EncodeError; undefined for anything else. Their data is not what they stand for (a Map iterator
 * has no own keys: it would arrive as `{}`), and streaming them is for a later protocol version.
 * Iterables that are data (arrays, Maps, Sets, strings, typed arrays) are handled before this.
 */
function iterationKind(o: object): [what: string, instead: string] | undefined {
  const it = o as { next?: unknown; [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  const isAsync = typeof it[Symbol.asyncIterator] === 'function';
  const isIterator = typeof it.next === 'function' && (isAsync || typeof it[Symbol.iterator] === 'function');
  if (!isAsync && !isIterator) return undefined;
  const later = isIterator
    ? `${isAsync ? 'async iterators' : 'iterators'} cannot be sent yet: collect the values into an array on the host (e.g. [...map.values()])`
    : 'async iterables cannot be sent yet: collect the values into an array on the host first';
  // Built-in iterators and generators say what they are: 'Map Iterator', 'Generator', 'AsyncGenerator'.
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  if (tag === 'AsyncGenerator') return ['an async generator', later];
  if (tag === 'Generator') return ['a generator', later];
  if (tag.endsWith(' Iterator')) return [`${article(tag.slice(0, -9))} iterator`, later];
  const what = isIterator ? (isAsync ? 'an async iterator' : 'an iterator') : 'an async iterable';
  return [`${what} (${describeKind(o)})`, later];
}

function pathJoin(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Exactly one key, starting with `$`. Own keys only: inherited (polluted) keys must not change the reading. */
function isTagShape(ownKeys: readonly string[]): boolean {
  return ownKeys.length === 1 && ownKeys[0]!.charCodeAt(0) === 36; /* '$' */
}

/** Where a Map entry's value sits, as a reader would write it: `value.get("a")`, `value.get(1)`, else by position. */
function mapValuePath(path: string, key: unknown, i: number): string {
  switch (typeof key) {
    case 'string':
      return `${path}.get(${JSON.stringify(key)})`;
    case 'number':
    case 'boolean':
      return `${path}.get(${String(key)})`;
    case 'bigint':
      return `${path}.get(${key}n)`;
  }
  return key === null || key === undefined ? `${path}.get(${key})` : `${path}<value ${i}>`;
}

function bytesToBase64(v: ArrayBufferView): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/**
 * Encode a value for the wire. Throws EncodeError (naming the path, e.g. `value.items[2].fn`)
 * for functions, symbols, promises, cycles and other things that cannot be copied.
 */
export function encode(value: unknown, path = 'value', ctx?: CodecContext): Json {
  // Fast path: plain JSON goes out as it is. Checking allocates nothing and is several times
  // cheaper than copying; anything else (a tag to write, an error to report) takes the full walk.
  if (isPlainJson(value, 0)) return value as Json;
  if (ctx === undefined) return enc(value, path, 0, undefined);
  const outer = context;
  context = ctx;
  try {
    return enc(value, path, 0, undefined);
  } finally {
    context = outer;
  }
}

/** True while encodeReply runs: then an Except travels only if the replying code marked it with ref(). */
let replying = false;

/**
 * Encode a reply value (or a stream item). Like encode: an object of the library (owned.ts)
 * nested anywhere in it is refused; an Except travels (by reference, on protocol 2) only when the
 * code that answers marked it with `ref(exc)`: a client reaching a host's Except by a chain must
 * not get to record errors into it unless the host meant it to.
 */
export function encodeReply(value: unknown, ctx?: CodecContext): Json {
  if (isPlainJson(value, 0)) return value as Json;
  const outer = context;
  const outerReplying = replying;
  context = ctx;
  replying = true;
  try {
    return enc(value, 'result', 0, undefined);
  } finally {
    context = outer;
    replying = outerReplying;
  }
}

/** What `o` travels as by reference here: an Except in a reply only when ref() marked it. */
function kindHere(o: object): ExportKind | undefined {
  const kind = refKindOf(o);
  return kind === 'except' && replying && !isRef(o) ? undefined : kind;
}

/**
 * Encode a list of values (a call's arguments), each named `${path}[i]` in errors. Plain JSON
 * lists are returned as they are.
 */
export function encodeList(values: readonly unknown[], path: string, ctx?: CodecContext): Json[] {
  for (let i = 0; i < values.length; i++) {
    if (!isPlainJson(values[i], 0)) return values.map((v, j) => encode(v, `${path}[${j}]`, ctx));
  }
  return values as Json[];
}

/** True when `v` is JSON that needs no tag, escape or copy: JSON.stringify would write it exactly. */
function isPlainJson(v: unknown, depth: number): boolean {
  const leaf = plainLeaf(v);
  return leaf === PLAIN || (leaf === WALK && !prototypeHasKeys() && isPlainJsonObject(v as object, depth));
}

/**
 * True when something put an enumerable key on Object.prototype. The walks below read keys with
 * for-in, which sees inherited keys too: then an object with one own "$" key would look like two
 * keys (an escape missed on the way out, a tag missed on the way in), so they are not used.
 * Asked once per value (~3 ns) instead of hasOwnProperty for each key.
 */
function prototypeHasKeys(): boolean {
  for (const _ in Object.prototype) return true;
  return false;
}

// plainLeaf's answers. The walks test each member before they recurse, so a leaf (most of a big
// value) costs no call of its own, and read keys without hasOwnProperty (prototypeHasKeys): 1 MiB
// of case (d)'s JSON, encodeReply 0.95 -> 0.80 ms and decode 0.59 -> 0.38 (the best of five
// processes each; the figures of one build move by up to 1.8x on this machine).
const NOT_PLAIN = 0;
const PLAIN = 1;
const WALK = 2;

function plainLeaf(x: unknown): number {
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return PLAIN;
    case 'number':
      return x - x === 0 && (x !== 0 || 1 / x > 0) ? PLAIN : NOT_PLAIN; // finite, and not -0
    case 'object':
      return x === null ? PLAIN : WALK;
    default:
      return NOT_PLAIN;
  }
}

/** isPlainJson of a non-null object (for-in: only when prototypeHasKeys() is false). */
function isPlainJsonObject(v: object, depth: number): boolean {
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const leaf = plainLeaf(x);
      if (leaf === NOT_PLAIN || (leaf === WALK && !isPlainJsonObject(x as object, depth + 1))) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (refsInUse && isRef(v)) return false; // ref({...}): a handle, not data
  let n = 0;
  let first = '';
  for (const k in v) {
    if (n++ === 0) first = k;
    const x: unknown = (v as Record<string, unknown>)[k];
    const leaf = plainLeaf(x);
    if (leaf === NOT_PLAIN || (leaf === WALK && !isPlainJsonObject(x as object, depth + 1))) return false;
  }
  return !(n === 1 && first.charCodeAt(0) === 36); // a lone "$" key needs $escape
}

/** Strings longer than this are not flat (pushFlatCopy): their bound, six characters each, would be far off. */
const FLAT_STRING_CHARS = 1024;
/** The most characters JSON.stringify writes for a finite number ("-0.0000012345678901234567"). */
const NUMBER_CHARS = 25;

/** An upper bound of JSON.stringify(x)'s length for a flat leaf, or -1 when x is not one (it needs a tag or is not a leaf). */
function flatLeafChars(x: unknown): number {
  if (plainLeaf(x) !== PLAIN) return -1;
  switch (typeof x) {
    case 'string':
      return x.length <= FLAT_STRING_CHARS ? 2 + 6 * x.length : -1; // at worst \uXXXX per UTF-16 unit
    case 'boolean':
      return 5;
    case 'number':
      return NUMBER_CHARS;
    default:
      return 4; // null
  }
}

/**
 * For stream items sent many to a line (wire.ts ItemBatch): when `v` is a leaf, or a plain object
 * or list whose members are all leaves, that needs no tag (JSON.stringify writes it exactly as it
 * writes encodeReply(v)), push a copy of it taken now onto `out` and return an upper bound of its
 * JSON text's length; otherwise push nothing and return -1. A copy, so that the batch can be
 * written later with one JSON.stringify and still send each item as it was when it was taken (a
 * generator may reuse one object for every item it yields).
 */
export function pushFlatCopy(v: unknown, out: unknown[]): number {
  if (typeof v !== 'object' || v === null) {
    const chars = flatLeafChars(v);
    if (chars >= 0) out.push(v);
    return chars;
  }
  let copy: Record<string, unknown> | unknown[];
  let chars = 2;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return -1;
    copy = v.slice(); // a hole reads as undefined below: not flat
    for (let i = 0; i < copy.length; i++) {
      const c = flatLeafChars(copy[i]);
      if (c < 0) return -1;
      chars += c + 1;
    }
  } else {
    const proto = Object.getPrototypeOf(v);
    if ((proto !== Object.prototype && proto !== null) || (refsInUse && isRef(v)) || prototypeHasKeys()) return -1;
    copy = { ...(v as Record<string, unknown>) }; // own enumerable keys, each read once (a getter too)
    let n = 0;
    let first = '';
    for (const k in copy) {
      if (n++ === 0) first = k;
      const c = flatLeafChars(copy[k]);
      if (c < 0 || k.length > FLAT_STRING_CHARS) return -1;
      chars += 6 * k.length + 4 + c; // "key": and a comma
    }
    if (n === 1 && first.charCodeAt(0) === 36) return -1; // a lone "$" key needs $escape
  }
  out.push(copy);
  return chars;
}

/** True when a parsed JSON tree holds no tag: decoding would only copy it. */
function hasNoTags(j: unknown, depth: number): boolean {
  return j === null || typeof j !== 'object' || (!prototypeHasKeys() && objectHasNoTags(j, depth));
}

/** hasNoTags of a non-null object (for-in: only when prototypeHasKeys() is false); members that are not objects are skipped without a call. */
function objectHasNoTags(j: object, depth: number): boolean {
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(j)) {
    for (let i = 0; i < j.length; i++) {
      const x: unknown = j[i];
      if (typeof x === 'object' && x !== null && !objectHasNoTags(x, depth + 1)) return false;
    }
    return true;
  }
  let n = 0;
  let first = '';
  for (const k in j) {
    if (n++ === 0) first = k;
    const x: unknown = (j as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null && !objectHasNoTags(x, depth + 1)) return false;
  }
  return !(n === 1 && first.charCodeAt(0) === 36);
}

function enc(v: unknown, path: string, depth: number, seen: Set<object> | undefined): Json {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? { $number: '-0' } : v;
      return { $number: String(v) };
    case 'undefined':
      return { $undefined: true };
    case 'bigint': {
      const digits = v.toString();
      if (digits.length - (v < 0n ? 1 : 0) > MAX_BIGINT_DIGITS) {
        throw new EncodeError(`cannot send a BigInt of more than ${MAX_BIGINT_DIGITS} digits at ${path}`);
      }
      return { $bigint: digits };
    }
    case 'function':
      if (context !== undefined) {
        // First: the context's own stand-ins (a client's proxies are library-owned functions) go back as `$yours`.
        const tag = context.exportValue(v, 'fn', path);
        if (tag !== undefined) return tag;
      }
      if (isLibraryOwned(v)) throw new AccessError('library-owned', `cannot send one of remoteobj's own objects at ${path}`);
      throw new EncodeError(`cannot send ${describeKind(v)} at ${path}: only data can cross the wire`);
    case 'symbol':
      throw new EncodeError(`cannot send ${describeKind(v)} at ${path}: only data can cross the wire`);
  }
  if (v === null) return null;
  const o = v as object;
  if (depth >= MAX_DEPTH) throw new EncodeError(`value nests deeper than ${MAX_DEPTH} levels at ${path}`);
  if (context !== undefined) {
    // ref() objects and the context's stand-ins for the far side's objects travel by reference.
    const tag = context.exportValue(o, kindHere(o), path);
    if (tag !== undefined) return tag;
    // With references, a copy of an I/O handle would carry its functions as callables: refuse it outright.
    const refusal = refusalOf(o);
    if (refusal?.rule === 'io-handle') throw new AccessError('io-handle', `cannot send a Node I/O handle (${refusal.what}) at ${path}`);
  }
  if (Array.isArray(o)) {
    seen = enter(o, path, seen);
    const out = new Array<Json>(o.length);
    for (let i = 0; i < o.length; i++) out[i] = enc(o[i], path + '[' + i + ']', depth + 1, seen);
    seen.delete(o);
    return out;
  }
  if (isPlainObject(o)) return encodeObject(o, path, depth, seen);
  // Checks go by internal slot (util.types), not instanceof, so values from another realm (vm, Jest) travel too.
  if (types.isDate(o)) {
    const t = Date.prototype.getTime.call(o);
    return { $date: Number.isNaN(t) ? 'Invalid Date' : Date.prototype.toISOString.call(o) };
  }
  if (types.isMap(o)) {
    seen = enter(o, path, seen);
    const out: Json[] = [];
    let i = 0;
    for (const [k, val] of Map.prototype.entries.call(o)) {
      out.push([enc(k, `${path}<key ${i}>`, depth + 1, seen), enc(val, mapValuePath(path, k, i), depth + 1, seen)]);
      i++;
    }
    seen.delete(o);
    return { $map: out };
  }
  if (types.isSet(o)) {
    seen = enter(o, path, seen);
    const out: Json[] = [];
    let i = 0;
    for (const val of Set.prototype.values.call(o)) out.push(enc(val, `${path}<item ${i++}>`, depth + 1, seen));
    seen.delete(o);
    return { $set: out };
  }
  if (Buffer.isBuffer(o)) return { $buffer: o.toString('base64') };
  if (types.isUint8Array(o)) return { $bytes: bytesToBase64(o as Uint8Array) };
  if (types.isTypedArray(o)) {
    const name = typedName(o as ArrayBufferView);
    if (name) return { $typed: { type: name, base64: bytesToBase64(o as ArrayBufferView) } };
    throw new EncodeError(`cannot send ${describeKind(o)} at ${path}`);
  }
  if (types.isRegExp(o)) return { $regexp: { source: (o as RegExp).source, flags: (o as RegExp).flags } };
  if (o instanceof Error || types.isNativeError(o)) {
    return { $error: errorToWire(o) as unknown as Json };
  }
  if (types.isPromise(o) || typeof (o as { then?: unknown }).then === 'function') {
    throw new EncodeError(`cannot send a promise at ${path}: await it first`);
  }
  if (types.isBoxedPrimitive(o)) {
    // new String('x'), new Number(1)...: JSON sends the primitive inside, so do we (a boxed Symbol is refused there).
    return enc((o as { valueOf(): unknown }).valueOf(), path, depth + 1, seen);
  }
  // The library's own objects say so before any other reason (a Forked is also an async iterable, a Connection an EventEmitter).
  if (isLibraryOwned(o)) {
    throw new AccessError('library-owned', `cannot send one of remoteobj's own objects at ${path}`);
  }
  // Protocol v2: an async iterable travels as a stream — an object-mode Readable too (an emitter),
  // but not an I/O handle (refused above) nor one of the library's own (a Forked).
  if (context !== undefined && typeof (o as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' && refusalOf(o) === undefined) {
    const tag = context.exportValue(o, 'stream', path);
    if (tag !== undefined) return tag;
  }
  if (
    types.isWeakMap(o) ||
    types.isWeakSet(o) ||
    o instanceof WeakRef ||
    types.isAnyArrayBuffer(o) ||
    types.isDataView(o) ||
    o instanceof EventEmitter ||
    (typeof EventTarget === 'function' && o instanceof EventTarget)
  ) {
    // Weak collections cannot be listed; sockets, streams, servers and other emitters are live
    // resources, not data (their own fields are internals).
    throw new EncodeError(`cannot send ${describeKind(o)} at ${path}: only data can cross the wire`);
  }
  const iteration = iterationKind(o);
  if (iteration && context !== undefined && typeof (o as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') {
    const tag = context.exportValue(o, 'stream', path);
    if (tag !== undefined) return tag;
  }
  if (iteration) throw new EncodeError(`cannot send ${iteration[0]} at ${path}: ${iteration[1]}`);
  return encodeObject(o, path, depth, seen);
}

/**
 * A plain object or a class instance. An instance travels as a copy of its own enumerable data
 * (like structuredClone): the prototype stays behind. `toJSON()` is honoured first, as JSON does.
 */
function encodeObject(o: object, path: string, depth: number, seen: Set<object> | undefined): Json {
  const hook = (o as { toJSON?: unknown }).toJSON;
  // The library's own objects (a Host, a Connection...) are never copied as data (they hold secrets and sockets).
  if (isLibraryOwned(o)) throw new AccessError('library-owned', `cannot send one of remoteobj's own objects at ${path}`);
  let skipHook = false;
  if (typeof hook === 'function') {
    let json: unknown;
    try {
      json = hook.call(o, '');
    } catch (e) {
      throw new EncodeError(`toJSON() of ${describeKind(o)} at ${path} threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    // A toJSON returning its own receiver means "copy me as I am" (and would otherwise loop forever).
    if (json !== o) return enc(json, path, depth + 1, seen);
    skipHook = true;
  }
  seen = enter(o, path, seen);
  const keys = Object.keys(o).filter((k) => !(skipHook && k === 'toJSON'));
  const out: Record<string, Json> = {};
  for (const k of keys) setOwn(out, k, enc((o as Record<string, unknown>)[k], pathJoin(path, k), depth + 1, seen));
  seen.delete(o);
  return isTagShape(keys) ? { $escape: out } : out;
}

function enter(o: object, path: string, seen: Set<object> | undefined): Set<object> {
  seen ??= new Set();
  if (seen.has(o)) throw new EncodeError(`cannot send a circular reference at ${path}`);
  seen.add(o);
  return seen;
}

/** Define a key as plain own data, so `__proto__` can never reach a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export interface DecodeOptions {
  /**
   * Build RegExp values from `$regexp` (default true). A host decodes its clients' values with
   * false unless it accepts them (`acceptRegExp`): running a client's pattern can take exponential
   * time (`/^(a+)+$/` against a long "aaa…b"), freezing the host for every client.
   */
  regexp?: boolean;
  /** Protocol v2: the connection's reference tags (`$fn`, `$handle`, `$stream`, `$yours`); without it they are refused. */
  context?: CodecContext;
}

/** Decode a JSON tree (as produced by JSON.parse) back into values. Throws ProtocolError on bad tags. */
export function decode(json: unknown, options?: DecodeOptions): unknown {
  // JSON.parse output without tags is already the value (its `__proto__` keys are own data
  // properties): hand it over as it is instead of copying it.
  if (hasNoTags(json, 0)) return json;
  const ctx = options?.context;
  if (ctx === undefined) return dec(json, 0, options?.regexp !== false);
  const outer = context;
  context = ctx;
  try {
    return dec(json, 0, options?.regexp !== false);
  } finally {
    context = outer;
  }
}

/** Decode each of a list of values (a call's arguments): the list itself when none has a tag. */
export function decodeList(values: unknown[], options?: DecodeOptions): unknown[] {
  for (let i = 0; i < values.length; i++) {
    if (!hasNoTags(values[i], 0)) return values.map((v) => decode(v, options));
  }
  return values;
}

function isId(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function bad(message: string): never {
  throw new ProtocolError('BAD_VALUE', message);
}

/**
 * The bytes of `s` when Buffer.from decodes it to exactly its length (a multiple of 4 characters,
 * the padding counted); else undefined. Buffer.from skips characters that are not base64, so
 * such a string holds none (no quote, backslash or control character either).
 */
export function decodeBase64Exactly(s: string): Buffer | undefined {
  if (s.length % 4 !== 0) return undefined;
  const b = Buffer.from(s, 'base64');
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return b.length === (s.length / 4) * 3 - padding ? b : undefined;
}

/** Strict base64 (what Buffer#toString('base64') writes): Buffer.from would skip bad characters silently. */
function fromBase64(p: unknown, tag: string): Buffer {
  const b = typeof p === 'string' ? decodeBase64Exactly(p) : undefined;
  if (b === undefined || (p as string).endsWith('=') && !BASE64_TAIL.test((p as string).slice(-4))) bad(`${tag} must be a base64 string`);
  return b;
}

/** Whether `b` spans the whole of its ArrayBuffer (not a slice of Buffer's shared pool). */
function ownsItsBuffer(b: Buffer): b is Buffer<ArrayBuffer> {
  return b.byteOffset === 0 && b.buffer.byteLength === b.byteLength && b.buffer instanceof ArrayBuffer;
}

function dec(j: unknown, depth: number, regexp: boolean): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (depth >= MAX_DEPTH) bad(`value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(j)) {
    const out = new Array<unknown>(j.length);
    for (let i = 0; i < j.length; i++) out[i] = dec(j[i], depth + 1, regexp);
    return out;
  }
  const o = j as Record<string, unknown>;
  const keys = Object.keys(o);
  if (isTagShape(keys)) return decodeTag(keys[0]!, o[keys[0]!], depth, regexp);
  const out: Record<string, unknown> = {};
  for (const k of keys) setOwn(out, k, dec(o[k], depth + 1, regexp));
  return out;
}

function decodeTag(tag: string, p: unknown, depth: number, regexp: boolean): unknown {
  // Without a context (protocol v1) a reference tag is an unknown tag, as it always was.
  if (context !== undefined && REF_TAG_SET.has(tag)) {
    if (tag === '$except') {
      const info = p as Record<string, unknown>;
      if (info === null || typeof info !== 'object' || Array.isArray(info) || !isId(info.id)) bad('$except must be an object with a positive integer id');
      return context.importTag(tag, info.id as number, info);
    }
    if (!isId(p)) bad(`${tag} must be a positive integer id`);
    return context.importTag(tag as RefTag, p as number);
  }
  if (!TAG_SET.has(tag)) bad(`unknown tag ${JSON.stringify(tag)} (a plain object with one "$" key must be sent as {"$escape": {...}})`);
  switch (tag) {
    case '$undefined':
      return undefined;
    case '$number':
      if (p === 'NaN') return NaN;
      if (p === 'Infinity') return Infinity;
      if (p === '-Infinity') return -Infinity;
      if (p === '-0') return -0;
      return bad(`$number must be "NaN", "Infinity", "-Infinity" or "-0"`);
    case '$bigint':
      if (typeof p !== 'string' || !/^-?\d+$/.test(p) || p.length - (p[0] === '-' ? 1 : 0) > MAX_BIGINT_DIGITS) bad(`$bigint must be a decimal string of at most ${MAX_BIGINT_DIGITS} digits`);
      return BigInt(p);
    case '$date': {
      if (typeof p !== 'string') bad('$date must be an ISO string or "Invalid Date"');
      if (p === 'Invalid Date') return new Date(NaN);
      const d = new Date(p);
      if (Number.isNaN(d.getTime())) bad(`$date ${JSON.stringify(p.slice(0, 40))} is not a date`);
      return d;
    }
    case '$regexp': {
      if (!regexp) {
        bad('$regexp values are refused by this host: running a pattern sent by a client can take exponential time (ReDoS) and freeze the host; a host that trusts its clients can accept them with acceptRegExp: true');
      }
      const r = p as { source?: unknown; flags?: unknown };
      if (typeof r?.source !== 'string' || typeof r.flags !== 'string') bad('$regexp needs {source, flags} strings');
      try {
        return new RegExp(r.source, r.flags);
      } catch (e) {
        return bad(`$regexp: ${(e as Error).message}`);
      }
    }
    case '$map': {
      if (!Array.isArray(p)) bad('$map must be an array of [key, value] pairs');
      const m = new Map();
      for (const pair of p) {
        if (!Array.isArray(pair) || pair.length !== 2) bad('$map must be an array of [key, value] pairs');
        m.set(dec(pair[0], depth + 1, regexp), dec(pair[1], depth + 1, regexp));
      }
      return m;
    }
    case '$set': {
      if (!Array.isArray(p)) bad('$set must be an array');
      return new Set(p.map((x) => dec(x, depth + 1, regexp)));
    }
    case '$bytes':
    case '$buffer': {
      const b = fromBase64(p, tag);
      if (tag === '$buffer') return b;
      // A Uint8Array gets an ArrayBuffer of its own: Buffer.from hands small results out as
      // slices of a shared pool, and `bytes.buffer` must not expose other data. A large result
      // already has its own (nothing else holds `b`), so it is used as it is: copying 1 MiB took
      // 0.43 ms, more than decoding its base64 (0.07).
      return ownsItsBuffer(b) ? new Uint8Array(b.buffer) : new Uint8Array(b);
    }
    case '$typed': {
      const t = p as { type?: unknown; base64?: unknown };
      if (typeof t?.type !== 'string' || !Object.hasOwn(TYPED_ARRAYS, t.type)) {
        bad(`$typed needs {type, base64} with type one of ${TYPED_NAMES.join(', ')}`);
      }
      const Ctor = TYPED_ARRAYS[t.type as TypedName];
      const b = fromBase64(t.base64, '$typed');
      if (b.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) bad(`$typed ${t.type}: byte length ${b.byteLength} is not a multiple of ${Ctor.BYTES_PER_ELEMENT}`);
      if (ownsItsBuffer(b)) return new Ctor(b.buffer); // offset 0: aligned
      const copy = new ArrayBuffer(b.byteLength); // aligned copy
      new Uint8Array(copy).set(b);
      return new Ctor(copy);
    }
    case '$error':
      if (p === null || typeof p !== 'object' || Array.isArray(p)) bad('$error must wrap an object');
      return errorFromWire(p);
    case '$escape': {
      if (p === null || typeof p !== 'object' || Array.isArray(p)) bad('$escape must wrap an object');
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(p)) setOwn(out, k, dec((p as Record<string, unknown>)[k], depth + 1, regexp));
      return out;
    }
  }
  return bad(`unknown tag ${tag}`);
}
