/**
 * The client proxy: records property reads, calls and index reads as an op chain and sends the
 * whole chain as one request.
 *
 * When a request is sent:
 *  - a chain that ends in a read (`remote.a.b[0]`) is sent when it is awaited, once: awaiting the
 *    same proxy twice gives the same answer; `.$get()` always asks again;
 *  - a call (`remote.toggle(true)`) is sent at the end of the current tick even if nobody awaits
 *    it, unless the same expression goes on (`remote.a().b.c()`), in which case the longer chain
 *    takes its place and the call runs once, inside it;
 *  - `remote.x = v`, `delete remote.x` and the `$` controls are sent at the end of the tick.
 * Requests leave in the order they were made.
 *
 * The root proxy is not thenable (so `await connect()` works). Describing a proxy (String(),
 * util.inspect, console.log) and iterating or testing it never sends anything.
 */
import { inspect } from 'node:util';
import { HostUnavailableError } from '../errors';
import type { EvalOp } from '../evaluate';
import type { Connection, Result } from './connection';

/** A request waiting in the outbox, or sent. */
interface Entry {
  /** null: given up by a call that a longer chain replaced before it was sent. */
  ops: EvalOp[] | null;
  sent: boolean;
  observed: boolean;
  promise: Promise<Result>;
  resolve(r: Result): void;
  reject(e: unknown): void;
  /** Where the request was made; V8 formats `.stack` only if it is read (on an error). */
  callSite?: Error;
  timeout?: number;
}

/** Per-connection client state shared by every proxy of that connection. */
class ClientContext {
  root!: unknown;
  private outbox: (Entry | (() => void))[] = [];
  private scheduled = false;

  constructor(
    readonly conn: Connection,
    readonly onUnobservedError: (err: Error) => void,
  ) {}

  newEntry(ops: EvalOp[] | null, timeout?: number): Entry {
    let resolve!: (r: Result) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Result>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry = { ops, sent: false, observed: false, promise, resolve, reject, timeout };
    if (this.conn.options.captureStack) entry.callSite = new Error();
    promise.catch((err: Error) => {
      // Nobody awaited this request (e.g. `remote.x = 1`): report instead of an unhandled rejection.
      setImmediate(() => {
        if (!entry.observed) this.onUnobservedError(err);
      });
    });
    this.push(entry);
    return entry;
  }

  /** Run `fn` after everything queued so far has been sent. */
  after(fn: () => void): void {
    this.push(fn);
  }

  private push(item: Entry | (() => void)): void {
    this.outbox.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.outbox;
    this.outbox = [];
    for (const item of items) {
      if (typeof item === 'function') {
        item();
        continue;
      }
      item.sent = true;
      if (item.ops === null) continue;
      this.conn.request(item.ops, { callSite: item.callSite, timeout: item.timeout }).then(item.resolve, item.reject);
    }
  }
}

interface NodeState {
  ctx: ClientContext;
  ops: EvalOp[];
  /** The chain as text, e.g. `.items[0].name`. */
  desc: string;
  isRoot: boolean;
  isCall: boolean;
  /** > 0: this is `$super` (repeated n times); the next name read is looked up n classes up. */
  superDepth: number;
  /** This proxy's own request, once made: awaiting again reuses it. */
  entry?: Entry;
  /** An unsent call this chain extends: the first request of the chain takes its place. */
  inherit?: Entry;
  awaited: boolean;
}

const STATE = Symbol('remoteobj.state');
const CONTROLS = new Set(['$get', '$set', '$del', '$has', '$len', '$passto', '$super', '$key', '$close', '$path', '$connection', '$describe']);
/** Names answered locally, never sent: the host refuses them anyway, and tools probe them. */
const LOCAL_UNDEFINED = new Set(['constructor', 'prototype', '__proto__', 'toJSON', 'asymmetricMatch', 'nodeType', '$$typeof', '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@']);

export interface GetOptions<D = unknown> {
  /** Returned instead of an error when the host is not listening, has closed, or the connection dropped. */
  default?: D;
  /** Timeout for this request in ms. */
  timeout?: number;
}

function normalizeKey(key: string): string | number {
  if (key.length <= 15 && /^(0|[1-9]\d*)$/.test(key)) return Number(key);
  return key;
}

function describeKey(key: string | number): string {
  return typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeArgs(args: unknown[]): string {
  const text = args.map((a) => inspect(a, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 })).join(', ');
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

function label(s: NodeState): string {
  return `Remote<${s.ctx.conn.path}>${s.desc}${s.superDepth ? '.$super'.repeat(s.superDepth) : ''}`;
}

function makeNode(state: NodeState): any {
  // An arrow function as target: callable, and without a non-configurable `prototype`.
  const target = (() => undefined) as unknown as Record<PropertyKey, unknown>;
  Object.defineProperty(target, STATE, { value: state });
  // util.inspect reads this from the proxy's target without going through the traps.
  Object.defineProperty(target, inspect.custom, { value: () => label(state) });
  return new Proxy(target, handler);
}

function stateOf(target: object): NodeState {
  return (target as Record<PropertyKey, unknown>)[STATE] as NodeState;
}

/**
 * Take the request slot of an unsent call that `s` is, or extends, so that a longer chain
 * made in the same tick replaces it (the call then runs once, inside the longer chain).
 */
function takeSlot(s: NodeState): Entry | undefined {
  let slot: Entry | undefined;
  if (s.entry && !s.entry.sent && s.isCall && !s.awaited) {
    slot = s.entry;
    s.entry = undefined;
  } else if (s.inherit && !s.inherit.sent) {
    slot = s.inherit;
  }
  s.inherit = undefined;
  if (slot) slot.ops = null;
  return slot;
}

/** Fill a taken slot with `ops`, or queue a new request. */
function slotOrNew(ctx: ClientContext, slot: Entry | undefined, ops: EvalOp[], timeout?: number): Entry {
  if (!slot) return ctx.newEntry(ops, timeout);
  slot.ops = ops;
  slot.timeout = timeout;
  return slot;
}

/** A new proxy one op further. */
function extend(parent: NodeState, op: EvalOp, desc: string, isCall: boolean): NodeState {
  const inherit = takeSlot(parent);
  return { ctx: parent.ctx, ops: [...parent.ops, op], desc: parent.desc + desc, isRoot: false, isCall, superDepth: 0, inherit, awaited: false };
}

/** Make (or reuse) the request of this proxy's chain. */
function requestOf(s: NodeState): Entry {
  if (s.entry) return s.entry;
  s.entry = slotOrNew(s.ctx, takeSlot(s), s.ops);
  return s.entry;
}

function resultValue(ctx: ClientContext, r: Result): unknown {
  return r.kind === 'self' ? ctx.root : r.value;
}

/** A request made by a `$` control: always fresh, always observed by the returned promise. */
function control(s: NodeState, op: EvalOp | null, opts: GetOptions = {}): Promise<unknown> {
  const entry = slotOrNew(s.ctx, takeSlot(s), op ? [...s.ops, op] : s.ops, opts.timeout);
  entry.observed = true;
  const p = entry.promise.then((r) => resultValue(s.ctx, r));
  if (!('default' in opts)) return p;
  return p.catch((e: unknown) => {
    if (e instanceof HostUnavailableError) return opts.default;
    throw e;
  });
}

function notInSuperMode(s: NodeState, what: string): void {
  if (s.superDepth) throw new TypeError(`${label(s)}: name a member after $super before using ${what} (e.g. remote.$super.describe())`);
}

function controlMember(s: NodeState, name: string): unknown {
  switch (name) {
    case '$get':
      return (opts?: GetOptions) => (notInSuperMode(s, '$get'), control(s, null, opts));
    case '$set':
      return (key: string | number, value: unknown) => control(s, { op: 'set', key: normalizeKey(String(key)), value }).then(() => undefined);
    case '$del':
      return (key: string | number) => control(s, { op: 'del', key: normalizeKey(String(key)) }).then(() => undefined);
    case '$has':
      return (value: unknown) => control(s, { op: 'has', value });
    case '$len':
      return () => control(s, { op: 'len' });
    case '$describe':
      return () => control(s, { op: 'describe' });
    case '$passto':
      return (fname: string, ...args: unknown[]) => control(s, { op: 'passto', name: fname, args });
    case '$super':
      return makeNode({ ...s, entry: undefined, inherit: takeSlot(s), awaited: false, isCall: false, superDepth: s.superDepth + 1 });
    case '$key':
      return (key: string | number) => getMember(s, typeof key === 'number' ? key : normalizeKey(key));
    case '$close':
      return () => closeConnection(s.ctx);
    case '$path':
      return label(s);
    case '$connection':
      return s.ctx.conn;
  }
  return undefined;
}

function closeConnection(ctx: ClientContext): Promise<void> {
  return new Promise((resolve, reject) => ctx.after(() => ctx.conn.close().then(resolve, reject)));
}

function getMember(s: NodeState, key: string | number): unknown {
  if (s.superDepth) {
    return makeNode(extend(s, { op: 'super', key, depth: s.superDepth }, '.$super'.repeat(s.superDepth) + describeKey(key), false));
  }
  return makeNode(extend(s, { op: 'get', key }, describeKey(key), false));
}

function thenOf(s: NodeState) {
  return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
    notInSuperMode(s, 'await');
    const entry = requestOf(s);
    s.awaited = true;
    entry.observed = true;
    return entry.promise.then((r) => resultValue(s.ctx, r)).then(onFulfilled, onRejected);
  };
}

const handler: ProxyHandler<Record<PropertyKey, unknown>> = {
  get(target, prop) {
    const s = stateOf(target);
    if (typeof prop === 'symbol') {
      if (prop === Symbol.toPrimitive) return () => label(s);
      if (prop === Symbol.toStringTag) return 'Remote';
      if (prop === inspect.custom) return () => label(s);
      return undefined; // Symbol.iterator, Symbol.asyncIterator...: a remote value is not iterable
    }
    if (prop === 'then') return s.isRoot || s.superDepth ? undefined : thenOf(s);
    if (!s.isRoot && !s.superDepth && (prop === 'catch' || prop === 'finally')) {
      const then = thenOf(s);
      return prop === 'catch'
        ? (onRejected?: (e: unknown) => unknown) => then(undefined, onRejected)
        : (onFinally?: () => void) => then(
            (v) => (onFinally?.(), v),
            (e) => {
              onFinally?.();
              throw e;
            },
          );
    }
    if (prop === 'toString' || prop === 'valueOf') return () => label(s);
    if (LOCAL_UNDEFINED.has(prop)) return undefined;
    if (prop.charCodeAt(0) === 36 /* $ */) return CONTROLS.has(prop) ? controlMember(s, prop) : undefined;
    return getMember(s, normalizeKey(prop));
  },
  apply(target, _thisArg, args: unknown[]) {
    const s = stateOf(target);
    notInSuperMode(s, 'a call');
    if (s.isRoot) throw new TypeError(`${label(s)} is the hosted object itself, not a function`);
    const node = extend(s, { op: 'call', args }, `(${describeArgs(args)})`, true);
    node.entry = slotOrNew(s.ctx, takeSlot(node), node.ops);
    return makeNode(node);
  },
  set(target, prop, value) {
    if (typeof prop === 'symbol') return false;
    const s = stateOf(target);
    notInSuperMode(s, 'assignment');
    slotOrNew(s.ctx, takeSlot(s), [...s.ops, { op: 'set', key: normalizeKey(prop), value }]);
    return true;
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'symbol') return false;
    const s = stateOf(target);
    notInSuperMode(s, 'delete');
    slotOrNew(s.ctx, takeSlot(s), [...s.ops, { op: 'del', key: normalizeKey(prop) }]);
    return true;
  },
  has() {
    return false; // `'x' in remote` cannot wait for the host; use `await remote.$has('x')`
  },
  construct(target) {
    throw new TypeError(`${label(stateOf(target))}: \`new\` is not supported on a remote value`);
  },
  defineProperty() {
    return false;
  },
};

export function defaultUnobservedErrorHandler(err: Error): void {
  process.emitWarning(`a remote request nobody awaited failed: ${err.name}: ${err.message}`, 'RemoteObjWarning');
}

/** Build the root proxy of a connection. */
export function createRootProxy(conn: Connection): unknown {
  const ctx = new ClientContext(conn, conn.options.onUnobservedError ?? defaultUnobservedErrorHandler);
  const root = makeNode({ ctx, ops: [], desc: '', isRoot: true, isCall: false, superDepth: 0, awaited: false });
  ctx.root = root;
  return root;
}
