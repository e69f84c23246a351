/**
 * The wire protocol's messages as zod schemas (their types are wire-types.ts's, proven equal to
 * what each schema infers at the end of this file). Loaded only when a line needs a schema
 * (wire.ts schemas()). One message is one line of UTF-8 JSON (NDJSON). docs/protocol.md is the
 * prose version.
 *
 *   host → client, once on connect:  {"kind":"hello","protocol":"remoteobj","version":1,"pid":123}
 *   client → host:                   {"id":1,"ops":[{"op":"get","key":"count"}]}
 *   host → client:                   {"id":1,"kind":"value","value":10}
 *                                    {"id":1,"kind":"self"}
 *                                    {"id":1,"kind":"error","error":{"name":"TypeError",...}}
 *
 * Values inside ops and replies use the tagged JSON of codec.ts. Reply kinds other than
 * value/self/error are reserved for later versions (references, streams, events): a client
 * must treat an unknown kind as a protocol error for that request, not crash.
 */
import { z } from 'zod';
import { AUTH_METHOD, AUTH_METHOD_TLS } from './auth';
import type * as Wire from './wire-types';
import { FEATURES, MAX_ARGS, MAX_ITEMS_PER_LINE, MAX_KEY_CHARS, MAX_OPS, MAX_RELEASE_REFS, PROTOCOL_NAME, PROTOCOL_V2 } from './wire-types';

// The constants and types live in wire-types.ts (no zod there, so none in the shipped .d.ts);
// each type below is the one there, and the checks at the end prove it is what its schema infers.
export { FEATURES, MAX_ARGS, MAX_ITEMS_PER_LINE, MAX_KEY_CHARS, MAX_OPS, MAX_RELEASE_REFS, PROTOCOL_NAME, PROTOCOL_V2, PROTOCOL_VERSION, PROTOCOL_VERSIONS } from './wire-types';
export type { Feature } from './wire-types';

export const RequestId = z.union([z.number().int().safe(), z.string().max(128)]);
export type RequestId = Wire.RequestId;

/** A property name or array index. */
const Key = z.union([z.string().max(MAX_KEY_CHARS), z.number().int().nonnegative().safe()]);
/** An encoded value (see codec.ts); checked by the decoder, not by zod. */
const Value = z.unknown();
const Args = z.array(Value).max(MAX_ARGS);

export const GetOp = z.strictObject({ op: z.literal('get'), key: Key });
export const CallOp = z.strictObject({ op: z.literal('call'), args: Args.default([]) });
export const SetOp = z.strictObject({ op: z.literal('set'), key: Key, value: Value });
export const DelOp = z.strictObject({ op: z.literal('del'), key: Key });
export const HasOp = z.strictObject({ op: z.literal('has'), value: Value });
export const LenOp = z.strictObject({ op: z.literal('len') });
export const PasstoOp = z.strictObject({ op: z.literal('passto'), name: z.string().min(1).max(256), args: Args.default([]) });
/** The member `key` of the class `depth` levels above the value's own class, bound to the value. */
export const SuperOp = z.strictObject({ op: z.literal('super'), key: Key, depth: z.number().int().min(1).max(64).default(1) });

/** The members of the value (names, kinds, types), filtered by the host's access rules: for `ls` and completion. */
export const DescribeOp = z.strictObject({ op: z.literal('describe') });

/** Every op (its type, wire-types.ts Op, is the one definition of the op model the library uses). */
export const Op = z.discriminatedUnion('op', [GetOp, CallOp, SetOp, DelOp, HasOp, LenOp, PasstoOp, SuperOp, DescribeOp]);
export type Op = Wire.Op;
export type OpName = Wire.OpName;
export { OP_NAMES } from './wire-types';

export const Request = z.strictObject({
  kind: z.literal('request').optional(),
  id: RequestId,
  /** true: a get, super or del of a member that does not exist fails with MISSING_MEMBER instead of giving undefined. */
  strict: z.boolean().optional(),
  ops: z.array(Op).max(MAX_OPS),
});
export type Request = Wire.Request;

/** An id in an export table (a `$fn`/`$handle`/`$stream` id) or a stream's id. */
export const RefId = z.number().int().min(1).safe();
/** A turn of the host's lock a request belongs to (the lock rule for callbacks). */
export const Turn = z.number().int().min(1).safe();

/**
 * A v2 request: either side may send one. `to`: evaluate the ops starting at the receiver's
 * export `to` instead of its root. `turn`: the lock turn it belongs to (see docs/architecture.md).
 */
export const RequestV2 = z.strictObject({
  kind: z.literal('request').optional(),
  id: RequestId,
  strict: z.boolean().optional(),
  to: RefId.optional(),
  turn: Turn.optional(),
  ops: z.array(Op).max(MAX_OPS),
});
export type RequestV2 = Wire.RequestV2;

/** The client's opt-in to protocol 2: its first line after the hello (after authentication with a secret). */
export const ClientHello = z.strictObject({
  kind: z.literal('hello'),
  version: z.literal(PROTOCOL_V2),
  /** The features of the host's hello this client reads too (unknown names are ignored). */
  features: z.array(z.string().max(64)).max(64).optional(),
});

/** The importer drops `count` references to each export `id` (the exporter frees it at zero). */
export const ReleaseMessage = z.strictObject({
  kind: z.literal('release'),
  refs: z.array(z.tuple([RefId, z.number().int().min(1).safe()])).min(1).max(MAX_RELEASE_REFS),
});
/** The requester gives up on its request `id`. */
export const CancelMessage = z.strictObject({ kind: z.literal('cancel'), id: RequestId });
/** Stream consumer → producer: `n` more items may be sent. */
export const CreditMessage = z.strictObject({ kind: z.literal('credit'), stream: RefId, n: z.number().int().min(1).safe() });
/** Stream producer → consumer: one item (an encoded value). */
export const ItemMessage = z.strictObject({ kind: z.literal('item'), stream: RefId, value: Value });
/** Stream producer → consumer (feature `items`): several items in order, each an encoded value. */
export const ItemsMessage = z.strictObject({ kind: z.literal('items'), stream: RefId, values: z.array(Value).min(1).max(MAX_ITEMS_PER_LINE) });
/** Stream producer → consumer: no more items; with `error`, the iterator threw it. */
export const EndMessage = z.strictObject({
  kind: z.literal('end'),
  stream: RefId,
  error: z.looseObject({ name: z.string(), message: z.string() }).optional(),
});
/** Stream consumer → producer: stop (break/return()); the producer runs the iterator's return(). */
export const ReturnMessage = z.strictObject({ kind: z.literal('return'), stream: RefId });

/** The v2 messages that are neither requests nor replies. */
export const ControlMessage = z.discriminatedUnion('kind', [ReleaseMessage, CancelMessage, CreditMessage, ItemMessage, ItemsMessage, EndMessage, ReturnMessage]);
export type ControlMessage = Wire.ControlMessage;
export type ControlKind = Wire.ControlKind;
export { CONTROL_KINDS } from './wire-types';

export const Hello = z.looseObject({
  kind: z.literal('hello'),
  protocol: z.literal(PROTOCOL_NAME),
  version: z.number().int(),
  pid: z.number().int(),
});
export type Hello = Wire.Hello;

/** The client's answer to the hello's challenge (see auth.ts). */
export const AuthRequest = z.strictObject({
  kind: z.literal('auth'),
  method: z.enum([AUTH_METHOD, AUTH_METHOD_TLS]),
  digest: z.string().max(128),
  nonce: z.string().regex(/^[0-9a-f]{64}$/),
});
/** The host's acceptance, proving it knows the secret too. */
export const AuthReply = z.looseObject({ kind: z.literal('auth'), ok: z.literal(true), digest: z.string() });

const ReplyId = z.union([RequestId, z.null()]);
export const ValueReply = z.looseObject({ id: ReplyId, kind: z.literal('value'), value: Value });
export const SelfReply = z.looseObject({ id: ReplyId, kind: z.literal('self') });
export const ErrorReply = z.looseObject({
  id: ReplyId,
  kind: z.literal('error'),
  error: z.looseObject({ name: z.string(), message: z.string() }),
});
export const Reply = z.discriminatedUnion('kind', [ValueReply, SelfReply, ErrorReply]);
export type Reply = Wire.Reply;

/** A schema that zod compiles the first time a line needs it (see below). */
export interface CompiledOnUse<T extends z.ZodType> {
  safeParse(input: unknown): z.ZodSafeParseResult<z.output<T>>;
  /** The compiled schema (compiled now, if no line has needed it yet). */
  readonly compiled: T;
}

function compiledOnUse<T extends z.ZodType>(schema: T): CompiledOnUse<T> {
  let compiled: T | undefined;
  return {
    safeParse: (input) => (compiled ??= z.compile(schema)).safeParse(input) as z.ZodSafeParseResult<z.output<T>>,
    get compiled() {
      return (compiled ??= z.compile(schema));
    },
  };
}

/**
 * The schemas every request and reply line is checked with, compiled by zod (`z.compile`): zod
 * generates a validator from the schema, and a line it rejects is parsed again by the runtime
 * schema for the error message, so the answers are the schema's own. Measured in a hot loop:
 * 0.12 µs instead of 0.70 for a two-op request. Where code generation is not allowed
 * (`--disallow-code-generation-from-strings`), z.compile hands back the runtime schema.
 *
 * Each is compiled when a line first needs it, not when this module loads: generating the four
 * took ~25 ms of every process's start (the CLI, a fork() child, each test's host), and the lines
 * the library writes are read by hand (line-reader.ts), so many processes never need one.
 */
export const RequestSchema = compiledOnUse(Request);
export const RequestV2Schema = compiledOnUse(RequestV2);
export const ControlSchema = compiledOnUse(ControlMessage);
export const ReplySchema = compiledOnUse(Reply);

/** true exactly when A and B are the same type (not merely assignable one to the other). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Each wire-types.ts type is what its schema gives: a schema changed without its type (or the other way) does not compile. */
const wireTypesMatch: [
  Same<Wire.RequestId, z.infer<typeof RequestId>>,
  Same<Wire.Op, z.infer<typeof Op>>,
  Same<Wire.Request, z.infer<typeof Request>>,
  Same<Wire.RequestV2, z.infer<typeof RequestV2>>,
  Same<Wire.ControlMessage, z.infer<typeof ControlMessage>>,
  Same<Wire.Hello, z.infer<typeof Hello>>,
  Same<Wire.Reply, z.infer<typeof Reply>>,
  Same<(typeof Wire.OP_NAMES)[number], z.infer<typeof Op>['op']>,
  Same<(typeof Wire.CONTROL_KINDS)[number], z.infer<typeof ControlMessage>['kind']>,
] = [true, true, true, true, true, true, true, true, true];
void wireTypesMatch;
