/**
 * The transport seam: a Link carries lines between two peers and knows nothing of what is in
 * them. Each transport (a Unix socket or a named pipe in stream-link.ts, the in-process pair of
 * the local bypass in local-link.ts) is one implementation; everything above (handshake, peers,
 * the host's flow control) works on any Link.
 *
 * Ownership: the Link owns its byte stream and closes it; whoever started it owns the Link and
 * must end it (end, close or destroy) exactly as the comments below say. Events come in order, and
 * `closed` comes once, last.
 */
import type { BatchSealer } from './lines';

export interface LinkEvents {
  /** One line from the far side, without its "\n"; `bytes`: its UTF-8 length. */
  line(text: string, bytes: number): void;
  /**
   * A line that is not valid UTF-8 (`bytes` long) was skipped, or, with `reason`, a message that
   * is no line at all (a port's message that is not a string); lines go on.
   */
  badLine(bytes: number, reason?: string): void;
  /** A line passed maxLineBytes: the link stops delivering lines (the owner is expected to close it). */
  overflow(bytes: number): void;
  /** The far side will send nothing more (it half-closed). Lines already delivered stay delivered. */
  ended(): void;
  /** Gone both ways (any cause). Last event. */
  closed(): void;
  /** `chars` characters of what send() was given have been handed to the OS (for byte back-pressure). */
  written?(chars: number): void;
}

export interface Link {
  /** What to call the far side (or this end) in messages and error origins: an address. */
  readonly address: string;
  /** In the same process (the local bypass): nothing travels, so nothing needs authenticating. */
  readonly inProcess: boolean;
  /**
   * Why the transport closed, when it knows better than "the far side hung up": a TLS refusal, ssh
   * failing. A typed error, set before `closed`; undefined for an ordinary hang-up.
   */
  readonly failure?: Error;
  /**
   * A value both ends of this connection compute alike and nobody between them can, for a
   * handshake to bind its proofs to (TLS 1.3's tls-exporter channel binding, RFC 9266, as
   * lowercase hex); undefined when the transport has none. A transport that has one also keeps
   * every byte between the two ends from being injected, altered or replayed (protocol/auth.ts).
   */
  channelBinding?(): string | undefined;
  /** Start delivering events; call once. */
  start(events: LinkEvents): void;
  /** Send one line (no "\n"). Lines sent in one tick leave in one write, in order. */
  send(line: string): void;
  /**
   * Write what send() was given so far now, instead of at the end of the tick (in order, as one
   * write). For a line the far side waits on while this side keeps busy in microtasks: a stream's
   * credit (peer/streams.ts). Optional: a link without it writes at the end of the tick anyway.
   */
  flush?(): void;
  /** Authenticate every batch of lines from now on with the sealer's line (protocol/line-auth.ts). */
  sealWith(sealer: BatchSealer): void;
  /** Longest line accepted from the far side, in bytes (a host raises it after authentication). */
  maxLineBytes: number;
  /** Stop delivering lines, exactly at a line boundary, until resume(); the far side's writes then wait. */
  pause(): void;
  resume(): void;
  /** Whether lines that arrived while paused wait to be delivered. */
  readonly holding: boolean;
  /** Deliver everything already received, ignoring the pause (a closing host takes what has arrived). */
  drainArrived(): void;
  /** Flush what was sent and half-close: the far side reads end-of-stream; lines still arriving are delivered. */
  end(): void;
  /**
   * Flush, half-close, and close both ways once everything sent has been handed to the OS and
   * `lingerMs` more have passed (what the far side sends meanwhile is read and dropped, so its
   * writes do not fail before it has read ours). A far side that reads nothing is cut off anyway.
   */
  close(lingerMs?: number): void;
  /** Close both ways now; what was not written is lost. */
  destroy(): void;
}
