/**
 * The TLS transport (Node's `tls`): mutual authentication by default. The host presents its
 * certificate and requires a client certificate signed by the CA it is given; the client checks
 * the host's certificate against its CA and the host's name. Only once both checks pass does the
 * connection reach the host (its hello, then requests), so a refused peer never runs anything.
 * Refusals are TlsRefusedError, with OpenSSL's reason.
 */
import net from 'node:net';
import tls from 'node:tls';
import { TlsRefusedError } from '../errors';
import type { Link } from './link';
import { StreamLink } from './stream-link';
import { dialSocket, listenServer, type NetListener } from './tcp';

/** The `tls` option of serve() and connect(): PEM strings or Buffers, as Node's tls takes them. */
export interface TlsOptions {
  /** This side's private key and certificate (a client's are required unless the host says requestCert: false). */
  key?: string | Buffer;
  cert?: string | Buffer;
  /** Passphrase of `key`, if it is encrypted. */
  passphrase?: string;
  /**
   * The CA certificate(s) to trust: on the host, the CA that signs its clients' certificates; on a
   * client, the CA that signed the host's (default there: Node's bundled public CAs).
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** Host only: false accepts clients without a certificate; allowed only with a `secret`. Default true. */
  requestCert?: boolean;
  /** Client only: the name the host's certificate must carry (default: the address's host). */
  servername?: string;
  /** Lowest TLS version (default Node's, TLSv1.2). */
  minVersion?: tls.SecureVersion;
}

/** How long a TLS handshake may take on the host before the socket is dropped (ms). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Listen with TLS. A client whose certificate does not verify (a foreign CA, expired, none) goes
 * to `refuse` with the reason instead of `accept`: the host tells it why on the link (a refusal
 * line, as for a full host) and closes; Node would otherwise drop it silently, and the client
 * could not tell a refusal from a host that went away.
 */
export function listenTls(
  host: string,
  port: number,
  options: TlsOptions,
  maxLineBytes: number,
  accept: (link: Link) => void,
  refuse: (link: Link, reason: TlsRefusedError) => void,
): Promise<NetListener> {
  const requestCert = options.requestCert !== false;
  const server = tls.createServer({
    key: options.key,
    cert: options.cert,
    passphrase: options.passphrase,
    ca: options.ca,
    minVersion: options.minVersion,
    requestCert,
    // Checked below, so that a refused client is told why.
    rejectUnauthorized: false,
    // Not half-open, unlike the Unix and TCP hosts: a half-open TLS server does not notice a client
    // that hangs up mid-handshake (it refused our certificate) until handshakeTimeout. The
    // library's client never half-closes while it waits for replies.
    allowHalfOpen: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  // A client refused during the handshake (no certificate, a foreign one, expired): it is told by
  // a TLS alert; the host has nothing to do.
  // Destroyed here: Node leaves a socket whose client hung up mid-handshake open, and
  // server.close() would then wait for it forever.
  server.on('tlsClientError', (_e, socket) => socket.destroy());
  return listenServer(server, 'tls', host, port, 'secureConnection', (socket: tls.TLSSocket, address) => {
    socket.setNoDelay(true);
    const link = new StreamLink(socket, address, maxLineBytes, tlsRefusal, () => channelBinding(socket));
    if (!requestCert || socket.authorized) return accept(link);
    const none = Object.keys(socket.getPeerCertificate()).length === 0;
    const code = none ? 'NO_CLIENT_CERTIFICATE' : String((socket.authorizationError as NodeJS.ErrnoException | undefined)?.code ?? socket.authorizationError);
    refuse(link, new TlsRefusedError(code, `the host at ${address} refused this client's certificate (${code}): ${describeClient(code)}`));
  });
}

export function dialTls(host: string, port: number, options: TlsOptions, address: string, signal: AbortSignal, maxLineBytes: number): Promise<Link> {
  return dialSocket(
    () =>
      tls.connect({
        host,
        port,
        key: options.key,
        cert: options.cert,
        passphrase: options.passphrase,
        ca: options.ca,
        minVersion: options.minVersion,
        // SNI takes names only; the certificate is checked against `host` (an IP too) either way.
        servername: options.servername ?? (net.isIP(host) ? undefined : host),
        ...(options.servername !== undefined && {
          checkServerIdentity: (_: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(options.servername!, cert),
        }),
        rejectUnauthorized: true,
      }),
    'secureConnect',
    address,
    signal,
    // With TLS 1.3 the client finishes its handshake before the host has checked the client's
    // certificate: a refusal then arrives as an alert on the open socket, which the link reports
    // as its failure (the connection rejects with it instead of "closed before saying hello").
    (socket) => new StreamLink(socket, address, maxLineBytes, tlsRefusal, () => channelBinding(socket as tls.TLSSocket)),
    tlsRefusal,
  );
}

/**
 * The connection's tls-exporter channel binding (RFC 9266) as lowercase hex, for TLS 1.3 only:
 * under TLS 1.2 the exporter is unique to the connection only with the extended master secret,
 * which Node does not let us check (the triple handshake attack), so a 1.2 connection has none
 * and a secret's handshake keeps authenticating every line itself (protocol/auth.ts).
 */
export function channelBinding(socket: tls.TLSSocket): string | undefined {
  if (socket.getProtocol() !== 'TLSv1.3') return undefined;
  try {
    // An empty context: in TLS 1.3 the same as none (RFC 8446 7.5), as RFC 9266 asks.
    return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex');
  } catch {
    // A socket already torn down (the peer hung up as it connected): no binding, so the
    // handshake falls back to mac lines, and the closed link ends the connection anyway.
    return undefined;
  }
}

/** OpenSSL's verification codes and Node's TLS errors, as a TlsRefusedError; undefined for anything else (a reset, a refused connect). */
export function tlsRefusal(e: Error): Error | undefined {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const tlsLike =
    /^ERR_(SSL|TLS)_/.test(code) ||
    /CERT|ISSUER|SIGNATURE|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|CHAIN/.test(code) ||
    (e as { library?: string }).library === 'SSL routines';
  if (!tlsLike) return undefined;
  return new TlsRefusedError(code || 'TLS', `TLS refused the connection (${code || e.message}): ${describe(code, e)}`, { cause: e });
}

function describeClient(code: string): string {
  if (code === 'NO_CLIENT_CERTIFICATE' || code === 'UNABLE_TO_GET_ISSUER_CERT') return 'a client certificate is required (the `tls` option: key and cert signed by the CA the host trusts)';
  if (code === 'CERT_HAS_EXPIRED') return 'it has expired';
  if (code === 'CERT_NOT_YET_VALID') return 'it is not valid yet';
  return 'it is not signed by the CA the host trusts';
}

function describe(code: string, e: Error): string {
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code)) return 'the host requires a client certificate (the `tls` option: key and cert signed by the CA the host trusts)';
  if (/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE/.test(code)) return 'the host did not accept this client certificate (not signed by the CA it trusts)';
  if (/ALERT_CERTIFICATE_EXPIRED/.test(code)) return 'the host refused this client certificate: it has expired';
  if (code === 'CERT_HAS_EXPIRED') return "the host's certificate has expired";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the host's certificate is not for this name (${e.message})`;
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|ISSUER/.test(code)) return "the host's certificate is not signed by a CA this client trusts (the `tls.ca` option)";
  return e.message;
}
