/**
 * Line authentication after a secret handshake (docs/protocol.md, "Authentication"): each side
 * follows every batch of lines it writes with one line
 *
 *   {"mac":"<64 hex digits>"}   mac = HMAC-SHA256(key, previous mac + batch)
 *
 * where `key` is the sender's line key (auth.ts) as 64 lowercase hex digits, `previous mac` is the hex of the sender's last
 * mac line ("" before the first) and `batch` is the batch's lines, each followed by "\n". The
 * receiver acts on no line before the mac line after it has been checked. The chain makes every
 * mac depend on everything the sender sent before, so a line injected, dropped, altered, replayed
 * or moved by someone without the secret is caught at the next mac line.
 *
 * Per batch, not per line: a batch is what one write carries (all the lines made in one tick),
 * so the cost is one HMAC per write on each side, and no latency is added (the lines and their
 * mac arrive together). The benchmark's 8-client case writes 8 lines per batch.
 */
import crypto from 'node:crypto';

/**
 * HMAC-SHA256 keyed with a line key's 64 lowercase hex digits (as ASCII: one SHA-256 block, used
 * as it is), computed as two one-shot hashes: H((key ^ opad) + H((key ^ ipad) + text)). Exactly
 * what crypto.createHmac('sha256', keyHex) gives (line-auth.test.ts checks it), at about half the
 * cost for a batch of 8 short lines (1.3–1.5 µs against 2.4–2.6 in a loop): createHmac makes an
 * object, looks the digest up and sets the key up on every call, and a digest returned as a Buffer
 * costs more than the hashing (so the inner one comes back as 'binary', i.e. latin1, text).
 */
class MacKey {
  /** key ^ 0x36, as text: hex digits XOR 0x36 are ASCII, so its UTF-8 bytes are exactly those. */
  readonly #inner: string;
  /** key ^ 0x5c, then room for the inner digest: the whole outer message. */
  readonly #outer = Buffer.alloc(96);

  constructor(keyHex: string) {
    let inner = '';
    for (let i = 0; i < 64; i++) {
      inner += String.fromCharCode(keyHex.charCodeAt(i) ^ 0x36);
      this.#outer[i] = keyHex.charCodeAt(i) ^ 0x5c;
    }
    this.#inner = inner;
  }

  /** The mac of `prev + batch`, as lowercase hex. */
  mac(prev: string, batch: string): string {
    this.#outer.write(crypto.hash('sha256', this.#inner + prev + batch, 'binary'), 64, 'latin1');
    return crypto.hash('sha256', this.#outer, 'hex');
  }
}

const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

/** Whether two strings of the same length are equal, in time that does not depend on where they differ. */
function sameInConstantTime(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The sending side: the mac line for each batch, chained. */
export class LineSealer {
  readonly #key: MacKey;
  #prev = '';

  /** `keyHex`: the sender's line key, as 64 lowercase hex digits (auth.ts). */
  constructor(keyHex: string) {
    this.#key = new MacKey(keyHex);
  }

  seal(batch: string): string {
    const m = this.#key.mac(this.#prev, batch);
    this.#prev = m;
    return '{"mac":"' + m + '"}';
  }
}

/** Where checked lines go. */
export interface CheckedLines {
  line(text: string, bytes: number): void;
  /** Authentication failed: the connection must end. Called once; nothing is delivered after it. */
  fail(reason: string): void;
}

/**
 * The receiving side: holds lines until the mac line after them is checked, then hands them on in
 * order. It pauses and resumes like the framing (a paused verifier keeps checked lines), and
 * refuses to hold more than `maxUnchecked` bytes of lines without a mac.
 */
export class LineVerifier {
  readonly #key: MacKey;
  readonly #maxUnchecked: number;
  readonly #out: CheckedLines;
  #prev = '';
  #batch = '';
  #unchecked: string[] = [];
  #uncheckedSizes: number[] = [];
  #uncheckedBytes = 0;
  /** Checked lines not yet handed on (while paused). */
  #ready: string[] = [];
  #readySizes: number[] = [];
  #readyHead = 0;
  #paused = false;
  #draining = false;
  #failed = false;

  /** `keyHex`: the sender's line key, as 64 lowercase hex digits. */
  constructor(keyHex: string, maxUnchecked: number, out: CheckedLines) {
    this.#key = new MacKey(keyHex);
    this.#maxUnchecked = maxUnchecked;
    this.#out = out;
  }

  /** Whether checked lines wait to be handed on. */
  get holding(): boolean {
    return this.#readyHead < this.#ready.length;
  }

  line(text: string, bytes: number): void {
    if (this.#failed) return;
    if (text.startsWith('{"mac"')) return this.#check(text);
    this.#uncheckedBytes += bytes;
    if (this.#uncheckedBytes > this.#maxUnchecked) return this.fail(`more than ${this.#maxUnchecked} bytes of lines came without an authentication line`);
    this.#batch += text + '\n';
    this.#unchecked.push(text);
    this.#uncheckedSizes.push(bytes);
  }

  /** Something that cannot come from a peer holding the keys (e.g. a line that is not UTF-8). */
  fail(reason: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#batch = '';
    this.#unchecked = [];
    this.#ready = [];
    this.#out.fail(reason);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#deliver();
  }

  /**
   * Run `fn` (the framing handing out what it held back) with the pause ignored, then hand on
   * every checked line still waiting: a closing host takes everything it has read.
   */
  drain(fn: () => void): void {
    this.#draining = true;
    try {
      fn();
      this.#deliver();
    } finally {
      this.#draining = false;
    }
  }

  #check(text: string): void {
    // {"mac":"<64 lowercase hex>"}: 8 + 64 + 2 characters.
    if (text.length !== 74 || !text.startsWith('{"mac":"') || !text.endsWith('"}') || !LOWER_HEX_64.test(text.slice(8, 72))) {
      return this.fail('a malformed authentication line');
    }
    const expected = this.#key.mac(this.#prev, this.#batch);
    if (!sameInConstantTime(expected, text.slice(8, 72))) {
      return this.fail('lines do not match their authentication (injected, altered, replayed or reordered on the way)');
    }
    this.#prev = expected;
    this.#batch = '';
    this.#uncheckedBytes = 0;
    if (this.#readyHead >= this.#ready.length) {
      // The usual case: nothing waiting, the checked lines become the ready list as they are.
      this.#ready = this.#unchecked;
      this.#readySizes = this.#uncheckedSizes;
      this.#readyHead = 0;
    } else {
      this.#ready.push(...this.#unchecked);
      this.#readySizes.push(...this.#uncheckedSizes);
    }
    this.#unchecked = [];
    this.#uncheckedSizes = [];
    this.#deliver();
  }

  #deliver(): void {
    while (this.#readyHead < this.#ready.length && (!this.#paused || this.#draining) && !this.#failed) {
      const i = this.#readyHead++;
      const text = this.#ready[i]!;
      this.#ready[i] = '';
      this.#out.line(text, this.#readySizes[i]!);
    }
    if (this.#readyHead >= this.#ready.length && this.#readyHead > 0) {
      this.#ready = [];
      this.#readySizes = [];
      this.#readyHead = 0;
    }
  }
}
