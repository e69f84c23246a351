/**
 * Except: a LocalExcept whose records can come from other processes.
 *
 * The process that creates an Except *owns* it: it holds the records. Elsewhere it is a
 * *handle*: a LocalExcept of its own (the handle's process can query what it caught itself) that
 * also sends each error it records to the owner; `catch()` in a handle resolves only once the
 * owner has stored the error, so nothing caught is still on its way when the handle's process
 * moves on (or ends). A handle reaches its owner in one of two ways:
 *  - by reference, over a protocol-2 connection (an argument or a result of a host's method, a
 *    fork() argument: fork runs such a connection over the child's IPC channel). It travels as
 *    `{"$except": {"id": N, "raises", "catchOnce", "types"}}` (peer/typed-refs.ts), and records go
 *    back as requests at export N on that same connection, answered at once by the owner;
 *  - by address, for an unrelated process: the owner `listen()`s, serving a tiny object
 *    (`record(group, error)`) with `serve()` on a 0600 socket inside a private 0700 directory,
 *    and the other process makes a handle with `Except.attach(address)`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../client/connect';
import type { Remote } from '../client/types';
import { type Host, serve } from '../host/host';
import { ProtocolError } from '../errors';
import { release as releaseStandIn } from '../peer/release';
import { type FarRef, registerTypedRef } from '../peer/typed-refs';
import { errorFromWire, errorToWire } from '../protocol/error-wire';
import type { Op } from '../protocol/wire-types';
import { type ArrivesAsItself, markTypedRef, ref } from '../ref';
import { LocalExcept, setRecordHook, storeRecord } from './local-except';
import { markLibraryOwned } from '../owned';
import { type ExceptOptions, typeNames, typesFromNames } from './options';

/** The object an owner serves at its address (listen()). */
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
}

interface HandleState {
  kind: 'handle';
  /** attach(): the owner's socket path. */
  address?: string;
  /** By reference: the owner's export on the connection the handle came on. */
  far?: FarRef;
  conn?: Promise<Remote<Sink>>;
  /** Records on their way to the owner. */
  inflight: Set<Promise<void>>;
}

/** Handles with records on their way (flushExcepts waits for them). */
const busyHandles = new Set<Except>();
/** Socket directories to remove if the process exits without closing. */
const dirsToRemove = new Set<string>();
let exitHookInstalled = false;

/** An Except's state, for this module's functions: handed out by a static block, never a property. */
let stateOf: (exc: Except) => OwnerState | HandleState;
let setStateOf: (exc: Except, s: HandleState) => void;
/** Send a record made in a handle on to its owner (a handle that was passed on answers for its owner). */
let forward: (exc: Except, group: string, error: Error) => Promise<void> | undefined;

/** On the far side of a connection an Except is an Except (a handle): Remote<T> keeps its type. */
export interface Except extends ArrivesAsItself {}
export class Except extends LocalExcept {
  #state: OwnerState | HandleState;

  static {
    stateOf = (exc) => exc.#state;
    setStateOf = (exc, s) => void (exc.#state = s);
    forward = (exc, group, error) => exc.#onRecorded(group, error);
  }

  constructor(options: ExceptOptions = {}) {
    super(options);
    markLibraryOwned(this);
    markTypedRef(this, 'except'); // travels by reference on protocol 2 (the codec asks ref.ts)
    this.#state = { kind: 'owner' };
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

  /** The socket path: an owner's while it listens, an attach() handle's owner's; undefined otherwise (a handle received by reference sends over its connection). */
  get address(): string | undefined {
    return this.#state.address;
  }

  /** True for an Except received from another process (by reference or by attach()). */
  get isHandle(): boolean {
    return this.#state.kind === 'handle';
  }

  /**
   * Owner: serve the records at `socketPath` (default: a fresh private path) so other processes
   * can `Except.attach()` to it; resolves with the address. Serving lasts until `close()`.
   * (Not needed for fork() or a protocol-2 connection: there an Except travels by reference.)
   */
  async listen(socketPath?: string): Promise<string> {
    const s = this.#state;
    if (s.kind === 'handle') throw new TypeError(`this Except is a handle on ${s.address}; only its owner can listen`);
    if (s.address !== undefined && socketPath !== undefined && path.resolve(socketPath) !== s.address) {
      throw new Error(`this Except already listens on ${s.address}`);
    }
    const address = startListening(this, s, socketPath);
    await s.listening;
    return address;
  }

  /**
   * Owner: stop serving its address (records sent later are lost, with a warning in the sender).
   * Handle: wait for records on their way, then hang up (a handle received by reference is
   * released: the owner's connection forgets it). Recorded errors stay readable.
   */
  async close(): Promise<void> {
    const s = this.#state;
    if (s.kind === 'handle') {
      await this.flush();
      if (s.far !== undefined) await releaseStandIn(this).catch(() => {});
      const conn = s.conn;
      s.conn = undefined;
      if (conn) await conn.then((r) => r.$close()).catch(() => {});
      return;
    }
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

  /**
   * An Except is not data: `JSON.stringify` (or any copy) would lose what it is. It travels by
   * reference on protocol 2 (and as a fork() argument); another process attaches by address.
   */
  toJSON(): never {
    throw new TypeError('an Except cannot be copied as JSON: it travels by reference (a fork() argument, a protocol-2 connection), or another process attaches to `await exc.listen()` with Except.attach(address)');
  }

  /** A handle sends each error it records to the owner (the promise settles once it is stored there). */
  #onRecorded(group: string, error: Error): Promise<void> | undefined {
    const s = this.#state;
    if (s.kind !== 'handle') return undefined;
    const origin = s.far !== undefined ? s.far.origin : { pid: process.pid, path: s.address! };
    const wire: Record<string, unknown> = errorToWire(error, origin);
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
      if (s.far !== undefined) {
        await s.far.request(recordOps(group, wire));
        return;
      }
      s.conn ??= connect<Sink>(s.address!, { connectTimeout: 5000 });
      const remote = await s.conn;
      await remote.record(group, wire);
    } catch (e) {
      s.conn = undefined;
      const where = s.far !== undefined ? s.far.address : s.address;
      process.emitWarning(`Except: an error caught in group ${JSON.stringify(group)} could not reach ${where}: ${(e as Error)?.message ?? e}`, {
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

/**
 * Store an error another process recorded (the served `record` method, a record request by
 * reference). A handle that was passed on stores it and sends it on to its own owner: the
 * promise settles once that owner has it.
 */
function receive(exc: Except, group: unknown, wire: unknown): Promise<void> | undefined {
  if (typeof group !== 'string' || group === '') throw new TypeError('record(group, error): group must be a non-empty string');
  const error = errorFromWire(wire);
  storeRecord(exc, group, error);
  return forward(exc, group, error);
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
  const sink: Sink = { record: (group, error) => receive(exc, group, error) };
  s.listening = serve(sink, address, { expose: ['record'] }).then(
    (host) => {
      s.host = host;
    },
    (e: unknown) => {
      cleanup(s);
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
  cleanup(s);
  await host?.close();
  if (s.dir) {
    fs.rmSync(s.dir, { recursive: true, force: true });
    dirsToRemove.delete(s.dir);
    s.dir = undefined;
  }
}

function cleanup(s: OwnerState): void {
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

/** @internal Wait until every handle of this process has delivered its records (a fork child does before it reports). */
export async function flushExcepts(): Promise<void> {
  while (busyHandles.size) await Promise.all([...busyHandles].map((h) => h.flush()));
}

/** The ops of a record request: `record(group, error)` at the owner's export. */
function recordOps(group: string, wire: Record<string, unknown>): Op[] {
  return [
    { op: 'get', key: 'record' },
    { op: 'call', args: [group, wire] },
  ];
}

// How an Except travels by reference on a protocol-2 connection (peer/typed-refs.ts).
registerTypedRef('except', {
  describe: (exc) => {
    const e = exc as Except;
    return { raises: e.raises, catchOnce: e.catchOnce, types: typeNames(e.types) };
  },
  revive: (info, far) => {
    const { raises, catchOnce, types } = info;
    if (typeof raises !== 'boolean' || typeof catchOnce !== 'boolean' || !Array.isArray(types) || !types.every((t) => typeof t === 'string')) {
      throw new ProtocolError('BAD_VALUE', '$except needs {id, raises, catchOnce, types} (types: class names)');
    }
    const handle = new Except({ raises, catchOnce, types: typesFromNames(types as string[]) });
    setStateOf(handle, { kind: 'handle', far, inflight: new Set() });
    // A handle may go on by reference like a ref() object (back to its owner, or further): it was handed out on purpose.
    return ref(handle);
  },
  answer: (exc, ops) => {
    const [get, call] = ops;
    if (ops.length !== 2 || get?.op !== 'get' || get.key !== 'record' || call?.op !== 'call' || call.args.length !== 2) {
      throw new TypeError('an Except answers only record(group, error)');
    }
    return receive(exc as Except, call.args[0], call.args[1]);
  },
});
