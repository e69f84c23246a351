/**
 * The one place an op chain is applied to a hosted object. The host uses it for every request
 * (and so does the local bypass, through the same host). It runs synchronously until an op
 * returns a promise, then continues after that promise settles, so a chain over sync members
 * costs no extra ticks.
 */
import { dirname, extname, join as joinPath } from 'node:path';
import { type AccessOptions, checkAccess, rootPrototypeKind } from './access';
import { AccessError } from './errors';
import { closeMembers, missingMemberError } from './missing-member';
import { refusalOf } from './owned';
import { isRef, refKindOf } from './ref';
import type { Op, OpName } from './protocol/wire-types';

/** One member of a described value. */
export interface MemberInfo {
  name: string;
  /** method: a function; property: a data property; getter: an accessor (not invoked by describe). */
  kind: 'method' | 'property' | 'getter';
  /** typeof the value (or 'array', 'null', or the class name of an object); absent for getters. */
  type?: string;
  /** Defined on the value itself (true) or by its class hierarchy (false). */
  own: boolean;
  /** Whether a set op could change it (writable data property or accessor with a setter). */
  writable: boolean;
}

/** What the describe op returns. */
export interface Description {
  type: string;
  /** The value's class name, when it is an object with one. */
  className?: string;
  /** length of arrays and strings, size of Map/Set. */
  length?: number;
  members: MemberInfo[];
}

export type Outcome = { kind: 'value'; value: unknown } | { kind: 'self' };

export interface EvalContext {
  /** Functions a client may name in passto. */
  functions: Readonly<Record<string, (...args: any[]) => unknown>>;
  access: AccessOptions;
  /** The hosted object once it has been found reachable (owned.ts), so it is checked once, not on every request. */
  reachableRoot?: unknown;
  /** Calls a hosted function (call and passto ops); default Reflect.apply. The host's keeps the request context across an async function's awaits. */
  invoke?: (fn: Function, self: unknown, args: readonly unknown[]) => unknown;
}

/** An op threw: carries the error and which op it was, for the reply's `origin`. */
export class OpFailure {
  constructor(
    readonly error: unknown,
    readonly op: number,
    readonly opName: OpName,
  ) {}
}

interface State {
  /** The hosted object: its members are what `expose` guards, wherever a chain reaches it again. */
  root: unknown;
  /** A get, super or del of a member that does not exist is a MissingMemberError instead of `undefined`. */
  strict: boolean;
  value: unknown;
  /** The object the value was read from: `this` for a following call. */
  holder: unknown;
}

/**
 * Apply `ops` (their values decoded: protocol/wire.ts reads them so) to `root`. `strict`: the
 * request's strict field.
 */
export function evaluate(root: unknown, ops: readonly Op[], ctx: EvalContext, strict = false, start?: object): Outcome | Promise<Outcome> {
  // `start`: protocol v2's `to`, an exported object (a handle) the chain starts at instead of the root.
  const state: State = { root, strict, value: start ?? root, holder: undefined };
  if (ops.length > 0 && ctx.reachableRoot !== root) {
    // A hosted object that is itself a Host, a socket...: nothing of it is reachable.
    try {
      refuseUnreachable(root, undefined, ctx);
    } catch (e) {
      throw new OpFailure(e, 0, ops[0]!.op);
    }
    ctx.reachableRoot = root;
  }
  if (start !== undefined && ops.length > 0) {
    try {
      refuseUnreachable(start, undefined, ctx);
    } catch (e) {
      throw new OpFailure(e, 0, ops[0]!.op);
    }
  }
  return run(root, ops, 0, state, ctx);
}

/**
 * Refuse a value no chain may reach (the library's own objects, Node's I/O handles; owned.ts):
 * checked on every op's result, before it is used, awaited or sent, so the op that reached it
 * is the one refused.
 */
function refuseUnreachable(value: unknown, op: Op | undefined, ctx: EvalContext, last = false): void {
  const refusal = refusalOf(value, ctx.access);
  if (refusal === undefined) return;
  // An Except the host marked with ref() may be the chain's answer (it travels by reference, and
  // answers only record()); nothing goes through it.
  if (last && isRef(value as object) && refKindOf(value as object) === 'except') return;
  const what = op === undefined ? 'the hosted object' : op.op === 'get' || op.op === 'super' ? `"${op.key}"` : op.op === 'passto' ? `what passto "${op.name}" returned` : `what ${op.op} returned`;
  if (refusal.rule === 'library-owned') {
    throw new AccessError('library-owned', `${what} is one of remoteobj's own objects (${refusal.what}); a client never reaches those`);
  }
  throw new AccessError(
    'io-handle',
    `${what} is a Node I/O handle (${refusal.what}); a client does not reach those unless the host allows it (allowIoHandles)`,
  );
}

function isObjectLike(v: unknown): v is object {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

function run(root: unknown, ops: readonly Op[], from: number, state: State, ctx: EvalContext): Outcome | Promise<Outcome> {
  for (let i = from; i < ops.length; i++) {
    const op = ops[i]!;
    let result: unknown;
    try {
      result = step(op, ops, i, state, ctx);
      if (isObjectLike(result)) refuseUnreachable(result, op, ctx, i === ops.length - 1);
    } catch (e) {
      throw new OpFailure(e, i, op.op);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (settled) => {
          if (isObjectLike(settled)) {
            try {
              refuseUnreachable(settled, op, ctx, i === ops.length - 1);
            } catch (e) {
              throw new OpFailure(e, i, op.op);
            }
          }
          state.value = settled;
          return run(root, ops, i + 1, state, ctx);
        },
        (e) => {
          throw new OpFailure(e, i, op.op);
        },
      );
    }
    state.value = result;
  }
  return state.value === root ? { kind: 'self' } : { kind: 'value', value: state.value };
}

const NO_PATH: readonly (string | number)[] = [];

/** The names along the chain up to op `upTo`; only built when a host rule looks at it. */
function keyPath(ops: readonly Op[], upTo: number, ctx: EvalContext): readonly (string | number)[] {
  if (!ctx.access.expose && !ctx.access.policy) return NO_PATH;
  const path: (string | number)[] = [];
  for (let i = 0; i <= upTo; i++) {
    const op = ops[i]!;
    if ('key' in op) path.push(op.key);
    else if (op.op === 'passto') path.push(op.name);
  }
  return path;
}

function step(op: Op, ops: readonly Op[], i: number, state: State, ctx: EvalContext): unknown {
  const cur = state.value;
  switch (op.op) {
    case 'get': {
      const key = String(op.key);
      checkAccess({ kind: 'get', target: cur, key, atRoot: cur === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      if (state.strict && cur !== null && cur !== undefined && !(key in Object(cur))) throw missingMemberError(cur, key, 'get', cur === state.root, ctx.access);
      state.holder = cur;
      return (cur as Record<string, unknown>)[key]; // throws the native TypeError on null/undefined
    }
    case 'call': {
      const fn = cur;
      const self = state.holder;
      state.holder = undefined;
      if (ctx.access.policy) {
        const prev = ops[i - 1];
        const name = prev && 'key' in prev ? String(prev.key) : prev?.op === 'passto' ? prev.name : '';
        checkAccess({ kind: 'call', target: self, key: name, atRoot: self === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      }
      if (typeof fn !== 'function') {
        const prev = ops[i - 1];
        const what = prev && 'key' in prev ? `"${prev.key}"` : 'the value';
        let hint = '';
        if (fn === undefined && prev?.op === 'get' && isObjectLike(self) && !(String(prev.key) in self)) {
          // A typo: say so, with the names it may have meant (reachable ones only).
          const near = closeMembers(self, String(prev.key), self === state.root, ctx.access);
          hint = `; there is no member "${prev.key}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}`;
        }
        throw new TypeError(`${what} is not a function (it is ${fn === null ? 'null' : typeof fn})${hint}`);
      }
      return ctx.invoke === undefined ? Reflect.apply(fn, self, op.args) : ctx.invoke(fn, self, op.args);
    }
    case 'set': {
      const key = String(op.key);
      checkAccess({ kind: 'set', target: cur, key, atRoot: cur === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      state.holder = undefined;
      if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) {
        throw new TypeError(`cannot set "${key}" on ${cur === null ? 'null' : typeof cur}`);
      }
      if (!Reflect.set(cur, key, op.value)) throw new TypeError(`cannot set "${key}": the property is read-only`);
      return undefined;
    }
    case 'del': {
      const key = String(op.key);
      checkAccess({ kind: 'del', target: cur, key, atRoot: cur === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      state.holder = undefined;
      if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) {
        throw new TypeError(`cannot delete "${key}" from ${cur === null ? 'null' : typeof cur}`);
      }
      if (state.strict && !(key in cur)) throw missingMemberError(cur, key, 'del', cur === state.root, ctx.access);
      if (!Reflect.deleteProperty(cur, key)) throw new TypeError(`cannot delete "${key}": the property is not configurable`);
      return undefined;
    }
    case 'has':
      state.holder = undefined;
      return contains(cur, op.value);
    case 'len':
      state.holder = undefined;
      return lengthOf(cur);
    case 'passto': {
      checkAccess({ kind: 'passto', target: cur, key: op.name, atRoot: cur === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      const fn = Object.prototype.hasOwnProperty.call(ctx.functions, op.name) ? ctx.functions[op.name] : undefined;
      if (typeof fn !== 'function') {
        throw new ReferenceError(`no function "${op.name}" is registered for passto (registered: ${Object.keys(ctx.functions).join(', ') || 'none'})`);
      }
      state.holder = undefined;
      return ctx.invoke === undefined ? fn(cur, ...op.args) : ctx.invoke(fn, undefined, [cur, ...op.args]);
    }
    case 'describe':
      state.holder = undefined;
      return describe(cur, cur === state.root, ctx);
    case 'super': {
      const key = String(op.key);
      if (cur === null || typeof cur !== 'object') throw new TypeError(`super needs an object, got ${cur === null ? 'null' : typeof cur}`);
      let proto: object | null = Object.getPrototypeOf(cur);
      for (let d = 0; d < op.depth && proto !== null; d++) proto = Object.getPrototypeOf(proto);
      if (proto === null) throw new TypeError(`the value has no class ${op.depth} level(s) above its own`);
      checkAccess({ kind: 'super', target: proto, key, atRoot: cur === state.root, path: keyPath(ops, i, ctx) }, ctx.access);
      if (state.strict && !(key in proto)) throw missingMemberError(proto, key, 'super', cur === state.root, ctx.access);
      state.holder = cur;
      return Reflect.get(proto, key, cur);
    }
    default:
      return unhandled(op);
  }
}

/** Compile-time check that the switch above handles every op of the schema (protocol/messages.ts). */
function unhandled(op: never): never {
  throw new TypeError(`unknown op ${JSON.stringify((op as { op?: unknown }).op)}`);
}

/** This module's TypeScript source, which frames name instead under `--enable-source-maps`. */
const SOURCE_FILE = __filename.replace(/([\\/])dist([\\/])evaluate\.js$/, '$1src$2evaluate.ts');
/** The host's EvalContext.invoke (host/request-context.ts) calls hosted functions: its frame is the host's too (built or source). */
const INVOKE_FILE = joinPath(dirname(__filename), 'host', `request-context${extname(__filename)}`);
const INVOKE_SOURCE = INVOKE_FILE.replace(/([\\/])dist([\\/])host([\\/])request-context\.js$/, '$1src$2host$3request-context.ts');

/**
 * Cut the host's own frames (this module and everything below it: lock, session, socket) from a
 * remote stack, so the client sees the user's frames and not the library's plumbing.
 */
export function trimHostFrames(stack: string): string {
  const lines = stack.split('\n');
  const cut = lines.findIndex((l) => l.includes(__filename) || l.includes(SOURCE_FILE) || l.includes(INVOKE_FILE) || l.includes(INVOKE_SOURCE));
  return cut > 0 ? lines.slice(0, cut).join('\n') : stack;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== 'Object' ? name : 'object';
  }
  return typeof v;
}

/** Members reachable under the access rules: own properties first, then each class up the chain. */
function describe(cur: unknown, atRoot: boolean, ctx: EvalContext): Description {
  const out: Description = { type: typeName(cur), members: [] };
  if (typeof cur === 'string' || Array.isArray(cur)) out.length = cur.length;
  else if (cur instanceof Map || cur instanceof Set) out.length = cur.size;
  if (cur === null || cur === undefined) return out;
  const boxed = Object(cur) as object;
  const className = (Object.getPrototypeOf(boxed) as { constructor?: { name?: string } } | null)?.constructor?.name;
  if (className) out.className = className;
  const seen = new Set<string>();
  for (let o: object | null = boxed, own = true; o !== null && rootPrototypeKind(o) === undefined; o = Object.getPrototypeOf(o), own = false) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (Array.isArray(cur) && own && /^\d+$/.test(name)) continue; // elements: see `length`
      try {
        checkAccess({ kind: 'get', target: cur, key: name, atRoot, path: [name] }, ctx.access);
      } catch {
        continue;
      }
      const d = Object.getOwnPropertyDescriptor(o, name)!;
      if (!d.get && !d.set && refusalOf(d.value, ctx.access) !== undefined) continue; // a Host, a socket...: not reachable, not listed
      if (d.get || d.set) {
        out.members.push({ name, kind: 'getter', own, writable: d.set !== undefined });
      } else {
        const kind = typeof d.value === 'function' ? 'method' : 'property';
        out.members.push({ name, kind, type: kind === 'method' ? 'function' : typeName(d.value), own, writable: d.writable === true });
      }
    }
  }
  return out;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** `in` of Python: includes for arrays and strings, has for Set/Map, own-or-class key for objects. */
function contains(cur: unknown, value: unknown): boolean {
  if (typeof cur === 'string') {
    if (typeof value !== 'string') throw new TypeError(`"in <string>" needs a string, got ${typeof value}`);
    return cur.includes(value);
  }
  if (Array.isArray(cur) || ArrayBuffer.isView(cur)) return (cur as unknown[]).includes(value);
  if (cur instanceof Set || cur instanceof Map) return cur.has(value);
  if (cur !== null && typeof cur === 'object') {
    if (typeof value !== 'string' && typeof value !== 'number') throw new TypeError(`"in <object>" needs a string or number key, got ${typeof value}`);
    return String(value) in cur;
  }
  throw new TypeError(`a ${cur === null ? 'null' : typeof cur} has no contents to search`);
}

/** `len` of Python: length of arrays, strings and typed arrays, size of Map/Set. */
function lengthOf(cur: unknown): number {
  if (typeof cur === 'string' || Array.isArray(cur)) return cur.length;
  if (cur instanceof Map || cur instanceof Set) return cur.size;
  if (ArrayBuffer.isView(cur)) return (cur as unknown as { length?: number }).length ?? cur.byteLength;
  if (cur !== null && typeof cur === 'object' && typeof (cur as { length?: unknown }).length === 'number') {
    return (cur as { length: number }).length;
  }
  throw new TypeError(`a ${cur === null ? 'null' : cur instanceof Object ? (cur.constructor?.name ?? 'object') : typeof cur} has no length`);
}
