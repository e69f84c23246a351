/**
 * Typed references (protocol v2): classes of the library whose instances travel by reference
 * with a description, so the receiver builds a stand-in of the same class (an Except arrives as
 * an Except handle, not a proxy). The class registers how it is described, revived and answered;
 * the peer does the rest (ids, counts, release, `$yours`) as for any reference.
 *
 * The class lives above the peer (except/ imports peer/, never the reverse), hence a registry.
 */
import type { Json } from '../protocol/codec';
import type { WireError } from '../protocol/error-wire';
import type { Op } from '../protocol/wire-types';

/** The far side's object, as the stand-in reaches it. */
export interface FarRef {
  /** Run `ops` on the far object; resolves with the value (rejects with ReleasedError, ConnectionClosedError...). */
  request(ops: readonly Op[]): Promise<unknown>;
  /** This side's origin for the errors it sends (`{pid, path}`). */
  readonly origin: WireError['origin'];
  /** The far side's address, for messages. */
  readonly address: string;
}

export interface TypedRefKind {
  /** What travels with the id (`{"$except": {"id": N, ...describe(value)}}`). */
  describe(value: object): Record<string, Json>;
  /** The stand-in for a far object described by `info` (the tag's payload; checked here: throw ProtocolError BAD_VALUE). */
  revive(info: Record<string, unknown>, far: FarRef): object;
  /** A request of the far side at this side's `value`: its result (or a promise of it). Throw to refuse. */
  answer(value: object, ops: readonly Op[]): unknown;
}

const kinds = new Map<'except', TypedRefKind>();

/** @internal Register a typed reference (except/except.ts, when it is loaded). */
export function registerTypedRef(kind: 'except', how: TypedRefKind): void {
  kinds.set(kind, how);
}

/** How `kind` travels, if its class is loaded. */
export function typedRef(kind: 'except'): TypedRefKind | undefined {
  return kinds.get(kind);
}
