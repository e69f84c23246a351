/**
 * The values of fork()'s messages (arguments, results, yields): the core value codec, plus one tag
 * of fork's own, `{"$remoteobj:Except": {address, raises, catchOnce, types}}`, for an Except in an
 * array or a plain object. Only this encoder writes that tag. Plain data that happens to have the
 * same key is escaped like any other one-`$`-key object (`{"$escape": {...}}`), so it arrives as
 * the plain data it was: a live Except handle never comes from data (a child's result that holds
 * user input, say), only from an Except that was sent.
 *
 * Arrays and plain objects are walked here; every other value is handed whole to the core codec
 * (`encode` / `decode`), which never writes or reads this tag: an Except inside a Map or a class
 * instance travels as its plain `toJSON()` data, as before.
 */
import { EncodeError, ProtocolError } from '../errors';
import { Except, type ExceptWire, exceptFromWire, exceptToWire, isExceptWire } from '../except/except';
import { decode, encode, type Json, MAX_DEPTH } from '../protocol/codec';

export const EXCEPT_TAG = '$remoteobj:Except';

/** Encode for a fork message. Throws EncodeError (naming where, e.g. `args[1].fn`) for what cannot travel. */
export function encodeValue(value: unknown, path: string): Json {
  return enc(value, path, 0, new Set());
}

/** Decode a value of a fork message. Throws ProtocolError BAD_VALUE on anything malformed. */
export function decodeValue(json: unknown): unknown {
  return dec(json, 0);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Exactly one own key, starting with `$`: what the codec reads as a tag. */
function tagKey(keys: readonly string[]): string | undefined {
  return keys.length === 1 && keys[0]!.charCodeAt(0) === 36 /* $ */ ? keys[0] : undefined;
}

function enc(v: unknown, path: string, depth: number, seen: Set<object>): Json {
  if (v === null || typeof v !== 'object') return encode(v, path);
  if (depth >= MAX_DEPTH) throw new EncodeError(`value nests deeper than ${MAX_DEPTH} levels at ${path}`);
  if (v instanceof Except) return { [EXCEPT_TAG]: exceptWireAt(v, path) };
  const isArray = Array.isArray(v);
  // A plain object with its own toJSON is the codec's business (it honours toJSON).
  if (!isArray && (!isPlainObject(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function')) return encode(v, path);
  if (seen.has(v)) throw new EncodeError(`cannot send a circular reference at ${path}`);
  seen.add(v);
  try {
    if (isArray) return v.map((x, i) => enc(x, `${path}[${i}]`, depth + 1, seen));
    const keys = Object.keys(v);
    const out: Record<string, Json> = {};
    for (const k of keys) setOwn(out, k, enc((v as Record<string, unknown>)[k], keyPath(path, k), depth + 1, seen));
    return tagKey(keys) !== undefined ? { $escape: out } : out;
  } finally {
    seen.delete(v);
  }
}

function exceptWireAt(exc: Except, path: string): Json {
  let w: ExceptWire;
  try {
    w = exceptToWire(exc);
  } catch (e) {
    throw new EncodeError(`cannot send the Except at ${path}: ${(e as Error).message}`, { cause: e });
  }
  return { address: w.address, raises: w.raises, catchOnce: w.catchOnce, types: [...w.types] };
}

function dec(j: unknown, depth: number): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (depth >= MAX_DEPTH) throw new ProtocolError('BAD_VALUE', `value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(j)) return j.map((x) => dec(x, depth + 1));
  const o = j as Record<string, unknown>;
  const keys = Object.keys(o);
  const tag = tagKey(keys);
  if (tag === EXCEPT_TAG) {
    const w = o[tag];
    if (!isExceptWire(w)) throw new ProtocolError('BAD_VALUE', `${EXCEPT_TAG} needs {address, raises, catchOnce, types}`);
    return exceptFromWire(w);
  }
  if (tag === '$escape') {
    const p = o[tag];
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new ProtocolError('BAD_VALUE', '$escape must wrap an object');
    return decodeObject(p as Record<string, unknown>, depth);
  }
  if (tag !== undefined) return decode(j); // one of the core codec's tags
  return decodeObject(o, depth);
}

function decodeObject(o: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) setOwn(out, k, dec(o[k], depth + 1));
  return out;
}

/** Define a key as plain own data, so `__proto__` can never reach a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
