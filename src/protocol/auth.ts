/**
 * Shared-secret authentication: a mutual HMAC-SHA256 challenge, so that neither side learns
 * anything from a wrong guess and a client never talks to a host that does not know the secret.
 *
 *   host → client  hello  {"auth": {"method": "hmac-sha256", "nonce": N1}}
 *   client → host  {"kind": "auth", "method": "hmac-sha256", "digest": HMAC(secret, "remoteobj-auth-v1 client " + N1), "nonce": N2}
 *   host → client  {"kind": "auth", "ok": true, "digest": HMAC(secret, "remoteobj-auth-v1 host " + N2)}
 *
 * Digests and nonces are lowercase hex; nonces are 32 random bytes. Digests are compared in
 * constant time.
 */
import crypto from 'node:crypto';

export const AUTH_METHOD = 'hmac-sha256';
/** Longest line a host reads before a client has authenticated. */
export const MAX_PRE_AUTH_BYTES = 1024;

export type Secret = string | Buffer;

export function newNonce(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function authDigest(secret: Secret, side: 'client' | 'host', nonce: string): string {
  return crypto.createHmac('sha256', secret).update(`remoteobj-auth-v1 ${side} ${nonce}`).digest('hex');
}

/** Constant-time comparison of two hex digests (false for anything malformed). */
export function digestsMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length || !/^[0-9a-f]+$/.test(given)) return false;
  return crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}
