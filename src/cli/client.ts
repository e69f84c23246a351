/**
 * One command, one connection, one request: open, send exactly the parsed op chain, close.
 * `--timeout` bounds the whole thing (connect + hello + reply).
 */
import { Connection, type Result } from '../client/connection';
import type { Op } from '../protocol/messages';
import { wireOps } from '../protocol/wire';
import { checkSocketPath } from '../transport/socket-path';
import { UsageError } from './exit-codes';
import type { Io } from './io';

/** How long to wait for a host's hello when no --timeout is given. */
export const DEFAULT_CONNECT_MS = 5000;

export interface RequestOptions {
  /** Overall limit in ms (Infinity or undefined: none, except the connect limit). */
  timeoutMs?: number;
  verbose: boolean;
  io: Io;
  command: string;
  /** A member that does not exist is an error (MissingMemberError, exit 5), not undefined. */
  strict?: boolean;
}

/** A socket path the OS would reject or truncate is a usage error, found before connecting. */
export function checkPath(socketPath: string, command: string): void {
  try {
    checkSocketPath(socketPath);
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
}

export async function sendChain(socketPath: string, ops: Op[], opts: RequestOptions): Promise<Result> {
  checkPath(socketPath, opts.command);
  const limited = opts.timeoutMs !== undefined && Number.isFinite(opts.timeoutMs);
  const started = Date.now();
  const conn = await Connection.open(socketPath, {
    connectTimeout: limited ? opts.timeoutMs : DEFAULT_CONNECT_MS,
    captureStack: false,
    localBypass: false,
  });
  try {
    if (opts.verbose) {
      opts.io.stderr.write(`remoteobj: connected to pid ${conn.hostPid} at ${conn.path}\n`);
      opts.io.stderr.write(`remoteobj: sending ops ${JSON.stringify(wireOps(ops))}\n`);
    }
    const remaining = limited ? Math.max(1, opts.timeoutMs! - (Date.now() - started)) : undefined;
    const result = await conn.request(ops, { timeout: remaining, strict: opts.strict });
    if (opts.verbose) opts.io.stderr.write(`remoteobj: reply ${result.kind} after ${Date.now() - started} ms\n`);
    return result;
  } finally {
    await conn.close();
  }
}
