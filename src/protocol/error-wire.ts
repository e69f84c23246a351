/**
 * Errors ⇄ wire. serialize-error turns an error into plain JSON (name, message, stack, cause,
 * own properties); `errorFromWire` rebuilds a real error on the other side: the same built-in
 * class where there is one, the library's own class for library codes, and RemoteError otherwise.
 * Classes are never looked up by an arbitrary name from the wire.
 */
import { serializeError } from 'serialize-error';
import {
  AccessError,
  ConnectionClosedError,
  EncodeError,
  type ErrorOrigin,
  NotListeningError,
  ProcessExitedError,
  ProtocolError,
  type ProtocolErrorCode,
  RemoteError,
  RemoteObjError,
  ShutdownError,
  TimeoutError,
} from '../errors';

/** An error as it travels: serialize-error's shape plus where it came from. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: unknown;
  origin?: ErrorOrigin;
  [key: string]: unknown;
}

const BUILTINS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Keys never copied from the wire onto an error object. */
const RESERVED = new Set(['name', 'message', 'stack', 'cause', 'errors', 'origin', '__proto__', 'constructor', 'prototype']);

const MAX_CAUSE_DEPTH = 20;

/** Serialize any thrown value (an Error or not) for the wire, tagged with where it came from. */
export function errorToWire(err: unknown, origin?: ErrorOrigin): WireError {
  const e = err instanceof Error ? err : new RemoteError('NonError', `a non-error value was thrown: ${safeString(err)}`);
  const out = serializeError(e, { maxDepth: 8 }) as WireError;
  // Library errors keep their class through `code`; the name alone is not trusted.
  if (e instanceof RemoteObjError) {
    out.code = e.code;
    if (e instanceof AccessError) out.rule = e.rule;
    if (e instanceof RemoteError) out.name = e.remoteName;
  }
  if (typeof out.name !== 'string') out.name = 'Error';
  if (typeof out.message !== 'string') out.message = String(out.message ?? '');
  if (origin) out.origin = origin;
  return out;
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * Rebuild an error from the wire. `localStack` (the stack where the client made the call) is
 * appended under a marker line, so a stack shows the remote frames and then the caller's.
 */
export function errorFromWire(wire: unknown, localStack?: string, depth = 0): Error {
  const w: Partial<WireError> = wire !== null && typeof wire === 'object' ? (wire as WireError) : { message: safeString(wire) };
  const name = typeof w.name === 'string' ? w.name : 'Error';
  const message = typeof w.message === 'string' ? w.message : '';
  const err = construct(name, message, w);
  const origin = isOrigin(w.origin) ? w.origin : undefined;
  if (origin) Object.defineProperty(err, 'origin', { value: origin, enumerable: false, writable: true, configurable: true });

  for (const key of Object.keys(w)) {
    if (RESERVED.has(key) || key === 'code' || key === 'rule') continue;
    Object.defineProperty(err, key, { value: w[key], enumerable: true, writable: true, configurable: true });
  }
  if (typeof w.code === 'string' && !(err instanceof RemoteObjError)) {
    Object.defineProperty(err, 'code', { value: w.code, enumerable: true, writable: true, configurable: true });
  }
  if (w.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    const cause = w.cause !== null && typeof w.cause === 'object' && 'message' in w.cause ? errorFromWire(w.cause, undefined, depth + 1) : w.cause;
    Object.defineProperty(err, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  }
  if (name === 'AggregateError' && Array.isArray(w.errors)) {
    Object.defineProperty(err, 'errors', { value: w.errors.map((x) => errorFromWire(x, undefined, depth + 1)), enumerable: false, writable: true, configurable: true });
  }

  const remoteStack = typeof w.stack === 'string' ? w.stack : `${name}: ${message}`;
  const where = origin ? `    --- remote: pid ${origin.pid} at ${origin.path}${origin.op !== undefined ? `, op ${origin.op} (${origin.opName})` : ''} ---` : '    --- remote ---';
  const localFrames = localStack ? localStack.split('\n').slice(1).join('\n') : '';
  Object.defineProperty(err, 'stack', {
    value: localFrames ? `${remoteStack}\n${where}\n${localFrames}` : `${remoteStack}\n${where}`,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return err;
}

function construct(name: string, message: string, w: Partial<WireError>): Error {
  switch (w.code) {
    case 'NOT_LISTENING':
      return new NotListeningError(message);
    case 'SHUTDOWN':
      return new ShutdownError(message);
    case 'CONNECTION_CLOSED':
      return new ConnectionClosedError(message);
    case 'NOT_ENCODABLE':
      return new EncodeError(message);
    case 'ACCESS_DENIED':
      return new AccessError(typeof w.rule === 'string' ? w.rule : 'unknown', message);
    case 'TIMEOUT':
      return new TimeoutError(message);
    case 'PROCESS_EXITED':
      return new ProcessExitedError(message);
    case 'BAD_JSON':
    case 'BAD_MESSAGE':
    case 'UNKNOWN_OP':
    case 'BAD_VALUE':
    case 'TOO_LARGE':
    case 'VERSION_MISMATCH':
      return new ProtocolError(w.code as ProtocolErrorCode, message);
  }
  if (name === 'AggregateError') return new AggregateError([], message);
  const Builtin = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (Builtin) return new Builtin(message);
  return new RemoteError(name, message);
}

function isOrigin(v: unknown): v is ErrorOrigin {
  return v !== null && typeof v === 'object' && typeof (v as ErrorOrigin).pid === 'number' && typeof (v as ErrorOrigin).path === 'string';
}

