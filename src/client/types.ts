/**
 * Remote<T>: the static type of a proxy, so that remote code type-checks like local code.
 *
 *  - a property becomes a remote value: awaitable and chainable; awaiting it gives the data that
 *    arrives (RemoteData, data.ts: a copy without methods; NotSendable where the host cannot send it);
 *  - a method becomes a function with the same parameters returning a remote value of its awaited
 *    result; calling a non-method, an unknown member, wrong arguments or a function argument are
 *    type errors; a chain goes on through the live value's members (methods included);
 *  - a result that is the hosted object itself (`this`, the root type) resolves to Remote<T>,
 *    as the host answers "self" for it at run time;
 *  - optional and nullable values still chain (the host throws if the value really is missing);
 *  - the root proxy is not PromiseLike, so `await connect<T>()` gives Remote<T>.
 *
 * Members the proxy answers locally or the host always refuses are left out: `then`, `catch`,
 * `finally`, `constructor`, `toString`, `valueOf`, `toJSON`, `_private` and `$reserved` names
 * (reach an oddly named member with `$key`). Plain assignment `remote.x = v` works at run time but
 * cannot be typed (a property cannot read as a remote value and accept a plain one), so members
 * are readonly: use `await remote.$set('x', v)`, or a `Remote<any>` view. `Remote<any>` (what
 * `connect()` gives without a type) lets anything through.
 */
import type { Description } from '../evaluate';
import type { Connection } from './connection';
import type { AnyFunction, IsAny, RemoteData, SendableArgs } from './data';
import type { GetOptions } from './proxy';
import type { ArrivesAsItself, Ref } from '../ref';

/** True when A and B are mutually assignable (used to spot "returns the hosted object itself"). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Exactly equal types (readonly-sensitive), for WritableKeys. */
type Exactly<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Names the proxy answers locally (or never sends) and names the host always refuses. */
type LocalName = 'then' | 'catch' | 'finally' | 'constructor' | 'prototype' | '__proto__' | 'toJSON' | 'toString' | 'valueOf';

/** The string keys a proxy exposes as remote members. */
type MemberName<K> = K extends string ? (K extends LocalName | `_${string}` | `$${string}` ? never : K) : never;

/**
 * What awaiting a remote value of type V gives: the data that arrives (RemoteData: a copy, without
 * methods), or the root proxy where the value is the hosted object itself.
 */
export type Resolved<V, Root> = IsAny<V> extends true ? any : ResolvedEach<Awaited<V>, Root>;
type ResolvedEach<A, Root> = A extends unknown ? (A extends Ref<infer H> ? (H extends ArrivesAsItself ? H : RemoteHandle<H>) : Same<A, Root> extends true ? Remote<Root> : RemoteData<A>) : never;

/**
 * Protocol 2: what a method returning `ref(obj)` gives the client: a Remote of the object whose
 * chains run on it in the host (one round trip each), released with `$release()` or `await using`.
 */
export type RemoteHandle<T> = Remote<T> & {
  /** Release the handle (the host disposes the object when nobody holds it any more); using it afterwards rejects with ReleasedError. */
  $release(): Promise<void>;
};

/**
 * A method of the remote object: the same parameters (a function argument does not compile: it
 * cannot be sent), returning a chainable remote value of its awaited result.
 */
export type RemoteMethod<F extends AnyFunction, Root> = (...args: SendableArgs<Parameters<F>>) => RemoteValue<ReturnType<F>, Root>;

/** One member: a method (also when optional) or a remote value. */
export type RemoteMember<M, Root> =
  IsAny<M> extends true
    ? RemoteAny
    : [NonNullable<M>] extends [never]
      ? RemoteValue<M, Root>
      : [NonNullable<M>] extends [AnyFunction]
        ? RemoteMethod<NonNullable<M>, Root>
        : RemoteValue<M, Root>;

/** Members of a remote value (string keys only; symbols do not cross the wire). Distributes over unions. */
export type RemoteMembers<V, Root> = V extends null | undefined
  ? {}
  : V extends string
    ? { readonly [index: number]: RemoteValue<string, Root> } & MemberMap<String, Root>
    : V extends number
      ? MemberMap<Number, Root>
      : V extends bigint
        ? MemberMap<BigInt, Root>
        : V extends boolean | symbol
          ? {}
          : V extends readonly (infer E)[]
            ? { readonly [index: number]: RemoteMember<E, Root> } & MemberMap<V, Root>
            : MemberMap<V, Root>;

/**
 * Primitives are mapped through their interfaces (String, Number, ...): a mapped type over a
 * primitive gives back the primitive itself, and a union of literals then maps `String` once.
 */
type MemberMap<V, Root> = {
  readonly [K in keyof V as MemberName<K>]-?: RemoteMember<V[K], Root>;
};

/**
 * Keys `$set` accepts: data members that are not readonly (methods are not replaced remotely).
 * `& keyof V`: TypeScript 5.x does not see through ValuesOf that these index V (TS2536).
 */
type WritableKeys<V> = keyof V & ValuesOf<{
  [K in keyof V as K extends string | number ? K : never]-?: [NonNullable<V[K]>] extends [AnyFunction]
    ? never
    : Exactly<{ [Q in K]: V[K] }, { -readonly [Q in K]: V[K] }> extends true
      ? K
      : never;
}>;
type ValuesOf<M> = M[keyof M];

/** What `$has` looks for: an element of an array, Set or string, a Map key, or an object's key. */
type HasArgument<V> =
  IsAny<V> extends true
    ? any
    : V extends string
      ? string
      : V extends readonly (infer E)[]
        ? E
        : V extends ReadonlyMap<infer K, unknown>
          ? K
          : V extends ReadonlySet<infer E>
            ? E
            : V extends ArrayBufferView
              ? number | bigint
              : V extends object
                ? string | number
                : unknown;

/** The `$` controls every proxy has. */
export interface RemoteControls<V, Root> {
  /** Read the chain's value now (always a fresh request). With `default`, host-unavailable errors give the default. */
  $get(): Promise<Resolved<V, Root>>;
  $get<D>(options: GetOptions<D> & { default: D }): Promise<Resolved<V, Root> | D>;
  $get(options: GetOptions): Promise<Resolved<V, Root>>;
  /** Assign a (writable, non-method) member and wait for it to be done. */
  $set<K extends WritableKeys<NonNullable<V>>>(key: K, value: NonNullable<V>[K]): Promise<void>;
  /** Delete a member and wait. */
  $del(key: keyof NonNullable<V> & (string | number)): Promise<void>;
  /** Python's `in`: includes for arrays and strings, has for Set/Map, key-in for objects. */
  $has(value: HasArgument<NonNullable<V>>): Promise<boolean>;
  /** Python's `len`: length of arrays and strings, size of Map/Set. */
  $len(): Promise<number>;
  /** The value's members (name, kind, type) under the host's access rules: what `remoteobj ls` shows. */
  $describe(): Promise<Description>;
  /** Run a function the host registered under `name`, with the value as first argument. */
  $passto<R = unknown>(name: string, ...args: unknown[]): Promise<R>;
  /** The parent class's members, bound to this value: `remote.$super.describe()`, `remote.$super.$super.x`. */
  readonly $super: RemoteSuper<NonNullable<V>, Root>;
  /** A member by name, for names the proxy keeps for itself (`then`, `$get`, ...). */
  $key<K extends keyof NonNullable<V> & (string | number)>(key: K): RemoteMember<NonNullable<V>[K], Root>;
  /** Close the connection once the requests made so far have been answered. */
  $close(): Promise<void>;
  /** The chain as text, e.g. `Remote</tmp/c.sock>.items[0].name`. Sends nothing. */
  readonly $path: string;
  readonly $connection: Connection;
}

/** `$super`: the value's members (TypeScript cannot tell which class defines them), and `$super` again. */
export type RemoteSuper<V, Root> = RemoteMembers<V, Root> & { readonly $super: RemoteSuper<V, Root> };

/** The promise side of a remote value: awaiting sends the chain (once). */
export interface RemotePromise<R> extends PromiseLike<R> {
  catch<E = never>(onRejected?: ((reason: unknown) => E | PromiseLike<E>) | null): Promise<R | E>;
  finally(onFinally?: (() => void) | null): Promise<R>;
}

/** A remote value: awaitable (sends the chain once), and chainable further. */
export type RemoteValue<V, Root> =
  IsAny<V> extends true
    ? RemoteAny
    : RemotePromise<Resolved<V, Root>> & MembersOf<NonNullable<Awaited<V>>, Root> & RemoteControls<Awaited<V>, Root>;

/** A value that never arrives (`(): never`, a method that always throws) has no members, but keeps its controls. */
type MembersOf<V, Root> = [V] extends [never] ? {} : RemoteMembers<V, Root>;

/** A remote value of type `any`: every member, call and assignment goes; awaiting gives `any`. */
export interface RemoteAny extends RemotePromise<any>, RemoteControls<any, any> {
  (...args: any[]): RemoteAny;
  [member: string]: any;
}

/** What the root proxy adds: it is the connection's handle, for `await using remote = await connect(...)`. */
export interface RemoteRoot {
  /** `$close()`: wait for the requests made so far, then hang up. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The root of an untyped connection (`Remote<any>`): like RemoteAny, but not thenable and not callable. */
export interface RemoteAnyRoot extends RemoteControls<any, any>, RemoteRoot {
  /** The root proxy is never thenable, so `await connect()` gives the proxy. */
  readonly then?: undefined;
  [member: string]: any;
}

/**
 * The root proxy of a connection to a host of T. Not thenable itself: `await connect<T>()` gives
 * this. AsyncDisposable: `await using remote = await connect<T>(path)` closes it at the block's end.
 */
export type Remote<T> = IsAny<T> extends true ? RemoteAnyRoot : RemoteMembers<T, T> & RemoteControls<T, T> & RemoteRoot;
