/**
 * What the CLI prints. stdout carries results only: by default one JSON document per command,
 * in the codec's tagged forms (the same JSON the wire uses, so `{"$bigint":"12"}`, `{"$date":…}`,
 * `{"$map":[[k,v],…]}` …); `--raw` prints strings as they are; `--pretty` is for people.
 * Errors go to stderr as `Name: message`.
 */
import { types } from 'node:util';
import type { Description, MemberInfo } from '../evaluate';
import { encode } from '../protocol/codec';
import { RemoteError } from '../errors';
import type { Result } from '../client/connection';
import type { ParsedChain } from './grammar';
import { ExprSyntaxError } from './grammar';
import { useColors, type Out } from './io';
import { escapeJsonForTerminal, forOut, inspectForTerminal } from './terminal-text';

export type OutputMode = 'json' | 'raw' | 'pretty';

/** How the hosted object itself is shown when a chain returns it (it is never copied). */
export const SELF_JSON = { $self: true } as const;

/** The text to print for a result (with a trailing newline), or '' to print nothing. */
export function formatResult(result: Result, mode: OutputMode, out: Out): string {
  if (result.kind === 'self') {
    if (mode === 'pretty') return '<the hosted object itself>\n';
    return JSON.stringify(SELF_JSON) + '\n';
  }
  return formatValue(result.value, mode, out);
}

/** The value as `mode` prints it; a host's control characters are escaped on a terminal (terminal-text.ts). */
export function formatValue(value: unknown, mode: OutputMode, out: Out): string {
  if (mode === 'pretty') {
    const options = { depth: Infinity, colors: useColors(out), maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: 100 };
    return inspectForTerminal(value, options, out.isTTY === true) + '\n';
  }
  if (mode === 'raw') {
    if (value === undefined) return '';
    if (typeof value === 'string') return forOut(out, value) + '\n';
    if (typeof value === 'bigint') return value.toString() + '\n';
    if (types.isDate(value)) return (Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()) + '\n';
  }
  return jsonFor(out, encode(value, 'result')) + '\n';
}

/** JSON text, exact; on a terminal with the code points JSON.stringify leaves raw escaped (the same value). */
function jsonFor(out: Out, value: unknown): string {
  const json = JSON.stringify(value);
  return out.isTTY === true ? escapeJsonForTerminal(json) : json;
}

/** `ls`: JSON (the describe result), raw (one name a line) or a table for people. */
export function formatDescription(d: Description, mode: OutputMode, out: Out): string {
  if (mode === 'json') return jsonFor(out, d) + '\n';
  if (mode === 'raw') return d.members.map((m) => forOut(out, m.name) + '\n').join('');
  const colors = useColors(out);
  // Escaped before our own bold and dim are added around them.
  const text = (s: string) => forOut(out, s);
  const dim = (s: string) => (colors ? `\x1b[2m${s}\x1b[22m` : s);
  const bold = (s: string) => (colors ? `\x1b[1m${s}\x1b[22m` : s);
  const head = `${text(d.type)}${d.length !== undefined ? ` (length ${d.length})` : ''}`;
  if (d.members.length === 0) return `${head}\n  ${dim('no members reachable')}\n`;
  const rows = d.members.map((m) => [text(m.name) + (m.kind === 'method' ? '()' : ''), m.kind, text(memberType(m)), flags(m)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => `  ${bold(r[0]!.padEnd(widths[0]!))}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${dim(r[3]!)}`.trimEnd());
  return `${head}\n${lines.join('\n')}\n`;
}

function memberType(m: MemberInfo): string {
  return m.kind === 'getter' ? '' : (m.type ?? '');
}

function flags(m: MemberInfo): string {
  const f: string[] = [];
  if (!m.own) f.push('inherited');
  if (m.kind !== 'method' && !m.writable) f.push('read-only');
  return f.join(', ');
}

/** The name shown for an error: the remote class name for errors of the hosted object. */
export function errorName(err: unknown): string {
  if (err instanceof Error) return err.name; // a RemoteError keeps the name it had on the host
  return 'Error';
}

/** The error's code for people and scripts: the host's own `code` for errors of the hosted object, else the library's. */
export function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

export interface ErrorContext {
  verbose: boolean;
  /** The parsed expression, to point at the op that threw. */
  chain?: ParsedChain;
}

/** `Name: message`, then where it happened; under --verbose the stack, code, origin and causes. */
export function formatError(err: unknown, ctx: ErrorContext): string {
  if (!(err instanceof Error)) return `Error: ${String(err)}\n`;
  const lines: string[] = [];
  if (err instanceof ExprSyntaxError) {
    lines.push(`remoteobj: syntax error at column ${err.column}: ${err.message}`);
    lines.push(...pointer(err.source, err.offset, err.offset + 1));
    return lines.join('\n') + '\n';
  }
  lines.push(`${errorName(err)}: ${err.message}`);
  const origin = (err as { origin?: { pid: number; path: string; op?: number; opName?: string } }).origin;
  const span = origin?.op !== undefined ? ctx.chain?.spans[origin.op] : undefined;
  if (span && ctx.chain) lines.push(...pointer(ctx.chain.source, span.start, span.end, `op ${origin!.op} (${origin!.opName ?? '?'})`));
  if (ctx.verbose) {
    const code = errorCode(err);
    if (code !== undefined) lines.push(`  code: ${String(code)}`);
    const rule = (err as { rule?: unknown }).rule;
    if (typeof rule === 'string') lines.push(`  rule: ${rule}`);
    if (origin) lines.push(`  from: pid ${origin.pid} at ${origin.path}${origin.op !== undefined ? `, op ${origin.op} (${origin.opName})` : ''}`);
    if (err.stack) lines.push(indent(err.stack));
    let cause: unknown = err.cause;
    for (let depth = 0; cause !== undefined && depth < 10; depth++) {
      lines.push(`caused by: ${cause instanceof Error ? `${errorName(cause)}: ${cause.message}` : String(cause)}`);
      if (cause instanceof Error && cause.stack) lines.push(indent(cause.stack));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return lines.join('\n') + '\n';
}

function indent(stack: string): string {
  return stack
    .split('\n')
    .map((l) => (l.startsWith('    ') ? l : `    ${l}`))
    .join('\n');
}

/** The expression with carets under [start, end), e.g. for a syntax error or the op that threw. */
function pointer(source: string, start: number, end: number, label?: string): string[] {
  if (source.includes('\n')) return [];
  const prefix = '  ';
  const width = Math.max(1, Math.min(end, source.length) - start);
  return [`${prefix}${source}`, `${prefix}${' '.repeat(start)}${'^'.repeat(width)}${label ? ` ${label}` : ''}`];
}
