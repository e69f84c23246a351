/**
 * The CLI's expression grammar: a chain of property names, `[index]` / `["key"]` subscripts and
 * calls with JSON arguments, parsed into the same op chain the client proxy sends. It is a
 * parser, not an evaluator: nothing here ever runs the text as JavaScript.
 *
 *   chain     := [ "." ] [ head ] { tail }          (a leading "." is allowed, as in jq)
 *   head      := name | subscript
 *   tail      := "." name | [ "." ] subscript | "(" [ value { "," value } ] ")"
 *   subscript := "[" ( index | string ) "]"          index: a non-negative integer
 *   name      := an identifier: letters, digits, "_" and "$", not starting with a digit
 *   value     := a JSON value; tagged forms ({"$bigint": "1"}, {"$date": "…"}, …) are decoded
 *
 * Whitespace is allowed between tokens. Names are not filtered here: the host's access rules
 * decide what is reachable (and refuse `constructor`, `__proto__`, `_private`, … on every host).
 */
import type { Op } from '../protocol/wire-types';
import { decode, MAX_DEPTH } from '../protocol/codec';

/** A syntax error in an expression or a JSON value; `column` is 1-based, in `source`. */
export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly source: string,
    /** 0-based offset of the problem in `source`. */
    readonly offset: number,
  ) {
    super(message);
  }
  override get name(): string {
    return 'SyntaxError';
  }
  get column(): number {
    return this.offset + 1;
  }
}

/** Where one op's text sits in the expression, [start, end). */
export interface Span {
  start: number;
  end: number;
}

export interface ParsedChain {
  source: string;
  ops: Op[];
  /** spans[i] is the text of ops[i]. */
  spans: Span[];
}

const NAME_START = /[\p{ID_Start}$_]/u;
const NAME_PART = /[\p{ID_Continue}$\u200C\u200D]/u;

/** Characters people type when they expect JavaScript, with what to do instead. */
const JS_HINTS: Record<string, string> = {
  '=': 'assignment is not part of an expression: use `remoteobj set SOCKET EXPR VALUE`',
  ';': 'one expression only: it is a chain, never run as JavaScript',
  "'": 'strings are JSON: use double quotes, e.g. ["key"] or f("text")',
  '`': 'strings are JSON: use double quotes',
  '+': 'operators are not part of the grammar: an expression is a chain of names, [index], ["key"] and calls',
  '-': 'operators are not part of the grammar: an expression is a chain of names, [index], ["key"] and calls',
  '*': 'operators are not part of the grammar',
  '/': 'operators are not part of the grammar',
  '!': 'operators are not part of the grammar',
  '?': 'optional chaining is not part of the grammar',
  '{': 'a chain cannot contain an object literal outside call arguments',
  '<': 'operators are not part of the grammar',
  '>': 'operators are not part of the grammar',
  '&': 'operators are not part of the grammar',
  '|': 'operators are not part of the grammar',
};

/** Parse an expression into an op chain. The empty string (or ".") is the hosted object itself. */
export function parseChain(source: string): ParsedChain {
  return new ChainParser(source).parse();
}

/** Parse a whole string as one JSON value and decode the codec's tagged forms. */
export function parseValue(source: string): unknown {
  const p = new ChainParser(source);
  p.skipSpace();
  if (p.atEnd()) throw new ExprSyntaxError('expected a JSON value, got nothing (a string needs double quotes: \'"text"\')', source, 0);
  const v = p.jsonArgument();
  p.skipSpace();
  if (!p.atEnd()) throw p.error(`unexpected ${p.describeChar()} after the JSON value`);
  return v;
}

class ChainParser {
  private pos = 0;
  private readonly ops: Op[] = [];
  private readonly spans: Span[] = [];

  constructor(private readonly src: string) {}

  parse(): ParsedChain {
    this.skipSpace();
    if (this.peek() === '.') this.pos++; // jq style: `.`, `.cache.stats`, `.[0]`
    this.skipSpace();
    if (!this.atEnd()) this.head();
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) break;
      this.tail();
    }
    return { source: this.src, ops: this.ops, spans: this.spans };
  }

  private head(): void {
    const c = this.peek();
    if (c === '[') return this.subscript(this.pos);
    if (this.isNameStartAt(this.pos)) return this.property(this.pos);
    if (c === '(') throw this.error('a chain cannot start with a call: name the method first, e.g. toggle(true)');
    if (/\d/.test(c)) throw this.error('a name cannot start with a digit; for an index write [0]');
    throw this.error(`expected a name or [index], got ${this.describeChar()}${this.hint(c)}`);
  }

  private tail(): void {
    const start = this.pos;
    const c = this.peek();
    if (c === '.') {
      this.pos++;
      this.skipSpace();
      if (this.peek() === '[') return this.subscript(start);
      if (this.atEnd()) throw this.error('expected a name after "."');
      if (!this.isNameStartAt(this.pos)) {
        if (this.peek() === '.') throw this.error('expected a name after "." (got another ".")');
        if (/\d/.test(this.peek())) throw this.error('a name cannot start with a digit; for an index write [0]');
        throw this.error(`expected a name after ".", got ${this.describeChar()}${this.hint(this.peek())}`);
      }
      return this.property(start);
    }
    if (c === '[') return this.subscript(start);
    if (c === '(') return this.call(start);
    if (this.isNameStartAt(this.pos)) throw this.error('expected ".", "[" or "(" before this name');
    throw this.error(`expected ".", "[" or "(", got ${this.describeChar()}${this.hint(c)}`);
  }

  private property(start: number): void {
    const nameStart = this.pos;
    this.pos += codePointLength(this.src, this.pos);
    while (!this.atEnd() && NAME_PART.test(this.codePointAt(this.pos))) this.pos += codePointLength(this.src, this.pos);
    this.push({ op: 'get', key: this.src.slice(nameStart, this.pos) }, start);
  }

  private subscript(start: number): void {
    const open = this.pos;
    this.pos++; // [
    this.skipSpace();
    const c = this.peek();
    let key: string | number;
    if (c === '"') {
      key = this.string();
    } else if (c === '-' || /\d/.test(c)) {
      key = this.index();
    } else if (c === "'") {
      throw this.error('strings are JSON: use double quotes, e.g. ["key"]');
    } else if (c === ']') {
      throw this.error('expected an index or a "key" inside []');
    } else if (this.atEnd()) {
      throw this.error(`unclosed "[" (opened at column ${open + 1})`);
    } else {
      throw this.error(`expected an index or a "key" inside [], got ${this.describeChar()} (names in brackets need quotes: ["name"])`);
    }
    this.skipSpace();
    if (this.atEnd()) throw this.error(`unclosed "[" (opened at column ${open + 1})`);
    if (this.peek() !== ']') throw this.error(`expected "]", got ${this.describeChar()}`);
    this.pos++;
    this.push({ op: 'get', key }, start);
  }

  private index(): number {
    const start = this.pos;
    const m = /^-?\d+(\.\d*)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos))!;
    const text = m[0];
    if (text.startsWith('-')) {
      throw this.error('negative indexes do not exist in JavaScript; for the last item call at(-1)');
    }
    if (m[1] !== undefined || m[2] !== undefined) {
      throw this.error(`an index must be a non-negative integer; for a property named ${text} write ["${text}"]`);
    }
    if (text.length > 1 && text.startsWith('0')) throw this.error('an index has no leading zeros');
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw this.error(`index ${text} is too large`);
    this.pos = start + text.length;
    return n;
  }

  private call(start: number): void {
    const open = this.pos;
    this.pos++; // (
    const args: unknown[] = [];
    this.skipSpace();
    if (this.peek() === ')') {
      this.pos++;
      this.push({ op: 'call', args }, start);
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) throw this.error(`unclosed "(" (opened at column ${open + 1})`);
      args.push(this.jsonArgument());
      this.skipSpace();
      if (this.atEnd()) throw this.error(`unclosed "(" (opened at column ${open + 1})`);
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.peek() === ')') throw this.error('expected an argument after "," (no trailing commas in JSON)');
        continue;
      }
      if (c === ')') {
        this.pos++;
        break;
      }
      throw this.error(`expected "," or ")" after an argument, got ${this.describeChar()}`);
    }
    this.push({ op: 'call', args }, start);
  }

  /** One JSON value, then the codec's tags decoded (an error points at the value). */
  jsonArgument(): unknown {
    const start = this.pos;
    const raw = this.json(0);
    try {
      return decode(raw);
    } catch (e) {
      throw new ExprSyntaxError(`bad tagged value: ${(e as Error).message}`, this.src, start);
    }
  }

  private json(depth: number): unknown {
    if (depth >= MAX_DEPTH) throw this.error(`the value nests deeper than ${MAX_DEPTH} levels`);
    this.skipSpace();
    const c = this.peek();
    switch (c) {
      case '"':
        return this.string();
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case "'":
        throw this.error('strings are JSON: use double quotes, e.g. "text"');
      case '':
        throw this.error('expected a JSON value, got the end of the expression');
    }
    if (c === '-' || /\d/.test(c)) return this.number();
    const word = /^[\p{ID_Start}$_][\p{ID_Continue}$]*/u.exec(this.src.slice(this.pos))?.[0];
    if (word === 'true' || word === 'false' || word === 'null') {
      this.pos += word.length;
      return word === 'true' ? true : word === 'false' ? false : null;
    }
    const hints: Record<string, string> = {
      undefined: 'write {"$undefined": true}',
      NaN: 'write {"$number": "NaN"}',
      Infinity: 'write {"$number": "Infinity"}',
      True: 'JSON booleans are lowercase: true',
      False: 'JSON booleans are lowercase: false',
      None: 'JSON has null',
    };
    if (word !== undefined) {
      throw this.error(`arguments are JSON values, not names: ${word}${hints[word] ? ` (${hints[word]})` : ' (a string needs double quotes)'}`);
    }
    throw this.error(`expected a JSON value, got ${this.describeChar()}`);
  }

  private string(): string {
    const open = this.pos;
    this.pos++; // "
    let out = '';
    for (;;) {
      if (this.atEnd()) throw new ExprSyntaxError(`unterminated string (opened at column ${open + 1})`, this.src, this.src.length);
      const c = this.src[this.pos]!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const e = this.src[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.pos += 2;
          continue;
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.src.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(parseInt(this.src.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
          continue;
        }
        throw this.error('bad escape in a string (JSON escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
      }
      if (c.charCodeAt(0) < 0x20) throw this.error('control characters must be escaped in a JSON string');
      out += c;
      this.pos++;
    }
  }

  private number(): number {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (!m) throw this.error('bad number (JSON numbers: -12, 3.5, 1e3)');
    const after = this.src[this.pos + m[0].length];
    if (after !== undefined && /[\w.]/.test(after)) throw new ExprSyntaxError('bad number (JSON numbers: -12, 3.5, 1e3; no leading zeros, hex or BigInt suffix: use {"$bigint": "…"})', this.src, this.pos);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private array(depth: number): unknown[] {
    const open = this.pos;
    this.pos++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.peek() === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.json(depth + 1));
      this.skipSpace();
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.peek() === ']') throw this.error('no trailing commas in JSON');
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      if (this.atEnd()) throw this.error(`unclosed "[" (opened at column ${open + 1})`);
      throw this.error(`expected "," or "]" in an array, got ${this.describeChar()}`);
    }
  }

  private object(depth: number): Record<string, unknown> {
    const open = this.pos;
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) throw this.error(`unclosed "{" (opened at column ${open + 1})`);
      if (this.peek() !== '"') throw this.error(`expected a "key" in an object, got ${this.describeChar()} (JSON keys need double quotes)`);
      const key = this.string();
      this.skipSpace();
      if (this.peek() !== ':') throw this.error(`expected ":" after the key, got ${this.describeChar()}`);
      this.pos++;
      // Defined as plain own data, so a "__proto__" key never reaches a prototype.
      Object.defineProperty(out, key, { value: this.json(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.peek() === '}') throw this.error('no trailing commas in JSON');
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      if (this.atEnd()) throw this.error(`unclosed "{" (opened at column ${open + 1})`);
      throw this.error(`expected "," or "}" in an object, got ${this.describeChar()}`);
    }
  }

  private push(op: Op, start: number): void {
    this.ops.push(op);
    this.spans.push({ start, end: this.pos });
  }

  // --- characters ---

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  private peek(): string {
    return this.src[this.pos] ?? '';
  }

  private codePointAt(i: number): string {
    return String.fromCodePoint(this.src.codePointAt(i) ?? 0);
  }

  private isNameStartAt(i: number): boolean {
    return i < this.src.length && NAME_START.test(this.codePointAt(i));
  }

  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  describeChar(): string {
    if (this.atEnd()) return 'the end of the expression';
    const c = this.codePointAt(this.pos);
    return /\s/.test(c) ? 'whitespace' : JSON.stringify(c);
  }

  private hint(c: string): string {
    const h = JS_HINTS[c];
    return h ? ` (${h})` : '';
  }

  error(message: string): ExprSyntaxError {
    return new ExprSyntaxError(message, this.src, this.pos);
  }
}

function codePointLength(s: string, i: number): number {
  const cp = s.codePointAt(i) ?? 0;
  return cp > 0xffff ? 2 : 1;
}
