/**
 * Except: a LocalExcept whose records can come from other processes.
 *
 * The process that creates an Except *owns* it: it holds the records. Sent to another process
 * (as a fork() argument, or by address with `Except.attach`), it arrives as a *handle*: a
 * LocalExcept of its own (the handle's process can query what it caught itself) that also sends
 * each error it records to the owner over the library's socket transport. The owner serves a
 * tiny object (`record(group, error)`) with `serve()` on a 0600 socket inside a private 0700
 * directory; `catch()` in a handle resolves only once the owner has stored the error, so nothing
 * caught is still on its way when the handle's process moves on (or ends).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../client/connect';
import type { Remote } from '../client/types';
import { type Host, serve } from '../host/host';
import { errorFromWire, errorToWire } from '../protocol/error-wire';
import { LocalExcept, setRecordHook, storeRecord } from './local-except';
import { markLibraryOwned } from '../owned';
import { type ExceptOptions, typeNames, typesFromNames } from './options';

/** The key an Except travels under (`JSON.stringify(exc)`): `{"$remoteobj:Except": {address, ...}}`. */
export const EXCEPT_MARKER = '$remoteobj:Except';

/** What an Except serializes to. */
export interface ExceptWire {
  address: string;
  raises: boolean;
  catchOnce: boolean;
  /** Class names of the `types` filter (classes cannot travel; names are matched on the other side). */
  types: string[];
}

/** The object an owner serves. */
interface Sink {
  record(group: string, error: Record<string, unknown>): void;
}

interface OwnerState {
  kind: 'owner';
  host?: Host<Sink>;
  listening?: Promise<void>;
  address?: string;
  /** A directory we created for the socket (removed on close). */
  dir?: string;
  /** fork() children using it; the socket closes when the last one is done (unless listen() was called). */
  refs: number;
  explicit: boolean;
}

interface HandleState {
  kind: 'handle';
  address: string;
  conn?: Promise<Remote<Sink>>;
  /** Records on their way to the owner. */
  inflight: Set<Promise<void>>;
}

/** Owners of this process by address, so an Except that comes back home is the owner itself. */
const owners = new Map<string, Except>();
/** Handles revived in this process by address: the same Except sent twice is one object here too. */
const revived = new Map<string, WeakRef<Except>>();
/** Handles with records on their way (flushExcepts waits for them). */
const busyHandles = new Set<Except>();
/** Socket directories to remove if the process exits without closing. */
const dirsToRemove = new Set<string>();
let exitHookInstalled = false;

/** An Except's state, for this module's functions (lendExcept...): handed out by a static block, never a property. */
let stateOf: (exc: Except) => OwnerState | HandleState;

export class Except extends LocalExcept {
  #state: OwnerState | HandleState;

  static {
    stateOf = (exc) => exc.#state;
  }

  constructor(options: ExceptOptions = {}) {
    super(options);
    markLibraryOwned(this);
    this.#state = { kind: 'owner', refs: 0, explicit: false };
    setRecordHook(this, (group, error) => this.#onRecorded(group, error));
  }

  /**
   * A handle on the Except served at `address` (see `listen()`), for a process that did not get
   * it as a fork() argument. The options are this handle's own (an owner's filter cannot travel
   * by address alone).
   */
  static attach(address: string, options: ExceptOptions = {}): Except {
    if (typeof address !== 'string' || address === '') throw new TypeError('Except.attach(address): address must be a socket path');
    const exc = new Except(options);
    exc.#state = { kind: 'handle', address, inflight: new Set() };
    return exc;
  }

  /** Where records are sent: the owner's socket path (undefined for an owner that is not listening). */
  get address(): string | undefined {
    return this.#state.address;
  }

  /** True for an Except received from another process (or made by attach()). */
  get isHandle(): boolean {
    return this.#state.kind === 'handle';
  }

  /**
   * Owner: serve the records at `socketPath` (default: a fresh private path) so other processes
   * can `Except.attach()` to it; resolves with the address. Serving lasts until `close()`.
   * fork() does this by itself for an Except passed as an argument, for as long as the child runs.
   */
  async listen(socketPath?: string): Promise<string> {
    const s = this.#state;
    if (s.kind === 'handle') throw new TypeError(`this Except is a handle on ${s.address}; only its owner can listen`);
    if (s.address !== undefined && socketPath !== undefined && path.resolve(socketPath) !== s.address) {
      throw new Error(`this Except already listens on ${s.address}`);
    }
    s.explicit = true;
    const address = startListening(this, s, socketPath);
    await s.listening;
    return address;
  }

  /**
   * Owner: stop serving (records sent later are lost, with a warning in the sender).
   * Handle: wait for records on their way, then hang up. Recorded errors stay readable.
   */
  async close(): Promise<void> {
    const s = this.#state;
    if (s.kind === 'handle') {
      await this.flush();
      const conn = s.conn;
      s.conn = undefined;
      if (conn) await conn.then((r) => r.$close()).catch(() => {});
      return;
    }
    s.explicit = false;
    await stopListening(this, s);
  }

  /** Handle: resolves once every error recorded so far has reached the owner. Owner: at once. */
  async flush(): Promise<void> {
    const s = this.#state;
    if (s.kind !== 'handle') return;
    while (s.inflight.size) await Promise.all([...s.inflight]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The wire form: `{"$remoteobj:Except": {address, raises, catchOnce, types}}`. The owner must be listening. */
  toJSON(): { [EXCEPT_MARKER]: ExceptWire } {
    const address = this.#state.address;
    if (address === undefined) {
      throw new Error('an Except can only be sent once it listens: `await exc.listen()` first (fork() does it for its arguments)');
    }
    return { [EXCEPT_MARKER]: { address, raises: this.raises, catchOnce: this.catchOnce, types: typeNames(this.types) } };
  }

  /** A handle sends each error it records to the owner (the promise settles once it is stored there). */
  #onRecorded(group: string, error: Error): Promise<void> | undefined {
    const s = this.#state;
    if (s.kind !== 'handle') return undefined;
    const wire = errorToWire(error, { pid: process.pid, path: s.address }) as unknown as Record<string, unknown>;
    const p = this.#deliver(s, group, wire);
    s.inflight.add(p);
    busyHandles.add(this);
    void p.finally(() => {
      s.inflight.delete(p);
      if (s.inflight.size === 0) {
        busyHandles.delete(this);
        this.#hangUpWhenIdle(s);
      }
    });
    return p;
  }

  /** Send one record; never rejects (a record that cannot be delivered is reported as a warning). */
  async #deliver(s: HandleState, group: string, wire: Record<string, unknown>): Promise<void> {
    try {
      s.conn ??= connect<Sink>(s.address, { connectTimeout: 5000 });
      const remote = await s.conn;
      await remote.record(group, wire);
    } catch (e) {
      s.conn = undefined;
      process.emitWarning(`Except: an error caught in group ${JSON.stringify(group)} could not reach ${s.address}: ${(e as Error)?.message ?? e}`, {
        code: 'REMOTEOBJ_EXCEPT_UNDELIVERED',
      });
    }
  }

  /** An idle connection must not keep the process alive: hang up once nothing is on its way. */
  #hangUpWhenIdle(s: HandleState): void {
    const conn = s.conn;
    if (!conn) return;
    setImmediate(() => {
      if (s.inflight.size !== 0 || s.conn !== conn) return;
      s.conn = undefined;
      conn.then((r) => r.$close()).catch(() => {});
    });
  }

}

/** The owner side: store an error another process recorded (the served `record` method). */
function receive(exc: Except, group: unknown, wire: unknown): void {
  if (typeof group !== 'string' || group === '') throw new TypeError('record(group, error): group must be a non-empty string');
  storeRecord(exc, group, errorFromWire(wire));
}

function startListening(exc: Except, s: OwnerState, socketPath?: string): string {
  if (s.address !== undefined) return s.address;
  let address: string;
  if (socketPath !== undefined) {
    address = path.resolve(socketPath);
  } else {
    // A private directory: nobody else can even reach the socket file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roexc-'));
    fs.chmodSync(dir, 0o700);
    s.dir = dir;
    dirsToRemove.add(dir);
    installExitHook();
    address = path.join(dir, 'e.sock');
  }
  s.address = address;
  owners.set(address, exc);
  const sink: Sink = { record: (group, error) => receive(exc, group, error) };
  s.listening = serve(sink, address, { expose: ['record'] }).then(
    (host) => {
      s.host = host;
    },
    (e: unknown) => {
      cleanup(exc, s);
      throw e;
    },
  );
  s.listening.catch(() => {});
  return address;
}

async function stopListening(exc: Except, s: OwnerState): Promise<void> {
  const listening = s.listening;
  if (!listening) return;
  await listening.catch(() => {});
  const host = s.host;
  cleanup(exc, s);
  await host?.close();
  if (s.dir) {
    fs.rmSync(s.dir, { recursive: true, force: true });
    dirsToRemove.delete(s.dir);
    s.dir = undefined;
  }
}

function cleanup(exc: Except, s: OwnerState): void {
  if (s.address !== undefined && owners.get(s.address) === exc) owners.delete(s.address);
  s.address = undefined;
  s.listening = undefined;
  s.host = undefined;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of dirsToRemove) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/**
 * @internal For fork(): make sure an Except argument can be reached from the child.
 * Returns its address at once (the child is told only once `ready` resolves) and a release to
 * call when the child is done.
 */
export function lendExcept(exc: Except): { address: string; ready: Promise<void>; release: () => void } {
  const s = stateOf(exc);
  if (s.kind === 'handle') return { address: s.address, ready: Promise.resolve(), release: () => {} };
  const address = startListening(exc, s);
  s.refs++;
  let released = false;
  return {
    address,
    ready: s.listening ?? Promise.resolve(),
    release: () => {
      if (released) return;
      released = true;
      s.refs--;
      if (s.refs === 0 && !s.explicit) void stopListening(exc, s).catch(() => {});
    },
  };
}

/** @internal Wait until every handle of this process has delivered its records (a fork child does before it reports). */
export async function flushExcepts(): Promise<void> {
  while (busyHandles.size) await Promise.all([...busyHandles].map((h) => h.flush()));
}

/** Every Except inside a value (through arrays and plain objects), for fork() to lend. */
export function findExcepts(value: unknown, found = new Set<Except>(), depth = 0): Set<Except> {
  if (depth > 100 || value === null || typeof value !== 'object') return found;
  if (value instanceof Except) found.add(value);
  else if (Array.isArray(value)) for (const v of value) findExcepts(v, found, depth + 1);
  else if (isPlain(value)) for (const v of Object.values(value)) findExcepts(v, found, depth + 1);
  return found;
}

/** @internal An Except's wire form, for fork's value encoding (the owner must be listening). */
export function exceptToWire(exc: Except): ExceptWire {
  return exc.toJSON()[EXCEPT_MARKER];
}

/**
 * @internal The Except a wire form stands for in this process: the owner itself, or a handle on
 * it (one per address: the same Except sent twice is one object here too).
 */
export function exceptFromWire(w: ExceptWire): Except {
  const own = owners.get(w.address);
  if (own) return own;
  const known = revived.get(w.address)?.deref();
  if (known) return known;
  const handle = Except.attach(w.address, { raises: w.raises, catchOnce: w.catchOnce, types: typesFromNames(w.types) });
  revived.set(w.address, new WeakRef(handle));
  return handle;
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

export function isExceptWire(v: unknown): v is ExceptWire {
  const w = v as ExceptWire;
  return (
    w !== null &&
    typeof w === 'object' &&
    typeof w.address === 'string' &&
    typeof w.raises === 'boolean' &&
    typeof w.catchOnce === 'boolean' &&
    Array.isArray(w.types) &&
    w.types.every((t) => typeof t === 'string')
  );
}
