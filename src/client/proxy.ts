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
 * Requests leave in the order they were made, all those of one tick in one write.
 *
 * The root proxy is not thenable (so `await connect()` works), and is AsyncDisposable
 * (`Symbol.asyncDispose` is `$close()`, for `await using`). Describing a proxy (String(),
 * util.inspect, console.log) and iterating or testing it never sends anything.
 *
 * This is on every request's path, so it allocates little: one state object (also the Proxy's
 * handler), its op and a Proxy per chain step (all share one target), one Entry per request, and
 * promises only when someone awaits.
 */
import { inspect } from 'node:util';
import { ConnectionClosedError, HostUnavailableError, ReleasedError } from '../errors';
import type { Op } from '../protocol/wire-types';
import type { Peer } from '../peer/peer';
import { registerStandIn } from '../peer/release';
import { currentTurn } from './callbacks';
import { type Connection, NEEDS_CALLER, type ReplySink } from './connection';
import { markLibraryOwned } from '../owned';

/**
 * Protocol v2: a handle the host handed out with ref(). Its proxy's chains go with `"to": id` to
 * the peer of the connection it came on (never to a reconnected one: ids are per connection).
 */
class HandleRef {
  proxy: unknown;
  constructor(
    readonly id: number,
    readonly peer: Peer,
  ) {}

  /** Why a request on the handle cannot be sent, if it cannot. */
  unusable(): Error | undefined {
    if (this.peer.closed) return new ConnectionClosedError(`the connection this handle came on is closed: a handle lives as long as its connection`);
    if (!this.peer.imports.holds(this.proxy as object)) return new ReleasedError(`this handle was released ($release() or await using): it cannot be used any more`);
    return undefined;
  }
}

/** A request: waiting in the outbox, sent, or settled. Settles exactly once. */
class Entry implements ReplySink {
  /** null: given up by a call that a longer chain replaced before it was sent. */
  ops: Op[] | null;
  sent = false;
  observed = false;
  private state: 0 | 1 | 2 = 0; // pending, fulfilled, rejected
  private result: unknown;
  private promise?: Promise<unknown>;
  private resolveFn?: (v: unknown) => void;
  private rejectFn?: (e: unknown) => void;

  constructor(
    private readonly ctx: ClientContext,
    ops: Op[] | null,
    /** Where the chain was made; V8 formats its `.stack` only if an error needs it. */
    readonly callSite: Error | undefined,
    public timeout?: number,
    /** v2: the handle the chain starts at (undefined: the root). */
    public handle?: HandleRef,
    /** `$get({ signal })`: aborting it gives the request up (an AbortError at once; the host is told). */
    public signal?: AbortSignal,
  ) {
    this.ops = ops;
    // v2: made inside a callback of the host? Then it belongs to that callback's lock turn (the
    // outbox may be flushed from another context, so the turn is taken now).
    this.turn = ctx.v2 ? (currentTurn(handle ? handle.peer : ctx.conn.peer) ?? 0) : undefined;
  }

  /** v2: the lock turn the request belongs to (docs/architecture.md, the lock rule for callbacks); 0: none. */
  readonly turn: number | undefined;

  value(v: unknown): void {
    this.settle(1, v);
  }

  self(): void {
    this.settle(1, this.ctx.root);
  }

  fail(e: Error): void {
    this.settle(2, e);
    if (!this.observed) {
      // Nobody awaited this request (e.g. `remote.x = 1`): report it instead of an unhandled rejection.
      setImmediate(() => {
        if (!this.observed) this.ctx.onUnobservedError(e);
      });
    }
  }

  private settle(state: 1 | 2, result: unknown): void {
    if (this.state !== 0) return;
    this.state = state;
    this.result = result;
    if (state === 1) this.resolveFn?.(result);
    else this.rejectFn?.(result);
    this.resolveFn = this.rejectFn = undefined;
  }

  /** The outcome as a promise (made on first use: most un-awaited requests never need one). */
  get outcome(): Promise<unknown> {
    this.observed = true;
    if (!this.promise) {
      let raw: Promise<unknown>;
      if (this.state === 1) raw = Promise.resolve(this.result);
      else if (this.state === 2) raw = Promise.reject(this.result);
      else {
        raw = new Promise((resolve, reject) => {
          this.resolveFn = resolve;
          this.rejectFn = reject;
        });
      }
      // One link between the outcome and whoever awaits it: an error rethrown in there gets
      // V8's async stack trace, i.e. the frames of the functions awaiting the remote call, for
      // free (no stack capture per request, nothing extra on success).
      this.promise = raw.then(undefined, rethrowToCaller);
    }
    return this.promise;
  }
}

function rethrowToCaller(e: unknown): never {
  throw withCallerFrames(e);
}

/** Append the awaiting code's frames under a remote error's `--- remote` marker, once. */
function withCallerFrames(e: unknown): unknown {
  if (!(e instanceof Error) || !(e as { [NEEDS_CALLER]?: boolean })[NEEDS_CALLER]) return e;
  delete (e as { [NEEDS_CALLER]?: boolean })[NEEDS_CALLER];
  // Drop "Error", this function, rethrowToCaller and the microtask runner: keep the awaiting code's frames.
  const frames = new Error().stack?.split('\n').slice(3).filter((l) => !l.includes('(node:internal/'));
  if (frames?.length && e.stack) e.stack += '\n' + frames.join('\n');
  return e;
}

/** Per-connection client state shared by every proxy of that connection. */
class ClientContext {
  root!: unknown;
  /** Whether the connection spoke protocol v2 when this context was made (cheap to ask per request). */
  get v2(): boolean {
    return this.conn.v2;
  }
  private outbox: (Entry | (() => void))[] = [];
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly conn: Connection,
    readonly onUnobservedError: (err: Error) => void,
    /** Caller frames kept per chain (0: none). */
    readonly stackFrames: number,
  ) {
    markLibraryOwned(this);
  }

  newEntry(ops: Op[] | null, site: Error | undefined, timeout?: number, handle?: HandleRef): Entry {
    const entry = new Entry(this, ops, site, timeout, handle);
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
      queueMicrotask(this.flushBound);
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
      const handle = item.handle;
      if (handle === undefined) this.conn.send(item.ops, item, item.timeout, item.callSite, undefined, undefined, item.turn, item.signal);
      else {
        const why = handle.unusable();
        if (why) item.fail(why);
        else handle.peer.request(item.ops, item, item.timeout ?? this.conn.options.timeout, item.callSite, this.conn.options.strict, handle.id, item.turn, item.signal);
      }
    }
  }
}

/**
 * One step of a chain: what it reads or calls, and its request once made. It is also the Proxy
 * handler of its node (the traps are on the prototype, see TRAPS), and every node shares one
 * target: a chain step costs this object, its op and the Proxy, nothing else.
 */
class NodeState {
  /** This proxy's own request, once made: awaiting again reuses it. */
  entry: Entry | undefined = undefined;
  awaited = false;

  constructor(
    readonly ctx: ClientContext,
    /** The state this one extends, and this step's op: the chain's ops are read back from them when a request is made. */
    readonly parent: NodeState | undefined,
    readonly step: Op | undefined,
    readonly isRoot: boolean,
    readonly isCall: boolean,
    /** > 0: this is `$super` (repeated n times); the next name read is looked up n classes up. */
    readonly superDepth: number,
    /** Where the chain was started (the first read from the root), for remote errors' stacks. */
    readonly site: Error | undefined,
    /** An unsent call this chain extends: the first request of the chain takes its place. */
    public inherit: Entry | undefined,
    /** v2: the handle the chain starts at (its root node is the handle's proxy). */
    readonly handle?: HandleRef,
  ) {}

  /** The same state with another call site (a chain started at the root). */
  withSite(site: Error | undefined): NodeState {
    const copy = new NodeState(this.ctx, this.parent, this.step, this.isRoot, this.isCall, this.superDepth, site, this.inherit, this.handle);
    copy.entry = this.entry;
    copy.awaited = this.awaited;
    return copy;
  }
}

const STATE = Symbol('remoteobj.state');
const CONTROLS = new Set(['$get', '$set', '$del', '$has', '$len', '$passto', '$super', '$key', '$close', '$path', '$connection', '$describe', '$release']);
/** Names answered locally, never sent: the host refuses them anyway, and tools probe them. */
const LOCAL_UNDEFINED = new Set(['constructor', 'prototype', '__proto__', 'toJSON', 'asymmetricMatch', 'nodeType', '$$typeof', '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@']);

export interface GetOptions<D = unknown> {
  /** Returned instead of an error when the host is not listening, has closed, or the connection dropped. */
  default?: D;
  /** Timeout for this request in ms. */
  timeout?: number;
  /**
   * Give the request up when this signal aborts: it rejects at once with an AbortError, and the
   * host drops it if it has not started, or aborts its currentSignal() if it runs.
   */
  signal?: AbortSignal;
}

function normalizeKey(key: string): string | number {
  const c = key.charCodeAt(0);
  if (c >= 48 && c <= 57 && key.length <= 15 && /^(0|[1-9]\d*)$/.test(key)) return Number(key);
  return key;
}

function describeKey(key: string | number): string {
  return typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeArgs(args: unknown[]): string {
  const text = args.map((a) => inspect(a, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 })).join(', ');
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

function describeStep(op: Op): string {
  switch (op.op) {
    case 'get':
      return describeKey(op.key);
    case 'call':
      return `(${describeArgs(op.args)})`;
    case 'super':
      return '.$super'.repeat(op.depth) + describeKey(op.key);
    default:
      return `.${op.op}`;
  }
}

/** The chain as text, e.g. `Remote</tmp/c.sock>.items[0].name`: built only when something prints it. */
function label(s: NodeState): string {
  let text = s.superDepth ? '.$super'.repeat(s.superDepth) : '';
  for (let n: NodeState | undefined = s; n?.step; n = n.parent) text = describeStep(n.step) + text;
  return `Remote<${s.ctx.conn.path}>${text}`;
}

/** util.inspect reads this from the proxy's target (not through the traps), with the proxy as `this`. */
function inspectNode(this: unknown): string {
  return label((this as Record<PropertyKey, NodeState>)[STATE]!);
}

/**
 * The target of every node's Proxy: an arrow function, so calls reach the `apply` trap, without a
 * non-configurable `prototype`. util.inspect reads inspect.custom from the target itself, not
 * through the traps. Shared, so the traps refuse whatever would change it (preventExtensions,
 * setPrototypeOf, defineProperty).
 */
const TARGET = markLibraryOwned(Object.assign(() => undefined, { [inspect.custom]: inspectNode }), 'remote proxy'); // marks every proxy: a host refuses them (owned.ts)

function makeNode(state: NodeState): any {
  return new Proxy(TARGET, state as ProxyHandler<typeof TARGET>);
}

/**
 * The stack of the code starting a chain, without the proxy's own frames. Captured once per
 * chain (V8 formats it lazily, only if a remote error needs it), `frames` deep.
 */
function captureSite(frames: number, below: Function): Error | undefined {
  if (frames <= 0) return undefined;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = frames;
  const site = new Error();
  Error.captureStackTrace(site, below);
  Error.stackTraceLimit = limit;
  return site;
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
function slotOrNew(s: NodeState, slot: Entry | undefined, ops: Op[], timeout?: number, site = s.site): Entry {
  if (!slot) return s.ctx.newEntry(ops, site, timeout, s.handle);
  slot.ops = ops;
  slot.timeout = timeout;
  return slot;
}

/** A new proxy state one op further. */
function extend(parent: NodeState, op: Op, isCall: boolean, site: Error | undefined): NodeState {
  return new NodeState(parent.ctx, parent, op, false, isCall, 0, site, takeSlot(parent), parent.handle);
}

/** The chain's ops, root first (and `last` after them): built only when a request is made. */
function opsOf(s: NodeState, last?: Op): Op[] {
  let n = 0;
  for (let t = s; t.step; t = t.parent!) n++;
  const ops: Op[] = new Array(last ? n + 1 : n);
  if (last) ops[n] = last;
  for (let t = s; t.step; t = t.parent!) ops[--n] = t.step;
  return ops;
}

/** Make (or reuse) the request of this proxy's chain. */
function requestOf(s: NodeState): Entry {
  s.entry ??= slotOrNew(s, takeSlot(s), opsOf(s));
  return s.entry;
}

/** A request made by a `$` control: always fresh, always observed by the returned promise. */
function control(s: NodeState, op: Op | null, opts: GetOptions = {}): Promise<unknown> {
  const entry = slotOrNew(s, takeSlot(s), opsOf(s, op ?? undefined), opts.timeout);
  if (opts.signal !== undefined) entry.signal = opts.signal;
  const p = entry.outcome;
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
      return makeNode(new NodeState(s.ctx, s.parent, s.step, s.isRoot, false, s.superDepth + 1, s.site, takeSlot(s), s.handle));
    case '$release':
      return s.handle && s.isRoot ? () => releaseHandle(s.ctx, s.handle!) : undefined;
    case '$key':
      return (key: string | number) => getMember(s, typeof key === 'number' ? key : normalizeKey(key), s.site);
    case '$close':
      return () => closeConnection(s.ctx);
    case '$path':
      return label(s);
    case '$connection':
      return s.ctx.conn;
  }
  return undefined;
}

/** Release a handle once the requests made so far have been sent; using it afterwards rejects with ReleasedError. */
function releaseHandle(ctx: ClientContext, handle: HandleRef): Promise<void> {
  return new Promise((resolve) =>
    ctx.after(() => {
      handle.peer.release(handle.proxy as object);
      resolve();
    }),
  );
}

function closeConnection(ctx: ClientContext): Promise<void> {
  return new Promise((resolve, reject) => ctx.after(() => ctx.conn.close().then(resolve, reject)));
}

function getMember(s: NodeState, key: string | number, site: Error | undefined): unknown {
  if (s.superDepth) return makeNode(extend(s, { op: 'super', key, depth: s.superDepth }, false, site));
  return makeNode(extend(s, { op: 'get', key }, false, site));
}

function thenOf(s: NodeState) {
  return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
    notInSuperMode(s, 'await');
    const entry = requestOf(s);
    s.awaited = true;
    return entry.outcome.then(onFulfilled, onRejected);
  };
}

/** The traps of every node, with the node's state as `this` (the state object is the handler). */
const TRAPS: ProxyHandler<typeof TARGET> & ThisType<NodeState> = {
  get(_target, prop) {
    const s = this;
    if (typeof prop === 'symbol') {
      if (prop === STATE) return s;
      if (prop === Symbol.toPrimitive) return () => label(s);
      if (prop === Symbol.toStringTag) return 'Remote';
      if (prop === inspect.custom) return inspectNode;
      // `await using remote = await connect(...)`: only the root is the connection's handle.
      // `await using h = await remote.open()`: a handle's proxy releases the handle.
      if (prop === Symbol.asyncDispose && s.isRoot && !s.superDepth) return s.handle ? () => releaseHandle(s.ctx, s.handle!) : () => closeConnection(s.ctx);
      return undefined; // Symbol.iterator, Symbol.asyncIterator...: a remote value is not iterable
    }
    if (prop === 'then') return s.isRoot || s.superDepth ? undefined : thenOf(s);
    if (!s.isRoot && !s.superDepth && (prop === 'catch' || prop === 'finally')) {
      const then = thenOf(s);
      return prop === 'catch'
        ? (onRejected?: (e: unknown) => unknown) => then(undefined, onRejected)
        : (onFinally?: () => void) =>
            then(
              (v) => (onFinally?.(), v),
              (e) => {
                onFinally?.();
                throw e;
              },
            );
    }
    if (prop === 'toString' || prop === 'valueOf') return () => label(s);
    if (LOCAL_UNDEFINED.has(prop)) return undefined;
    // A chain starts at the root: remember where, once, for the stacks of remote errors.
    const site = s.isRoot ? captureSite(s.ctx.stackFrames, TRAPS.get!) : s.site;
    if (prop.charCodeAt(0) === 36 /* $ */) return CONTROLS.has(prop) ? controlMember(s.isRoot ? s.withSite(site) : s, prop) : undefined;
    return getMember(s, normalizeKey(prop), site);
  },
  apply(_target, _thisArg, args: unknown[]) {
    const s = this;
    notInSuperMode(s, 'a call');
    if (s.isRoot) throw new TypeError(`${label(s)} is ${s.handle ? 'a handle' : 'the hosted object itself'}, not a function`);
    const node = extend(s, { op: 'call', args }, true, s.site);
    node.entry = slotOrNew(node, takeSlot(node), opsOf(node));
    return makeNode(node);
  },
  set(_target, prop, value) {
    if (typeof prop === 'symbol') return false;
    const s = this;
    notInSuperMode(s, 'assignment');
    const site = s.isRoot ? captureSite(s.ctx.stackFrames, TRAPS.set!) : s.site;
    slotOrNew(s, takeSlot(s), opsOf(s, { op: 'set', key: normalizeKey(prop), value }), undefined, site);
    return true;
  },
  deleteProperty(_target, prop) {
    if (typeof prop === 'symbol') return false;
    const s = this;
    notInSuperMode(s, 'delete');
    const site = s.isRoot ? captureSite(s.ctx.stackFrames, TRAPS.deleteProperty!) : s.site;
    slotOrNew(s, takeSlot(s), opsOf(s, { op: 'del', key: normalizeKey(prop) }), undefined, site);
    return true;
  },
  has() {
    return false; // `'x' in remote` cannot wait for the host; use `await remote.$has('x')`
  },
  defineProperty() {
    return false;
  },
  preventExtensions() {
    return false; // the target is shared by every node: it must stay as it is
  },
  setPrototypeOf() {
    return false;
  },
};
Object.assign(NodeState.prototype, TRAPS);

export function defaultUnobservedErrorHandler(err: Error): void {
  process.emitWarning(`a remote request nobody awaited failed: ${err.name}: ${err.message}`, 'RemoteObjWarning');
}

/** Build the root proxy of a connection. */
export function createRootProxy(conn: Connection): unknown {
  const { captureStack } = conn.options;
  const frames = typeof captureStack === 'number' ? Math.max(0, captureStack) : 0;
  const ctx = new ClientContext(conn, conn.options.onUnobservedError ?? defaultUnobservedErrorHandler, frames);
  const root = makeNode(new NodeState(ctx, undefined, undefined, true, false, 0, undefined, undefined));
  ctx.root = root;
  // v2: a `$handle` from the host arrives as a proxy like the root's (not thenable), whose chains carry "to".
  conn.handleMaker = (id, peer) => {
    const handle = new HandleRef(id, peer);
    handle.proxy = makeNode(new NodeState(ctx, undefined, undefined, true, false, 0, undefined, undefined, handle));
    registerStandIn(handle.proxy as object, () => releaseHandle(ctx, handle));
    return handle.proxy as object;
  };
  return root;
}
