/**
 * The local bypass: a client connecting to an address hosted in its own process gets a pair of
 * in-process Links instead of a socket. Lines go across as strings, one microtask each, in order;
 * the same handshake, peers and flow control run on top, so the semantics are the socket's.
 *
 * Hosts register here by address when they listen (listenLocal); connect() looks the address up
 * (dialLocal). Neither side imports the other: this registry is the meeting point.
 */
import type { Link, LinkEvents } from './link';
import type { BatchSealer } from './lines';

class LocalEnd implements Link {
  readonly address: string;
  readonly inProcess = true;
  /** Not enforced: nothing is framed in process (the client checks its requests against the host's hello). */
  maxLineBytes = Infinity;
  #other!: LocalEnd;
  #events?: LinkEvents;
  /** Lines received while paused (or before start), not yet delivered. */
  #held: string[] = [];
  #heldHead = 0;
  #paused = false;
  #draining = false;
  #closed = false;

  constructor(address: string) {
    this.address = address;
  }

  static pair(address: string): [LocalEnd, LocalEnd] {
    const a = new LocalEnd(address);
    const b = new LocalEnd(address);
    a.#other = b;
    b.#other = a;
    return [a, b];
  }

  start(events: LinkEvents): void {
    this.#events = events;
    this.#deliver();
  }

  send(line: string): void {
    if (this.#closed) return;
    const other = this.#other;
    queueMicrotask(() => other.#receive(line));
    this.#events?.written?.(line.length + 1);
  }

  sealWith(_sealer: BatchSealer): void {
    // In process, nothing travels: there is nothing to authenticate.
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#deliver();
  }

  get holding(): boolean {
    return this.#heldHead < this.#held.length;
  }

  drainArrived(): void {
    this.#draining = true;
    try {
      this.#deliver();
    } finally {
      this.#draining = false;
    }
  }

  /** In process there is no half-close: ending closes both ends, after the lines already sent. */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    const other = this.#other;
    queueMicrotask(() => {
      other.#farClosed();
      this.#events?.closed();
    });
  }

  close(_lingerMs?: number): void {
    this.end();
  }

  destroy(): void {
    this.end();
  }

  #receive(line: string): void {
    if (this.#closed) return;
    this.#held.push(line);
    this.#deliver();
  }

  #farClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events?.closed();
  }

  #deliver(): void {
    const events = this.#events;
    if (events === undefined) return;
    while (this.#heldHead < this.#held.length && (!this.#paused || this.#draining) && !this.#closed) {
      const i = this.#heldHead++;
      const line = this.#held[i]!;
      this.#held[i] = '';
      events.line(line, line.length);
    }
    if (this.#heldHead >= this.#held.length && this.#heldHead > 0) {
      this.#held = [];
      this.#heldHead = 0;
    }
  }
}

const listeners = new Map<string, (link: Link) => void>();

/** Serve `address` to clients of this process: `accept` gets the host's end of each connection. Returns the unregister function. */
export function listenLocal(address: string, accept: (link: Link) => void): () => void {
  listeners.set(address, accept);
  return () => {
    if (listeners.get(address) === accept) listeners.delete(address);
  };
}

/** The client's end of a new in-process connection to `address`, or undefined when this process does not host it. */
export function dialLocal(address: string): Link | undefined {
  const accept = listeners.get(address);
  if (accept === undefined) return undefined;
  const [client, host] = LocalEnd.pair(address);
  accept(host);
  return client;
}
