/**
 * The canonical forms of the lines remoteobj writes itself: the exact text the writers in wire.ts
 * put around ids, ops and values, and the text the hand reader (line-reader.ts) recognises. Both
 * take it from here, so a change to a writer cannot silently close the reader's fast road.
 *
 *   request:       {"id":<n>,"ops":[<op>,...]}     or  {"id":<n>,"strict":true,"ops":[...]}
 *                  (protocol 2: `,"to":<n>` and then `,"turn":<n>` may come before `,"ops"`)
 *   get op:        {"op":"get","key":<string or integer>}
 *   call op:       {"op":"call","args":<json>}
 *   value reply:   {"id":<n>,"kind":"value","value":<json>}
 *   self reply:    {"id":<n>,"kind":"self"}
 *   stream item:   {"kind":"item","stream":<n>,"value":<json>}
 *   stream items:  {"kind":"items","stream":<n>,"values":[<json>,...]}
 *   cancel:        {"kind":"cancel","id":<n>}
 */

/** Every request and reply line starts with its id. */
export const ID_START = '{"id":';
/** After the id of a strict request. */
export const STRICT_FIELD = ',"strict":true';
/** Protocol 2, after the id (and the strict field): the ops start at the receiver's export `to` (a handle, a function). */
export const TO_FIELD = ',"to":';
/** Protocol 2, after those: the lock turn the request belongs to (a callback's, or a request made inside one). */
export const TURN_FIELD = ',"turn":';
/** After the id (and the strict, to and turn fields): the ops list opens. */
export const OPS_FIELD = ',"ops":';
export const GET_OP_START = '{"op":"get","key":';
export const CALL_OP_START = '{"op":"call","args":';
/** After the id of a value reply; the encoded value and `}` follow. */
export const VALUE_REPLY_MIDDLE = ',"kind":"value","value":';
/** After the id of a self reply: the whole rest of the line. */
export const SELF_REPLY_END = ',"kind":"self"}';
/** A stream item (protocol 2): the stream's id, ITEM_VALUE, the encoded value and `}` follow. */
export const ITEM_START = '{"kind":"item","stream":';
export const ITEM_VALUE = ',"value":';
/** Several items of a stream in one line (protocol 2, feature `items`): the id, ITEMS_VALUES, the list and `}` follow. */
export const ITEMS_START = '{"kind":"items","stream":';
export const ITEMS_VALUES = ',"values":';
/** A cancel message for a numeric request id (protocol 2): the id and `}` follow. */
export const CANCEL_START = '{"kind":"cancel","id":';

/** Bytes as the codec tags them (`$bytes`, a Buffer's `$buffer`): the base64 and `"}` follow. */
export const BYTES_START = '{"$bytes":"';
export const BUFFER_START = '{"$buffer":"';
/** A typed array other than bytes (codec `$typed`): the type name (TYPED_NAME), TYPED_BASE64, the base64 and `"}}` follow. */
export const TYPED_START = '{"$typed":{"type":"';
export const TYPED_BASE64 = '","base64":"';
/** A type name written and read between quotes as it is (the codec's are all such names). */
export const TYPED_NAME = /^[A-Za-z0-9]{1,32}$/;
