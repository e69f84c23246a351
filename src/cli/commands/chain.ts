/** get, call, set, del, ls: parse the expression, send its op chain in one request, print. */
import type { Description } from '../../evaluate';
import type { Op } from '../../protocol/wire-types';
import { flag } from '../args';
import { sendChain } from '../client';
import type { Command, CommandContext } from '../context';
import { EXIT, UsageError } from '../exit-codes';
import { ExprSyntaxError, parseChain, parseValue, type ParsedChain } from '../grammar';
import { formatDescription, formatResult } from '../output';

function chainOf(ctx: CommandContext, index: number): ParsedChain {
  const chain = parseChain(ctx.args.positionals[index] ?? '');
  ctx.chain = chain;
  return chain;
}

function send(ctx: CommandContext, ops: Op[]) {
  const strict = !flag(ctx.args, 'allow-missing'); // a typo is an error (exit 5), not undefined
  return sendChain(ctx.args.positionals[0]!, ops, { timeoutMs: ctx.timeoutMs, verbose: ctx.verbose, io: ctx.io, command: ctx.command, strict });
}

/** get, call, set, del and ls: `--allow-missing` reads a member that does not exist as undefined. */
const ALLOW_MISSING = { name: 'allow-missing' };

/** The chain must name a property at its end: `a.b` or `a["b"]`, which set/del replace by their own op. */
export function lastKey(chain: ParsedChain, command: string): { base: Op[]; key: string | number } {
  const last = chain.ops[chain.ops.length - 1];
  if (!last) throw new UsageError(`${command} needs a property to ${command === 'set' ? 'assign' : 'delete'}, e.g. ${command === 'set' ? "config.level '\"debug\"'" : 'sessions["abc"]'}`, command);
  if (last.op !== 'get') {
    const span = chain.spans[chain.spans.length - 1]!;
    throw new ExprSyntaxError(`cannot ${command === 'set' ? 'assign to' : 'delete'} a call's result: the expression must end in a name or [key]`, chain.source, span.start);
  }
  return { base: chain.ops.slice(0, -1), key: last.key };
}

export const get: Command = {
  options: [ALLOW_MISSING],
  arity: [2, 2],
  async run(ctx) {
    const chain = chainOf(ctx, 1);
    if (chain.ops.length === 0) throw new UsageError('get needs an expression, e.g. cache.stats.hits (use `ls` to see what the hosted object has)', 'get');
    const result = await send(ctx, chain.ops);
    ctx.io.stdout.write(formatResult(result, ctx.mode, ctx.io.stdout));
    return EXIT.OK;
  },
};

export const call: Command = {
  options: [ALLOW_MISSING],
  arity: [2, 2],
  async run(ctx) {
    const chain = chainOf(ctx, 1);
    if (!chain.ops.some((op) => op.op === 'call')) {
      const hint = chain.ops.length ? `; did you mean '${chain.source.trim()}()'? (to read a value, use get)` : '';
      throw new UsageError(`call needs an expression with a call, e.g. queue.pause()${hint}`, 'call');
    }
    const result = await send(ctx, chain.ops);
    if (result.kind === 'value' && result.value === undefined && ctx.mode !== 'pretty') return EXIT.OK;
    ctx.io.stdout.write(formatResult(result, ctx.mode, ctx.io.stdout));
    return EXIT.OK;
  },
};

export const set: Command = {
  options: [ALLOW_MISSING],
  arity: [3, 3],
  async run(ctx) {
    const chain = chainOf(ctx, 1);
    const { base, key } = lastKey(chain, 'set');
    const text = ctx.args.positionals[2]!;
    let value: unknown;
    if (ctx.mode === 'raw') {
      value = text;
    } else {
      try {
        value = parseValue(text);
      } catch (e) {
        if (e instanceof ExprSyntaxError && /^[\p{L}_$][\p{L}\p{N}_$ -]*$/u.test(text) && !['true', 'false', 'null'].includes(text)) {
          throw new ExprSyntaxError(`${e.message}; VALUE is JSON: write '"${text}"' for a string, or use --raw`, e.source, e.offset);
        }
        throw e;
      }
    }
    await send(ctx, [...base, { op: 'set', key, value }]);
    return EXIT.OK;
  },
};

export const del: Command = {
  options: [ALLOW_MISSING],
  arity: [2, 2],
  async run(ctx) {
    const chain = chainOf(ctx, 1);
    const { base, key } = lastKey(chain, 'del');
    await send(ctx, [...base, { op: 'del', key }]);
    return EXIT.OK;
  },
};

export const ls: Command = {
  options: [ALLOW_MISSING],
  arity: [1, 2],
  async run(ctx) {
    const chain = chainOf(ctx, 1);
    const result = await send(ctx, [...chain.ops, { op: 'describe' }]);
    if (result.kind !== 'value') throw new Error('the host answered describe with the hosted object itself');
    ctx.io.stdout.write(formatDescription(result.value as Description, ctx.mode, ctx.io.stdout));
    return EXIT.OK;
  },
};
