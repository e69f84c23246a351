/**
 * Text from a host is data, never terminal commands. What the CLI writes to a terminal for people
 * (errors, --raw and --pretty output, ls tables, the REPL) has these code points escaped:
 *
 *   - C0 controls except tab and newline (ESC starts every OSC/CSI sequence: retitle, clear,
 *     move the cursor; CR rewrites the line; BEL, BS…), DEL, and C1 controls (U+0080–U+009F,
 *     8-bit CSI/OSC on the terminals that take them);
 *   - U+2028 and U+2029 (line and paragraph separators);
 *   - the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which
 *     reorder what is shown ("Trojan Source").
 *
 * Tab and newline stay: multi-line messages and stacks are legitimate. Escapes look like
 * JavaScript's (`\x1B`, `\r`, `\u202E`), as util.inspect writes them.
 *
 * JSON keeps its exact value: on a terminal the same code points (those JSON.stringify leaves raw)
 * are written as `\uXXXX` escapes, which JSON.parse reads back to the same string. Written to a
 * pipe or a file, output is exact byte for byte: escaping is for terminals only.
 */
import { inspect, type InspectOptions } from 'node:util';
import type { Out } from './io';

// One class for both: the JSON one only ever meets the part JSON.stringify leaves raw.
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_TEST = new RegExp(UNSAFE.source);

const SHORT: Record<string, string> = { '\r': '\\r', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

function hex(c: string, digits: number): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(digits, '0');
}

/** `text` with the unsafe code points written as escapes (`\x1B`, `\r`, `\u202E`). */
export function escapeForTerminal(text: string): string {
  if (!UNSAFE_TEST.test(text)) return text;
  return text.replace(UNSAFE, (c) => SHORT[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** JSON text with the unsafe code points JSON.stringify leaves raw written as \uXXXX: the same JSON value. */
export function escapeJsonForTerminal(json: string): string {
  if (!UNSAFE_TEST.test(json)) return json;
  // These code points occur only inside JSON strings (the syntax around them is ASCII).
  return json.replace(UNSAFE, (c) => `\\u${hex(c, 4).toLowerCase()}`);
}

/** `text` as it may go to `out`: escaped when `out` is a terminal, exact otherwise. */
export function forOut(out: Out, text: string): string {
  return out.isTTY === true ? escapeForTerminal(text) : text;
}

/**
 * util.inspect for a terminal. inspect escapes C0 and C1 inside strings, but not bidi controls,
 * and an Error's message and stack come out as they are; so when the plain text has anything
 * unsafe, the escaped plain text is shown, without colors (ours would be escaped too).
 */
export function inspectForTerminal(value: unknown, options: InspectOptions, terminal: boolean): string {
  if (!terminal) return inspect(value, options);
  const plain = inspect(value, { ...options, colors: false });
  if (UNSAFE_TEST.test(plain)) return escapeForTerminal(plain);
  return options.colors ? inspect(value, options) : plain;
}

/** A writer that escapes everything written to it when it is a terminal: for stderr, which has no colors of ours. */
export function escapingOut(out: Out): Out {
  if (out.isTTY !== true) return out;
  return { isTTY: true, write: (text: string) => out.write(escapeForTerminal(text)) };
}
