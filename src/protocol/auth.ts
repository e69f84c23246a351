/**
 * Shared-secret authentication: a mutual HMAC-SHA256 challenge, so that neither side learns
 * anything from a wrong guess and a client never talks to a host that does not know the secret,
 * and keys for the session that follows, so that nobody without the secret can take part in it
 * (line-auth.ts authenticates every later line with them).
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
 * the keys never cross the wire (line-auth.ts keys its HMACs with their 64 hex digits). Digests
 * are compared in constant time.
 *
 * Why both nonces everywhere: the first version proved each side with one nonce and stopped
 * there, so a relay with no secret could pass the handshake through byte for byte and then send
 * requests of its own. Keys from both nonces are fresh per connection, and are known only to
 * the two ends that know the secret.
 */
import crypto from 'node:crypto';

export const AUTH_METHOD = 'hmac-sha256-lines';
/** Longest line a host reads before a client has authenticated. */
export const MAX_PRE_AUTH_BYTES = 1024;

export type Secret = string | Buffer;

export function newNonce(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** The proof one side gives that it knows the secret, bound to both nonces. */
export function authDigest(secret: Secret, side: 'client' | 'host', hostNonce: string, clientNonce: string): string {
  return crypto.createHmac('sha256', secret).update(`remoteobj-auth-v2 ${side} ${hostNonce} ${clientNonce}`).digest('hex');
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
