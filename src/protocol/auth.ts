/**
 * Shared-secret authentication: a mutual HMAC-SHA256 challenge, so that neither side learns
 * anything from a wrong guess and a client never talks to a host that does not know the secret,
 * bound to the session that follows, so that nobody without the secret can take part in it.
 *
 *   host → client  hello  {"auth": {"method": "hmac-sha256-lines", "nonce": N1}}
 *   client → host  {"kind": "auth", "method": "hmac-sha256-lines", "digest": D1, "nonce": N2}
 *   host → client  {"kind": "auth", "ok": true, "digest": D2}
 *
 *   D1 = HMAC(secret, "remoteobj-auth-v2 client " + N1 + " " + N2)
 *   D2 = HMAC(secret, "remoteobj-auth-v2 host " + N1 + " " + N2)
 *   client's line key = HMAC(secret, "remoteobj-lines-v2 client " + N1 + " " + N2)
 *   host's line key   = HMAC(secret, "remoteobj-lines-v2 host " + N1 + " " + N2)
 *
 * HMAC is HMAC-SHA256; digests, nonces and line keys are lowercase hex, nonces 32 random bytes;
 * the keys never cross the wire (line-auth.ts keys its HMACs with their 64 hex digits and
 * authenticates every later line with them). Digests are compared in constant time.
 *
 * Why both nonces everywhere: the first version proved each side with one nonce and stopped
 * there, so a relay with no secret could pass the handshake through byte for byte and then send
 * requests of its own. Keys from both nonces are fresh per connection, and are known only to
 * the two ends that know the secret.
 *
 * Over TLS 1.3 the host's hello adds `"binding": "tls-exporter"`, and a client that reads it
 * answers with the method "hmac-sha256-tls-exporter" instead:
 *
 *   D1 = HMAC(secret, "remoteobj-auth-v3 client " + N1 + " " + N2 + " " + B)
 *   D2 = HMAC(secret, "remoteobj-auth-v3 host " + N1 + " " + N2 + " " + B)
 *
 * where B is the connection's tls-exporter channel binding (RFC 9266: 32 bytes exported with the
 * label "EXPORTER-Channel-Binding" and no context) as lowercase hex. Both ends of one TLS
 * connection export the same B, and a relay that terminates TLS has a different one on each of
 * its two connections, so a proof made on one leg is refused on the other. TLS then protects
 * every later byte between the two ends that proved the secret, and the lines carry no mac lines
 * (a MAC of our own under TLS's would only repeat its work; its cost: docs/performance.md).
 * TLS 1.2 gets no binding (without the extended master secret its exporter is not unique to the
 * connection: the triple handshake attack), and neither does a client that does not know it: the
 * lines method stays for both. A relay that strips the hello's `binding` only takes the session
 * back to the lines method, which it cannot take part in either.
 */
import crypto from 'node:crypto';

export const AUTH_METHOD = 'hmac-sha256-lines';
/** The method bound to the TLS connection (above): no mac lines after it. */
export const AUTH_METHOD_TLS = 'hmac-sha256-tls-exporter';
/** The hello's `binding` when the host offers AUTH_METHOD_TLS. */
export const TLS_BINDING = 'tls-exporter';
/** Longest line a host reads before a client has authenticated. */
export const MAX_PRE_AUTH_BYTES = 1024;

export type Secret = string | Buffer;

export function newNonce(): string {
  return crypto.randomBytes(32).toString('hex');
}

/**
 * The proof one side gives that it knows the secret, bound to both nonces and, for
 * AUTH_METHOD_TLS, to the connection's channel binding (lowercase hex).
 */
export function authDigest(secret: Secret, side: 'client' | 'host', hostNonce: string, clientNonce: string, binding?: string): string {
  const text = binding === undefined ? `remoteobj-auth-v2 ${side} ${hostNonce} ${clientNonce}` : `remoteobj-auth-v3 ${side} ${hostNonce} ${clientNonce} ${binding}`;
  return crypto.createHmac('sha256', secret).update(text).digest('hex');
}

/** The keys that authenticate the lines each side sends after the handshake, as 64 lowercase hex digits. */
export interface LineKeys {
  /** For the lines the client sends. */
  client: string;
  /** For the lines the host sends. */
  host: string;
}

export function lineKeys(secret: Secret, hostNonce: string, clientNonce: string): LineKeys {
  const key = (side: string) => crypto.createHmac('sha256', secret).update(`remoteobj-lines-v2 ${side} ${hostNonce} ${clientNonce}`).digest('hex');
  return { client: key('client'), host: key('host') };
}

/** Constant-time comparison of two hex digests (false for anything malformed). */
export function digestsMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length || !/^[0-9a-f]+$/.test(given)) return false;
  return crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}
