/**
 * NDJSON framing: bytes → lines and lines → bytes.
 *
 * Lines are split on 0x0A in the *byte* stream, so a multi-byte UTF-8 character split across two
 * reads is decoded whole. A line longer than `maxBytes` is refused as soon as it passes the limit,
 * without buffering the rest of it. A trailing "\r" is dropped (CRLF from socat or Windows
 * tools), and blank lines are ignored.
 *
 * This is a hand-written framer rather than the `ndjson` stream parser: it needs a byte limit
 * that stops buffering, exact UTF-8 checks, and it sits on every request's path
 * (docs/performance.md has the measurements).
 */
import { isAscii, isUtf8 } from 'node:buffer';

/** 16 MiB: the default longest line either side accepts. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface LineHandlers {
  /** One line, without its "\n" (or "\r\n"); `bytes` is its length in UTF-8 bytes. */
  line(text: string, bytes: number): void;
  /** The line was not valid UTF-8; the splitter goes on with the next line. */
  badUtf8(byteLength: number): void;
  /** A line passed `maxBytes`; the splitter stops (the caller is expected to close). */
  overflow(byteLength: number): void;
}

export class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stopped = false;
  #paused = false;
  /** Set while drain() hands out held lines: pauses are ignored. */
  #draining = false;
  /** Bytes received while paused, not yet split. */
  #held?: Buffer;
  readonly #handlers: LineHandlers;
  /** Longest line accepted; a host raises it once a client has authenticated. */
  maxBytes: number;

  constructor(handlers: LineHandlers, maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#handlers = handlers;
    this.maxBytes = maxBytes;
  }

  /** Stop emitting lines (mid-chunk if need be) until resume(): back-pressure that is exact. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.push(held);
  }

  /**
   * Emit every whole line held back by a pause, ignoring the pause (which stays on): a closing
   * host takes what it has already read. A partial line stays pending.
   */
  drain(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    this.#draining = true;
    try {
      this.push(held);
    } finally {
      this.#draining = false;
    }
  }

  /** Whether bytes received while paused are waiting to be split. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    if (this.#paused && !this.#draining) {
      this.#held = this.#held ? Buffer.concat([this.#held, chunk]) : chunk;
      return;
    }
    let start = 0;
    if (this.#pendingBytes > 0) {
      // The end of a line begun in an earlier chunk.
      const nl = chunk.indexOf(10);
      if (nl === -1) return this.#keep(chunk, 0);
      const whole = Buffer.concat([...this.#pending, chunk.subarray(0, nl)]);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#emit(whole, 0, whole.length);
      start = nl + 1;
    } else {
      const last = chunk.lastIndexOf(10);
      if (last === -1) return this.#keep(chunk, 0);
      // The usual chunk: whole lines, all ASCII. One decode for all of them, then string slices:
      // no Buffer or native call per line. (Other chunks, e.g. with non-ASCII text, which
      // JSON.stringify writes as it is, take the per-line path with its UTF-8 check.)
      if (isAscii(chunk)) start = this.#emitAscii(chunk, last);
    }
    if (this.#stopped) return;
    while (!this.#paused || this.#draining) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) return this.#keep(chunk, start);
      this.#emit(chunk, start, nl);
      if (this.#stopped) return;
      start = nl + 1;
    }
    if (start < chunk.length) this.#held = chunk.subarray(start);
  }

  /** Emit the lines of chunk[0, last) (all ASCII); returns the offset after the last line emitted. */
  #emitAscii(chunk: Buffer, last: number): number {
    const text = chunk.toString('latin1', 0, last);
    let from = 0;
    for (;;) {
      let end = text.indexOf('\n', from);
      if (end === -1) end = text.length;
      const next = end + 1;
      if (end > from && text.charCodeAt(end - 1) === 13) end--; // CRLF
      if (end > from) {
        // ASCII: one byte per character.
        if (end - from > this.maxBytes) {
          this.#overflow(end - from);
          return next;
        }
        this.#handlers.line(text.slice(from, end), end - from);
      }
      if (this.#stopped || (this.#paused && !this.#draining) || next > text.length) return next;
      from = next;
    }
  }

  /** Keep the start of a line whose end has not arrived yet. */
  #keep(chunk: Buffer, start: number): void {
    if (start >= chunk.length) return;
    this.#pendingBytes += chunk.length - start;
    if (this.#pendingBytes > this.maxBytes) return this.#overflow(this.#pendingBytes);
    this.#pending.push(start === 0 ? chunk : chunk.subarray(start));
  }

  #emit(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--; // CRLF
    const len = end - start;
    if (len === 0) return;
    if (len > this.maxBytes) return this.#overflow(len);
    const view = buf.subarray(start, end);
    // ASCII (a big value's base64, say) decodes as latin1, a plain copy: a 1.4 MB line of base64
    // took 1.1-1.3 ms to decode as UTF-8 after its check, 0.19 as latin1 after isAscii's.
    if (isAscii(view)) return this.#handlers.line(view.toString('latin1'), len);
    if (!isUtf8(view)) return this.#handlers.badUtf8(len);
    this.#handlers.line(view.toString('utf8'), len);
  }

  #overflow(bytes: number): void {
    this.#stopped = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#handlers.overflow(bytes);
  }
}

/**
 * Closes a batch of lines with one more line that authenticates it (protocol/line-auth.ts). The
 * framing only knows that such a line exists; what is in it is the protocol's business.
 */
export interface BatchSealer {
  /** The line to write after `batch` (whole lines, each ending in "\n"), without its "\n". */
  seal(batch: string): string;
}

/** A batch of one line this long (with its "\n") is written without join (LineWriter.flush). */
const LONG_LINE_CHARS = 64 * 1024;

/** A sealed batch is closed once it holds this many characters (the receiver holds at most one batch unverified). */
export const MAX_SEALED_BATCH_CHARS = 64 * 1024;

/**
 * Collects lines written in one tick and sends them in one write. Keeps the order of writes,
 * never interleaves two messages, and reports back-pressure through the write's return value.
 * With a sealer, every batch of lines is followed by the sealer's line (a batch ends with the
 * write, or once it reaches MAX_SEALED_BATCH_CHARS).
 */
export class LineWriter {
  #queue: string[] = [];
  #queuedChars = 0;
  #scheduled = false;
  readonly #write: (data: string, lineChars: number) => boolean;
  #sealer?: BatchSealer;

  /** `write` gets the data and how many of its characters are the lines sent (the rest is sealing). */
  constructor(write: (data: string, lineChars: number) => boolean) {
    this.#write = write;
  }

  /** Characters of lines waiting for the next flush (with their "\n"). */
  get queuedChars(): number {
    return this.#queuedChars;
  }

  /** Seal every batch from now on (lines queued before this are flushed first, unsealed). */
  sealWith(sealer: BatchSealer): void {
    this.flush();
    this.#sealer = sealer;
  }

  send(line: string): void {
    this.#queue.push(line);
    this.#queuedChars += line.length + 1;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Write everything queued now. Returns false when the socket's buffer is full. */
  flush(): boolean {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return true;
    const chars = this.#queuedChars;
    this.#queue = [];
    this.#queuedChars = 0;
    const sealer = this.#sealer;
    if (sealer === undefined) {
      // The closing "\n" joined in: `join('\n') + '\n'` made a cons string, which the socket's
      // write then flattened into a copy of the whole batch (~40 of the (b) host's bytes a call).
      // One long line (a big value's reply or request): the line with "\n" appended, a cons
      // string the socket's write flattens as it encodes, instead of join's copy of it first. A
      // 1 MiB JSON line (two-byte, non-ASCII text in it): 2.6-2.7 ms to bytes against 4.9-5.3.
      if (queue.length === 1 && chars >= LONG_LINE_CHARS) return this.#write(queue[0] + '\n', chars);
      queue.push('');
      return this.#write(queue.join('\n'), chars);
    }
    let data = '';
    let batch = '';
    for (const line of queue) {
      batch += line + '\n';
      if (batch.length >= MAX_SEALED_BATCH_CHARS) {
        data += batch + sealer.seal(batch) + '\n';
        batch = '';
      }
    }
    if (batch.length > 0) data += batch + sealer.seal(batch) + '\n';
    return this.#write(data, chars);
  }
}
