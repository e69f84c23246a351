/**
 * Every line that crosses the wire is written and read here: one writer and one reader per
 * envelope (hello, auth, request, reply). No other module builds or parses a protocol line; they
 * hand values and ops in and get typed messages back. docs/protocol.md is the prose version,
 * messages.ts holds the schemas, canonical.ts the exact text of the hot lines.
 *
 * Writers return the line without its "\n" (the framing adds it). Readers never throw: a line
 * that is not the message expected comes back as a typed fault, with the protocol error code to
 * answer it with.
 */
import { EncodeError, ErrorCodes, ProtocolError, type ProtocolErrorCode, RemoteObjError } from '../errors';
import { BUFFER_START, BYTES_START, CALL_OP_START, CANCEL_START, GET_OP_START, ID_START, ITEM_START, ITEM_VALUE, ITEMS_START, ITEMS_VALUES, OPS_FIELD, SELF_REPLY_END, STRICT_FIELD, TO_FIELD, TURN_FIELD, TYPED_BASE64, TYPED_NAME, TYPED_START, VALUE_REPLY_MIDDLE } from './canonical';
import { type CodecContext, type DecodeOptions, decode, decodeList, encode, encodeList, encodeReply, type Json, pushFlatCopy } from './codec';
import type { WireError } from './error-wire';
import { type CanonicalRequest, canonicalCancelId, parseReplyLine, readCanonicalIdLine, readCanonicalItem, readCanonicalItems, readCanonicalRequest } from './line-reader';
import type * as Messages from './messages';
import {
  CONTROL_KINDS,
  type ControlMessage,
  type ErrorReply,
  type Feature,
  FEATURES,
  type Hello,
  MAX_ARGS,
  MAX_ITEMS_PER_LINE,
  MAX_KEY_CHARS,
  MAX_OPS,
  OP_NAMES,
  type Op,
  PROTOCOL_NAME,
  PROTOCOL_V2,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  type Reply,
  type Request,
  type RequestId,
  type RequestV2,
} from './wire-types';

/**
 * The zod schemas (messages.ts), loaded when a line first needs one. zod and the schemas were
 * ~75 ms of the ~130 ms that loading the library took (every process: the CLI, a fork() child, a
 * host), and the lines a session sends most are read without them: the hello, the client's
 * opt-in and error replies by the checks below, requests, replies, items and cancels in their
 * canonical forms by line-reader.ts. A line outside those (another client's, a refusal,
 * authentication, a stream's credit) loads them.
 */
let messages: typeof Messages | undefined;
function schemas(): typeof Messages {
  return (messages ??= require('./messages') as typeof Messages);
}

/** A JSON object (not null, not a list): what every message is. */
function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A request id the schema accepts: a safe integer, or a string of at most 128 characters (so at most 128 code points). */
function isRequestId(v: unknown): v is RequestId {
  return Number.isSafeInteger(v) || (typeof v === 'string' && v.length <= 128);
}

// ---------------------------------------------------------------------------------------------
// The hello and authentication (once per connection: plain JSON, no hand-written text needed).

/** What the host says about itself in its hello. */
export interface HelloFields {
  pid: number;
  maxMessageBytes: number;
  /** A host with a secret: the challenge the client must answer. */
  auth?: { method: string; nonce: string; binding?: string };
}

export function helloLine(h: HelloFields): string {
  return JSON.stringify({
    kind: 'hello',
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    // v1 clients read `version` and ignore this (Hello is a loose object); a v2 client opts in.
    versions: PROTOCOL_VERSIONS,
    // What this host reads beyond protocol 2's first form (messages.ts FEATURES); ignored by v1 clients too.
    features: FEATURES,
    pid: h.pid,
    limits: { maxMessageBytes: h.maxMessageBytes },
    ...(h.auth ? { auth: h.auth } : {}),
  });
}

/** A host's first line as a client reads it. */
export type HelloReading =
  | { kind: 'hello'; version: number; pid: number; maxMessageBytes?: number; auth?: { method: unknown; nonce: unknown; binding?: unknown }; versions?: number[]; features?: Feature[] }
  /** An error instead of a hello: the host refused the connection (no slot, say). */
  | { kind: 'refusal'; error: WireError }
  | { kind: 'other'; problem: string };

export function readHello(line: string): HelloReading {
  const msg = jsonOrUndefined(line);
  let hello: Hello;
  if (isPlainHello(msg)) hello = msg;
  else {
    const parsed = schemas().Hello.safeParse(msg);
    if (!parsed.success) return refusalOr(msg, `did not greet as a ${PROTOCOL_NAME} host: ${line.slice(0, 200)}`);
    hello = parsed.data;
  }
  const { limits, auth, versions, features } = hello as { limits?: { maxMessageBytes?: unknown }; auth?: { method?: unknown; nonce?: unknown; binding?: unknown }; versions?: unknown; features?: unknown };
  // The schema lets other fields through as they are: an `auth` that is there must be an object.
  if (auth !== undefined && !isJsonObject(auth)) {
    return { kind: 'other', problem: `sent a hello whose "auth" is not an object: ${line.slice(0, 200)}` };
  }
  return {
    ...(Array.isArray(versions) ? { versions: versions.filter((v): v is number => typeof v === 'number') } : {}),
    ...(Array.isArray(features) ? { features: knownFeatures(features) } : {}),
    kind: 'hello',
    version: hello.version,
    pid: hello.pid,
    ...(typeof limits?.maxMessageBytes === 'number' ? { maxMessageBytes: limits.maxMessageBytes } : {}),
    ...(auth !== undefined ? { auth: { method: auth.method, nonce: auth.nonce, ...(auth.binding !== undefined ? { binding: auth.binding } : {}) } } : {}),
  };
}

/**
 * A hello the schema surely accepts (JSON.parse's object with the four fields it requires, its
 * numbers safe integers; the others pass through, as the schema passes them), told without zod.
 * Anything else goes to the schema, which accepts or says why not (wire-check.test.ts compares).
 */
export function isPlainHello(msg: unknown): msg is Hello {
  return isJsonObject(msg) && msg.kind === 'hello' && msg.protocol === PROTOCOL_NAME && Number.isSafeInteger(msg.version) && Number.isSafeInteger(msg.pid);
}

/** The features of FEATURES among `names` (a far side's list: unknown names are left out). */
function knownFeatures(names: readonly unknown[]): Feature[] {
  return FEATURES.filter((f) => names.includes(f));
}

/**
 * The client's opt-in to protocol 2, its first line once the hello (and authentication) is done.
 * `features`: those of the host's hello this client reads too; none (a host that offered none)
 * gives the line of protocol 2's first form, which every v2 host reads.
 */
export function clientHelloLine(features: readonly Feature[] = []): string {
  return JSON.stringify(features.length === 0 ? { kind: 'hello', version: PROTOCOL_V2 } : { kind: 'hello', version: PROTOCOL_V2, features });
}

/** Whether a line is the client's opt-in to protocol 2 (cheap to ask of every line: most are requests). */
export function isClientHello(line: string): boolean {
  return readClientHello(line) !== undefined;
}

/** The client's opt-in to protocol 2: the features it reads (of FEATURES); undefined when the line is not one. */
export function readClientHello(line: string): { features: Feature[] } | undefined {
  if (!line.includes('"hello"')) return undefined;
  const msg = jsonOrUndefined(line);
  const plain = plainClientHelloFeatures(msg);
  if (plain !== undefined) return { features: knownFeatures(plain) };
  const parsed = schemas().ClientHello.safeParse(msg);
  return parsed.success ? { features: knownFeatures(parsed.data.features ?? []) } : undefined;
}

/**
 * The features of a client's opt-in the schema surely accepts, told without zod: exactly `kind`
 * "hello", `version` 2 and at most `features`, a list of at most 64 ASCII names of at most 64
 * characters. Undefined for anything else, which goes to the schema (wire-check.test.ts compares).
 */
export function plainClientHelloFeatures(m: unknown): readonly string[] | undefined {
  if (!isJsonObject(m) || m.kind !== 'hello' || m.version !== PROTOCOL_V2) return undefined;
  const keys = Object.keys(m).length;
  if (m.features === undefined) return keys === 2 && !('features' in m) ? [] : undefined;
  if (keys !== 3 || !Array.isArray(m.features) || m.features.length > 64) return undefined;
  for (const f of m.features) if (typeof f !== 'string' || f.length > 64 || !/^[\x20-\x7e]*$/.test(f)) return undefined;
  return m.features as string[];
}

/** The client's answer to the hello's challenge. */
export function authLine(method: string, digest: string, nonce: string): string {
  return JSON.stringify({ kind: 'auth', method, digest, nonce });
}

/** The client's auth message, or undefined when the line is not one. */
export function readAuthLine(line: string): { method: string; digest: string; nonce: string } | undefined {
  const parsed = schemas().AuthRequest.safeParse(jsonOrUndefined(line));
  return parsed.success ? { method: parsed.data.method, digest: parsed.data.digest, nonce: parsed.data.nonce } : undefined;
}

/** The host's acceptance, with its own proof. */
export function authOkLine(digest: string): string {
  return JSON.stringify({ kind: 'auth', ok: true, digest });
}

export type AuthAnswerReading = { kind: 'ok'; digest: string } | { kind: 'refusal'; error: WireError } | { kind: 'other'; problem: string };

export function readAuthAnswer(line: string): AuthAnswerReading {
  const msg = jsonOrUndefined(line);
  const ok = schemas().AuthReply.safeParse(msg);
  return ok.success ? { kind: 'ok', digest: ok.data.digest } : refusalOr(msg, 'sent no valid answer to authentication');
}

function refusalOr(msg: unknown, problem: string): { kind: 'refusal'; error: WireError } | { kind: 'other'; problem: string } {
  const refusal = schemas().ErrorReply.safeParse(msg);
  return refusal.success ? { kind: 'refusal', error: refusal.data.error as WireError } : { kind: 'other', problem };
}

function jsonOrUndefined(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests.

/**
 * A number's JSON text, written without V8's number-to-string cache. `'' + n` (and `String(n)`,
 * templates) keeps each new string in that cache, an old-space table, so a host writing a few
 * thousand distinct ids and results between two scavenges keeps them alive through both and
 * promotes them: 12 KB per scavenge at case (b), against 0.7 KB this way (host-only harness,
 * --trace-gc-nvp), and the bench host's scavenges took 0.95 ms instead of 0.70 (case (a)).
 *
 * Ids and small results are integers below 10^9: their text is put together from two tables of
 * a thousand strings each (the numbers 0–999, and 000–999), one new flat string of at most 9
 * characters per number and nothing cached. In a hot loop 24–31 ns per number against 52–64 for
 * JSON.stringify, which writes any other number (the tables: 64 KiB of heap, made on first use).
 */
function numberText(n: number): string {
  if (!(n >= 0 && n < 1e9) || (n | 0) !== n) return JSON.stringify(n);
  if (WHOLE.length === 0) fillDigitTables();
  if (n < 1000) return WHOLE[n]!;
  const high = (n / 1000) | 0;
  const low = PADDED[n - high * 1000]!;
  if (high < 1000) return WHOLE[high]! + low;
  const top = (high / 1000) | 0;
  return WHOLE[top]! + PADDED[high - top * 1000]! + low;
}

/** "0"…"999" and "000"…"999", filled on first use. */
const WHOLE: string[] = [];
const PADDED: string[] = [];

function fillDigitTables(): void {
  for (let i = 0; i < 1000; i++) {
    WHOLE.push(JSON.stringify(i));
    PADDED.push(JSON.stringify(i).padStart(3, '0'));
  }
}

/** A request id's JSON text: a number's as numberText writes it, a string's quoted. */
function idText(id: RequestId): string {
  return typeof id === 'number' ? numberText(id) : JSON.stringify(id);
}

/**
 * A request line; values are encoded here, so a value that cannot be sent throws EncodeError (or
 * an AccessError for the library's own objects) and nothing is written. `get` and `call`, nearly
 * every op sent, are written by hand around JSON.stringify of their key or arguments:
 * JSON.stringify of nested objects costs ~0.15 µs per object, twice the whole line's text built
 * this way (0.24 µs instead of 0.51 for get + call).
 */
export function requestLine(id: number, ops: readonly Op[], strict: boolean | undefined, ctx?: CodecContext, to?: number, turn?: number): string {
  const idDigits = numberText(id);
  let text = ID_START + idDigits + (strict ? STRICT_FIELD + OPS_FIELD + '[' : OPS_FIELD + '[');
  // v2's `to` and `turn` go between the id and the ops (the v1 canonical form has neither).
  if (to !== undefined || turn !== undefined) text = ID_START + idDigits + (strict ? STRICT_FIELD : '') + (to === undefined ? '' : TO_FIELD + numberText(to)) + (turn === undefined ? '' : TURN_FIELD + numberText(turn)) + OPS_FIELD + '[';
  try {
    for (let i = 0; i < ops.length; i++) text += (i > 0 ? ',' : '') + opText(ops[i]!, ctx);
  } catch (e) {
    throw e instanceof RemoteObjError ? e : new EncodeError((e as Error).message, { cause: e });
  }
  return text + ']}';
}

function opText(op: Op, ctx: CodecContext | undefined): string {
  switch (op.op) {
    case 'get':
      return typeof op.key === 'string' ? getOpText(op.key) : GET_OP_START + JSON.stringify(op.key) + '}';
    case 'call':
      return CALL_OP_START + argsText(op.args, encodeList(op.args, 'args', ctx)) + '}';
    default:
      return JSON.stringify(wireOp(op, ctx));
  }
}

/**
 * The text of `get` ops by key: a client reads the same few names over and over. With listText,
 * the request line of `add(1)` takes 0.15 µs instead of 0.29 (JSON.stringify of the key 0.05 and
 * of `[1]` 0.09 in a hot loop; see docs/performance.md). Bounded: cleared when full.
 */
const GET_TEXTS = new Map<string, string>();

function getOpText(key: string): string {
  let text = GET_TEXTS.get(key);
  if (text === undefined) {
    if (GET_TEXTS.size >= 512) GET_TEXTS.clear();
    text = GET_OP_START + JSON.stringify(key) + '}';
    if (key.length <= 256) GET_TEXTS.set(key, text);
  }
  return text;
}

/** The text of a call's arguments, `encoded` their encoding: bytes and typed arrays among them go through valueText. */
function argsText(args: readonly unknown[], encoded: Json[]): string {
  if (encoded !== args) {
    for (let i = 0; i < args.length; i++) {
      if (ArrayBuffer.isView(args[i])) return '[' + encoded.map((json, j) => valueText(args[j], json)).join(',') + ']';
    }
  }
  return listText(encoded);
}

/**
 * The JSON text of `json`, the encoding of `value`. Bytes (a Uint8Array, a Buffer) encode as one
 * tag, `{"$bytes":"<base64>"}` or `$buffer`, other typed arrays as `$typed`, and base64 needs no
 * escape: the text is written around it as it is, where JSON.stringify would scan it all first
 * (1 MiB of bytes, 1.4 MB of base64: 2.6 ms). Only the codec makes such a tag for a typed array (a
 * ref()'d one becomes a `$handle`, which goes to JSON.stringify); plain data with a lone "$" key
 * travels escaped.
 */
function valueText(value: unknown, json: Json): string {
  if (ArrayBuffer.isView(value) && json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const keys = Object.keys(json);
    const key = keys[0];
    const payload = json[key!];
    if (keys.length === 1 && (key === '$bytes' || key === '$buffer') && typeof payload === 'string') return (key === '$bytes' ? BYTES_START : BUFFER_START) + payload + '"}';
    // Another typed array: `{"$typed":{"type":"Float32Array","base64":"…"}}`, its type one of the codec's names.
    if (keys.length === 1 && key === '$typed' && payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
      const fields = Object.keys(payload);
      const { type, base64 } = payload as { type?: unknown; base64?: unknown };
      if (fields.length === 2 && fields[0] === 'type' && fields[1] === 'base64' && typeof type === 'string' && TYPED_NAME.test(type) && typeof base64 === 'string') return TYPED_START + type + TYPED_BASE64 + base64 + '"}}';
    }
  }
  return JSON.stringify(json);
}

/** JSON.stringify(list), written by hand for a short list of numbers, booleans, nulls and short plain strings. */
function listText(list: readonly Json[]): string {
  if (list.length > 8) return JSON.stringify(list);
  let text = '[';
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (i > 0) text += ',';
    // encodeList hands over only plain JSON as it is: a number here is finite and not -0.
    if (typeof v === 'number') text += numberText(v);
    else if (typeof v === 'boolean' || v === null) text += String(v);
    else if (typeof v === 'string' && isPlainText(v)) text += '"' + v + '"';
    else return JSON.stringify(list);
  }
  return text + ']';
}

/** A short string that JSON writes as it is between quotes: printable ASCII, no `"` or `\`. */
function isPlainText(s: string): boolean {
  if (s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
  }
  return true;
}

/** The ops as they travel (values in their tagged JSON form), e.g. for `remoteobj -v`. */
export function wireOps(ops: readonly Op[]): unknown[] {
  return ops.map((op) => wireOp(op));
}

/**
 * An op with its values encoded (itself when they are plain JSON already). The ops that carry
 * values are listed here and in decodeOp below, and nowhere else.
 */
function wireOp(op: Op, ctx?: CodecContext): unknown {
  switch (op.op) {
    case 'call':
    case 'passto': {
      const args = encodeList(op.args, 'args', ctx);
      return args === op.args ? op : { ...op, args };
    }
    case 'set':
    case 'has': {
      const value = encode(op.value, 'value', ctx);
      return value === op.value ? op : { ...op, value };
    }
    default:
      return op;
  }
}

/** Decode an op's values, in place (zod's output is already a fresh copy of the request). */
function decodeOp(op: Op, options: DecodeOptions): void {
  switch (op.op) {
    case 'call':
    case 'passto':
      op.args = decodeList(op.args, options);
      return;
    case 'set':
    case 'has':
      op.value = decode(op.value, options);
      return;
  }
}

/** What is wrong with a line that should have been a request. */
export class RequestFault {
  constructor(
    /** The request's id when it could be read (the error reply then answers that request). */
    readonly id: RequestId | null,
    readonly code: ProtocolErrorCode,
    readonly message: string,
  ) {}
}

/**
 * A request line as the host reads it: the request (zod's copy, with its values decoded), or a
 * RequestFault. (No wrapper object on success: this is on every request's path.)
 */
export function readRequest(line: string, options: DecodeOptions): Request | RequestFault {
  const handRead = readCanonicalRequest(line);
  if (handRead !== undefined) return checkRequest(handRead, options, false, true);
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    return fault(null, 'BAD_JSON', `the line is not valid JSON (${(e as Error).message})`);
  }
  return checkRequest(msg, options, false);
}

/**
 * Whether a request read by hand (line-reader.ts: `{"id":<digits>,["strict":true,]["to":<digits>,]
 * ["turn":<digits>,]"ops":[...]}` with get ops of a plain string or numeric key and a call op
 * last) passes the request schema (v1's, or with `v2` v2's):
 * the reader has checked its structure (no other field, no other op), so only the schema's limits
 * are left. When they hold, the schema would accept it and give an equal copy; when not, zod
 * checks it and says what is wrong. Skipping zod's parse and copy: case (b)'s get + call
 * request read by readLineV2 in a hot loop, 676–742 -> 509–534 ns of CPU (both builds in one
 * process), 388 -> 325 bytes kept per request (docs/performance.md, "(b) Host CPU per call").
 */
function handReadRequestPasses(r: CanonicalRequest, v2: boolean): boolean {
  const ops = r.ops;
  if (!Number.isSafeInteger(r.id) || ops.length > MAX_OPS) return false;
  // `to` and `turn` (a handle's export id, a lock turn: integers of at least 1) are protocol 2's:
  // on a protocol-1 connection the schema refuses them, and says so.
  if (r.to !== undefined || r.turn !== undefined) {
    if (!v2) return false;
    if (r.to !== undefined && !(Number.isSafeInteger(r.to) && r.to >= 1)) return false;
    if (r.turn !== undefined && !(Number.isSafeInteger(r.turn) && r.turn >= 1)) return false;
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as { op: string; key?: unknown; args?: unknown };
    if (op.op === 'get') {
      const key = op.key;
      // A key read by hand is printable ASCII, so its length is its count of code points.
      if (typeof key === 'string' ? key.length > MAX_KEY_CHARS : !(Number.isSafeInteger(key) && (key as number) >= 0)) return false;
    } else if (!Array.isArray(op.args) || op.args.length > MAX_ARGS) return false;
  }
  return true;
}

/** A parsed line that should be a request: checked (v1's schema, or v2's with `to` and `turn`) and its values decoded. */
function checkRequest(msg: unknown, options: DecodeOptions, v2: false, handRead?: boolean): Request | RequestFault;
function checkRequest(msg: unknown, options: DecodeOptions, v2: boolean, handRead?: boolean): RequestV2 | RequestFault;
/** `handRead`: `msg` came from the hand reader (readCanonicalRequest), not JSON.parse. */
function checkRequest(msg: unknown, options: DecodeOptions, v2: boolean, handRead = false): RequestV2 | RequestFault {
  // The reader's objects are fresh, as zod's copy would be: their values are decoded in place.
  if (handRead && handReadRequestPasses(msg as CanonicalRequest, v2)) return decodedInPlace(msg as RequestV2, options);
  if (!isJsonObject(msg)) {
    return fault(null, 'BAD_MESSAGE', `a message must be a JSON object, got ${msg === null ? 'null' : Array.isArray(msg) ? 'an array' : typeof msg}`);
  }
  const rawId = (msg as { id?: unknown }).id;
  const id: RequestId | null = isRequestId(rawId) ? rawId : null;
  const parsed = (v2 ? schemas().RequestV2Schema : schemas().RequestSchema).safeParse(msg);
  if (!parsed.success) {
    const ops = (msg as { ops?: unknown }).ops;
    const unknown = Array.isArray(ops) ? ops.find((o) => o !== null && typeof o === 'object' && typeof o.op === 'string' && !KNOWN_OPS.has(o.op)) : undefined;
    if (unknown) return fault(id, 'UNKNOWN_OP', `unknown op "${String(unknown.op).slice(0, 64)}"; known ops: ${OP_NAMES.join(', ')}`);
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
    return fault(id, 'BAD_MESSAGE', `not a valid request${where}: ${issue?.message ?? 'invalid'}`);
  }
  return decodedInPlace(parsed.data, options);
}

/** The request with its ops' values decoded (in place), or the fault a value that cannot be decoded makes. */
function decodedInPlace(request: RequestV2, options: DecodeOptions): RequestV2 | RequestFault {
  try {
    for (const op of request.ops) decodeOp(op, options);
  } catch (e) {
    return fault(request.id, e instanceof ProtocolError ? (e.code as ProtocolErrorCode) : 'BAD_VALUE', (e as Error).message);
  }
  return request;
}

const KNOWN_OPS = new Set<string>(OP_NAMES);

function fault(id: RequestId | null, code: ProtocolErrorCode, message: string): RequestFault {
  return new RequestFault(id, code, message);
}

// ---------------------------------------------------------------------------------------------
// Replies.

/**
 * The reply carrying a request's result. Throws when the value cannot be sent (EncodeError, an
 * AccessError for the library's own objects, a getter that throws while it is written): the
 * caller answers with errorReplyLine instead.
 */
export function valueReplyLine(id: RequestId, value: unknown, ctx?: CodecContext): string {
  // A numeric id (the client's) is its own JSON text; a finite number (not -0) or a string needs
  // no codec walk. Case (b)'s reply in a hot loop: 0.103 µs → see docs/performance.md.
  const idJson = idText(id);
  if (typeof value === 'number' && Number.isFinite(value) && !(value === 0 && 1 / value < 0)) return ID_START + idJson + VALUE_REPLY_MIDDLE + numberText(value) + '}';
  return ID_START + idJson + VALUE_REPLY_MIDDLE + valueText(value, encodeReply(value, ctx)) + '}';
}

/** The reply "the result is the hosted object itself". */
export function selfReplyLine(id: RequestId): string {
  return ID_START + idText(id) + SELF_REPLY_END;
}

/** An error reply; `id` null for a complaint about the connection rather than one request. Never throws. */
export function errorReplyLine(id: RequestId | null, error: WireError): string {
  try {
    return JSON.stringify({ id, kind: 'error', error });
  } catch (e) {
    // e.g. an error property holding a BigInt that serialize-error kept: send the bare error.
    return JSON.stringify({ id, kind: 'error', error: { name: 'Error', message: `the host could not serialize the reply: ${(e as Error).message}`, origin: error.origin } });
  }
}

/** The wire form of a protocol error (a refused line): its code, no stack (the host's parsing frames say nothing to a client). */
export function protocolErrorWire(code: ProtocolErrorCode, message: string, origin: WireError['origin']): WireError {
  return { name: 'ProtocolError', message, code: ErrorCodes[code], origin };
}

/**
 * An error reply the schema surely accepts, told without zod (as the hello is, isPlainHello): an
 * id that is null, a safe integer or a string of at most 128 characters, and an `error` object
 * with a string `name` and `message`; other fields pass through, as the schema passes them. A
 * failed call then does not load zod either (the CLI answering a typo: ~70 ms). Anything else
 * goes to the schema (wire-check.test.ts compares).
 */
export function isPlainErrorReply(msg: object): msg is ErrorReply {
  const m = msg as Record<string, unknown>;
  const error = m.error;
  return m.kind === 'error' && (m.id === null || isRequestId(m.id)) && isJsonObject(error) && typeof error.name === 'string' && typeof error.message === 'string';
}

/** A line that should have been a reply and is not: the id it seemed to answer, if any. */
export class ReplyFault {
  constructor(readonly id: unknown) {}
}

/** A reply line as the client reads it: the reply (its value still encoded), or a ReplyFault. */
export function readReply(line: string): Reply | ReplyFault {
  let msg: unknown;
  try {
    msg = parseReplyLine(line);
  } catch {
    msg = undefined;
  }
  const parsed = schemas().ReplySchema.safeParse(msg);
  return parsed.success ? parsed.data : new ReplyFault((msg as { id?: unknown } | undefined)?.id);
}

export type { Json };

// ---------------------------------------------------------------------------------------------
// Protocol 2: any line from the far side, and the messages that are neither requests nor replies.

/** What a v2 line is, once read: a request (values decoded), a reply (value still encoded), or a control message. */
export type LineV2 =
  | { readonly type: 'request'; readonly request: RequestV2 }
  | { readonly type: 'reply'; readonly reply: Reply }
  | { readonly type: 'control'; readonly message: ControlMessage };

/** A v2 line that is none of them. `id`: the request it answers with `code` (null: a complaint about the line); `replyId`: the id a malformed reply seemed to answer. */
export class LineFault {
  constructor(
    readonly id: RequestId | null,
    readonly code: ProtocolErrorCode,
    readonly message: string,
    readonly replyId?: unknown,
  ) {}
}

/**
 * Read one line on a v2 connection, where requests go both ways: a line with `ops` is a request,
 * one whose `kind` is value/self/error a reply, one of CONTROL_KINDS a control message. Request
 * values are decoded with `options` (its context resolves the reference tags); a reply's value, an
 * `item`'s value and an `end`'s error stay encoded (their receiver decodes them). Never throws.
 */
export function readLineV2(line: string, options: DecodeOptions): LineV2 | LineFault {
  let msg: unknown;
  /** The line is a request the line reader read by hand (checkRequest may skip zod). */
  let handRead = false;
  try {
    const canonical = readCanonicalIdLine(line);
    // A value or self reply in the host's form with a safe integer id holds, by construction, all
    // the reply schema checks (its value stays encoded: the receiver decodes it): no zod copy.
    // A call's reply over a worker's port (case (j)): 0.60 -> 0.29 us in a hot loop (busy machine).
    if (canonical !== undefined && 'kind' in canonical && canonical.id <= Number.MAX_SAFE_INTEGER) return { type: 'reply', reply: canonical };
    // (A cancel in the canonical form never gets here from the peer: it reads those first, readCancelId.)
    handRead = canonical !== undefined && 'ops' in canonical;
    const item = canonical === undefined ? (readCanonicalItems(line) ?? readCanonicalItem(line)) : undefined;
    // A stream's item or items in the producer's form (its fields exactly, in order) needs only
    // its stream id and list length checked: no zod. A line of 64 KiB of bytes: ~28 us of zod.
    if (item !== undefined && isPlainItemMessage(item)) return { type: 'control', message: item };
    msg = canonical ?? item ?? JSON.parse(line);
  } catch (e) {
    return new LineFault(null, 'BAD_JSON', `the line is not valid JSON (${(e as Error).message})`);
  }
  if (!isJsonObject(msg)) {
    return new LineFault(null, 'BAD_MESSAGE', `a message must be a JSON object, got ${msg === null ? 'null' : Array.isArray(msg) ? 'an array' : typeof msg}`);
  }
  const kind = (msg as { kind?: unknown }).kind;
  if ('ops' in msg || kind === 'request') {
    const r = checkRequest(msg, options, true, handRead);
    return r instanceof RequestFault ? new LineFault(r.id, r.code, r.message) : { type: 'request', request: r };
  }
  if (kind === 'value' || kind === 'self' || kind === 'error') {
    if (kind === 'error' && isPlainErrorReply(msg)) return { type: 'reply', reply: msg };
    const parsed = schemas().ReplySchema.safeParse(msg);
    return parsed.success ? { type: 'reply', reply: parsed.data } : new LineFault(null, 'BAD_MESSAGE', 'not a valid reply', (msg as { id?: unknown }).id ?? null);
  }
  if (typeof kind === 'string' && (CONTROL_KINDS as readonly string[]).includes(kind)) {
    const parsed = schemas().ControlSchema.safeParse(msg);
    if (parsed.success) return { type: 'control', message: parsed.data };
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
    return new LineFault(null, 'BAD_MESSAGE', `not a valid ${kind} message${where}: ${issue?.message ?? 'invalid'}`);
  }
  return new LineFault(null, 'BAD_MESSAGE', `a line must be a request (with "ops"), a reply, or one of the kinds ${CONTROL_KINDS.join(', ')}`);
}

/**
 * Whether an item or items message that the line reader read in the producer's form (exactly its
 * fields, in their order: what the schema's strict objects allow) is one the schema accepts: a
 * stream id of at least 1 and, for items, 1 to MAX_ITEMS_PER_LINE values. Values are any JSON.
 */
export function isPlainItemMessage(m: { kind: 'item' | 'items'; stream: number; values?: unknown }): m is Extract<ControlMessage, { kind: 'item' | 'items' }> {
  if (!(m.stream >= 1 && m.stream <= Number.MAX_SAFE_INTEGER)) return false;
  if (m.kind === 'item') return true;
  return Array.isArray(m.values) && m.values.length >= 1 && m.values.length <= MAX_ITEMS_PER_LINE;
}

/** Release `count` references to each export `id` the far side sent: `[[id, count], ...]`. */
export function releaseLine(refs: readonly (readonly [number, number])[]): string {
  return JSON.stringify({ kind: 'release', refs });
}

/**
 * The request id of a cancel line in the form cancelLine writes (a safe integer id), read without
 * building the message; -1 for any other line, which readLineV2 reads and checks as usual.
 */
export const readCancelId: (line: string) => number = canonicalCancelId;

/** Give up on request `id` (this side sent it). */
export function cancelLine(id: RequestId): string {
  return typeof id === 'number' ? CANCEL_START + numberText(id) + '}' : JSON.stringify({ kind: 'cancel', id });
}

/** Stream consumer: `n` more items of stream `stream` may come. */
export function creditLine(stream: number, n: number): string {
  return '{"kind":"credit","stream":' + stream + ',"n":' + n + '}';
}

/** Stream producer: one item. Throws like valueReplyLine when the value cannot be sent. */
export function itemLine(stream: number, value: unknown, ctx?: CodecContext): string {
  return ITEM_START + stream + ITEM_VALUE + valueText(value, encodeReply(value, ctx)) + '}';
}

/**
 * A stream item's value as the JSON text an `items` line lists (itemsLine). Throws like
 * valueReplyLine when the value cannot be sent: the producer encodes each item as it takes it, so
 * the one that fails is known and the items before it still go.
 */
export function itemText(value: unknown, ctx?: CodecContext): string {
  return valueText(value, encodeReply(value, ctx));
}

/**
 * Stream producer (feature `items`): several items in one line, `texts` each from itemText. One
 * line instead of one per item: the consumer parses one JSON list and checks one message (case
 * (f): see docs/performance.md).
 */
export function itemsLine(stream: number, texts: readonly string[]): string {
  return ITEMS_START + numberText(stream) + ITEMS_VALUES + '[' + texts.join(',') + ']}';
}

/**
 * The items of one `items` line, taken one at a time (feature `items`). Each is encoded as it is
 * taken, so the one that cannot be sent is known (add throws, keeping nothing) and later changes
 * to a value do not reach the line. Small flat items (a number, a string, a record of them) are
 * kept as copies and the line's list is written with one JSON.stringify of them all: for case
 * (f)'s items `{n}`, 1,024 of them in a hot loop, 85-90 ns an item, the copy included, against
 * 135-150 for a JSON.stringify each and the join. From the first item that is not flat on, each
 * is kept as its text (itemText), the copies before it too.
 */
export class ItemBatch {
  readonly #ctx: CodecContext | undefined;
  /** Copies of flat items (pushFlatCopy), while #texts is undefined. */
  #values: unknown[] = [];
  #texts: string[] | undefined;
  #chars = 0;

  constructor(ctx?: CodecContext) {
    this.#ctx = ctx;
  }

  /** Items kept. */
  get count(): number {
    return this.#texts === undefined ? this.#values.length : this.#texts.length;
  }

  /** An upper bound of the characters the items take in the line (with their commas). */
  get chars(): number {
    return this.#chars;
  }

  /** Take one more item. Throws like valueReplyLine when it cannot be sent; nothing is kept then. */
  add(value: unknown): void {
    if (this.#texts === undefined) {
      const chars = pushFlatCopy(value, this.#values);
      if (chars >= 0) {
        this.#chars += chars + 1;
        return;
      }
    }
    const text = itemText(value, this.#ctx);
    if (this.#texts === undefined) {
      this.#texts = this.#values.map((v) => JSON.stringify(v));
      this.#values = [];
    }
    this.#texts.push(text);
    this.#chars += text.length + 1;
  }

  /** The `items` line of stream `stream` with the items kept, which are then forgotten. */
  line(stream: number): string {
    const texts = this.#texts;
    const line = texts === undefined ? ITEMS_START + numberText(stream) + ITEMS_VALUES + JSON.stringify(this.#values) + '}' : itemsLine(stream, texts);
    this.#values = [];
    this.#texts = undefined;
    this.#chars = 0;
    return line;
  }
}

/** Stream producer: the end, or with `error` the iterator's error. Never throws. */
export function endLine(stream: number, error?: WireError): string {
  if (error === undefined) return '{"kind":"end","stream":' + stream + '}';
  try {
    return JSON.stringify({ kind: 'end', stream, error });
  } catch (e) {
    return JSON.stringify({ kind: 'end', stream, error: { name: 'Error', message: `the error could not be serialized: ${(e as Error).message}`, origin: error.origin } });
  }
}

/** Stream consumer: stop; the producer runs its iterator's return(). */
export function returnLine(stream: number): string {
  return '{"kind":"return","stream":' + stream + '}';
}

/** Decode a reply's or an item's value on a v2 connection (`options.context` resolves reference tags). Throws ProtocolError BAD_VALUE. */
export function decodeValue(value: unknown, options: DecodeOptions): unknown {
  return decode(value, options);
}
