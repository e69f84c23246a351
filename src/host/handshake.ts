/**
 * The host's side of the opening exchange: the hello, and with a secret the mutual HMAC
 * challenge (docs/protocol.md, "Authentication"): check the client's proof, answer with the
 * host's, and derive the keys that authenticate every later line.
 */
import { AuthError } from '../errors';
import { AUTH_METHOD, AUTH_METHOD_TLS, authDigest, digestsMatch, type LineKeys, lineKeys, MAX_PRE_AUTH_BYTES, newNonce, type Secret, TLS_BINDING } from '../protocol/auth';
import { authOkLine, helloLine, readAuthLine } from '../protocol/wire';

export class HostHandshake {
  readonly #secret?: Secret;
  /** The challenge sent in the hello; undefined once answered (or when the host has no secret). */
  #nonce?: string;
  /** The connection's channel binding (TLS 1.3's exporter, as hex), when the transport has one. */
  readonly #binding?: string;

  /** `binding`: the link's channelBinding, asked only with a secret and offered then as AUTH_METHOD_TLS (protocol/auth.ts). */
  constructor(secret: Secret | undefined, binding?: () => string | undefined) {
    this.#secret = secret;
    if (secret === undefined) return;
    this.#nonce = newNonce();
    const b = binding?.();
    if (b !== undefined) this.#binding = b;
  }

  /** Whether requests may be taken (no secret, or the client has proved it). */
  get done(): boolean {
    return this.#nonce === undefined;
  }

  hello(maxMessageBytes: number): string {
    const binding = this.#binding !== undefined ? { binding: TLS_BINDING } : {};
    return helloLine({ pid: process.pid, maxMessageBytes, ...(this.#nonce ? { auth: { method: AUTH_METHOD, nonce: this.#nonce, ...binding } } : {}) });
  }

  /**
   * The client's first line. Returns the host's answer (to send) and the line keys (none when
   * the proof was bound to the TLS connection: TLS protects the lines), or throws the AuthError
   * to refuse the connection with.
   */
  answer(line: string): { reply: string; keys?: LineKeys } {
    const refused = (message: string) => new AuthError(message);
    if (line.length > MAX_PRE_AUTH_BYTES) throw refused('authentication required: the first message must be an auth message');
    const auth = readAuthLine(line);
    if (auth === undefined) throw refused('authentication required: the first message must be {"kind":"auth",...} answering the hello\'s challenge');
    const secret = this.#secret!;
    const hostNonce = this.#nonce!;
    if (auth.method === AUTH_METHOD_TLS) {
      const binding = this.#binding;
      if (binding === undefined) throw refused(`authentication failed: ${AUTH_METHOD_TLS} needs a TLS 1.3 connection, and this is not one`);
      // A relay in between has another TLS connection on each side, hence another binding: refused here.
      if (!digestsMatch(authDigest(secret, 'client', hostNonce, auth.nonce, binding), auth.digest)) throw refused('authentication failed: wrong secret, or not the same TLS connection');
      return { reply: authOkLine(authDigest(secret, 'host', hostNonce, auth.nonce, binding)) };
    }
    if (!digestsMatch(authDigest(secret, 'client', hostNonce, auth.nonce), auth.digest)) throw refused('authentication failed: wrong secret');
    return { reply: authOkLine(authDigest(secret, 'host', hostNonce, auth.nonce)), keys: lineKeys(secret, hostNonce, auth.nonce) };
  }

  /** The client is in: later lines are requests. */
  finish(): void {
    this.#nonce = undefined;
  }
}
