/**
 * The protocol's constants and message types, without zod: what the rest of the library (and so
 * its shipped `.d.ts`) names. messages.ts holds the zod schemas that check the lines, and proves
 * that each type here is exactly what its schema infers (a change to one without the other does
 * not compile).
 *
 * Why apart: a declaration that names a schema's inferred type makes the `.d.ts` import zod's, and
 * a user's compiler then reads and checks ~95 of zod's declaration files (with `skipLibCheck:
 * false`, ~2 s of TypeScript 5.5's 4.5 s on our type tests) for types it never sees.
 */

export const PROTOCOL_NAME = 'remoteobj';
export const PROTOCOL_VERSION = 1;
/** The versions a host offers in its hello (`"versions":[1,2]`); a client opts into 2 with a ClientHello. */
export const PROTOCOL_VERSIONS = [1, 2] as const;
/** Two-way sessions: requests both ways, references, release, cancel, streams (docs/protocol.md, "Protocol 2"). */
export const PROTOCOL_V2 = 2;

/** Longest op chain accepted in one request. */
export const MAX_OPS = 256;
/** Longest property name accepted in an op, in code points (zod's `max` counts them; docs/protocol.md says so). */
export const MAX_KEY_CHARS = 4096;
/** Most arguments accepted in one call. */
export const MAX_ARGS = 1024;
/** Most [id, count] pairs in one release message. */
export const MAX_RELEASE_REFS = 1024;
/**
 * Most items in one `items` line, and the most credit a producer holds (MAX_STREAM_WINDOW in
 * peer/streams.ts is this number), so a longer list is past any credit there can be.
 */
export const MAX_ITEMS_PER_LINE = 4096;

/**
 * Additions to protocol 2 a side reads, named in the host's hello (`"features":[...]`) and in the
 * client's opt-in: a side sends a feature's messages only to a side that named it. `items`: stream
 * items several to a line (ItemsMessage). A peer that names none (a client written from the
 * protocol page before `items`, a host of an earlier build) gets one `item` line per item.
 */
export const FEATURES = ['items'] as const;
export type Feature = (typeof FEATURES)[number];

/** A request's id: a safe integer, or a string of at most 128 characters. */
export type RequestId = number | string;
/** A property name or array index. */
export type Key = string | number;

export interface GetOp {
  op: 'get';
  key: Key;
}
export interface CallOp {
  op: 'call';
  args: unknown[];
}
export interface SetOp {
  op: 'set';
  key: Key;
  value: unknown;
}
export interface DelOp {
  op: 'del';
  key: Key;
}
export interface HasOp {
  op: 'has';
  value: unknown;
}
export interface LenOp {
  op: 'len';
}
export interface PasstoOp {
  op: 'passto';
  name: string;
  args: unknown[];
}
/** The member `key` of the class `depth` levels above the value's own class, bound to the value. */
export interface SuperOp {
  op: 'super';
  key: Key;
  depth: number;
}
/** The members of the value (names, kinds, types), filtered by the host's access rules: for `ls` and completion. */
export interface DescribeOp {
  op: 'describe';
}

/**
 * Every op: the one definition of the op model (its schema, messages.ts Op, is checked against
 * it). The evaluator's switch over `op.op` is exhaustive, so an op added here and not handled
 * there does not compile. As the evaluator takes it: its values (call and passto `args`, set and
 * has `value`) decoded.
 */
export type Op = GetOp | CallOp | SetOp | DelOp | HasOp | LenOp | PasstoOp | SuperOp | DescribeOp;
export type OpName = Op['op'];
/** Every op's name, in the order of the schema's union (messages.ts checks that it names them all). */
export const OP_NAMES = ['get', 'call', 'set', 'del', 'has', 'len', 'passto', 'super', 'describe'] as const satisfies readonly OpName[];

/** A request of protocol 1. */
export interface Request {
  kind?: 'request' | undefined;
  id: RequestId;
  /** true: a get, super or del of a member that does not exist fails with MISSING_MEMBER instead of giving undefined. */
  strict?: boolean | undefined;
  ops: Op[];
}

/**
 * A v2 request: either side may send one. `to`: evaluate the ops starting at the receiver's
 * export `to` instead of its root. `turn`: the lock turn it belongs to (see docs/architecture.md).
 */
export interface RequestV2 extends Request {
  to?: number | undefined;
  turn?: number | undefined;
}

/** The importer drops `count` references to each export `id` (the exporter frees it at zero). */
export interface ReleaseMessage {
  kind: 'release';
  refs: [number, number][];
}
/** The requester gives up on its request `id`. */
export interface CancelMessage {
  kind: 'cancel';
  id: RequestId;
}
/** Stream consumer → producer: `n` more items may be sent. */
export interface CreditMessage {
  kind: 'credit';
  stream: number;
  n: number;
}
/** Stream producer → consumer: one item (an encoded value). */
export interface ItemMessage {
  kind: 'item';
  stream: number;
  value: unknown;
}
/** Stream producer → consumer (feature `items`): several items in order, each an encoded value. */
export interface ItemsMessage {
  kind: 'items';
  stream: number;
  values: unknown[];
}
/** Stream producer → consumer: no more items; with `error`, the iterator threw it. */
export interface EndMessage {
  kind: 'end';
  stream: number;
  error?: { name: string; message: string; [key: string]: unknown } | undefined;
}
/** Stream consumer → producer: stop (break/return()); the producer runs the iterator's return(). */
export interface ReturnMessage {
  kind: 'return';
  stream: number;
}

/** The v2 messages that are neither requests nor replies. */
export type ControlMessage = ReleaseMessage | CancelMessage | CreditMessage | ItemMessage | ItemsMessage | EndMessage | ReturnMessage;
export type ControlKind = ControlMessage['kind'];
/** Every control message's kind, in the order of the schema's union (messages.ts checks that it names them all). */
export const CONTROL_KINDS = ['release', 'cancel', 'credit', 'item', 'items', 'end', 'return'] as const satisfies readonly ControlKind[];

export interface Hello {
  kind: 'hello';
  protocol: typeof PROTOCOL_NAME;
  version: number;
  pid: number;
  [key: string]: unknown;
}

export interface ValueReply {
  id: RequestId | null;
  kind: 'value';
  value: unknown;
  [key: string]: unknown;
}
export interface SelfReply {
  id: RequestId | null;
  kind: 'self';
  [key: string]: unknown;
}
export interface ErrorReply {
  id: RequestId | null;
  kind: 'error';
  error: { name: string; message: string; [key: string]: unknown };
  [key: string]: unknown;
}
export type Reply = ValueReply | SelfReply | ErrorReply;
