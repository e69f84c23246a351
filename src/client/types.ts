/**
 * Remote<T>: the static type of a proxy. Each property becomes an awaitable, chainable remote
 * value; each method becomes a function returning one (a promise of its awaited return type that
 * can be chained further). A method returning the hosted object itself resolves to the root proxy.
 */
import type { Connection } from './connection';
import type { GetOptions } from './proxy';

type AnyFunction = (...args: any[]) => any;

/** True when A and B are the same type (used to spot "returns the hosted object itself"). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** What awaiting a remote value of type V gives: the value, or the root proxy for the hosted object. */
export type Resolved<V, Root> = Same<Awaited<V>, Root> extends true ? Remote<Root> : Awaited<V>;

/** A method of the remote object: call it, get a chainable promise of its awaited result. */
export type RemoteMethod<F extends AnyFunction, Root> = (...args: Parameters<F>) => RemoteValue<ReturnType<F>, Root>;

/** Members of a remote value (string keys only; symbols do not cross the wire). */
export type RemoteMembers<V, Root> = V extends null | undefined
  ? {}
  : V extends readonly (infer E)[]
    ? { readonly [index: number]: RemoteValue<E, Root> } & MemberMap<V, Root>
    : MemberMap<V, Root>;

type MemberMap<V, Root> = {
  readonly [K in keyof V as K extends string ? (K extends `${number}` ? never : K) : never]-?: V[K] extends AnyFunction
    ? RemoteMethod<V[K], Root>
    : RemoteValue<V[K], Root>;
};

/** The `$` controls every proxy has. */
export interface RemoteControls<V, Root> {
  /** Read the chain's value now (always a fresh request). With `default`, host-unavailable errors give the default. */
  $get(): Promise<Resolved<V, Root>>;
  $get<D>(options: GetOptions<D> & { default: D }): Promise<Resolved<V, Root> | D>;
  $get(options: GetOptions): Promise<Resolved<V, Root>>;
  /** Assign a member and wait for it to be done. */
  $set<K extends keyof NonNullable<V> & (string | number)>(key: K, value: NonNullable<V>[K]): Promise<void>;
  /** Delete a member and wait. */
  $del(key: keyof NonNullable<V> & (string | number)): Promise<void>;
  /** Python's `in`: includes for arrays and strings, has for Set/Map, key-in for objects. */
  $has(value: unknown): Promise<boolean>;
  /** Python's `len`: length of arrays and strings, size of Map/Set. */
  $len(): Promise<number>;
  /** Run a function the host registered under `name`, with the value as first argument. */
  $passto<R = unknown>(name: string, ...args: unknown[]): Promise<R>;
  /** The parent class's members, bound to this value: `remote.$super.describe()`. */
  readonly $super: RemoteMembers<NonNullable<V>, Root>;
  /** A member by name, for names the proxy keeps for itself (`then`, `$get`, ...). */
  $key<K extends keyof NonNullable<V> & (string | number)>(key: K): RemoteValue<NonNullable<V>[K], Root>;
  /** Close the connection once the requests made so far have been answered. */
  $close(): Promise<void>;
  /** The chain as text, e.g. `Remote</tmp/c.sock>.items[0].name`. Sends nothing. */
  readonly $path: string;
  readonly $connection: Connection;
}

/** A remote value: awaitable (sends the chain once), and chainable further. */
export type RemoteValue<V, Root> = PromiseLike<Resolved<V, Root>> & {
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Resolved<V, Root> | R>;
  finally(onFinally?: (() => void) | null): Promise<Resolved<V, Root>>;
} & RemoteMembers<NonNullable<Awaited<V>>, Root> &
  RemoteControls<Awaited<V>, Root>;

/** The root proxy of a connection to a host of T. Not thenable itself: `await connect<T>()` gives this. */
export type Remote<T> = RemoteMembers<T, T> & RemoteControls<T, T>;
