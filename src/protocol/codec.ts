/**
 * Value codec: JavaScript values ⇄ JSON-ready trees.
 *
 * Plain JSON (null, booleans, finite numbers, strings, arrays, plain objects) passes through
 * unchanged, so the wire stays readable. Everything else that can be copied travels as a
 * *tag*: an object with exactly one key that starts with `$` (`{"$date": "2024-…"}`).
 * A plain object that happens to look like a tag is wrapped in `{"$escape": {...}}`.
 *
 * Nothing here ever runs code from the wire: decoding only builds plain data, never looks up
 * classes by name, and defines `__proto__` keys as ordinary own properties.
 */
import { EncodeError, ProtocolError } from '../errors';
import { errorFromWire, errorToWire } from './error-wire';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How deep a value may nest, in both directions; protects the stack from hostile input. */
export const MAX_DEPTH = 200;

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

function describeKind(v: unknown): string {
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  if (typeof v === 'symbol') return `a symbol (${String(v)})`;
  const ctor = (v as object)?.constructor?.name;
  return ctor ? `an instance of ${ctor}` : typeof v;
}

function pathJoin(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function looksLikeTag(o: Record<string, unknown>): boolean {
  let n = 0;
  let first = '';
  for (const k in o) {
    if (n++ === 0) first = k;
    else return false;
  }
  return n === 1 && first.charCodeAt(0) === 36; /* '$' */
}

function bytesToBase64(v: ArrayBufferView): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/**
 * Encode a value for the wire. Throws EncodeError (naming the path, e.g. `value.items[2].fn`)
 * for functions, symbols, promises, cycles and other things that cannot be copied.
 */
export function encode(value: unknown, path = 'value'): Json {
  return enc(value, path, 0, undefined);
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
    case 'bigint':
      return { $bigint: v.toString() };
    case 'function':
    case 'symbol':
      throw new EncodeError(`cannot send ${describeKind(v)} at ${path}: only data can cross the wire`);
  }
  if (v === null) return null;
  const o = v as object;
  if (depth >= MAX_DEPTH) throw new EncodeError(`value nests deeper than ${MAX_DEPTH} levels at ${path}`);
  if (Array.isArray(o)) {
    seen = enter(o, path, seen);
    const out = new Array<Json>(o.length);
    for (let i = 0; i < o.length; i++) out[i] = enc(o[i], path + '[' + i + ']', depth + 1, seen);
    seen.delete(o);
    return out;
  }
  if (isPlainObject(o)) {
    seen = enter(o, path, seen);
    const out: Record<string, Json> = {};
    for (const k of Object.keys(o)) {
      setOwn(out, k, enc((o as Record<string, unknown>)[k], pathJoin(path, k), depth + 1, seen));
    }
    seen.delete(o);
    return looksLikeTag(out) ? { $escape: out } : out;
  }
  if (o instanceof Date) return { $date: Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString() };
  if (o instanceof Map) {
    seen = enter(o, path, seen);
    const out: Json[] = [];
    let i = 0;
    for (const [k, val] of o) {
      out.push([enc(k, `${path}<key ${i}>`, depth + 1, seen), enc(val, `${path}.get(${i})`, depth + 1, seen)]);
      i++;
    }
    seen.delete(o);
    return { $map: out };
  }
  if (o instanceof Set) {
    seen = enter(o, path, seen);
    const out: Json[] = [];
    let i = 0;
    for (const val of o) out.push(enc(val, `${path}<item ${i++}>`, depth + 1, seen));
    seen.delete(o);
    return { $set: out };
  }
  if (Buffer.isBuffer(o)) return { $buffer: o.toString('base64') };
  if (o instanceof Uint8Array) return { $bytes: bytesToBase64(o) };
  if (ArrayBuffer.isView(o)) {
    const name = o.constructor.name as TypedName;
    if (name in TYPED_ARRAYS) return { $typed: { type: name, base64: bytesToBase64(o) } };
    throw new EncodeError(`cannot send ${describeKind(o)} at ${path}`);
  }
  if (o instanceof RegExp) return { $regexp: { source: o.source, flags: o.flags } };
  if (o instanceof Error) {
    return { $error: errorToWire(o) as unknown as Json };
  }
  if (typeof (o as { then?: unknown }).then === 'function') {
    throw new EncodeError(`cannot send a promise at ${path}: await it first`);
  }
  if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef || o instanceof ArrayBuffer) {
    throw new EncodeError(`cannot send ${describeKind(o)} at ${path}`);
  }
  if (typeof (o as { toJSON?: unknown }).toJSON === 'function') {
    return enc((o as { toJSON(): unknown }).toJSON(), path, depth + 1, seen);
  }
  // A class instance travels as a copy of its own enumerable data (like structuredClone):
  // the prototype stays behind. Anything holding functions (sockets, streams) is refused above.
  seen = enter(o, path, seen);
  const out: Record<string, Json> = {};
  for (const k of Object.keys(o)) {
    setOwn(out, k, enc((o as Record<string, unknown>)[k], pathJoin(path, k), depth + 1, seen));
  }
  seen.delete(o);
  return looksLikeTag(out) ? { $escape: out } : out;
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

/** Decode a JSON tree (as produced by JSON.parse) back into values. Throws ProtocolError on bad tags. */
export function decode(json: unknown): unknown {
  return dec(json, 0);
}

function bad(message: string): never {
  throw new ProtocolError('BAD_VALUE', message);
}

function dec(j: unknown, depth: number): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (depth >= MAX_DEPTH) bad(`value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(j)) {
    const out = new Array<unknown>(j.length);
    for (let i = 0; i < j.length; i++) out[i] = dec(j[i], depth + 1);
    return out;
  }
  const o = j as Record<string, unknown>;
  if (looksLikeTag(o)) return decodeTag(o, depth);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) setOwn(out, k, dec(o[k], depth + 1));
  return out;
}

function decodeTag(o: Record<string, unknown>, depth: number): unknown {
  const tag = Object.keys(o)[0]!;
  const p = o[tag];
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
      if (typeof p !== 'string' || !/^-?\d{1,10000}$/.test(p)) bad('$bigint must be a decimal string');
      return BigInt(p);
    case '$date': {
      if (typeof p !== 'string') bad('$date must be an ISO string');
      return new Date(p === 'Invalid Date' ? NaN : p);
    }
    case '$regexp': {
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
        m.set(dec(pair[0], depth + 1), dec(pair[1], depth + 1));
      }
      return m;
    }
    case '$set': {
      if (!Array.isArray(p)) bad('$set must be an array');
      return new Set(p.map((x) => dec(x, depth + 1)));
    }
    case '$bytes':
    case '$buffer': {
      if (typeof p !== 'string') bad(`${tag} must be a base64 string`);
      const b = Buffer.from(p, 'base64');
      return tag === '$buffer' ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    case '$typed': {
      const t = p as { type?: unknown; base64?: unknown };
      if (typeof t?.type !== 'string' || !(t.type in TYPED_ARRAYS) || typeof t.base64 !== 'string') {
        bad(`$typed needs {type, base64} with type one of ${Object.keys(TYPED_ARRAYS).join(', ')}`);
      }
      const Ctor = TYPED_ARRAYS[t.type as TypedName];
      const b = Buffer.from(t.base64 as string, 'base64');
      if (b.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) bad(`$typed ${t.type}: byte length ${b.byteLength} is not a multiple of ${Ctor.BYTES_PER_ELEMENT}`);
      const copy = new ArrayBuffer(b.byteLength); // aligned copy
      new Uint8Array(copy).set(b);
      return new Ctor(copy);
    }
    case '$error':
      return errorFromWire(p);
    case '$escape': {
      if (p === null || typeof p !== 'object' || Array.isArray(p)) bad('$escape must wrap an object');
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(p)) setOwn(out, k, dec((p as Record<string, unknown>)[k], depth + 1));
      return out;
    }
  }
  return bad(`unknown tag ${tag}`);
}
