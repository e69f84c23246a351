/**
 * Line authentication after a secret handshake (docs/protocol.md, "Authentication"): each side
 * follows every batch of lines it writes with one line
 *
 *   {"mac":"<64 hex digits>"}   mac = HMAC-SHA256(key, previous mac + batch)
 *
 * where `key` is the sender's line key (auth.ts), `previous mac` is the hex of the sender's last
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
 * The mac of `prev + batch`: HMAC-SHA256 with the sender's 32-byte line key, as lowercase hex.
 * (Measured in the benchmark's case (b): with batches of 8 lines, one HMAC per batch each way
 * costs each side ~0.9 µs of CPU per call on the project's loaded 2-core VM; computing it as two
 * one-shot hashes instead of an Hmac object was no faster in place.)
 */
function mac(key: Buffer, prev: string, batch: string): string {
  return crypto.createHmac('sha256', key).update(prev + batch).digest('hex');
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
  readonly #key: Buffer;
  #prev = '';

  constructor(key: Buffer) {
    this.#key = key;
  }

  seal(batch: string): string {
    const m = mac(this.#key, this.#prev, batch);
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
  readonly #key: Buffer;
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

  constructor(key: Buffer, maxUnchecked: number, out: CheckedLines) {
    this.#key = key;
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
    const expected = mac(this.#key, this.#prev, this.#batch);
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
