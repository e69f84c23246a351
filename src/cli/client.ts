/**
 * One command, one connection, one request: open, send exactly the parsed op chain, close.
 * `--timeout` bounds the whole thing (connect + hello + reply).
 */
import { Connection, type Result } from '../client/connection';
import type { Op } from '../protocol/wire-types';
import { wireOps } from '../protocol/wire';
import { parseAddress } from '../transport/address';
import { UsageError } from './exit-codes';
import type { Io } from './io';
import { forAddress, transportOptions } from './transport-options';

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

/** An address that is not one (docs/transports.md), or a socket path the OS would reject or truncate, is a usage error, found before connecting. */
export function checkPath(socketPath: string, command: string): void {
  try {
    parseAddress(socketPath);
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
    ...cliTransport(socketPath, opts.command),
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

/** The secret, TLS files and ssh command the environment gives for this address (transport-options.ts). */
export function cliTransport(address: string, command: string) {
  return forAddress(address, transportOptions(command));
}
