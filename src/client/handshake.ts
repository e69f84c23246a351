/**
 * The client's side of the opening exchange: read the host's hello and, when it asks for the
 * secret, prove it and check the host's proof (docs/protocol.md, "Authentication"). A client that
 * holds a secret never talks to a host that does not ask for it.
 */
import { AuthError, ProtocolError } from '../errors';
import { AUTH_METHOD, AUTH_METHOD_TLS, authDigest, digestsMatch, type LineKeys, lineKeys, newNonce, type Secret, TLS_BINDING } from '../protocol/auth';
import { errorFromWire } from '../protocol/error-wire';
import { type Feature, PROTOCOL_VERSION } from '../protocol/wire-types';
import { authLine, readAuthAnswer, readHello } from '../protocol/wire';

/** What the handshake learnt once it is done. */
export interface Greeting {
  pid: number;
  maxMessageBytes?: number;
  /** With a secret: the keys that authenticate every later line (none when TLS protects them: AUTH_METHOD_TLS). */
  keys?: LineKeys;
  /** The protocol versions the host offers (its hello's `versions`; a v1 host sends none). */
  versions?: number[];
  /** The protocol 2 features the host reads (its hello's `features`, those this client knows). */
  features?: Feature[];
}

/** The outcome of one line: send `reply` and wait for more, or done. */
export type HandshakeStep = { done: false; reply: string } | { done: true; greeting: Greeting };

export class ClientHandshake {
  readonly #address: string;
  readonly #secret?: Secret;
  #pid = 0;
  #maxMessageBytes?: number;
  #versions?: number[];
  #features?: Feature[];
  /** While waiting for the host's proof: the hello's nonce and ours, and the channel binding when the proofs are bound to it. */
  #nonces?: { host: string; client: string; binding?: string };
  readonly #binding?: () => string | undefined;

  /** `binding`: the link's channelBinding, asked only when the host offers AUTH_METHOD_TLS. */
  constructor(address: string, secret: Secret | undefined, binding?: () => string | undefined) {
    this.#address = address;
    this.#secret = secret;
    if (binding !== undefined) this.#binding = binding;
  }

  /** One line from the host; throws the error that ends the connection when it cannot go on. */
  line(text: string): HandshakeStep {
    return this.#nonces ? this.#proof(text, this.#nonces) : this.#hello(text);
  }

  #hello(text: string): HandshakeStep {
    const hello = readHello(text);
    if (hello.kind === 'refusal') throw errorFromWire(hello.error); // e.g. the host has too many connections
    if (hello.kind === 'other') throw new ProtocolError('BAD_MESSAGE', `${this.#address} ${hello.problem}`);
    if (hello.version !== PROTOCOL_VERSION) {
      throw new ProtocolError('VERSION_MISMATCH', `the host at ${this.#address} speaks protocol version ${hello.version}; this client speaks ${PROTOCOL_VERSION}`);
    }
    this.#pid = hello.pid;
    this.#maxMessageBytes = hello.maxMessageBytes;
    this.#versions = hello.versions;
    this.#features = hello.features;
    const secret = this.#secret;
    if (hello.auth !== undefined) {
      if (secret === undefined) throw new AuthError(`the host at ${this.#address} requires a secret: pass connect(path, { secret })`);
      if (hello.auth.method !== AUTH_METHOD) {
        throw new AuthError(`the host at ${this.#address} asks for an unsupported authentication method ${JSON.stringify(hello.auth.method)} (this client speaks ${AUTH_METHOD})`);
      }
      if (typeof hello.auth.nonce !== 'string' || !/^[0-9a-f]{64}$/.test(hello.auth.nonce)) {
        throw new AuthError(`the host at ${this.#address} sent a malformed challenge`);
      }
      // Bound to the TLS connection when both ends have its binding; else every line carries a mac.
      const binding = hello.auth.binding === TLS_BINDING ? this.#binding?.() : undefined;
      const nonces = { host: hello.auth.nonce, client: newNonce(), ...(binding !== undefined ? { binding } : {}) };
      this.#nonces = nonces;
      const method = binding !== undefined ? AUTH_METHOD_TLS : AUTH_METHOD;
      return { done: false, reply: authLine(method, authDigest(secret, 'client', nonces.host, nonces.client, binding), nonces.client) };
    }
    if (secret !== undefined) {
      throw new AuthError(`the host at ${this.#address} did not ask for the secret this client holds: refusing to talk to it`);
    }
    return { done: true, greeting: this.#greeting() };
  }

  #proof(text: string, nonces: { host: string; client: string; binding?: string }): HandshakeStep {
    const answer = readAuthAnswer(text);
    if (answer.kind === 'refusal') throw errorFromWire(answer.error);
    if (answer.kind === 'other') throw new AuthError(`the host at ${this.#address} ${answer.problem}`);
    const secret = this.#secret!;
    if (!digestsMatch(authDigest(secret, 'host', nonces.host, nonces.client, nonces.binding), answer.digest)) {
      throw new AuthError(`the host at ${this.#address} does not know the secret: refusing to talk to it`);
    }
    this.#nonces = undefined;
    if (nonces.binding !== undefined) return { done: true, greeting: this.#greeting() };
    return { done: true, greeting: { ...this.#greeting(), keys: lineKeys(secret, nonces.host, nonces.client) } };
  }

  #greeting(): Greeting {
    return {
      pid: this.#pid,
      ...(this.#maxMessageBytes !== undefined ? { maxMessageBytes: this.#maxMessageBytes } : {}),
      ...(this.#versions !== undefined ? { versions: this.#versions } : {}),
      ...(this.#features !== undefined ? { features: this.#features } : {}),
    };
  }
}

