/**
 * Objects a client must never reach, whoever put them on the hosted object:
 *
 *  - the library's own objects (hosts, sessions, connections and their proxies, forked children,
 *    Excepts, the CLI's serve control...). A hosted object that keeps its own Host
 *    (`app.host = await serve(app, p)`) would otherwise hand out the secret, the policy and the
 *    sockets of other clients;
 *  - Node's I/O handles (servers, sockets, child processes, workers and message ports, file
 *    handles and file streams, HTTP messages): through one a client could move the host onto
 *    TCP (`server.close()`, `server.listen(port)`), write into another client's connection, or
 *    kill a child. A host may allow these (`allowIoHandles`).
 *
 * evaluate.ts refuses a chain at the op that produces such a value (and the hosted object
 * itself, when it is one), and the codec refuses to copy one as data, nested anywhere in a value.
 *
 * Both are told by the value's prototype, decided once per prototype and kept in a WeakMap: on
 * every op's result the check is a getPrototypeOf and, for class instances, one WeakMap look-up
 * (plain objects, arrays and plain functions need none). So marking an object of the library
 * marks its class; a plain object or function the library marks gets a prototype of its own
 * (below Object.prototype / Function.prototype, so it behaves as before). Nothing is added to
 * the object itself (user code enumerating it would see a brand), and it is collected as usual.
 * The client's proxies are all Proxies of one function: marking that function marks them all
 * (a WeakSet entry per proxy would cost 0.25 µs per chain step, measured).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';

/** Marked objects and prototypes, with a name to show when one is refused (else the class name). */
const owned = new WeakMap<object, string | undefined>();

/**
 * Mark `obj` as the library's own: unreachable from any client, with every other instance of its
 * class (call it in the constructor of a class whose instances are all the library's). `what`
 * names it in messages (default: its class name). Returns `obj`.
 */
export function markLibraryOwned<T extends object>(obj: T, what?: string): T {
  owned.set(obj, what);
  const proto = Object.getPrototypeOf(obj) as object | null;
  if (proto === null || proto === Object.prototype || proto === Function.prototype) {
    const own = Object.create(proto ?? Object.prototype) as object;
    owned.set(own, what);
    Object.setPrototypeOf(obj, own);
  } else if (!owned.has(proto)) {
    owned.set(proto, what);
    verdicts.delete(proto);
  }
  return obj;
}

/** Whether `value` is an object of the library (see markLibraryOwned). */
export function isLibraryOwned(value: unknown): boolean {
  return refusalOf(value)?.rule === 'library-owned';
}

/** Why a value is out of reach. */
export interface Refusal {
  rule: 'library-owned' | 'io-handle';
  /** What it is, for the message: `Host`, `net.Server`... */
  what: string;
}

/** Which values to refuse. */
export interface RefusalOptions {
  /** Let Node's I/O handles through (the library's own objects stay refused). */
  allowIoHandles?: boolean;
}

/** Why `value` is out of reach, or undefined when it is not. */
export function refusalOf(value: unknown, options?: RefusalOptions): Refusal | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === Array.prototype || proto === Function.prototype || proto === null) return undefined;
  let verdict = verdicts.get(proto);
  if (verdict === undefined) {
    verdict = classify(proto);
    verdicts.set(proto, verdict);
  }
  if (verdict === null || (verdict.rule === 'io-handle' && options?.allowIoHandles)) return undefined;
  return verdict;
}

/** What each prototype seen so far makes of its instances (null: nothing to refuse). */
const verdicts = new WeakMap<object, Refusal | null>();

/**
 * Prototypes of Node's I/O handle classes, with the name to show; filled by loadHandleClasses.
 * fs.Dir is the one that is not an emitter, and fs is always loaded: it is there from the start.
 */
const handleProtos = new Map<object, string>([[fs.Dir.prototype, 'fs.Dir']]);
let handlesLoaded = false;

/**
 * Node's handle classes not exported by any module, told by name on a prototype that is an
 * emitter (a class of the user's with one of these names on an emitter is refused too).
 */
const INTERNAL_HANDLE_NAMES = new Set(['FileHandle', 'FSWatcher', 'StatWatcher', 'SyncWriteStream']);

/**
 * Every other handle class is an EventEmitter or an EventTarget; the modules are loaded only once
 * such a prototype is met (worker_threads and http take ~6 and ~12 ms to load when the program
 * has not loaded them yet), so a host of plain classes never pays for them.
 */
function loadHandleClasses(): void {
  handlesLoaded = true;
  const net = require('node:net') as typeof import('node:net');
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const childProcess = require('node:child_process') as typeof import('node:child_process');
  const workers = require('node:worker_threads') as typeof import('node:worker_threads');
  const http = require('node:http') as typeof import('node:http');
  const readline = require('node:readline') as typeof import('node:readline');
  const classes: [Function | undefined, string][] = [
    // Subclasses are covered by the prototype walk: tls.TLSSocket and tty streams are net.Sockets,
    // tls/http/https/http2 servers are net.Servers, http.ServerResponse/ClientRequest are OutgoingMessages.
    [net.Server, 'net.Server'],
    [net.Socket, 'net.Socket'],
    [dgram.Socket, 'dgram.Socket'],
    [childProcess.ChildProcess, 'ChildProcess'],
    [workers.Worker, 'Worker'],
    [workers.MessagePort, 'MessagePort'],
    [workers.BroadcastChannel, 'BroadcastChannel'],
    [fs.ReadStream, 'fs.ReadStream'],
    [fs.WriteStream, 'fs.WriteStream'],
    [http.IncomingMessage, 'http.IncomingMessage'],
    [http.OutgoingMessage, 'http.OutgoingMessage'],
    [readline.Interface, 'readline.Interface'],
  ];
  for (const [ctor, name] of classes) {
    if (typeof ctor === 'function' && ctor.prototype) handleProtos.set(ctor.prototype as object, name);
  }
}

function classify(proto: object): Refusal | null {
  let emitter = false;
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (owned.has(p)) return { rule: 'library-owned', what: ownedName(p) };
    const handle = handleProtos.get(p);
    if (handle !== undefined) return { rule: 'io-handle', what: handle };
    if (isEmitterPrototype(p)) emitter = true;
  }
  if (!emitter) return null;
  if (!handlesLoaded) {
    loadHandleClasses();
    return classify(proto);
  }
  for (let p: object | null = proto; p !== null && p !== EventEmitter.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const name = ctorName(p);
    if (name !== undefined && INTERNAL_HANDLE_NAMES.has(name)) return { rule: 'io-handle', what: name };
  }
  return null;
}

/**
 * EventEmitter.prototype, EventTarget.prototype, or a class that mixes EventEmitter's methods in
 * (Node's FileHandle does: EventEmitter.prototype itself is not on its chain).
 */
function isEmitterPrototype(p: object): boolean {
  if (p === EventEmitter.prototype || (typeof EventTarget === 'function' && p === EventTarget.prototype)) return true;
  const own = (key: string) => Object.prototype.hasOwnProperty.call(p, key);
  return own('emit') && own('on') && own('removeListener');
}

/** The `constructor` data property's name, read without running a getter. */
function ctorName(proto: object): string | undefined {
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined;
  return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : undefined;
}

/** A name for a marked prototype, for messages: the one it was marked with, else its class name. */
function ownedName(proto: object): string {
  const given = owned.get(proto);
  if (given !== undefined) return given;
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const name = ctorName(p);
    if (name !== undefined && name !== '' && name !== 'Object' && name !== 'Function') return name;
  }
  return 'object';
}
