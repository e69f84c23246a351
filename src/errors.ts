/**
 * The library's own error classes. Every one has a stable `code`, so programs can branch on
 * `err.code` or on `instanceof`. Errors raised by the hosted object itself arrive as the same
 * built-in class (TypeError, RangeError, ...) or as a RemoteError with the remote name and code.
 */

/** Where a remote error came from: the host process, its socket path, and the op that threw. */
export interface ErrorOrigin {
  pid: number;
  path: string;
  /** Index of the op in the chain that threw (0-based), when an op threw. */
  op?: number;
  /** Kind of that op: get, call, set, ... */
  opName?: string;
}

/** Stable codes, shared by the wire (docs/protocol.md) and the error classes. */
export const ErrorCodes = {
  BAD_JSON: 'BAD_JSON',
  BAD_MESSAGE: 'BAD_MESSAGE',
  UNKNOWN_OP: 'UNKNOWN_OP',
  BAD_VALUE: 'BAD_VALUE',
  TOO_LARGE: 'TOO_LARGE',
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  NOT_ENCODABLE: 'NOT_ENCODABLE',
  ACCESS_DENIED: 'ACCESS_DENIED',
  MISSING_MEMBER: 'MISSING_MEMBER',
  NOT_LISTENING: 'NOT_LISTENING',
  SHUTDOWN: 'SHUTDOWN',
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  TIMEOUT: 'TIMEOUT',
  PROCESS_EXITED: 'PROCESS_EXITED',
  AUTH_FAILED: 'AUTH_FAILED',
  LIMIT: 'LIMIT',
  BAD_ADDRESS: 'BAD_ADDRESS',
  TLS_REFUSED: 'TLS_REFUSED',
  SSH_FAILED: 'SSH_FAILED',
  /** Protocol v2: a function, stream or handle cannot go to a client that speaks only v1. */
  NEEDS_PROTOCOL_2: 'NEEDS_PROTOCOL_2',
  /** Protocol v2: a handle or function reference that was released (or never existed on this connection). */
  RELEASED: 'RELEASED',
  /** Protocol v2: a request's `turn` is not one the host granted this connection (docs/architecture.md, the lock rule). */
  BAD_TURN: 'BAD_TURN',
  /** A request given up through its AbortSignal (or cancelled on the host: currentSignal()'s reason). */
  ABORTED: 'ABORTED',
  /** @deprecated No error has this code: a RemoteError keeps the code it had on the host. */
  REMOTE: 'REMOTE',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export type ProtocolErrorCode = 'BAD_JSON' | 'BAD_MESSAGE' | 'UNKNOWN_OP' | 'BAD_VALUE' | 'TOO_LARGE' | 'VERSION_MISMATCH' | 'NEEDS_PROTOCOL_2' | 'BAD_TURN';

/** Base class of every error this library creates itself. */
export class RemoteObjError extends Error {
  readonly code: ErrorCode;
  /** Set when the error was raised on the host and carried back over the wire. */
  // `declare`: no own `origin: undefined` field on every local error (it would show up in Object.keys).
  declare origin?: ErrorOrigin;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

export interface RemoteErrorOptions extends ErrorOptions {
  /** The `code` the error had on the host, if any (e.g. `ER_DUP_ENTRY`, `42`). */
  code?: unknown;
  /** @deprecated Use `code`. */
  remoteCode?: unknown;
}

/**
 * An error thrown by the hosted code whose class has no built-in counterpart here (e.g.
 * `class ValidationError extends Error`), or a non-error value it threw (`name` `NonError`).
 * It keeps the host's `name`, `code` (of any type) and own properties, so `err.name` and
 * `err.code` read as on the host; `instanceof RemoteError` tells that it came from the host.
 *
 * Not a RemoteObjError: those are the library's own errors, whose `code` is always one of
 * ErrorCodes; an application's `code` (even `NOT_LISTENING`) never makes it one of them.
 */
export class RemoteError extends Error {
  /** The `code` the error had on the host; absent when it had none. */
  declare code?: unknown;
  /** Where it was raised: the host process, its socket path, and the op that threw. */
  declare origin?: ErrorOrigin;
  constructor(name: string, message: string, options?: RemoteErrorOptions) {
    super(message, options);
    // Own and not enumerable, as a class field would be on the host but out of Object.keys like Error's own.
    Object.defineProperty(this, 'name', { value: name, enumerable: false, writable: true, configurable: true });
    const code = options && 'code' in options ? options.code : options?.remoteCode;
    if (code !== undefined) Object.defineProperty(this, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  }

  /** @deprecated Use `name`: a RemoteError has the name it had on the host. */
  get remoteName(): string {
    return this.name;
  }

  /** @deprecated Use `code`: a RemoteError has the code it had on the host. */
  get remoteCode(): unknown {
    return this.code;
  }
}

/** The host cannot be reached: not listening, closing, or the connection dropped. `$get({default})` answers these. */
export class HostUnavailableError extends RemoteObjError {}

/** No host is listening on the path (nothing there, a stale socket, or a host that has closed). */
export class NotListeningError extends HostUnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.NOT_LISTENING, message, options);
  }
}

/** The host was closing with `fulfillFinal: false` and rejected this queued request without running it. */
export class ShutdownError extends HostUnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.SHUTDOWN, message, options);
  }
}

/** The connection closed while the request was in flight: it may or may not have run. */
export class ConnectionClosedError extends HostUnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.CONNECTION_CLOSED, message, options);
  }
}

/** One side could not understand a message from the other (bad JSON, wrong shape, unknown op, bad tag, too large). */
export class ProtocolError extends RemoteObjError {
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A value cannot be copied across the wire (a function, a socket, a cycle...). */
export class EncodeError extends RemoteObjError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.NOT_ENCODABLE, message, options);
  }
}

/** The host's access rules refuse this name or op. `rule` says which rule. */
export class AccessError extends RemoteObjError {
  readonly rule: string;
  constructor(rule: string, message: string, options?: ErrorOptions) {
    super(ErrorCodes.ACCESS_DENIED, message, options);
    this.rule = rule;
  }
}

/** Something did not happen in time (a request, a connect, waitUntilListening). */
export class TimeoutError extends RemoteObjError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.TIMEOUT, message, options);
  }
}

/** A process we were waiting on exited first (waitUntilListening with `process`). */
export class ProcessExitedError extends RemoteObjError {
  /** waitUntilListening: the last lines of the child's stderr, when it was a pipe. */
  declare stderr?: string;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.PROCESS_EXITED, message, options);
  }
}

/**
 * Authentication failed: wrong or missing secret on either side, a host that did not ask for the
 * secret the client holds, or a request sent before authenticating. The connection is closed.
 */
export class AuthError extends RemoteObjError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.AUTH_FAILED, message, options);
  }
}

/** A host limit was reached (`limit` names it, e.g. `maxConnections`). */
export class LimitError extends RemoteObjError {
  readonly limit: string;
  constructor(limit: string, message: string, options?: ErrorOptions) {
    super(ErrorCodes.LIMIT, message, options);
    this.limit = limit;
  }
}

/**
 * A strict read (`connect(path, { strict: true })`, the CLI by default) named a member that does
 * not exist. `member` is the name; `suggestions` the reachable names it may have meant.
 */
export class MissingMemberError extends RemoteObjError {
  readonly member: string;
  readonly suggestions: string[];
  constructor(message: string, member: string, suggestions: string[], options?: ErrorOptions) {
    super(ErrorCodes.MISSING_MEMBER, message, options);
    this.member = member;
    this.suggestions = suggestions;
  }
}

/**
 * An address that is not one of the forms serve/connect accept (docs/transports.md), or one these
 * options cannot use (tcp:// without a secret, tls:// without certificates, serving on ssh://).
 * Thrown before anything is opened or created. `address` is the text given.
 */
export class AddressError extends RemoteObjError {
  readonly address: string;
  constructor(message: string, address: string, options?: ErrorOptions) {
    super(ErrorCodes.BAD_ADDRESS, message, options);
    this.address = address;
  }
}

/**
 * TLS refused the connection before any request ran: the host's certificate did not verify (an
 * unknown CA, a wrong host name, expired), or the host refused ours (missing, foreign, expired).
 * `reason` is OpenSSL's or Node's code (e.g. ERR_TLS_CERT_ALTNAME_INVALID, CERT_HAS_EXPIRED,
 * ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED); the original error is the `cause`.
 */
export class TlsRefusedError extends RemoteObjError {
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(ErrorCodes.TLS_REFUSED, message, options);
    this.reason = reason;
  }
}

/**
 * The ssh command of an ssh:// address failed (host key mismatch, authentication, unknown host,
 * no `remoteobj` on the far side): `stderr` holds what ssh said, `exitCode` how it exited.
 */
export class SshError extends RemoteObjError {
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(message: string, stderr: string, exitCode: number | null, options?: ErrorOptions) {
    super(ErrorCodes.SSH_FAILED, message, options);
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/**
 * Protocol v2: a handle (ref()), a passed function or another reference was used after it was
 * released (`$release()`, `await using`, or its connection closed on the side that owned it).
 */
export class ReleasedError extends RemoteObjError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.RELEASED, message, options);
  }
}

/**
 * A request was called off: on the client, its `$get({ signal })` signal aborted (the `cause` is
 * the signal's reason); on the host, the reason of currentSignal() when the client cancelled the
 * request, its timeout passed, or its connection dropped. Named `AbortError`, like fetch's.
 */
export class AbortError extends RemoteObjError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCodes.ABORTED, message, options);
  }
}
