/**
 * connect(): open a connection and hand back its root proxy. waitUntilListening(): wait for a
 * host to come up (and fail at once if the process that should start it dies).
 */
import type { ChildProcess } from 'node:child_process';
import { AuthError, NotListeningError, ProcessExitedError, TimeoutError } from '../errors';
import { type ConnectOptions, Connection, type PortConnectOptions } from './connection';
import { createRootProxy } from './proxy';
import { STDERR_TAIL_LINES, watchStderr } from './stderr-tail';
import type { Remote } from './types';

export type { ConnectOptions, PortConnectOptions };

/**
 * Connect to the host at `address` (a socket path, unix:PATH, tls://, tcp://, ssh://;
 * docs/transports.md). Rejects with NotListeningError when no host serves it.
 * Or to the host at the other end of a message port: `connect({ port })` (docs/transports.md).
 */
export async function connect<T = any>(options: PortConnectOptions): Promise<Remote<T>>;
// The address form last: Parameters<typeof connect> (used by callers' helpers) sees this one.
export async function connect<T = any>(address: string, options?: ConnectOptions): Promise<Remote<T>>;
export async function connect<T = any>(address: string | PortConnectOptions, options: ConnectOptions = {}): Promise<Remote<T>> {
  const conn = typeof address === 'string' ? await Connection.open(address, options) : await Connection.openPort(address);
  return createRootProxy(conn) as Remote<T>;
}

export interface WaitOptions {
  /** Give up after this many ms with TimeoutError (default: wait forever, unless `process` exits). */
  timeout?: number;
  /**
   * A child process that should start the host: if it exits first, reject at once with
   * ProcessExitedError, whose message ends with the last lines of the child's stderr (also in
   * `err.stderr`) when its stderr is a pipe (`stdio[2]: 'pipe'`, spawn's default). A reader of that
   * stderr still gets all of it. With 'inherit', 'ignore' or a file nothing is captured, and the
   * message says so.
   */
  process?: ChildProcess;
  /** Milliseconds between attempts (default 25, growing to 250). */
  interval?: number;
  /** The host's secret, if it has one (without it, a host asking for one still counts as listening). */
  secret?: string | Buffer;
  /** For tls:// and ssh:// addresses, as in connect(). */
  tls?: ConnectOptions['tls'];
  ssh?: ConnectOptions['ssh'];
}

/** Resolve once a host answers on `socketPath` with a valid hello. */
export function waitUntilListening(socketPath: string, options: WaitOptions = {}): Promise<void> {
  const { timeout, process: child } = options;
  let interval = options.interval ?? 25;
  // One attempt over ssh starts ssh and remoteobj on the far side: seconds on a busy machine.
  const attemptMs = /^ssh:\/\//i.test(socketPath) ? 30_000 : 2000;
  return new Promise<void>((resolve, reject) => {
    // An exited child's unread stderr has been dropped by Node already: it may have written something all the same.
    const exitedBefore = child !== undefined && (child.exitCode !== null || child.signalCode !== null);
    const stderr = child ? watchStderr(child) : undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      child?.off('exit', onExit);
      stderr?.stop();
      if (err) reject(err);
      else resolve();
    };
    const exitedError = (lines: string | undefined) => {
      const base = `the process${child?.pid ? ` ${child.pid}` : ''} exited (${child?.signalCode ? `signal ${child.signalCode}` : `code ${child?.exitCode}`}) before a host listened on ${socketPath}`;
      const err = new ProcessExitedError(`${base}${describeStderr(lines, exitedBefore)}`);
      if (lines !== undefined) err.stderr = lines;
      return err;
    };
    const onExit = () => {
      if (!stderr?.piped) return finish(exitedError(undefined));
      void stderr.finish().then((lines) => finish(exitedError(lines)));
    };
    if (child) {
      if (child.exitCode !== null || child.signalCode !== null) return onExit();
      child.once('exit', onExit);
    }
    if (timeout !== undefined) {
      deadline = setTimeout(() => finish(new TimeoutError(`no host listened on ${socketPath} within ${timeout} ms`)), timeout);
    }
    const attempt = () => {
      Connection.open(socketPath, { connectTimeout: attemptMs, secret: options.secret, tls: options.tls, ssh: options.ssh }).then(
        (conn) => {
          void conn.close();
          finish();
        },
        (e: Error) => {
          if (done) return;
          // A host that asks for a secret we do not have is listening all the same.
          if (e instanceof AuthError && options.secret === undefined) return finish();
          if (!(e instanceof NotListeningError) && !(e instanceof TimeoutError)) return finish(e);
          timer = setTimeout(attempt, interval);
          interval = Math.min(interval * 1.5, 250);
        },
      );
    };
    attempt();
  });
}

function describeStderr(lines: string | undefined, exitedBefore: boolean): string {
  if (lines === undefined) return ` (its stderr is not a pipe, so its last lines are not shown here)`;
  if (lines === '' && exitedBefore) return ' (it had exited before waitUntilListening was called: what its stderr held, if anything, was gone)';
  if (lines === '') return ' (it wrote nothing to its stderr)';
  return `; its stderr ended with (last ${STDERR_TAIL_LINES} lines at most):\n${lines.replace(/^/gm, '  ')}`;
}
