/**
 * Errors ⇄ wire. serialize-error turns an error into plain JSON (name, message, stack, cause,
 * own properties); `errorFromWire` rebuilds a real error on the other side: the same built-in
 * class where there is one, the library's own class for library codes, and RemoteError otherwise.
 * Classes are never looked up by an arbitrary name from the wire.
 *
 * A library class comes back only when both `code` and `name` say so (`TIMEOUT` + `TimeoutError`):
 * an application error that merely has `code: 'TIMEOUT'` stays an application error, so it is never
 * mistaken for the library's own (a `NOT_LISTENING` one would otherwise be swallowed by `$get({default})`).
 */
import { types } from 'node:util';
import { serializeError } from 'serialize-error';
import {
  AccessError,
  AuthError,
  LimitError,
  MissingMemberError,
  ConnectionClosedError,
  EncodeError,
  type ErrorOrigin,
  NotListeningError,
  ProcessExitedError,
  ProtocolError,
  type ProtocolErrorCode,
  RemoteError,
  RemoteObjError,
  ReleasedError,
  AbortError,
  ShutdownError,
  TimeoutError,
  TlsRefusedError,
} from '../errors';
import { thrownByLibrary, withoutLibraryFrames } from './library-frames';

/** An error as it travels: serialize-error's shape plus where it came from. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  cause?: unknown;
  origin?: ErrorOrigin;
  [key: string]: unknown;
}

type Wire = Record<string, unknown>;

const BUILTINS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** The library's classes by code: the name they travel under, and how to rebuild one. */
const LIBRARY = new Map<string, { name: string; make: (message: string, w: Wire) => Error }>([
  ['NOT_LISTENING', { name: 'NotListeningError', make: (m) => new NotListeningError(m) }],
  ['SHUTDOWN', { name: 'ShutdownError', make: (m) => new ShutdownError(m) }],
  ['CONNECTION_CLOSED', { name: 'ConnectionClosedError', make: (m) => new ConnectionClosedError(m) }],
  ['NOT_ENCODABLE', { name: 'EncodeError', make: (m) => new EncodeError(m) }],
  ['ACCESS_DENIED', { name: 'AccessError', make: (m, w) => new AccessError(typeof w.rule === 'string' ? w.rule : 'unknown', m) }],
  ['TIMEOUT', { name: 'TimeoutError', make: (m) => new TimeoutError(m) }],
  ['PROCESS_EXITED', { name: 'ProcessExitedError', make: (m) => new ProcessExitedError(m) }],
  ['AUTH_FAILED', { name: 'AuthError', make: (m) => new AuthError(m) }],
  ['TLS_REFUSED', { name: 'TlsRefusedError', make: (m, w) => new TlsRefusedError(typeof w.reason === 'string' ? w.reason : 'TLS', m) }],
  ['LIMIT', { name: 'LimitError', make: (m, w) => new LimitError(typeof w.limit === 'string' ? w.limit : 'unknown', m) }],
  ['MISSING_MEMBER', { name: 'MissingMemberError', make: (m, w) => new MissingMemberError(m, typeof w.member === 'string' ? w.member : '', stringList(w.suggestions)) }],
  ['RELEASED', { name: 'ReleasedError', make: (m) => new ReleasedError(m) }],
  ['ABORTED', { name: 'AbortError', make: (m) => new AbortError(m) }],
  ...(['BAD_JSON', 'BAD_MESSAGE', 'UNKNOWN_OP', 'BAD_VALUE', 'TOO_LARGE', 'VERSION_MISMATCH', 'NEEDS_PROTOCOL_2', 'BAD_TURN'] as const).map(
    (code) => [code, { name: 'ProtocolError', make: (m: string) => new ProtocolError(code as ProtocolErrorCode, m) }] as const,
  ),
]);

/** Keys never copied from the wire onto an error object (each is handled on its own, or is dangerous). */
const RESERVED = new Set(['name', 'message', 'stack', 'cause', 'origin', 'code', '__proto__', 'constructor', 'prototype']);

/** How deep serialize-error walks an error's properties. */
const MAX_SERIALIZE_DEPTH = 8;
/** How many causes / AggregateError levels are rebuilt as errors; deeper ones stay plain data. */
const MAX_CAUSE_DEPTH = 20;
/** Longest description of a thrown non-error value. */
const MAX_DESCRIPTION = 200;

const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function isRecord(v: unknown): v is Wire {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Errors from any realm (vm, Jest) count, as serialize-error's own check does. */
function isError(v: unknown): v is Error {
  return v instanceof Error || types.isNativeError(v);
}

/** Serialize any thrown value (an Error or not) for the wire, tagged with where it came from. */
export function errorToWire(err: unknown, origin?: ErrorOrigin): WireError {
  let out: WireError;
  try {
    out = isError(err) ? serializeErrorValue(err) : nonErrorToWire(err);
  } catch {
    // A getter that throws, a hostile Proxy...: send what can still be read.
    out = minimalWire(err);
  }
  if (origin) out.origin = origin;
  return out;
}

function minimalWire(err: unknown): WireError {
  const name = readSafely(err, 'name');
  const message = readSafely(err, 'message');
  const stack = readSafely(err, 'stack');
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : 'an error that could not be serialized',
    ...(typeof stack === 'string' ? { stack } : {}),
  };
}

function serializeErrorValue(e: Error): WireError {
  let json: unknown = serializeError(e, { maxDepth: MAX_SERIALIZE_DEPTH });
  // A toJSON() that returns a string (or an array) would leave nothing to describe the error.
  if (!isRecord(json)) json = serializeError(e, { maxDepth: MAX_SERIALIZE_DEPTH, useToJSON: false });
  // A copy: serialize-error hands back toJSON()'s own object, which must not be modified here.
  const out = { ...(json as Wire) } as WireError;
  markLibraryErrors(e, out, 0);
  if (typeof out.name !== 'string') out.name = typeof e.name === 'string' ? e.name : 'Error';
  if (typeof out.message !== 'string') out.message = String(out.message ?? '');
  return out;
}

/**
 * Library errors keep their class through `code` + their canonical name (not `constructor.name`,
 * which a minifier or a subclass may change); a RemoteError travels as the error it stands for.
 * An error the library made keeps only the user's frames (see library-frames.ts).
 * Applied along `cause` and AggregateError `errors` too.
 */
function markLibraryErrors(source: Error, out: Wire, depth: number): void {
  if (source instanceof RemoteError) {
    out.name = source.name;
    if (source.code !== undefined) out.code = source.code;
    else delete out.code;
  } else if (source instanceof RemoteObjError) {
    out.name = LIBRARY.get(source.code)?.name ?? out.name;
    out.code = source.code;
    if (source instanceof AccessError) out.rule = source.rule;
    if (source instanceof LimitError) out.limit = source.limit;
    if (source instanceof TlsRefusedError) out.reason = source.reason;
  }
  if (typeof out.stack === 'string') {
    const header = typeof out.message === 'string' && out.message ? `${String(out.name)}: ${out.message}` : String(out.name);
    if (source instanceof RemoteObjError || thrownByLibrary(out.stack, header)) out.stack = withoutLibraryFrames(out.stack, header);
  }
  if (depth >= MAX_SERIALIZE_DEPTH) return;
  const cause = readSafely(source, 'cause');
  if (isError(cause) && isRecord(out.cause)) markLibraryErrors(cause, out.cause, depth + 1);
  const errors = readSafely(source, 'errors');
  if (Array.isArray(errors) && Array.isArray(out.errors)) {
    errors.forEach((item, i) => {
      const wired = (out.errors as unknown[])[i];
      if (isError(item) && isRecord(wired)) markLibraryErrors(item, wired, depth + 1);
    });
  }
}

function readSafely(o: unknown, key: string): unknown {
  try {
    return (o as Wire)?.[key];
  } catch {
    return undefined;
  }
}

/**
 * `throw 'boom'`, `throw {code: 'E_X'}`, `throw undefined`: a `NonError` (RemoteError on the other
 * side) whose message shows the value; an object's own properties travel as the error's properties.
 */
function nonErrorToWire(v: unknown): WireError {
  let props: Wire = {};
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const json: unknown = serializeError(v, { maxDepth: MAX_SERIALIZE_DEPTH });
    if (isRecord(json)) props = { ...json };
  }
  const message = typeof props.message === 'string' ? props.message : `a non-error value was thrown: ${describeThrown(v)}`;
  // No stack frames: the ones here would point at this serializer, not at the throw.
  return { ...props, name: 'NonError', message, stack: `NonError: ${message}` };
}

function describeThrown(v: unknown): string {
  let text: string;
  try {
    if (typeof v === 'bigint') text = `${v}n`;
    else if (typeof v === 'string') text = JSON.stringify(v);
    else if (v !== null && typeof v === 'object') text = JSON.stringify(v) ?? Object.prototype.toString.call(v);
    else text = String(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}…` : text;
}

/**
 * Rebuild an error from the wire: its class (see construct), then its `code` and own properties
 * (any error's, a RemoteError's included: it keeps the host's name and code). `localStack` (the stack where the client made the call) is
 * appended under a marker line, so a stack shows the remote frames and then the caller's.
 * Never throws, whatever JSON it is given.
 */
export function errorFromWire(wire: unknown, localStack?: string, depth = 0): Error {
  const w: Wire = isRecord(wire) ? wire : { name: 'Error', message: typeof wire === 'string' ? wire : describeThrown(wire) };
  const name = typeof w.name === 'string' ? w.name : 'Error';
  const message = typeof w.message === 'string' ? w.message : '';
  const err = construct(name, message, w);
  const origin = originOf(w.origin);
  if (origin) define(err, 'origin', origin, false);

  for (const key of Object.keys(w)) {
    if (RESERVED.has(key)) continue;
    if (err instanceof RemoteObjError && (key === 'rule' || key === 'remoteName' || key === 'remoteCode')) continue;
    if (err instanceof LimitError && key === 'limit') continue;
    if (err instanceof MissingMemberError && (key === 'member' || key === 'suggestions')) continue;
    if (key === 'errors' && err instanceof AggregateError) continue;
    // Never shadow an inherited member (toString, valueOf, the `name` getter...): a string there breaks String(err).
    if (key in err && !Object.hasOwn(err, key)) continue;
    define(err, key, w[key], true);
  }
  if (w.code !== undefined && !(err instanceof RemoteObjError)) define(err, 'code', w.code, true);
  if (Object.hasOwn(w, 'cause')) define(err, 'cause', revive(w.cause, depth), false);
  if (err instanceof AggregateError && Array.isArray(w.errors)) {
    define(err, 'errors', w.errors.map((x) => revive(x, depth)), false);
  }

  const remoteStack = typeof w.stack === 'string' ? w.stack : `${name}: ${message}`;
  const where = origin
    ? `    --- remote: pid ${origin.pid} at ${origin.path}${origin.op !== undefined ? `, op ${origin.op}${origin.opName !== undefined ? ` (${origin.opName})` : ''}` : ''} ---`
    : '    --- remote ---';
  const localFrames = localStack ? localStack.split('\n').slice(1).join('\n') : '';
  define(err, 'stack', localFrames ? `${remoteStack}\n${where}\n${localFrames}` : `${remoteStack}\n${where}`, false);
  return err;
}

/** A serialized error inside an error (cause, AggregateError item) becomes an error again, to a depth. */
function revive(v: unknown, depth: number): unknown {
  const errorLike = isRecord(v) && typeof v.name === 'string' && typeof v.message === 'string';
  return errorLike && depth < MAX_CAUSE_DEPTH ? errorFromWire(v, undefined, depth + 1) : v;
}

function define(target: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}

function construct(name: string, message: string, w: Wire): Error {
  const library = typeof w.code === 'string' ? LIBRARY.get(w.code) : undefined;
  if (library && library.name === name) return library.make(message, w);
  if (name === 'AggregateError') return new AggregateError([], message);
  const Builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (Builtin) return new Builtin(message);
  return new RemoteError(name, message); // its code, like any other error's, is copied below
}

/** Only the documented fields, with the documented types: they end up in the stack text. */
function originOf(v: unknown): ErrorOrigin | undefined {
  if (!isRecord(v) || typeof v.pid !== 'number' || typeof v.path !== 'string') return undefined;
  const origin: ErrorOrigin = { pid: v.pid, path: v.path };
  if (typeof v.op === 'number') origin.op = v.op;
  if (typeof v.opName === 'string') origin.opName = v.opName;
  return origin;
}
