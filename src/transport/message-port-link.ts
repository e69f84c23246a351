/**
 * A Link over a message-port-shaped channel: a worker_threads MessagePort or parentPort, a Worker,
 * a ChildProcess's IPC channel (and `process` in the child), Electron's MessagePortMain, a
 * utilityProcess and its `process.parentPort`, a web MessagePort — anything that posts messages
 * and emits 'message'. One port carries one connection.
 *
 * Data messages are strings of NDJSON text: whole lines, each ending in "\n" (the same text a
 * socket carries, sealed batches included), so the protocol, authentication and limits above are
 * unchanged. A port has no half-close and cannot stop its sender, so the link adds a few control
 * messages of its own, plain objects `{ remoteobjLink: OP, ... }` that never reach the protocol:
 *
 *   open  {window}   sent by each end first, when it starts listening: "I am here, send me at
 *                    most `window` characters that I have not acknowledged" (what arrives before
 *                    the far side's open or ready is left over from an earlier connection: ignored)
 *   ready {window}   the answer to an open (the first open may have been posted before the far
 *                    side listened: a Worker or a ChildProcess drops messages nobody listens to)
 *   ack   {chars}    "I have consumed `chars` more characters of yours": credit back
 *   wait             "I have lines for you but no credit": acknowledge what you have consumed now
 *   end              half-close: nothing more follows from this end (it still reads)
 *   close            this end is gone both ways: what it was sent is dropped
 *
 * Back-pressure: data waits in the *sender's* link until it is both ready and within the far
 * side's window, so a receiver that pauses (the host's flow control) holds at most one window
 * (1 Mi characters) plus one message; the sender's own queue grows instead, exactly as a socket's
 * writes wait in the writer's process. A line longer than the window goes alone, once everything
 * before it is acknowledged. `written` (the host's count of unsent reply bytes) fires when a
 * message is posted, so a client that stops reading makes its host park its requests. A peer that
 * ignores the credit, or sends a line over `maxLineBytes`, gets `overflow` (the host answers
 * TOO_LARGE and hangs up); a message that is neither a string nor a control message is a bad line.
 *
 * The far side is gone when it says `close` or `end`s after we did, or when the channel says so:
 * a port's 'close', a Worker's or child's 'exit', an IPC channel's 'disconnect'. Closing the link
 * posts `close` and takes its listeners off the port; it closes, kills or disconnects nothing: the
 * port, worker or child is the caller's (with our listeners gone, it no longer keeps the event
 * loop alive).
 */
import { Buffer } from 'node:buffer';
import { parentPort as threadParentPort } from 'node:worker_threads';
import { LimitError } from '../errors';
import type { Link, LinkEvents } from './link';
import { type BatchSealer, DEFAULT_MAX_MESSAGE_BYTES, LineWriter } from './lines';

/**
 * What serve({ port }) and connect({ port }) take: something that posts messages (`postMessage`,
 * or `send` for Node's IPC) and emits 'message' (`on`, or `addEventListener` for web ports). The
 * 'message' listener may get the message itself (Node) or an event whose `data` is the message
 * (Electron's MessagePortMain and parentPort, web ports).
 */
export type MessagePortLike =
  | { postMessage(message: any): void; on(event: 'message', listener: (message: any) => void): unknown }
  | { send?(message: any, callback?: (error: Error | null) => void): boolean; on(event: 'message', listener: (message: any) => void): unknown }
  | { postMessage(message: any): void; addEventListener(type: 'message', listener: (event: any) => void): unknown };

/** How many characters of ours a receiver holds at most without acknowledging them (its window). */
export const PORT_WINDOW_CHARS = 1 << 20;

/** How long close() waits at most for credit to post what is still queued. */
const MAX_CLOSE_WAIT_MS = 30_000;

/** What a message that is neither data nor control counts against the window while it waits. */
const BAD_MESSAGE_CHARS = 64;

/** The key of the link's control messages. */
const CONTROL = 'remoteobjLink';

type ControlOp = 'open' | 'ready' | 'ack' | 'wait' | 'end' | 'close';

/** The port as the link uses it: every member optional, checked at run time. */
interface LoosePort {
  postMessage?(message: unknown): void;
  send?(message: unknown, callback?: (error: Error | null) => void): boolean;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  addEventListener?(type: string, listener: (event: any) => void): unknown;
  removeEventListener?(type: string, listener: (event: any) => void): unknown;
  start?(): void;
  connected?: boolean;
  threadId?: number;
  pid?: number;
  kill?: unknown;
  terminate?: unknown;
}

/** A queued outgoing message: text (with the line characters it carries, for `written`), or end/close. */
type Outgoing = { text: string; readonly chars: number } | 'end' | 'close';
/** A received item waiting to be delivered: a data message, the far side's end, or a bad message. */
type Incoming = string | { end: true } | { bad: string };

const END_IN: Incoming = { end: true };

/** Ports that carry a live link: a second one on the same port would read the first one's messages. */
const inUse = new WeakSet<object>();
const SENT: Outgoing = { text: '', chars: 0 };

/** Numbers for ports without a better name, so two connections' errors tell them apart. */
const portNumbers = new WeakMap<object, number>();
let lastPortNumber = 0;

/** A name for the far side of `port`, for messages and error origins. */
export function portAddress(port: MessagePortLike): string {
  const p = port as LoosePort;
  if (port === (process as unknown)) return 'port:parent process';
  if (threadParentPort !== null && port === (threadParentPort as unknown)) return 'port:parent thread';
  if (typeof p.terminate === 'function' && typeof p.threadId === 'number') return `port:worker ${p.threadId}`;
  if (typeof p.kill === 'function' && typeof p.pid === 'number') return `port:child ${p.pid}`;
  let n = portNumbers.get(port);
  if (n === undefined) portNumbers.set(port, (n = ++lastPortNumber));
  return `port:message port ${n}`;
}

export class MessagePortLink implements Link {
  readonly address: string;
  readonly inProcess = false;
  /** Longest line accepted from the far side, in UTF-8 bytes. */
  maxLineBytes: number;
  readonly #port: LoosePort;
  readonly #post: (message: unknown) => void;
  readonly #writer: LineWriter;
  readonly #window = PORT_WINDOW_CHARS;
  readonly #detach: (() => void)[] = [];
  #events?: LinkEvents;

  // Sending.
  #farReady = false;
  #farWindow = PORT_WINDOW_CHARS;
  #out: Outgoing[] = [];
  #outHead = 0;
  /** Characters posted that the far side has not acknowledged. */
  #outstanding = 0;
  #waitSent = false;
  #endQueued = false;
  #endSent = false;
  #closing = false;

  // Receiving.
  #in: Incoming[] = [];
  #inHead = 0;
  /** Where the next line starts in the head message. */
  #inOffset = 0;
  /** Characters received and not yet acknowledged (consumed or not). */
  #receivedUnacked = 0;
  /** Characters consumed (delivered) and not yet acknowledged. */
  #consumedUnacked = 0;
  #farWaiting = false;
  #paused = false;
  /** drainArrived(): deliver up to this index of #in whatever the pause. */
  #drainUntil = 0;
  #delivering = false;
  /** A line passed the limit (or the credit was ignored): nothing more is delivered. */
  #stopped = false;
  #farEnded = false;
  #closed = false;

  constructor(port: MessagePortLike, address = portAddress(port), maxLineBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    const p = port as LoosePort;
    if (inUse.has(p)) {
      // A port host's maxConnections is 1: the same limit, refused before anything is sent.
      throw new LimitError('maxConnections', `${address} already carries a connection: a port carries one (make a MessageChannel for each connection)`);
    }
    this.#port = p;
    this.address = address;
    this.maxLineBytes = maxLineBytes;
    if (typeof p.postMessage === 'function') {
      this.#post = (m) => p.postMessage!(m);
    } else if (typeof p.send === 'function') {
      // Node's IPC: with a callback, a closed channel reports to it instead of emitting 'error'.
      const onSent = (e: Error | null) => {
        if (e) this.#farGone();
      };
      this.#post = (m) => void p.send!(m, onSent);
    } else {
      throw new TypeError(
        port === (process as unknown)
          ? 'this process has no IPC channel (start it with child_process.fork(), or spawn() with an "ipc" stdio entry)'
          : 'a port must have postMessage() (a MessagePort, a Worker) or send() (a ChildProcess with an IPC channel)',
      );
    }
    if (typeof p.on !== 'function' && typeof p.addEventListener !== 'function') {
      throw new TypeError("a port must emit 'message' events (on() or addEventListener())");
    }
    this.#writer = new LineWriter((data, chars) => this.#queue(data, chars));
    inUse.add(p);
    this.#detach.push(() => inUse.delete(p));
    // Listen from now on, not from start(): a Worker or a child emits messages nobody listens to into the void.
    this.#listen('message', (m: unknown) => this.#message(m));
    this.#listen('messageerror', () => this.#bad('a message that could not be deserialized'));
    this.#listen('close', () => this.#farGone());
    this.#listen('disconnect', () => this.#farGone());
    // A child's 'exit' can come before the last messages of its channel: its 'disconnect' follows them.
    this.#listen('exit', () => {
      if (p.connected !== true) this.#farGone();
    });
    p.start?.(); // MessagePortMain and web ports queue messages until started
    // Gone already: a child whose channel has closed, a Worker that has exited (its threadId is then -1).
    if (p.connected === false || (typeof p.terminate === 'function' && p.threadId === -1)) {
      this.#farGone();
      return;
    }
    this.#control('open', { window: this.#window });
  }

  start(events: LinkEvents): void {
    this.#events = events;
    if (this.#closed) {
      queueMicrotask(() => events.closed());
      return;
    }
    this.#deliver();
  }

  send(line: string): void {
    if (this.#endQueued || this.#closed) return;
    this.#writer.send(line);
  }

  sealWith(sealer: BatchSealer): void {
    this.#writer.sealWith(sealer);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#deliver();
  }

  get holding(): boolean {
    for (let i = this.#inHead; i < this.#in.length; i++) if (typeof this.#in[i] === 'string') return true;
    return false;
  }

  drainArrived(): void {
    this.#drainUntil = this.#in.length;
    this.#deliver();
  }

  end(): void {
    if (this.#endQueued || this.#closed) return;
    this.#writer.flush();
    this.#endQueued = true;
    this.#out.push('end');
    this.#pump();
  }

  /**
   * End, then post `close` once everything queued has been posted. `lingerMs` is not needed: a
   * port delivers in order and has no reset that could discard what was posted before `close`.
   */
  close(_lingerMs?: number): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    this.end();
    if (this.#closed) return;
    this.#out.push('close');
    this.#pump();
    if (!this.#closed) {
      const timer = setTimeout(() => this.destroy(), MAX_CLOSE_WAIT_MS);
      timer.unref();
      this.#detach.push(() => clearTimeout(timer));
    }
  }

  destroy(): void {
    if (this.#closed) return;
    this.#control('close');
    this.#finish();
  }

  // --- receiving -----------------------------------------------------------------------------

  #message(raw: unknown): void {
    if (this.#closed) return;
    let m = raw;
    // Electron's MessagePortMain and parentPort, and web ports, hand out an event around the message.
    if (typeof m !== 'string' && m !== null && typeof m === 'object' && !(CONTROL in m) && 'data' in m) m = (m as { data: unknown }).data;
    const control = m !== null && typeof m === 'object' && CONTROL in m ? (m as Record<string, unknown>) : undefined;
    // The far link posts `open` before anything else: what comes before it is left over from an
    // earlier connection on this port (its last `close`, say), and is not ours.
    if (!this.#farReady && control?.[CONTROL] !== 'open' && control?.[CONTROL] !== 'ready') return;
    if (control) return this.#onControl(control);
    if (typeof m === 'string') return this.#data(m);
    this.#bad(`a message that is not a string (${m === null ? 'null' : typeof m}): a port carries NDJSON text`);
  }

  #data(text: string): void {
    const before = this.#receivedUnacked;
    this.#receivedUnacked = before + text.length;
    // An honest sender posts within our window, or one message alone when we have acknowledged everything.
    if ((before > 0 && before + text.length > this.#window) || text.length > Math.max(this.#window, this.maxLineBytes + 1)) {
      return this.#overflow(before + text.length);
    }
    this.#in.push(text);
    this.#deliver();
  }

  #bad(reason: string): void {
    if (this.#closed) return;
    this.#receivedUnacked += BAD_MESSAGE_CHARS;
    if (this.#receivedUnacked > this.#window + BAD_MESSAGE_CHARS) return this.#overflow(this.#receivedUnacked);
    this.#in.push({ bad: reason });
    this.#deliver();
  }

  #onControl(m: Record<string, unknown>): void {
    const op = m[CONTROL];
    switch (op) {
      case 'open':
      case 'ready': {
        const w = m.window;
        if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 1) return this.#bad(`a link "${op}" message with a bad window`);
        this.#farWindow = w;
        const first = !this.#farReady;
        this.#farReady = true;
        if (op === 'open') this.#control('ready', { window: this.#window });
        if (first) this.#pump();
        return;
      }
      case 'ack': {
        const n = m.chars;
        if (typeof n !== 'number' || !(n > 0)) return this.#bad('a link "ack" message with a bad count');
        this.#outstanding = Math.max(0, this.#outstanding - n);
        this.#waitSent = false;
        this.#pump();
        return;
      }
      case 'wait':
        this.#farWaiting = true;
        this.#ack();
        return;
      case 'end':
        if (this.#farEnded || this.#in.includes(END_IN)) return;
        this.#in.push(END_IN);
        this.#deliver();
        return;
      case 'close':
        this.#finish();
        return;
      default:
        this.#bad(`a link control message of an unknown kind (${typeof op === 'string' ? JSON.stringify(op.slice(0, 32)) : typeof op})`);
    }
  }

  /** Hand out what has arrived, one line at a time, until paused (at a line boundary). */
  #deliver(): void {
    const events = this.#events;
    if (events === undefined || this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.#inHead < this.#in.length && !this.#closed && !this.#stopped && (!this.#paused || this.#inHead < this.#drainUntil)) {
        const item = this.#in[this.#inHead]!;
        if (typeof item !== 'string') {
          this.#in[this.#inHead++] = '';
          if ('end' in item) {
            this.#farEnded = true;
            events.ended();
            if (this.#endSent) this.#finish();
          } else {
            this.#consumed(BAD_MESSAGE_CHARS);
            events.badLine(0, item.bad);
          }
          continue;
        }
        const from = this.#inOffset;
        const nl = item.indexOf('\n', from);
        const end = nl === -1 ? item.length : nl;
        if (end + 1 >= item.length) {
          this.#in[this.#inHead++] = '';
          this.#inOffset = 0;
          this.#consumed(item.length);
        } else {
          this.#inOffset = end + 1;
        }
        let stop = end;
        if (stop > from && item.charCodeAt(stop - 1) === 13) stop--; // CRLF
        if (stop === from) continue; // blank lines are skipped, as on a socket
        const line = from === 0 && stop === item.length ? item : item.slice(from, stop);
        const bytes = Buffer.byteLength(line, 'utf8');
        if (bytes > this.maxLineBytes) return this.#overflow(bytes);
        events.line(line, bytes);
      }
      if (this.#inHead >= this.#in.length && this.#inHead > 0) {
        this.#in = [];
        this.#inHead = 0;
        this.#drainUntil = 0;
      }
    } finally {
      this.#delivering = false;
    }
    this.#ack();
  }

  #consumed(chars: number): void {
    this.#consumedUnacked += chars;
  }

  /** Give credit back: in steps of half a window, or at once when the far side waits for it. */
  #ack(): void {
    const n = this.#consumedUnacked;
    if (n === 0 || this.#closed || (n < this.#window >> 1 && !this.#farWaiting)) return;
    this.#consumedUnacked = 0;
    this.#receivedUnacked = Math.max(0, this.#receivedUnacked - n);
    this.#farWaiting = false;
    this.#control('ack', { chars: n });
  }

  #overflow(bytes: number): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#in = [];
    this.#inHead = 0;
    this.#inOffset = 0;
    this.#events?.overflow(bytes);
  }

  // --- sending -------------------------------------------------------------------------------

  /** The writer's batch of lines (one tick's): queued, and posted as far as the window allows. */
  #queue(data: string, chars: number): boolean {
    if (this.#closed) return false;
    if (this.#farReady && this.#outHead >= this.#out.length && data.length <= this.#farWindow - this.#outstanding) {
      // Nothing waits and it fits the far side's window (a call's request or reply): posted at
      // once, without an Outgoing object and the queue's loop.
      this.#outstanding += data.length;
      this.#postSafely(data);
      if (!this.#closed && chars > 0) this.#events?.written?.(chars);
      return true;
    }
    this.#out.push({ text: data, chars });
    this.#pump();
    return this.#outHead >= this.#out.length;
  }

  /** Post what is queued, in order, as far as the far side is ready and its window allows. */
  #pump(): void {
    if (!this.#farReady || this.#closed) return;
    const out = this.#out;
    while (this.#outHead < out.length) {
      const item = out[this.#outHead]!;
      if (item === 'end') {
        this.#outHead++;
        this.#endSent = true;
        this.#control('end');
        if (this.#farEnded) return this.#finish();
        continue;
      }
      if (item === 'close') {
        this.#control('close');
        return this.#finish();
      }
      const text = item.text;
      const room = this.#farWindow - this.#outstanding;
      let cut = text.length; // post text[0, cut): whole lines that fit the room
      if (text.length > room) {
        cut = room > 0 ? text.lastIndexOf('\n', room - 1) + 1 : 0;
        // Nothing outstanding: a line longer than the whole window goes alone.
        if (cut === 0 && this.#outstanding === 0) cut = text.indexOf('\n') + 1 || text.length;
      }
      if (cut === 0) {
        if (!this.#waitSent) {
          this.#waitSent = true;
          this.#control('wait');
        }
        break;
      }
      const whole = cut === text.length;
      const part = whole ? text : text.slice(0, cut);
      if (whole) out[this.#outHead++] = SENT; // drop the reference to the text
      else item.text = text.slice(cut); // the rest waits for credit (and carries the batch's `written`)
      this.#outstanding += part.length;
      this.#postSafely(part);
      if (this.#closed) return;
      if (whole && item.chars > 0) this.#events?.written?.(item.chars);
    }
    if (this.#outHead >= out.length) {
      this.#out = [];
      this.#outHead = 0;
    }
  }

  #control(op: ControlOp, fields?: Record<string, number>): void {
    this.#postSafely({ [CONTROL]: op, ...fields });
  }

  #postSafely(message: unknown): void {
    try {
      this.#post(message);
    } catch {
      // A closed Electron port, or an IPC channel closed under us: the far side is gone.
      this.#farGone();
    }
  }

  // --- ending --------------------------------------------------------------------------------

  #farGone(): void {
    this.#finish();
  }

  /** Closed both ways: take our listeners off the port and say `closed`, once, last. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = [];
    this.#outHead = 0;
    this.#in = [];
    this.#inHead = 0;
    for (const undo of this.#detach.splice(0)) undo();
    const events = this.#events;
    if (events) queueMicrotask(() => events.closed());
  }

  #listen(event: string, handler: (arg: unknown) => void): void {
    const p = this.#port;
    if (typeof p.on === 'function') {
      p.on(event, handler);
      this.#detach.push(() => (typeof p.off === 'function' ? p.off(event, handler) : p.removeListener?.(event, handler)));
    } else if (typeof p.addEventListener === 'function') {
      // An EventTarget (a web MessagePort): the message is the event's data (unwrapped in #message).
      p.addEventListener(event, handler);
      this.#detach.push(() => p.removeEventListener?.(event, handler));
    }
  }
}
