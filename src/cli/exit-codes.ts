/**
 * Exit codes (docs/cli.md) and which one an error means. Scripts branch on these, so they are
 * few and stable:
 *   0 success · 1 the remote operation threw · 2 usage or syntax error ·
 *   3 no host listening / connection failed · 4 timeout · 5 no such member (unless --allow-missing)
 */
import { AddressError, HostUnavailableError, MissingMemberError, ProtocolError, RemoteObjError, SshError, TimeoutError, TlsRefusedError } from '../errors';
import { ExprSyntaxError } from './grammar';

export const EXIT = {
  OK: 0,
  REMOTE: 1,
  USAGE: 2,
  UNAVAILABLE: 3,
  TIMEOUT: 4,
  MISSING: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake on the command line: unknown command or option, missing argument, bad number. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` would have helped. */
    readonly command?: string,
  ) {
    super(message);
  }
  override get name(): string {
    return 'UsageError';
  }
}

/** Errors of the operating system when reaching a socket (permissions, not a socket, ...). */
const CONNECT_ERRNOS = new Set(['EACCES', 'EPERM', 'ENOTSOCK', 'ENOTDIR', 'ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** True when the error was raised on the host and carried back (it has the host's `origin`). */
export function isFromHost(err: unknown): boolean {
  return err instanceof Error && (err as { origin?: unknown }).origin !== undefined;
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof ExprSyntaxError || err instanceof AddressError) return EXIT.USAGE;
  // A TLS refusal comes from the host (it says why), but it is a failure to connect.
  if (err instanceof HostUnavailableError || err instanceof TlsRefusedError || err instanceof SshError) return EXIT.UNAVAILABLE;
  if (err instanceof MissingMemberError) return EXIT.MISSING;
  if (isFromHost(err)) return EXIT.REMOTE;
  if (err instanceof TimeoutError) return EXIT.TIMEOUT;
  // Not from the host: the hello was wrong (not a remoteobj host, another protocol version).
  if (err instanceof ProtocolError) return EXIT.UNAVAILABLE;
  if (err instanceof RemoteObjError) return EXIT.REMOTE;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && CONNECT_ERRNOS.has(code)) return EXIT.UNAVAILABLE;
  return EXIT.REMOTE;
}
