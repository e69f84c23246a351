/**
 * What a client may reach. One function decides, for every name an op touches, whether the host
 * lets it through; evaluate.ts asks it before each get, set, del, call target and super lookup.
 *
 * Default rules (docs/security.md explains each):
 *  - `constructor`, `prototype`, `__proto__` are never reachable: they lead to the Function
 *    constructor, i.e. code execution (`x.constructor.constructor('return process')()`).
 *  - names starting with `_` (private by convention, as in Python's remoteobj) or `$` (reserved
 *    for the client proxy's controls) are refused.
 *  - a name must be the value's own property or defined by its class hierarchy; members that only
 *    Object.prototype or Function.prototype provide (`__defineGetter__`, `valueOf`, `call`,
 *    `apply`, `bind`, ...) are refused — those of any realm (a `vm` context has its own).
 *  - the library's own objects and Node's I/O handles are refused wherever a chain meets them
 *    (owned.ts; evaluate.ts asks, on every op's result).
 */
import { AccessError } from './errors';

/** `call` reaches only the `policy` hook (the name was already checked when it was read). */
export type AccessKind = 'get' | 'set' | 'del' | 'call' | 'super' | 'passto';

export interface AccessRequest {
  kind: AccessKind;
  /** The object whose member is touched. */
  target: unknown;
  key: string;
  /** Whether `target` is the hosted object itself (at the start of a chain, or reached again, e.g. through a method returning `this`). */
  atRoot: boolean;
  /** The op chain up to and including this op (for rules such as "only under `public.`"). */
  path: readonly (string | number)[];
}

/** A host's extra rule: return true to allow, false or a reason string to refuse. */
export type AccessPolicy = (req: AccessRequest) => boolean | string;

export interface AccessOptions {
  /**
   * Only these members of the hosted object (or those the predicate accepts) are reachable,
   * wherever a chain meets the hosted object (also through a method returning `this`). With
   * `expose`, `$passto` on the hosted object itself is refused: a function given the whole object
   * could read what is not exposed.
   */
  expose?: readonly string[] | ((req: AccessRequest) => boolean);
  /** Refuse every set and del. */
  readonly?: boolean;
  /** A last say on every access, after the built-in rules. */
  policy?: AccessPolicy;
  /**
   * Let chains reach Node's I/O handles (servers, sockets, child processes, workers, file
   * handles...) found on the hosted object. Default false: through a server a client could
   * `close()` it and `listen()` on TCP, through a socket write into another client's connection.
   * The library's own objects (hosts, connections, forked children...) stay refused.
   */
  allowIoHandles?: boolean;
  /**
   * Accept `$regexp` values from clients (default false: ProtocolError BAD_VALUE). Running a
   * pattern a client chose can take exponential time (`/^(a+)+$/` against "aaa…b") and freeze
   * the host for every client; accept them only from clients you trust with that.
   */
  acceptRegExp?: boolean;
}

/** The access options out of a host's options (a copy: later changes to the caller's object do not count). */
export function accessOptions(options: AccessOptions): AccessOptions {
  return {
    expose: options.expose,
    readonly: options.readonly,
    policy: options.policy,
    allowIoHandles: options.allowIoHandles,
    acceptRegExp: options.acceptRegExp,
  };
}

const ALWAYS_BLOCKED = new Set(['constructor', 'prototype', '__proto__']);

function deny(rule: string, message: string): never {
  throw new AccessError(rule, message);
}

/** Where `key` is found on `target`'s prototype chain: the object that owns it, or undefined. */
function owner(target: object, key: string): object | undefined {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, key)) return o;
  }
  return undefined;
}

/**
 * 'Object' when `o` is the Object.prototype of some realm, 'Function' for a Function.prototype,
 * else undefined. This realm's are known by identity; another realm's (a `vm` context's values)
 * by their shape, which no class of the program has: Object.prototype is the object at the end
 * of every chain (no prototype) holding `__lookupGetter__` and `isPrototypeOf`; Function.prototype
 * is a function holding `call`, `apply` and `bind` whose own prototype is such an object. Decided
 * by shape only for an object without a prototype or a function right above one, so an ordinary
 * owner (an instance, a class prototype) costs one getPrototypeOf.
 */
export function rootPrototypeKind(o: object): 'Object' | 'Function' | undefined {
  if (o === Object.prototype) return 'Object';
  if (o === Function.prototype) return 'Function';
  const above = Object.getPrototypeOf(o) as object | null;
  if (above === null) return looksLikeObjectPrototype(o) ? 'Object' : undefined;
  if (typeof o === 'function' && Object.getPrototypeOf(above) === null && looksLikeObjectPrototype(above) && hasOwn(o, 'call') && hasOwn(o, 'apply') && hasOwn(o, 'bind')) {
    return 'Function';
  }
  return undefined;
}

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function looksLikeObjectPrototype(o: object): boolean {
  return hasOwn(o, '__lookupGetter__') && hasOwn(o, 'isPrototypeOf') && hasOwn(o, 'propertyIsEnumerable');
}

/** Check one access against the built-in rules and the host's options; throws AccessError. */
export function checkAccess(req: AccessRequest, options: AccessOptions = {}): void {
  const { key, kind } = req;
  if (kind === 'call') return checkPolicy(req, options);
  if (ALWAYS_BLOCKED.has(key)) deny('blocked-name', `"${key}" is never reachable remotely`);
  if (key.charCodeAt(0) === 95 /* _ */) deny('underscore', `"${key}": names starting with "_" are private`);
  if (key.charCodeAt(0) === 36 /* $ */) deny('dollar', `"${key}": names starting with "$" are reserved`);
  if ((kind === 'set' || kind === 'del') && options.readonly) deny('readonly', `cannot ${kind} "${key}": the host is read-only`);

  // Also for set and del: shadowing an Object.prototype member (`hasOwnProperty`, `toString`...)
  // on a hosted object would break the host's own code that relies on it.
  if (kind !== 'passto' && req.target !== null && req.target !== undefined) {
    const boxed = Object(req.target) as object;
    const where = owner(boxed, key);
    const root = where === undefined ? undefined : rootPrototypeKind(where);
    if (root !== undefined) deny('builtin-member', `"${key}" is only defined by ${root}.prototype and is not reachable remotely`);
  }
  if (options.expose && req.atRoot) {
    if (kind === 'passto') deny('not-exposed', `passto "${key}" on the hosted object is refused: the host exposes only some members`);
    const ok = typeof options.expose === 'function' ? options.expose(req) : options.expose.includes(key);
    if (!ok) deny('not-exposed', `"${key}" is not exposed by this host`);
  }
  checkPolicy(req, options);
}

function checkPolicy(req: AccessRequest, options: AccessOptions): void {
  if (!options.policy) return;
  const verdict = options.policy(req);
  if (verdict !== true) deny('policy', typeof verdict === 'string' ? verdict : `the host's policy refuses ${req.kind} "${req.key}"`);
}
