/**
 * fork(fn, ...args): run an exported function in a child process and get back what it returns,
 * what it yields and what it throws, as if it were a local call. Options go through
 * `fork.with({...})(fn, ...args)`, so they never collide with the function's own arguments.
 * docs/process.md has the whole story; messages.ts the wire.
 */
import { type ChildProcess, fork as forkProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessExitedError, TimeoutError } from '../errors';
import { type Except, findExcepts, lendExcept, reviveExcepts } from '../except/except';
import { decode, encode, type Json } from '../protocol/codec';
import { errorFromWire } from '../protocol/error-wire';
import { planLaunch } from './launch';
import { locateFunction } from './locate';
import { isProtocolMessage, type TargetSpec, type ToChild, type ToParent } from './messages';
import { loadingTarget, nextNumber } from './state';
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
  /** Where the child finds the function. */
  readonly target: Readonly<TargetSpec>;
  /** The child process (undefined only if it could not be started). */
  readonly process?: ChildProcess;

  private readonly resultPromise: Promise<R>;
  // Method syntax: parameters stay bivariant, so a Forked<never> is still a Forked<unknown>.
  private settleResult!: { resolve(v: R): void; reject(e: Error): void };
  private final?: Final<R>;
  private exitInfo?: ExitInfo;
  private readonly exitPromise: Promise<ExitInfo>;
  private resolveExit!: (e: ExitInfo) => void;
  private readonly highWaterMark: number;
  private readonly daemon: boolean;
  private readonly callSite: Error;
  private readonly releases: (() => void)[] = [];

  private started = false;
  private kind: 'unknown' | 'value' | 'stream' = 'unknown';
  private readonly buffer: Y[] = [];
  private consumed = 0;
  private iterator: 'none' | 'active' | 'done' = 'none';
  /** Back-pressure applies while someone iterates and nobody asked to run to the end. */
  private lifted = false;
  private lastAllowed: number | null = null;
  private waiters: (() => void)[] = [];
  private errorDelivered = false;
  private interested = false;
  private stopReason?: { kind: 'timeout' | 'kill'; signal: NodeJS.Signals };
  private timeoutTimer?: NodeJS.Timeout;

  /** @internal use fork() */
  constructor(target: AnyFn | ExportRef, args: unknown[], options: ForkOptions) {
    markLibraryOwned(this);
    this.callSite = new Error();
    this.resultPromise = new Promise<R>((resolve, reject) => {
      this.settleResult = { resolve, reject };
    });
    // Never an unhandled rejection: the error reaches whoever reads result, join(), the iterator or the dispose.
    this.resultPromise.catch(() => {});
    this.exitPromise = new Promise<ExitInfo>((resolve) => (this.resolveExit = resolve));

    let spec: TargetSpec;
    if (isExportRef(target)) {
      spec = target[REF];
    } else if (typeof target !== 'function') {
      throw new TypeError(`fork(): the target must be a function or fork.ref(module, name), got ${target === null ? 'null' : typeof target}`);
    } else {
      spec = locateFunction(target);
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
    this.target = Object.freeze({ ...spec });
    // An arrow assigned to `exports.mul` has no name of its own: its export name is the next best.
    const baseName = isExportRef(target) ? target.name : target.name || spec.exportName || 'fork';
    this.name = options.name ?? `${baseName}-${nextNumber()}`;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.daemon = options.daemon ?? true;

    // Encode now, so a value that cannot travel fails here, at the call.
    const lent = [...findExcepts(args)].map((e: Except) => lendExcept(e));
    for (const l of lent) this.releases.push(l.release);
    let encodedArgs: Json;
    let plan: ReturnType<typeof planLaunch>;
    try {
      encodedArgs = encode(args, 'args');
      plan = planLaunch(spec, { execArgv: options.execArgv, env: options.env, cwd: options.cwd, daemon: this.daemon });
    } catch (e) {
      this.release();
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
    this.watch(child, plan);
    if (this.daemon) {
      liveDaemons.add(child);
      installExitHook();
      child.unref();
      child.channel?.unref();
    }
    if (options.timeout !== undefined) {
      this.timeoutTimer = setTimeout(() => this.stop('timeout', 'SIGTERM'), options.timeout);
      this.timeoutTimer.unref();
    }
    Promise.all(lent.map((l) => l.ready)).then(
      () => this.sendStart(encodedArgs),
      (e: Error) => {
        this.fail(new Error(`fork(): an Except argument could not listen: ${e.message}`, { cause: e }));
        child.kill('SIGKILL');
      },
    );
  }

  /** The child's pid (undefined if it could not be started). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The exit code once the child has exited (null while it runs, or when a signal ended it). */
  get exitCode(): number | null {
    return this.exitInfo?.code ?? null;
  }

  /** The signal that ended the child, if one did. */
  get signalCode(): NodeJS.Signals | null {
    return this.exitInfo?.signal ?? null;
  }

  /** True until the child process has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /**
   * What the function returned (for a generator: its return value), once the child has
   * returned; rejects with the child's error, or with an error saying how the child died.
   */
  get result(): Promise<R> {
    this.errorDelivered = true;
    this.interest();
    return this.resultPromise;
  }

  /** Resolves once the child process has exited (never rejects). */
  get exited(): Promise<ExitInfo> {
    this.interest();
    return this.exitPromise;
  }

  /**
   * Wait for the child to finish and exit, then give its result (or throw its error). Lets the
   * child run to the end: values nobody has read yet are kept for a later `for await`.
   * With `timeout`, rejects with TimeoutError if it takes longer (the child keeps running).
   */
  async join(options: { timeout?: number } = {}): Promise<R> {
    this.errorDelivered = true;
    this.runToEnd();
    const done = Promise.all([this.resultPromise.catch(() => {}), this.exitPromise]);
    if (options.timeout !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.timeout)));
      const r = await Promise.race([done, late]);
      clearTimeout(timer);
      if (r === 'late') throw new TimeoutError(`${this.name} did not finish within ${options.timeout} ms (it is still running)`);
    } else {
      await done;
    }
    return this.resultPromise;
  }

  /** Send a signal (default SIGTERM); resolves once the child has exited. `result` rejects, naming the signal. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    this.errorDelivered = true;
    this.interest();
    if (this.exitInfo === undefined) this.stop('kill', signal);
    return this.exitPromise;
  }

  /** Leaving `await using p = fork(...)`: wait for the child; throw its error if nobody has seen it yet. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.runToEnd();
    await Promise.all([this.resultPromise.catch(() => {}), this.exitPromise]);
    const f = this.final;
    if (f && !f.ok && !this.errorDelivered) {
      this.errorDelivered = true;
      throw f.error;
    }
  }

  /**
   * The values the child yields, as it yields them; then the iteration ends (its return value
   * is the generator's), or throws the child's error. Readable once. Breaking out of the loop
   * ends the child's iterator (its finally blocks run) and the child returns.
   */
  [Symbol.asyncIterator](): AsyncIterator<Y, R> {
    if (this.iterator !== 'none') throw new TypeError(`${this.name}: its values can be read only once`);
    this.iterator = 'active';
    this.interest();
    this.updateAllowance();
    return {
      next: () => this.nextValue(),
      return: async (value?: unknown) => {
        this.finishIterating(true);
        return { done: true, value: value as R };
      },
    };
  }

  private async nextValue(): Promise<IteratorResult<Y, R>> {
    for (;;) {
      if (this.iterator === 'done') return { done: true, value: undefined as R };
      if (this.buffer.length) {
        const value = this.buffer.shift()!;
        this.consumed++;
        this.updateAllowance();
        return { done: false, value };
      }
      const f = this.final;
      if (f) {
        this.finishIterating(false);
        if (!f.ok) {
          this.errorDelivered = true;
          throw f.error;
        }
        if (this.kind !== 'stream') {
          throw new TypeError(`${this.name} returned a value, not a stream of values: read it with \`await p.result\``);
        }
        return { done: true, value: f.value };
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private finishIterating(early: boolean): void {
    if (this.iterator !== 'active') return;
    this.iterator = 'done';
    if (early && !this.final) {
      // The consumer left: the rest is not wanted; let the child end its iterator.
      this.buffer.length = 0;
      this.sendToChild({ ro: 1, t: 'stop' });
    }
  }

  /** Back-pressure off: join(), dispose, or nobody iterating. */
  private runToEnd(): void {
    this.interest();
    this.lifted = true;
    this.updateAllowance();
  }

  private allowance(): number | null {
    return this.iterator === 'active' && !this.lifted ? this.consumed + this.highWaterMark : null;
  }

  private updateAllowance(): void {
    if (!this.started || this.final) return;
    const upTo = this.allowance();
    if (upTo === this.lastAllowed) return;
    // Grant in batches of half the window, not one message per value read.
    if (upTo !== null && this.lastAllowed !== null && upTo > this.lastAllowed && upTo - this.lastAllowed < Math.ceil(this.highWaterMark / 2)) return;
    this.lastAllowed = upTo;
    this.sendToChild({ ro: 1, t: 'allow', upTo });
  }

  private sendStart(args: Json): void {
    if (this.exitInfo || this.final) return;
    this.started = true;
    this.lastAllowed = this.allowance();
    this.sendToChild({ ro: 1, t: 'start', name: this.name, target: this.target, args, upTo: this.lastAllowed });
  }

  private sendToChild(msg: ToChild): void {
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

  private watch(child: ChildProcess, plan: { cwd?: string }): void {
    let exited: ExitInfo | undefined;
    let channelClosed = !child.connected;
    const finish = () => {
      if (!exited || !channelClosed) return;
      // Every message the child sent has been read by now: the channel is drained before it closes.
      this.onExit(exited);
    };
    child.on('message', (m: unknown) => {
      if (isProtocolMessage(m)) this.onMessage(m as ToParent);
    });
    child.once('disconnect', () => {
      channelClosed = true;
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
        this.fail(new Error(`fork(): could not start a child process for ${this.name}${where}: ${e.message}`, { cause: e }));
        this.onExit({ code: null, signal: null });
      }
    });
  }

  private onMessage(m: ToParent): void {
    try {
      switch (m.t) {
        case 'stream':
          this.kind = 'stream';
          return;
        case 'yield':
          this.buffer.push(reviveExcepts(decode(m.value)) as Y);
          this.wake();
          return;
        case 'return':
          if (this.kind === 'unknown') this.kind = 'value';
          this.succeed(reviveExcepts(decode(m.value)) as R);
          return;
        case 'throw':
          this.fail(errorFromWire(m.error, callerStack(this.callSite)));
          return;
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private onExit(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    clearTimeout(this.timeoutTimer);
    if (!this.final) this.fail(this.deathError(info));
    this.release();
    this.resolveExit(info);
    this.wake();
  }

  private deathError(info: ExitInfo): Error {
    const who = `${this.name} (pid ${this.pid ?? '?'})`;
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    const extra = { exitCode: info.code, signal: info.signal };
    if (this.stopReason?.kind === 'timeout') {
      return Object.assign(new TimeoutError(`${who} did not finish within its timeout and was stopped (${how})`), extra);
    }
    const why = this.stopReason?.kind === 'kill' ? ` after kill(${this.stopReason.signal})` : '';
    return Object.assign(new ProcessExitedError(`${who} ${how}${why} before returning a result`), extra);
  }

  private succeed(value: R): void {
    if (this.final) return;
    this.final = { ok: true, value };
    this.settleResult.resolve(value);
    this.wake();
  }

  private fail(error: Error): void {
    if (this.final) return;
    this.final = { ok: false, error };
    this.settleResult.reject(error);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private stop(kind: 'timeout' | 'kill', signal: NodeJS.Signals): void {
    const child = this.process;
    if (!child || this.exitInfo) return;
    this.stopReason ??= { kind, signal };
    child.kill(signal);
    if (signal !== 'SIGKILL') {
      const t = setTimeout(() => {
        if (!this.exitInfo) child.kill('SIGKILL');
      }, KILL_GRACE_MS);
      t.unref();
    }
  }

  /** Someone waits on the child: a daemon child now keeps this process alive until it ends. */
  private interest(): void {
    if (this.interested) return;
    this.interested = true;
    const child = this.process;
    if (child && this.daemon && !this.exitInfo) {
      child.ref();
      child.channel?.ref();
    }
  }

  private release(): void {
    for (const r of this.releases.splice(0)) r();
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
