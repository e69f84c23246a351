/**
 * connect(): open a connection and hand back its root proxy. waitUntilListening(): wait for a
 * host to come up (and fail at once if the process that should start it dies).
 */
import type { ChildProcess } from 'node:child_process';
import { AuthError, NotListeningError, ProcessExitedError, TimeoutError } from '../errors';
import { type ConnectOptions, Connection } from './connection';
import { createRootProxy } from './proxy';
import type { Remote } from './types';

export type { ConnectOptions };

/** Connect to the host at `socketPath`. Rejects with NotListeningError when no host serves it. */
export async function connect<T = any>(socketPath: string, options: ConnectOptions = {}): Promise<Remote<T>> {
  const conn = await Connection.open(socketPath, options);
  return createRootProxy(conn) as Remote<T>;
}

export interface WaitOptions {
  /** Give up after this many ms with TimeoutError (default: wait forever, unless `process` exits). */
  timeout?: number;
  /** A child process that should start the host: if it exits first, reject at once with ProcessExitedError. */
  process?: ChildProcess;
  /** Milliseconds between attempts (default 25, growing to 250). */
  interval?: number;
  /** The host's secret, if it has one (without it, a host asking for one still counts as listening). */
  secret?: string | Buffer;
}

/** Resolve once a host answers on `socketPath` with a valid hello. */
export function waitUntilListening(socketPath: string, options: WaitOptions = {}): Promise<void> {
  const { timeout, process: child } = options;
  let interval = options.interval ?? 25;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      child?.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const exitedError = () =>
      new ProcessExitedError(
        `the process${child?.pid ? ` ${child.pid}` : ''} exited (${child?.signalCode ? `signal ${child.signalCode}` : `code ${child?.exitCode}`}) before a host listened on ${socketPath}`,
      );
    const onExit = () => finish(exitedError());
    if (child) {
      if (child.exitCode !== null || child.signalCode !== null) return finish(exitedError());
      child.once('exit', onExit);
    }
    if (timeout !== undefined) {
      deadline = setTimeout(() => finish(new TimeoutError(`no host listened on ${socketPath} within ${timeout} ms`)), timeout);
    }
    const attempt = () => {
      Connection.open(socketPath, { connectTimeout: 2000, secret: options.secret }).then(
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
