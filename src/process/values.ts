/**
 * The values of fork()'s messages (arguments, results, yields): the core value codec. An Except
 * travels by reference through the fork's link (fork-link.ts: `{"$except": …}` with the link's
 * peer as the codec's context), so only an Except that was really sent becomes a handle: plain
 * data shaped like anything else stays the plain data it was (a one-`$`-key object is escaped).
 */
import { type CodecContext, decode, encode, type Json } from '../protocol/codec';

/** Encode for a fork message. Throws EncodeError (naming where, e.g. `args[1].fn`) for what cannot travel. */
export function encodeValue(value: unknown, path: string, context?: CodecContext): Json {
  return encode(value, path, context);
}

/** Decode a value of a fork message. Throws ProtocolError BAD_VALUE on anything malformed. */
export function decodeValue(json: unknown, context?: CodecContext): unknown {
  return decode(json, context === undefined ? undefined : { context });
}
