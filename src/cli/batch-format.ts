/**
 * `remoteobj batch`'s line formats (docs/cli.md#batch).
 *
 * A request line is JSON: a string, which is an expression in the CLI grammar read like `get`
 * (`"cache.stats.hits"`), or an object with one of the commands as its key:
 *
 *   {"get": "a.b"}   {"call": "f(1)"}   {"set": "a.b", "value": 3}   {"del": "a.b"}   {"ls": "a"}
 *
 * and optionally an "id" (any JSON), echoed on its result. `value` is JSON in the codec's tagged
 * forms, as for `remoteobj set`.
 *
 * A result line is `{"ok": true, "value": …}` (no value for set and del), or
 * `{"ok": false, "error": {"name", "message", "exit", …}}` where `exit` is the exit code this
 * request would have given as a command of its own; "id" first when the request had one.
 */
import type { Result } from '../client/connection';
import type { Op } from '../protocol/wire-types';
import { decode, encode } from '../protocol/codec';
import { lastKey } from './commands/chain';
import { exitCodeFor, UsageError } from './exit-codes';
import { ExprSyntaxError, parseChain, type ParsedChain } from './grammar';
import { errorCode, errorName, SELF_JSON } from './output';

export type BatchCommand = 'get' | 'call' | 'set' | 'del' | 'ls';
const COMMANDS: readonly BatchCommand[] = ['get', 'call', 'set', 'del', 'ls'];
const OTHER_KEYS = new Set(['id', 'value']);

export interface BatchRequest {
  command: BatchCommand;
  chain: ParsedChain;
  /** The op chain to send. */
  ops: Op[];
  /** The request's "id", as it was written; absent when it had none. */
  id?: unknown;
}

/** A line that is not a request (exit 2, as a usage error); `id` when the line had one. */
export class BatchLineError extends UsageError {
  constructor(
    message: string,
    readonly id?: unknown,
  ) {
    super(message, 'batch');
  }
}

const EXAMPLE = 'e.g. "cache.stats", {"get": "cache.stats"}, {"call": "f(1)"}, {"set": "a.b", "value": 3}';

/** Read one input line (already split, not blank) as a request. Throws BatchLineError or ExprSyntaxError. */
export function parseBatchLine(text: string): BatchRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BatchLineError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof json === 'string') return request('get', json, undefined, false, undefined);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new BatchLineError(`a request is a JSON string (an expression) or an object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}; ${EXAMPLE}`);
  }
  const fields = json as Record<string, unknown>;
  const id = Object.hasOwn(fields, 'id') ? fields.id : undefined;
  const keys = Object.keys(fields);
  const commands = keys.filter((k): k is BatchCommand => (COMMANDS as readonly string[]).includes(k));
  const unknown = keys.filter((k) => !OTHER_KEYS.has(k) && !commands.includes(k as BatchCommand));
  if (unknown.length) throw new BatchLineError(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (a request has one of ${COMMANDS.join(', ')}, and "value" for set, "id" for you)`, id);
  if (commands.length !== 1) throw new BatchLineError(commands.length ? `one command per request, got ${commands.join(' and ')}` : `no command: a request object has one of ${COMMANDS.join(', ')}; ${EXAMPLE}`, id);
  const command = commands[0]!;
  const expr = fields[command];
  if (typeof expr !== 'string') throw new BatchLineError(`"${command}" must be an expression in a JSON string, e.g. {"${command}": "cache.stats"}`, id);
  const hasValue = Object.hasOwn(fields, 'value');
  if (command === 'set' && !hasValue) throw new BatchLineError('set needs a "value": {"set": "config.level", "value": "debug"}', id);
  if (command !== 'set' && hasValue) throw new BatchLineError(`"value" belongs to set only, not ${command}`, id);
  return request(command, expr, fields.value, hasValue, id);
}

function request(command: BatchCommand, expr: string, rawValue: unknown, hasValue: boolean, id: unknown): BatchRequest {
  const withId = (r: Omit<BatchRequest, 'id'>): BatchRequest => (id === undefined ? r : { ...r, id });
  let chain: ParsedChain;
  try {
    chain = parseChain(expr);
  } catch (e) {
    throw e instanceof ExprSyntaxError ? new BatchSyntaxError(e, id) : e;
  }
  const fail = (message: string): never => {
    throw new BatchLineError(message, id);
  };
  switch (command) {
    case 'get':
      if (chain.ops.length === 0) fail('get needs an expression, e.g. "cache.stats.hits" (ls lists what the hosted object has)');
      return withId({ command, chain, ops: chain.ops });
    case 'call':
      if (!chain.ops.some((op) => op.op === 'call')) fail(`call needs an expression with a call${chain.ops.length ? `; did you mean "${chain.source.trim()}()"?` : ', e.g. "queue.pause()"'}`);
      return withId({ command, chain, ops: chain.ops });
    case 'ls':
      return withId({ command, chain, ops: [...chain.ops, { op: 'describe' }] });
    case 'set':
    case 'del': {
      let target;
      try {
        target = lastKey(chain, command);
      } catch (e) {
        if (e instanceof ExprSyntaxError) throw new BatchSyntaxError(e, id);
        throw new BatchLineError((e as Error).message, id);
      }
      if (command === 'del') return withId({ command, chain, ops: [...target.base, { op: 'del', key: target.key }] });
      let value: unknown;
      try {
        value = hasValue ? decode(rawValue) : undefined;
      } catch (e) {
        fail(`bad tagged "value": ${(e as Error).message}`);
      }
      return withId({ command, chain, ops: [...target.base, { op: 'set', key: target.key, value }] });
    }
  }
}

/** A syntax error in a request's expression: the grammar's error, with the request's id. */
export class BatchSyntaxError extends ExprSyntaxError {
  constructor(
    e: ExprSyntaxError,
    readonly id?: unknown,
  ) {
    super(e.message, e.source, e.offset);
  }
}

/** One result line, before it is written as JSON. */
export type ResultLine = Record<string, unknown>;

/** The result line of a request that succeeded. */
export function okLine(req: BatchRequest, result: Result): ResultLine {
  const line: ResultLine = req.id === undefined ? {} : { id: req.id };
  line.ok = true;
  if (req.command === 'set' || req.command === 'del') return line;
  if (result.kind === 'self') line.value = SELF_JSON;
  // describe's answer is plain JSON already (as `remoteobj ls` prints it).
  else line.value = req.command === 'ls' ? result.value : encode(result.value, 'result');
  return line;
}

/** The result line of a request that failed, or of a line that was not a request. */
export function errorLine(err: unknown, opts: { id?: unknown; verbose: boolean }): ResultLine {
  const line: ResultLine = opts.id === undefined ? {} : { id: opts.id };
  line.ok = false;
  const error: Record<string, unknown> = {
    name: errorName(err),
    message: err instanceof Error ? err.message : String(err),
    exit: exitCodeFor(err),
  };
  const code = errorCode(err);
  if (typeof code === 'string' || typeof code === 'number') error.code = code;
  const rule = (err as { rule?: unknown } | null)?.rule;
  if (typeof rule === 'string') error.rule = rule;
  if (err instanceof ExprSyntaxError) error.column = err.column;
  const origin = (err as { origin?: { op?: number; opName?: string } } | null)?.origin;
  if (origin?.op !== undefined) {
    error.op = origin.op;
    if (origin.opName !== undefined) error.opName = origin.opName;
  }
  if (opts.verbose && err instanceof Error && err.stack && !(err instanceof UsageError) && !(err instanceof ExprSyntaxError)) error.stack = err.stack;
  line.error = error;
  return line;
}
