/**
 * fork(fn, ...args): run an exported function in a child process and get back what it returns,
 * what it yields and what it throws, as if it were a local call. Options go through
 * `fork.with({...})(fn, ...args)`, so they never collide with the function's own arguments.
 * docs/process.md has the whole story; messages.ts the wire.
 */
import { type ChildProcess, fork as forkProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessExitedError, ProtocolError, TimeoutError } from '../errors';
import type { CodecContext, Json } from '../protocol/codec';
import { errorFromWire } from '../protocol/error-wire';
import { planLaunch } from './launch';
import { locateFunction, NotExportedError } from './locate';
import { checkFromChild } from './check-message';
import { isProtocolMessage, type TargetSpec, type ToChild } from './messages';
import { loadingTarget, nextNumber } from './state';
import { decodeValue, encodeValue } from './values';
import { ForkLink, isLinkMessage } from './fork-link';
import { markLibraryOwned } from '../owned';

type AnyFn = (...args: any[]) => unknown;

export interface ForkOptions {
  /** The process name (default: the function's name and a per-process number, `remoteFunc-1`). */
  name?: string;
  /**
   * true (default): the child dies when this process exits, even by SIGKILL, and does not keep
   * this process alive unless something waits on it. false: it runs to the end on its own, and
   * this process waits for it before exiting (as multiprocessing does).
   */
  daemon?: boolean;
  /** The child's environment (default process.env). As in child_process, it replaces, not merges. */
  env?: NodeJS.ProcessEnv;
  /** The child's working directory (default: this process's). */
  cwd?: string;
  /** Node flags for the child (default: this process's, minus debugger flags). */
  execArgv?: readonly string[];
  /** Milliseconds the child may run; then it is killed and `result` rejects with TimeoutError. */
  timeout?: number;
  /** How many yielded values the child may produce ahead of a consumer that iterates (default 16). */
  highWaterMark?: number;
}

const REF = Symbol('remoteobj.fork.ref');

/** An explicit target: a module and one of its exports (see `fork.ref`). */
export interface ExportRef<F extends AnyFn = AnyFn> {
  readonly [REF]: TargetSpec;
  /** The export name (for the process name). */
  readonly name: string;
  /** Type only: the function this reference stands for. */
  readonly __type?: F;
}

/** What the child's function gives back: the generator's return value for generators. */
export type ForkResult<R> =
  R extends AsyncIterator<any, infer T, any> ? T : R extends Iterator<any, infer T, any> ? T : Awaited<R>;
/** What the child's function yields (never for a plain function). */
export type ForkYield<R> = R extends AsyncIterator<infer Y, any, any> ? Y : R extends Iterator<infer Y, any, any> ? Y : never;

export interface ForkFunction {
  /** Run `fn(...args)` in a child process. `fn` must be exported by a module (or be a `fork.ref`). */
  <F extends AnyFn>(fn: F | ExportRef<F>, ...args: Parameters<F>): Forked<ForkResult<ReturnType<F>>, ForkYield<ReturnType<F>>>;
  /** A fork with these options: `fork.with({ timeout: 5000 })(fn, ...args)`. Chains merge. */
  with(options: ForkOptions): ForkFunction;
  /**
   * Name the function explicitly: `fork(fork.ref('/abs/worker.js', 'work'), ...args)`.
   * `module` is an absolute path, a file: URL, a path relative to the working directory
   * (`./lib/worker.js`), or a package specifier; `exportName` defaults to 'default'.
   */
  ref<F extends AnyFn = AnyFn>(module: string | URL, exportName?: string): ExportRef<F>;
  /** The options this fork applies. */
  readonly options: Readonly<ForkOptions>;
}

/** Exit code and signal of a finished child. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_HIGH_WATER_MARK = 16;
/** How long a child killed on timeout gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

/** Daemon children alive, to terminate when this process exits normally. */
const liveDaemons = new Set<ChildProcess>();
let exitHookInstalled = false;

function makeFork(defaults: ForkOptions): ForkFunction {
  const f = ((target: AnyFn | ExportRef, ...args: unknown[]) => new Forked(target, args, defaults)) as ForkFunction;
  Object.defineProperties(f, {
    with: { value: (options: ForkOptions) => makeFork({ ...defaults, ...checkOptions(options) }) },
    ref: { value: exportRef },
    options: { value: Object.freeze({ ...defaults }) },
  });
  return f;
}

function checkOptions(o: ForkOptions): ForkOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('fork.with(options): options must be an object');
  if (o.timeout !== undefined && !(typeof o.timeout === 'number' && o.timeout > 0)) throw new TypeError('fork options: timeout must be a positive number of ms');
  if (o.highWaterMark !== undefined && !(Number.isInteger(o.highWaterMark) && o.highWaterMark >= 1)) {
    throw new TypeError('fork options: highWaterMark must be an integer ≥ 1');
  }
  if (o.execArgv !== undefined && !(Array.isArray(o.execArgv) && o.execArgv.every((a) => typeof a === 'string'))) {
    throw new TypeError('fork options: execArgv must be an array of strings');
  }
  return o;
}

function exportRef<F extends AnyFn = AnyFn>(module: string | URL, exportName = 'default'): ExportRef<F> {
  let mod: string;
  if (module instanceof URL) mod = fileURLToPath(module);
  else if (typeof module === 'string' && module.startsWith('file:')) mod = fileURLToPath(module);
  else if (typeof module === 'string' && module !== '') mod = module.startsWith('.') ? path.resolve(module) : module;
  else throw new TypeError('fork.ref(module, exportName): module must be a path, a file URL or a package specifier');
  if (typeof exportName !== 'string' || exportName === '') throw new TypeError('fork.ref(module, exportName): exportName must be a non-empty string');
  const load = /\.(mjs|mts)$/.test(mod) ? 'import' : 'auto';
  return Object.freeze({ [REF]: { module: mod, exportName, load }, name: exportName }) as ExportRef<F>;
}

function isExportRef(v: unknown): v is ExportRef {
  return v !== null && typeof v === 'object' && REF in v;
}

/** Run a function in a child process. See docs/process.md. */
export const fork: ForkFunction = makeFork({});

type Final<R> = { ok: true; value: R } | { ok: false; error: Error };

/**
 * A running (or finished) child: `await p.result`, `for await (const v of p)`, `await p.join()`,
 * `p.kill()`, and `await using p = fork(...)` which waits for it at the end of the block.
 */
export class Forked<R = unknown, Y = unknown> implements AsyncIterable<Y>, AsyncDisposable {
  readonly name: string;
  /** The child process (undefined only if it could not be started). */
  readonly process?: ChildProcess;

  readonly #resultPromise: Promise<R>;
  // Method syntax: parameters stay bivariant, so a Forked<never> is still a Forked<unknown>.
  #settleResult!: { resolve(v: R): void; reject(e: Error): void };
  #final?: Final<R>;
  #exitInfo?: ExitInfo;
  readonly #exitPromise: Promise<ExitInfo>;
  #resolveExit!: (e: ExitInfo) => void;
  readonly #highWaterMark: number;
  readonly #daemon: boolean;
  readonly #callSite: Error;
  /** The protocol-2 link over the IPC channel, made when an argument travels by reference (an Except). */
  #link?: ForkLink;
  #spec: Readonly<TargetSpec>;
  /** An ES module's function: where it is defined, for the child to find its export (see locate.ts). */
  readonly #at?: { line: number; column: number };
  readonly #notExportedMessage?: string;

  #started = false;
  #kind: 'unknown' | 'value' | 'stream' = 'unknown';
  readonly #buffer: Y[] = [];
  /** Values the consumer has read, and yields received (the index the next one must have). */
  #consumed = 0;
  #received = 0;
  #iterator: 'none' | 'active' | 'done' = 'none';
  /** Back-pressure is off for good: join(), dispose. */
  #lifted = false;
  /** The highest credit sent to the child (yields with index < lastAllowed); null: no limit. Never lowered. */
  #lastAllowed: number | null = null;
  /** The child sent its return or throw; or broke the protocol: nothing more is read from it. */
  #childDone = false;
  #waiters: (() => void)[] = [];
  #errorDelivered = false;
  #interested = false;
  #stopReason?: { kind: 'timeout' | 'kill'; signal: NodeJS.Signals };
  #timeoutTimer?: NodeJS.Timeout;

  /** @internal use fork() */
  constructor(target: AnyFn | ExportRef, args: unknown[], options: ForkOptions) {
    markLibraryOwned(this);
    this.#callSite = new Error();
    this.#resultPromise = new Promise<R>((resolve, reject) => {
      this.#settleResult = { resolve, reject };
    });
    // Never an unhandled rejection: the error reaches whoever reads result, join(), the iterator or the dispose.
    this.#resultPromise.catch(() => {});
    this.#exitPromise = new Promise<ExitInfo>((resolve) => (this.#resolveExit = resolve));

    let spec: TargetSpec;
    if (isExportRef(target)) {
      spec = target[REF];
    } else if (typeof target !== 'function') {
      throw new TypeError(`fork(): the target must be a function or fork.ref(module, name), got ${target === null ? 'null' : typeof target}`);
    } else {
      const located = locateFunction(target);
      spec = located.target;
      this.#at = located.at;
      this.#notExportedMessage = located.notExportedMessage;
    }
    const loading = loadingTarget();
    if (loading !== undefined) {
      throw new Error(
        `fork() was called while this child process was importing ${loading} to run its function: that module starts ` +
          `processes at top level, which would fork without end. Guard that code: \`if (require.main === module) { … }\` ` +
          `in CommonJS, \`if (import.meta.url === pathToFileURL(process.argv[1]).href) { … }\` in an ES module.`,
      );
    }
    checkOptions(options);
    this.#spec = Object.freeze({ ...spec });
    // An arrow assigned to `exports.mul` has no name of its own: its export name is the next best.
    const baseName = isExportRef(target) ? target.name : target.name || spec.exportName || 'fork';
    this.name = options.name ?? `${baseName}-${nextNumber()}`;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#daemon = options.daemon ?? true;

    // Encode now, so a value that cannot travel fails here, at the call. The first Except met
    // makes the link it travels on (nothing else does: most forks need none).
    const lazy: CodecContext = {
      exportValue: (value, kind, at) => (kind === 'except' ? this.#linkNow().context.exportValue(value, kind, at) : undefined),
      importTag: () => undefined,
    };
    let encodedArgs: Json;
    let plan: ReturnType<typeof planLaunch>;
    try {
      encodedArgs = encodeValue(args, 'args', lazy);
      plan = planLaunch(spec, { execArgv: options.execArgv, env: options.env, cwd: options.cwd, daemon: this.#daemon });
    } catch (e) {
      this.#link?.closed();
      throw e;
    }

    const child = forkProcess(plan.bootstrap, [], {
      execArgv: plan.execArgv,
      env: plan.env,
      cwd: plan.cwd,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.process = child;
    this.#link?.bind(child);
    this.#watch(child, plan);
    if (this.#daemon) {
      liveDaemons.add(child);
      installExitHook();
      child.unref();
      child.channel?.unref();
    }
    if (options.timeout !== undefined) {
      this.#timeoutTimer = setTimeout(() => this.#stop('timeout', 'SIGTERM'), options.timeout);
      this.#timeoutTimer.unref();
    }
    queueMicrotask(() => this.#sendStart(encodedArgs));
  }

  #linkNow(): ForkLink {
    return (this.#link ??= new ForkLink(`fork ${this.name}`, { pid: process.pid, path: `fork parent of ${this.name}` }));
  }

  /**
   * Where the child finds the function. For a function of an ES module, `exportName` is fork()'s
   * guess until the child has imported the module and said which export it runs.
   */
  get target(): Readonly<TargetSpec> {
    return this.#spec;
  }

  /** The child's pid (undefined if it could not be started). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The exit code once the child has exited (null while it runs, or when a signal ended it). */
  get exitCode(): number | null {
    return this.#exitInfo?.code ?? null;
  }

  /** The signal that ended the child, if one did. */
  get signalCode(): NodeJS.Signals | null {
    return this.#exitInfo?.signal ?? null;
  }

  /** True until the child process has exited. */
  get running(): boolean {
    return this.#exitInfo === undefined;
  }

  /**
   * What the function returned (for a generator: its return value), once the child has
   * returned; rejects with the child's error, or with an error saying how the child died.
   */
  get result(): Promise<R> {
    this.#errorDelivered = true;
    this.#interest();
    return this.#resultPromise;
  }

  /** Resolves once the child process has exited (never rejects). */
  get exited(): Promise<ExitInfo> {
    this.#interest();
    return this.#exitPromise;
  }

  /**
   * Wait for the child to finish and exit, then give its result (or throw its error). Lets the
   * child run to the end: values nobody has read yet are kept for a later `for await`.
   * With `timeout`, rejects with TimeoutError if it takes longer (the child keeps running).
   */
  async join(options: { timeout?: number } = {}): Promise<R> {
    this.#errorDelivered = true;
    this.#runToEnd();
    const done = Promise.all([this.#resultPromise.catch(() => {}), this.#exitPromise]);
    if (options.timeout !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.timeout)));
      const r = await Promise.race([done, late]);
      clearTimeout(timer);
      if (r === 'late') throw new TimeoutError(`${this.name} did not finish within ${options.timeout} ms (it is still running)`);
    } else {
      await done;
    }
    return this.#resultPromise;
  }

  /** Send a signal (default SIGTERM); resolves once the child has exited. `result` rejects, naming the signal. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    this.#errorDelivered = true;
    this.#interest();
    if (this.#exitInfo === undefined) this.#stop('kill', signal);
    return this.#exitPromise;
  }

  /** Leaving `await using p = fork(...)`: wait for the child; throw its error if nobody has seen it yet. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#runToEnd();
    await Promise.all([this.#resultPromise.catch(() => {}), this.#exitPromise]);
    const f = this.#final;
    if (f && !f.ok && !this.#errorDelivered) {
      this.#errorDelivered = true;
      throw f.error;
    }
  }

  /**
   * The values the child yields, as it yields them; then the iteration ends (its return value
   * is the generator's), or throws the child's error. Readable once. Breaking out of the loop
   * ends the child's iterator (its finally blocks run) and the child returns.
   */
  [Symbol.asyncIterator](): AsyncIterator<Y, R> {
    if (this.#iterator !== 'none') throw new TypeError(`${this.name}: its values can be read only once`);
    this.#iterator = 'active';
    this.#interest();
    this.#updateAllowance();
    return {
      next: () => this.#nextValue(),
      return: async (value?: unknown) => {
        this.#finishIterating(true);
        return { done: true, value: value as R };
      },
    };
  }

  async #nextValue(): Promise<IteratorResult<Y, R>> {
    for (;;) {
      if (this.#iterator === 'done') return { done: true, value: undefined as R };
      if (this.#buffer.length) {
        const value = this.#buffer.shift()!;
        this.#consumed++;
        this.#updateAllowance();
        return { done: false, value };
      }
      const f = this.#final;
      if (f) {
        this.#finishIterating(false);
        if (!f.ok) {
          this.#errorDelivered = true;
          throw f.error;
        }
        if (this.#kind !== 'stream') {
          throw new TypeError(`${this.name} returned a value, not a stream of values: read it with \`await p.result\``);
        }
        return { done: true, value: f.value };
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #finishIterating(early: boolean): void {
    if (this.#iterator !== 'active') return;
    this.#iterator = 'done';
    if (early && !this.#final) {
      // The consumer left: the rest is not wanted; let the child end its iterator.
      this.#buffer.length = 0;
      this.#sendToChild({ ro: 1, t: 'stop' });
    }
  }

  /** Back-pressure off: join(), dispose, or nobody iterating. */
  #runToEnd(): void {
    this.#interest();
    this.#lifted = true;
    this.#updateAllowance();
  }

  /**
   * The credit the child should have: while a loop reads, what it has consumed plus the window;
   * while nobody iterates, what has arrived plus the window (the values are collected as they
   * come, the child is not held back); no limit once join() or dispose asked to run to the end.
   */
  #allowance(): number | null {
    if (this.#lifted) return null;
    return (this.#iterator === 'active' ? this.#consumed : this.#received) + this.#highWaterMark;
  }

  #updateAllowance(): void {
    if (!this.#started || this.#final || this.#childDone || this.#lastAllowed === null || this.#iterator === 'done') return;
    const upTo = this.#allowance();
    // Credit only grows (a child may already be using what it was given). Grant in batches of half
    // the window, not one message per value read.
    if (upTo !== null && upTo - this.#lastAllowed < Math.ceil(this.#highWaterMark / 2)) return;
    this.#lastAllowed = upTo;
    this.#sendToChild({ ro: 1, t: 'allow', upTo });
  }

  #sendStart(args: Json): void {
    if (this.#exitInfo || this.#final) return;
    this.#started = true;
    this.#lastAllowed = this.#allowance();
    this.#sendToChild({ ro: 1, t: 'start', name: this.name, target: this.#spec, args, upTo: this.#lastAllowed, ...(this.#at && { at: this.#at }), ...(this.#link && { link: true }) });
  }

  #sendToChild(msg: ToChild): void {
    const child = this.process;
    if (!child?.connected) return;
    try {
      child.send(msg, (err) => {
        if (err) {
          /* the child is gone: its exit settles everything */
        }
      });
    } catch {
      /* channel closed meanwhile */
    }
  }

  #watch(child: ChildProcess, plan: { cwd?: string }): void {
    let exited: ExitInfo | undefined;
    let channelClosed = !child.connected;
    const finish = () => {
      if (!exited || !channelClosed) return;
      // Every message the child sent has been read by now: the channel is drained before it closes.
      this.#onExit(exited);
    };
    child.on('message', (m: unknown) => {
      if (isProtocolMessage(m)) this.#onMessage(m);
    });
    child.once('disconnect', () => {
      channelClosed = true;
      this.#link?.closed();
      finish();
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      liveDaemons.delete(child);
      finish();
    });
    child.once('error', (e) => {
      // Spawning failed (or a signal could not be sent): no exit event follows a failed spawn.
      if (child.pid === undefined) {
        const where = plan.cwd !== undefined ? ` (cwd ${plan.cwd})` : '';
        this.#fail(new Error(`fork(): could not start a child process for ${this.name}${where}: ${e.message}`, { cause: e }));
        this.#onExit({ code: null, signal: null });
      }
    });
  }

  #onMessage(raw: { t: string }): void {
    // The link's traffic (an Except's records) may follow the child's last message: it is the link's to judge.
    if (isLinkMessage(raw)) return this.#link?.deliver(raw);
    if (this.#childDone) return this.#violation(`a ${JSON.stringify(raw.t.slice(0, 40))} message after its last one`);
    const m = checkFromChild(raw);
    if (typeof m === 'string') return this.#violation(m);
    switch (m.t) {
      case 'loaded':
        if (this.#at && m.exportName !== null && m.exportName !== this.#spec.exportName) {
          this.#spec = Object.freeze({ ...this.#spec, exportName: m.exportName });
        }
        return;
      case 'notExported': {
        this.#childDone = true;
        const names = m.ambiguous;
        const message = names.length
          ? `fork(): the exports ${names.join(', ')} of ${this.#spec.module} are all defined where this function is (closures of one factory?), ` +
            `so the child cannot tell which one to run. Name it explicitly: fork(fork.ref(${JSON.stringify(this.#spec.module)}, ${JSON.stringify(names[0])}), …args).`
          : (this.#notExportedMessage ?? `fork(): ${this.#spec.module} does not export the function`);
        this.#fail(withCallerStack(new NotExportedError(message), this.#callSite));
        return;
      }
      case 'stream':
        if (this.#kind !== 'unknown') return this.#violation('a second stream message');
        this.#kind = 'stream';
        return;
      case 'yield': {
        if (this.#kind !== 'stream') return this.#violation('a yield before the stream message');
        if (m.index !== this.#received) return this.#violation(`yield ${m.index} came after yield ${this.#received - 1}`);
        if (this.#lastAllowed !== null && m.index >= this.#lastAllowed) {
          return this.#violation(`yield ${m.index} is past the ${this.#lastAllowed} values it was allowed`);
        }
        let value: Y;
        try {
          value = decodeValue(m.value, this.#link?.context) as Y;
        } catch (e) {
          return this.#violation(`undecodable yield: ${(e as Error).message}`);
        }
        this.#received++;
        // The consumer left: the child is ending its iterator; what it still sends is not wanted.
        if (this.#iterator !== 'done') this.#buffer.push(value);
        this.#updateAllowance();
        this.#wake();
        return;
      }
      case 'return': {
        this.#childDone = true;
        let value: R;
        try {
          value = decodeValue(m.value, this.#link?.context) as R;
        } catch (e) {
          return this.#violation(`undecodable result: ${(e as Error).message}`);
        }
        if (this.#kind === 'unknown') this.#kind = 'value';
        this.#succeed(value);
        return;
      }
      case 'throw':
        this.#childDone = true;
        this.#fail(errorFromWire(m.error, callerStack(this.#callSite)));
        return;
    }
  }

  /**
   * The child broke the protocol (a yield past its credit, a malformed or unexpected message):
   * nothing more is read from it, the Forked rejects with ProtocolError (values received before
   * stay readable), and the child is killed.
   */
  #violation(what: string): void {
    this.#childDone = true;
    const err = new ProtocolError('BAD_MESSAGE', `${this.name} (pid ${this.pid ?? '?'}) broke the fork protocol: ${what}; the child was stopped`);
    this.#fail(withCallerStack(err, this.#callSite));
    if (this.#exitInfo === undefined) this.process?.kill('SIGKILL');
  }

  #onExit(info: ExitInfo): void {
    if (this.#exitInfo) return;
    this.#exitInfo = info;
    clearTimeout(this.#timeoutTimer);
    if (!this.#final) this.#fail(this.#deathError(info));
    this.#link?.closed();
    this.#resolveExit(info);
    this.#wake();
  }

  #deathError(info: ExitInfo): Error {
    const who = `${this.name} (pid ${this.pid ?? '?'})`;
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    const extra = { exitCode: info.code, signal: info.signal };
    if (this.#stopReason?.kind === 'timeout') {
      return Object.assign(new TimeoutError(`${who} did not finish within its timeout and was stopped (${how})`), extra);
    }
    const why = this.#stopReason?.kind === 'kill' ? ` after kill(${this.#stopReason.signal})` : '';
    return Object.assign(new ProcessExitedError(`${who} ${how}${why} before returning a result`), extra);
  }

  #succeed(value: R): void {
    if (this.#final) return;
    this.#final = { ok: true, value };
    this.#settleResult.resolve(value);
    this.#wake();
  }

  #fail(error: Error): void {
    if (this.#final) return;
    this.#final = { ok: false, error };
    this.#settleResult.reject(error);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #stop(kind: 'timeout' | 'kill', signal: NodeJS.Signals): void {
    const child = this.process;
    if (!child || this.#exitInfo) return;
    this.#stopReason ??= { kind, signal };
    child.kill(signal);
    if (signal !== 'SIGKILL') {
      const t = setTimeout(() => {
        if (!this.#exitInfo) child.kill('SIGKILL');
      }, KILL_GRACE_MS);
      t.unref();
    }
  }

  /** Someone waits on the child: a daemon child now keeps this process alive until it ends. */
  #interest(): void {
    if (this.#interested) return;
    this.#interested = true;
    const child = this.process;
    if (child && this.#daemon && !this.#exitInfo) {
      child.ref();
      child.channel?.ref();
    }
  }
}

/** Where fork() was called, without fork's own frames. */
function callerStack(site: Error): string | undefined {
  const stack = site.stack;
  if (!stack) return undefined;
  return stack
    .split('\n')
    .filter((line, i) => i === 0 || !line.includes(__filename))
    .join('\n');
}

/** A local error whose stack is where fork() was called (the child's frames would say nothing). */
function withCallerStack<E extends Error>(err: E, site: Error): E {
  const frames = (callerStack(site) ?? '').split('\n').slice(1);
  err.stack = [`${err.name}: ${err.message}`, ...frames].join('\n');
  return err;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveDaemons) {
      try {
        child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
    }
  });
}
