/**
 * A protocol-2 peer between fork()'s parent and its child, over the child's IPC channel, for the
 * values that travel by reference: an Except argument (the child gets a handle whose records come
 * back as requests on this link) and an Except handle sent back (the parent gets its owner again).
 *
 * The IPC channel already carries fork's own messages (messages.ts), so the link runs on a
 * sub-channel of it: each of its messages goes inside `{ro: 1, t: 'link', m}`, and fork hands
 * those to `deliver()`. The link itself is the message-port Link (transport/message-port-link.ts):
 * NDJSON text, credit, open/ready (the parent opens first, before the child listens; the child's
 * own `open` starts it). Both ends are this library's, on a private channel, so there is no hello:
 * both peers start in protocol 2.
 *
 * Only Excepts travel this way (`context`): a function or a stream in fork's values is refused as
 * before (fork copies values; it is no session).
 */
import { EventEmitter } from 'node:events';
import { ConnectionClosedError, ProtocolError } from '../errors';
import { Peer } from '../peer/peer';
import type { CodecContext, ExportKind, Json, RefTag } from '../protocol/codec';
import { MessagePortLink } from '../transport/message-port-link';
import type { LinkMessage } from './messages';

export function isLinkMessage(m: { t: string }): m is LinkMessage {
  return m.t === 'link';
}

/** The far end of the IPC channel: a ChildProcess (in the parent) or `process` (in the child). */
interface Channel {
  send?(message: unknown, sendHandle?: undefined, options?: undefined, callback?: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
}

/**
 * The sub-channel as a port for MessagePortLink: `send` wraps, `deliver` unwraps. Messages sent
 * before the channel is bound (the parent encodes its arguments before it starts the child) wait.
 */
class SubChannel extends EventEmitter {
  #channel?: Channel;
  #waiting: unknown[] = [];

  get connected(): boolean {
    return this.#channel === undefined || this.#channel.connected !== false;
  }

  bind(channel: Channel): void {
    this.#channel = channel;
    for (const m of this.#waiting.splice(0)) this.send(m);
  }

  send(m: unknown, callback?: (error: Error | null) => void): boolean {
    const channel = this.#channel;
    if (channel === undefined) {
      this.#waiting.push(m);
      return true;
    }
    const wrapped: LinkMessage = { ro: 1, t: 'link', m };
    try {
      return channel.send?.(wrapped, undefined, undefined, (e) => callback?.(e)) ?? false;
    } catch (e) {
      callback?.(e as Error); // the channel closed under us
      return false;
    }
  }
}

export class ForkLink {
  readonly peer: Peer;
  /** The codec context for fork's values: Excepts by reference, everything else as before. */
  readonly context: CodecContext;
  readonly #port = new SubChannel();
  readonly #link: MessagePortLink;

  /** `address`: the far side, for messages; `origin`: this side, for the errors it sends. */
  constructor(address: string, origin: { pid: number; path: string }) {
    this.#link = new MessagePortLink(this.#port, address);
    const peer = (this.peer = new Peer(this.#link, { address, origin }));
    peer.upgrade({
      // Requests at an Except are answered by the peer itself; nothing else is exported here.
      handler: { request: (id) => peer.replyError(id, new ProtocolError('BAD_MESSAGE', 'a fork link answers only records of an Except')) },
    });
    this.#link.start({
      line: (text, bytes) => peer.line(text, bytes),
      badLine: () => {},
      overflow: () => this.#link.destroy(),
      ended: () => this.#link.end(),
      closed: () => peer.failAll(`the fork link to ${address} is closed`, new ConnectionClosedError(`${address} has exited`)),
    });
    this.context = exceptsOnly(peer);
  }

  /** Start talking on this channel (the parent: once the child is started). */
  bind(channel: Channel): void {
    this.#port.bind(channel);
  }

  /** One of the link's messages arrived on the channel. */
  deliver(message: LinkMessage): void {
    this.#port.emit('message', message.m);
  }

  /** The channel is gone (the child exited, the parent disconnected): every request on the link fails, every export is freed. */
  closed(): void {
    this.#port.emit('disconnect');
  }
}

/** The peer as a codec context that takes only Excepts (and this side's stand-ins for the far side's). */
function exceptsOnly(peer: Peer): CodecContext {
  return {
    exportValue(value: object, kind: ExportKind | undefined, path: string): Json | undefined {
      if (kind === 'except' || peer.imports.idOf(value) !== undefined) return peer.exportValue(value, kind, path);
      return undefined;
    },
    importTag(tag: RefTag, id: number, info?: Record<string, unknown>): unknown {
      if (tag !== '$except' && tag !== '$yours') throw new ProtocolError('BAD_VALUE', `${tag}: fork's values take no references but an Except`);
      return peer.importTag(tag, id, info);
    },
  };
}
