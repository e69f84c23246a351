/**
 * Addresses: the one syntax serve(), connect(), waitUntilListening() and the CLI accept, parsed
 * into a typed Address before anything is opened, so a mistyped address is a clear AddressError
 * and never a socket file named "127.0.0.1:7777" in the working directory.
 *
 *   /run/app.sock, ./app.sock, unix:PATH      a Unix socket (0600, this machine)
 *   \\.\pipe\NAME                             a Windows named pipe
 *   tls://HOST:PORT                           TLS, mutual certificates by default (tls.ts)
 *   tcp://HOST:PORT                           plain TCP, loopback only and only with a secret (tcp.ts)
 *   ssh://[USER@]HOST[:PORT]/PATH/TO.sock     client side: the system's ssh runs
 *                                             `remoteobj dial-stdio /PATH/TO.sock` there (ssh.ts)
 *
 * What needs options (a secret, certificates) is checked by checkAddressOptions, also before
 * anything is opened.
 */
import net from 'node:net';
import path from 'node:path';
import { AddressError } from '../errors';
import { checkSocketPath, isWindowsPipe, networkAddressKind } from './socket-path';

export type Address =
  | { kind: 'unix'; path: string }
  | { kind: 'pipe'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tls'; host: string; port: number }
  | { kind: 'ssh'; user?: string; host: string; port?: number; path: string };

export type AddressKind = Address['kind'];

const SCHEMES = 'a path, unix:PATH, \\\\.\\pipe\\NAME, tls://HOST:PORT, tcp://127.0.0.1:PORT (with a secret) or ssh://[USER@]HOST[:PORT]/PATH';

/**
 * Parse `text` into an Address. Paths are resolved against the working directory (as a socket
 * path always was). Throws AddressError for anything that is not one of the forms above, with a
 * message that says which form was probably meant.
 */
export function parseAddress(text: string): Address {
  if (typeof text !== 'string' || text.length === 0) throw new AddressError('an address must be a non-empty string', String(text));
  if (isWindowsPipe(text)) return { kind: 'pipe', path: text };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'tcp' || scheme === 'tls') return hostPort(scheme, text);
  if (scheme === 'ssh') return sshAddress(text);
  if (scheme === 'unix') return unixPath(text, text.slice('unix://'.length));
  if (scheme !== undefined) throw new AddressError(`${JSON.stringify(text)}: unknown scheme "${scheme}://"; an address is ${SCHEMES}`, text);
  if (/^unix:/i.test(text)) return unixPath(text, text.slice('unix:'.length));
  const network = networkAddressKind(text);
  if (network !== undefined) throw new AddressError(misread(text, network), text);
  return unixPath(text, text);
}

function unixPath(text: string, p: string): Address {
  if (p.length === 0) throw new AddressError(`${JSON.stringify(text)}: unix: needs a path`, text);
  if (isWindowsPipe(p)) return { kind: 'pipe', path: p };
  // A path the OS would truncate or refuse stays the RangeError/TypeError it always was.
  checkSocketPath(p.includes(':') && !path.isAbsolute(p) ? `./${p}` : p);
  return { kind: 'unix', path: path.resolve(p) };
}

/** What `text` (not a path) was probably meant to be, as an error message. */
function misread(text: string, kind: string): string {
  const file = ` (for a socket file of that name, write ./${text})`;
  if (kind === 'a host:port address' || kind === 'an IPv6 address') {
    const hp = kind === 'an IPv6 address' ? `[${text}]:PORT` : text;
    return (
      `${JSON.stringify(text)} looks like ${kind}, not a socket path: write tls://${hp} (certificates), ` +
      `tcp://${hp} (loopback only, with a secret) or use ssh://HOST/PATH${kind === 'an IPv6 address' ? '' : file}`
    );
  }
  const m = /^(?:([^@/\\]+)@)?([^:/\\]+):(.*)$/.exec(text);
  const suggestion = m ? `ssh://${m[1] ? `${m[1]}@` : ''}${m[2]}${m[3]!.startsWith('/') ? '' : '/~/'}${m[3]}` : 'ssh://[USER@]HOST/PATH';
  return `${JSON.stringify(text)} looks like ${kind}, not a socket path: write ${suggestion}${file}`;
}

/** tcp:// and tls://: HOST:PORT and nothing else (no user, path, query). */
function hostPort(scheme: 'tcp' | 'tls', text: string): Address {
  const m = /^[A-Za-z]+:\/\/(\[[0-9A-Fa-f:.]+\]|[^/:@?#[\]\s]+):(\d{1,5})\/?$/.exec(text);
  if (!m) throw new AddressError(`${JSON.stringify(text)}: a ${scheme}:// address is ${scheme}://HOST:PORT (IPv6 in brackets: ${scheme}://[::1]:PORT)`, text);
  const host = unbracket(m[1]!);
  const port = Number(m[2]);
  if (port > 65535) throw new AddressError(`${JSON.stringify(text)}: port ${port} is over 65535`, text);
  checkHostName(text, host);
  if (scheme === 'tcp' && !isLoopback(host)) {
    throw new AddressError(
      `${JSON.stringify(text)}: plain tcp:// carries everything in clear, so it is only for loopback addresses (127.0.0.1, ::1, localhost) ` +
        `with a secret; to reach another machine use tls://${m[1]}:${port} (certificates) or ssh://${m[1]}/PATH/TO.sock (OpenSSH)`,
      text,
    );
  }
  return { kind: scheme, host, port };
}

/** ssh://[USER@]HOST[:PORT]/PATH: the path is the socket on the far machine (`/~/x.sock`: under the remote home). */
function sshAddress(text: string): Address {
  const m = /^[A-Za-z]+:\/\/(?:([^@/\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^/:@?#[\]\s]+)(?::(\d{1,5}))?(\/[^?#]*)?$/.exec(text);
  if (!m) throw new AddressError(`${JSON.stringify(text)}: an ssh:// address is ssh://[USER@]HOST[:PORT]/PATH/TO.sock`, text);
  const [, user, rawHost, rawPort, rawPath] = m;
  if (rawPath === undefined || rawPath === '/') {
    throw new AddressError(`${JSON.stringify(text)}: an ssh:// address names the socket on the far machine: ssh://HOST/PATH/TO.sock`, text);
  }
  const host = unbracket(rawHost!);
  checkHostName(text, host);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch (e) {
    throw new AddressError(`${JSON.stringify(text)}: bad %-escape in the path`, text, { cause: e });
  }
  const remotePath = decoded.startsWith('/~/') ? decoded.slice(1) : decoded;
  if (remotePath.includes('\0') || /[\r\n]/.test(remotePath)) throw new AddressError(`${JSON.stringify(text)}: the path has a NUL or line break`, text);
  let userName: string | undefined;
  if (user !== undefined) {
    userName = decodeURIComponent(user);
    // ssh would read "-oProxyCommand=..." as an option, whatever we put before it.
    if (!/^[\w][\w.-]*$/.test(userName)) throw new AddressError(`${JSON.stringify(text)}: user name ${JSON.stringify(userName)} is not a plain name`, text);
  }
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) throw new AddressError(`${JSON.stringify(text)}: port ${port} is not 1-65535`, text);
  return { kind: 'ssh', ...(userName !== undefined && { user: userName }), host, ...(port !== undefined && { port }), path: remotePath };
}

function unbracket(h: string): string {
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

/** A host name or IP address: never something ssh or a resolver would read as an option or a pattern. */
function checkHostName(text: string, host: string): void {
  if (net.isIP(host) !== 0) return;
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/.test(host) || host.includes('..')) {
    throw new AddressError(`${JSON.stringify(text)}: ${JSON.stringify(host)} is not a host name or IP address`, text);
  }
}

/** 127.0.0.0/8, ::1, ::ffff:127.x, or the name localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/** The canonical text of an address: for messages, error origins, Host.path and the local bypass's registry. */
export function formatAddress(a: Address): string {
  switch (a.kind) {
    case 'unix':
    case 'pipe':
      return a.path;
    case 'tcp':
    case 'tls':
      return `${a.kind}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
    case 'ssh': {
      const remote = a.path.startsWith('~/') ? `/${a.path}` : a.path;
      return `ssh://${a.user ? `${a.user}@` : ''}${a.host.includes(':') ? `[${a.host}]` : a.host}${a.port ? `:${a.port}` : ''}${encodeURI(remote)}`;
    }
  }
}

/** The options that decide whether an address may be used. */
export interface AddressOptions {
  secret?: string | Buffer;
  tls?: { requestCert?: boolean; key?: unknown; cert?: unknown; ca?: unknown };
}

/**
 * Refuse what an address cannot be used for, before anything is opened: serving on ssh://, plain
 * TCP without a secret, TLS without certificates, or a host that would take clients without a
 * client certificate and without a secret.
 */
export function checkAddressOptions(a: Address, side: 'serve' | 'connect', options: AddressOptions, text = formatAddress(a)): void {
  const quoted = JSON.stringify(text);
  if (a.kind === 'ssh' && side === 'serve') {
    throw new AddressError(`${quoted}: ssh:// is for clients; serve on a Unix socket path on that machine and connect with ssh://HOST/PATH`, text);
  }
  if (a.kind === 'tcp' || a.kind === 'tls') {
    if (side === 'connect' && a.port === 0) throw new AddressError(`${quoted}: port 0 is for serve() (any free port); connect to the port the host got`, text);
  }
  if (a.kind === 'tcp' && (options.secret === undefined || options.secret.length === 0)) {
    throw new AddressError(`${quoted}: plain tcp:// needs a secret (the \`secret\` option) on both sides, or use tls:// or ssh://`, text);
  }
  if (a.kind !== 'tls' && options.tls !== undefined) {
    throw new AddressError(`${quoted}: the \`tls\` option is only for tls:// addresses`, text);
  }
  if (a.kind === 'tls') {
    const t = options.tls;
    if (side === 'serve') {
      if (t === undefined) throw new AddressError(`${quoted}: a TLS host needs the \`tls\` option: { key, cert, ca } (see docs/transports.md)`, text);
      if (t.key === undefined || t.cert === undefined) throw new AddressError(`${quoted}: a TLS host needs tls.key and tls.cert`, text);
      if (t.requestCert === false) {
        if (options.secret === undefined) throw new AddressError(`${quoted}: tls.requestCert: false lets anyone connect; it needs a \`secret\``, text);
      } else if (t.ca === undefined) {
        throw new AddressError(`${quoted}: a TLS host needs tls.ca, the CA that signs its clients' certificates (or requestCert: false with a secret)`, text);
      }
    }
  }
}
