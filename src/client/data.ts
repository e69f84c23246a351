/**
 * The types of what crosses the wire (see protocol/codec.ts), so that Remote<T> promises only what
 * arrives:
 *
 *  - RemoteData<T>: what a value of type T becomes on the other side. Results are copies: a class
 *    instance arrives as a plain object of its own data, without its methods (recursively);
 *    Map, Set, Date, RegExp, Buffer, typed arrays and errors arrive as themselves; `toJSON()`
 *    is honoured. An async iterable arrives as a RemoteIterable (a stream). A value the codec
 *    refuses (a symbol, an iterator, a generator, a promise inside data, a live resource...) is a
 *    NotSendable that says why.
 *  - SendableArgs<P>: a method's parameters as a client may pass them. Protocol 2 passes functions
 *    by reference (the host gets an async function that runs the client's), so they compile.
 *  - A function in a result arrives as an async callable (RemoteFunction); a ref() object as a
 *    handle (see types.ts).
 *
 * What TypeScript cannot see: whether a member is a getter on the class (it does not arrive), or
 * an own property holding a function (the codec refuses it). Both are typed as data members.
 */
import type { EventEmitter } from 'node:events';
import type { ArrivesAsItself } from '../ref';

export type AnyFunction = (...args: any[]) => any;

export type IsAny<T> = 0 extends 1 & T ? true : false;

declare const notSendable: unique symbol;

/**
 * A value that cannot cross the wire: awaiting it is an EncodeError at run time. Using it is a
 * type error that says why, e.g. `NotSendable<"an iterator cannot be sent yet: ...">`.
 */
export interface NotSendable<Why extends string> {
  readonly [notSendable]: Why;
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Built-ins the codec carries as themselves (a Buffer is a Uint8Array). */
type Kept = Date | RegExp | Error | TypedArray | ArrivesAsItself;

type AnyIterator = { next(...args: any[]): unknown; [Symbol.iterator](): unknown };

/**
 * An async iterable as it arrives (protocol v2 streams, docs/api.md "Streams"): read it with
 * `for await`; `break`, `return()` or `await using` stop the host's iterator (its `finally` runs)
 * and resolve once it has. Items come as data (RemoteData), under a bounded credit window.
 */
export interface RemoteIterable<T> extends AsyncIterable<T>, AsyncDisposable {
  next(): Promise<IteratorResult<T, undefined>>;
  return(): Promise<IteratorResult<T, undefined>>;
  throw(e?: unknown): Promise<IteratorResult<T, undefined>>;
  [Symbol.asyncIterator](): RemoteIterable<T>;
}

/** Async-iterable I/O handles (sockets, file streams, HTTP messages, readline): refused as live resources, not streamed. */
type IoStream = import('node:net').Socket | import('node:fs').ReadStream | import('node:http').IncomingMessage | import('node:readline').Interface;

/** Why the codec refuses a value of type T; never when it does not. Checked in this order. */
type WhyNotSendable<T> = T extends symbol
    ? 'a symbol cannot be sent'
    : T extends PromiseLike<unknown>
      ? 'a promise inside data cannot be sent: await it on the host'
      : T extends EventEmitter
        ? 'a live resource (an EventEmitter: a socket, a stream, a server...) cannot be sent'
        : T extends WeakMap<any, any> | WeakSet<any>
          ? 'a weak collection cannot be sent'
          : T extends ArrayBuffer | SharedArrayBuffer | DataView
            ? 'an ArrayBuffer or a DataView cannot be sent: send a Uint8Array or a Buffer of it'
            : T extends AnyIterator
              ? 'an iterator cannot be sent yet: collect the values into an array on the host'
              : never;

/** What a value of type T becomes on the other side of the wire. Distributes over unions. */
export type RemoteData<T> =
  IsAny<T> extends true
    ? any
    : unknown extends T
      ? T
      : T extends AnyFunction
        ? RemoteFunction<T>
        : T extends string | number | boolean | bigint | null | undefined | void
        ? T
        : T extends Kept
          ? T
          : T extends ReadonlyMap<infer K, infer V>
            ? Map<RemoteData<K>, RemoteData<V>>
            : T extends ReadonlySet<infer E>
              ? Set<RemoteData<E>>
              : T extends AsyncIterable<infer X>
                ? T extends IoStream
                  ? NotSendable<WhyNotSendable<T>>
                  : RemoteIterable<RemoteData<X>>
                : [WhyNotSendable<T>] extends [never]
                  ? DataOf<T>
                  : NotSendable<WhyNotSendable<T>>;

/** An object's data: toJSON()'s result if it has one, else its elements or its non-method members. */
type DataOf<T> = T extends { toJSON(...args: any[]): infer J }
  ? RemoteData<J>
  : T extends readonly unknown[]
    ? { [K in keyof T]: RemoteData<T[K]> }
    : { [K in keyof T as DataKey<T, K>]: RemoteData<T[K]> };

/** String and number keys that are not methods (symbol keys do not travel; methods stay on the host). */
type DataKey<T, K extends keyof T> = K extends string | number
  ? IsAny<T[K]> extends true
    ? K
    : [NonNullable<T[K]>] extends [AnyFunction]
      ? never
      : K
  : never;

/**
 * A function that arrived by reference (protocol 2): calling it runs the function on the other
 * side, and always gives a promise of its awaited result as data. Disposing it (`await using`,
 * or `release(fn)`) gives it back to the other side early.
 */
export type RemoteFunction<F extends AnyFunction> = ((...args: Parameters<F>) => Promise<RemoteData<Awaited<ReturnType<F>>>>) & Disposable & AsyncDisposable;

/** A parameter as a client may pass it (functions too: protocol 2 passes them by reference). */
type Sendable<P> = IsAny<P> extends true ? any : P;

/** A method's parameters as a client may pass them (optional and rest parameters stay so). */
export type SendableArgs<P extends readonly unknown[]> = { [I in keyof P]: Sendable<P[I]> };
