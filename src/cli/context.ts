/** What every command gets: its parsed arguments, where to write, and the common options. */
import type { ParsedArgs } from './args';
import type { ParsedChain } from './grammar';
import type { Io } from './io';
import type { OutputMode } from './output';

export interface CommandContext {
  command: string;
  args: ParsedArgs;
  io: Io;
  verbose: boolean;
  /** --timeout in ms; Infinity for "no limit"; undefined when not given. */
  timeoutMs?: number;
  mode: OutputMode;
  /** Set by a command once it has parsed its expression, so an error can point into it. */
  chain?: ParsedChain;
}

export interface Command {
  /** Options beyond the common ones. */
  options?: { name: string; short?: string; value?: boolean }[];
  /** Positional arguments: [min, max]. */
  arity: [number, number];
  run(ctx: CommandContext): Promise<number>;
}
