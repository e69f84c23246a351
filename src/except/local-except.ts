/**
 * LocalExcept: catch errors into named groups and raise them later, in one process.
 * The Node shape of Python remoteobj's `LocalExcept` (`with exc('work'): ...` becomes
 * `await exc.catch('work', () => ...)`), without its quirks: an error is recorded at most once
 * per instance however contexts nest, and the tag that says so lives in the instance, not on
 * the error, so another instance decides for itself.
 */
import { RemoteError } from '../errors';
import {
  type CatchOptions,
  DEFAULT_GROUP,
  describeTypes,
  type ErrorType,
  type ExceptOptions,
  matchesTypes,
  normalizeTypes,
  type Resolved,
  resolveOptions,
} from './options';

export interface GetOptions {
  /** true (default): the most recent error; false: the first. */
  latest?: boolean;
}

/** One recorded error and the group it went to. */
export interface ExceptEntry {
  group: string;
  error: Error;
}

interface Mark {
  /** A context with catchOnce recorded it: outer contexts leave it alone. */
  claimed: boolean;
  /** Groups it is recorded in (never twice in one). */
  groups: Set<string>;
}

/** What a context does with an error it has seen. */
export interface Handled {
  rethrow: boolean;
  /** Settles when the record has reached its final store (another process, for Except). */
  delivered?: Promise<void>;
}

type Fn<T> = () => T;

/** Called once an error is recorded; its promise settles when the record reached its final store. */
export type RecordHook = (group: string, error: Error) => Promise<void> | undefined;

/**
 * What Except (in except.ts) needs of a LocalExcept's internals. Handed out by a static block, not
 * kept on the object: nothing of a LocalExcept's state or machinery is a property anyone can reach.
 */
let internals: {
  store(exc: LocalExcept, group: string, error: Error): void;
  setRecordHook(exc: LocalExcept, hook: RecordHook): void;
};

/** @internal Append a record that came from elsewhere (another process's handle). */
export function storeRecord(exc: LocalExcept, group: string, error: Error): void {
  internals.store(exc, group, error);
}

/** @internal Have `hook` called with each error this instance records (Except sends it to its owner). */
export function setRecordHook(exc: LocalExcept, hook: RecordHook): void {
  internals.setRecordHook(exc, hook);
}

export class LocalExcept implements Iterable<Error> {
  readonly #defaults: Resolved;
  #entries: ExceptEntry[] = [];
  #marks = new WeakMap<object, Mark>();
  #onRecorded?: RecordHook;

  static {
    internals = {
      store: (exc, group, error) => exc.#store(group, error),
      setRecordHook: (exc, hook) => {
        exc.#onRecorded = hook;
      },
    };
  }

  constructor(options: ExceptOptions = {}) {
    this.#defaults = {
      raises: options.raises ?? true,
      types: normalizeTypes(options.types),
      catchOnce: options.catchOnce ?? true,
    };
  }

  /** Re-throw after recording unless a context says otherwise (default true). */
  get raises(): boolean {
    return this.#defaults.raises;
  }

  /** The classes (or class names) caught unless a context says otherwise (default [Error]). */
  get types(): readonly ErrorType[] {
    return this.#defaults.types;
  }

  get catchOnce(): boolean {
    return this.#defaults.catchOnce;
  }

  /**
   * Run `fn` (sync or async) and record an error it throws into `group` (DEFAULT_GROUP when
   * omitted). Resolves with fn's value, or undefined when an error was recorded and swallowed
   * (`raises: false`); rejects with the error when the context re-throws it, or when its type is
   * not caught at all.
   */
  catch<T>(fn: Fn<T>, options?: CatchOptions): Promise<Awaited<T> | undefined>;
  catch<T>(group: string, fn: Fn<T>, options?: CatchOptions): Promise<Awaited<T> | undefined>;
  async catch<T>(...args: unknown[]): Promise<Awaited<T> | undefined> {
    const { group, fn, options } = parseArgs<T>(args, 'catch');
    try {
      return await fn();
    } catch (e) {
      const h = this.#handle(e, group, options);
      await h.delivered;
      if (h.rethrow) throw e;
      return undefined;
    }
  }

  /**
   * The same for a synchronous `fn`, returning at once. A function that returns a promise is
   * refused (use `catch`): its rejection would escape the context.
   */
  catchSync<T>(fn: Fn<T>, options?: CatchOptions): T | undefined;
  catchSync<T>(group: string, fn: Fn<T>, options?: CatchOptions): T | undefined;
  catchSync<T>(...args: unknown[]): T | undefined {
    const { group, fn, options } = parseArgs<T>(args, 'catchSync');
    let value: T;
    try {
      value = fn();
    } catch (e) {
      const h = this.#handle(e, group, options);
      if (h.rethrow) throw e;
      return undefined;
    }
    if (isThenable(value)) {
      Promise.resolve(value).catch(() => {});
      throw new TypeError(`catchSync(${JSON.stringify(group)}): the function returned a promise; use \`await exc.catch(...)\` for async code`);
    }
    return value;
  }

  /**
   * Decide about one thrown value, as a context would: record it if its type is caught and it
   * is not already claimed, then say whether to re-throw.
   */
  #handle(e: unknown, group: string, options: CatchOptions | undefined): Handled {
    const opts = resolveOptions(this.#defaults, options);
    if (!matchesTypes(e, opts.types)) return { rethrow: true };
    const err = e as Error;
    let mark = this.#marks.get(err);
    if (!mark) this.#marks.set(err, (mark = { claimed: false, groups: new Set() }));
    let delivered: Promise<void> | undefined;
    if (!mark.claimed && !mark.groups.has(group)) {
      mark.groups.add(group);
      this.#store(group, err);
      delivered = this.#onRecorded?.(group, err);
    }
    if (opts.catchOnce) mark.claimed = true;
    return { rethrow: opts.raises || !opts.catchOnce, delivered };
  }

  /** Append to the record (also used for errors that arrive from other processes). */
  #store(group: string, error: Error): void {
    this.#entries.push({ group, error });
  }

  /**
   * Throw a recorded error; do nothing when there is none. No group: the most recent error of any
   * group; a group: the last of that group (`{ latest: false }`: the first). Nothing is cleared,
   * so calling it again throws the same error; `clear()` forgets.
   */
  raiseAny(group?: string, options?: GetOptions): void {
    const err = this.get(group, options);
    if (err !== undefined) throw err;
  }

  /** The last (or first) error of a group, or of all groups when `group` is omitted; undefined if none. */
  get(group?: string, options: GetOptions = {}): Error | undefined {
    const list = group === undefined ? this.#entries : this.#entries.filter((x) => x.group === group);
    const entry = options.latest === false ? list[0] : list[list.length - 1];
    return entry?.error;
  }

  /** Every error of one group, in the order caught ([] for a group with none). */
  group(name: string): Error[] {
    return this.#entries.filter((x) => x.group === name).map((x) => x.error);
  }

  /** Every error, in the order caught, whatever the group. */
  all(): Error[] {
    return this.#entries.map((x) => x.error);
  }

  /** Every record with its group, in the order caught. */
  entriesList(): ExceptEntry[] {
    return this.#entries.map((x) => ({ ...x }));
  }

  /** Names of the groups that hold at least one error, in the order of their first error. */
  names(): string[] {
    return [...new Set(this.#entries.map((x) => x.group))];
  }

  get first(): Error | undefined {
    return this.#entries[0]?.error;
  }

  get last(): Error | undefined {
    return this.#entries[this.#entries.length - 1]?.error;
  }

  /** Number of errors recorded. */
  get size(): number {
    return this.#entries.length;
  }

  /** Forget every recorded error (the only thing that does). */
  clear(): void {
    this.#entries = [];
    this.#marks = new WeakMap();
  }

  [Symbol.iterator](): Iterator<Error> {
    return this.all()[Symbol.iterator]();
  }

  /** A one-line summary: the options and, per group, the count and the last error. */
  toString(): string {
    const groups = this.names().map((g) => {
      const list = this.group(g);
      const last = list[list.length - 1]!;
      return `${g}: ${list.length} (last ${errorName(last)}: ${String(last.message)})`;
    });
    const opts = `raises=${this.raises}, types=[${describeTypes(this.types)}], catchOnce=${this.catchOnce}`;
    return `${this.constructor.name}(${opts}; ${groups.length ? groups.join('; ') : 'no errors'})`;
  }
}

/** The class name to show: a RemoteError stands for the class it had in its own process. */
function errorName(e: Error): string {
  return String(e.name);
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function parseArgs<T>(args: unknown[], method: string): { group: string; fn: Fn<T>; options?: CatchOptions } {
  let [a, b, c] = args;
  let group = DEFAULT_GROUP;
  if (typeof a === 'string') {
    if (a === '') throw new TypeError(`${method}(): a group name must not be empty`);
    group = a;
    a = b;
    b = c;
  }
  if (typeof a !== 'function') throw new TypeError(`${method}(): expected a function to run, got ${a === null ? 'null' : typeof a}`);
  if (b !== undefined && (b === null || typeof b !== 'object')) throw new TypeError(`${method}(): options must be an object`);
  return { group, fn: a as Fn<T>, options: b as CatchOptions | undefined };
}
