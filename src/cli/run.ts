/**
 * The CLI without the process around it: `run(argv, io)` parses, runs one command and resolves
 * with its exit code. main.ts calls it with the real streams; `remoteobj demo` calls it too, so
 * the demo goes through exactly the code a user's shell does.
 */
import { COMMON_OPTIONS, flag, parseArgs, secondsOption } from './args';
import type { Command, CommandContext } from './context';
import { EXIT, exitCodeFor, UsageError } from './exit-codes';
import { COMMAND_HELP, MAIN_HELP, version } from './help';
import type { Io } from './io';
import { formatError, type OutputMode } from './output';
import { escapingOut } from './terminal-text';

/** Each command's module is loaded only when it runs: a short command starts faster. */
export const COMMANDS: Record<string, () => Command> = {
  get: () => (require('./commands/chain') as typeof import('./commands/chain')).get,
  call: () => (require('./commands/chain') as typeof import('./commands/chain')).call,
  set: () => (require('./commands/chain') as typeof import('./commands/chain')).set,
  del: () => (require('./commands/chain') as typeof import('./commands/chain')).del,
  ls: () => (require('./commands/chain') as typeof import('./commands/chain')).ls,
  batch: () => (require('./commands/batch') as typeof import('./commands/batch')).batch,
  wait: () => (require('./commands/wait') as typeof import('./commands/wait')).wait,
  watch: () => (require('./commands/watch') as typeof import('./commands/watch')).watch,
  repl: () => (require('./commands/repl') as typeof import('./commands/repl')).repl,
  serve: () => (require('./commands/serve') as typeof import('./commands/serve')).serve,
  demo: () => (require('./commands/demo') as typeof import('./commands/demo')).demo,
  'dial-stdio': () => (require('./commands/dial-stdio') as typeof import('./commands/dial-stdio')).dialStdio,
};

export async function run(argv: readonly string[], given: Io): Promise<number> {
  // stderr is for people only: on a terminal, a host's control characters in it are escaped
  // (terminal-text.ts). stdout is escaped per output mode, where the result is formatted.
  const io: Io = { stdout: given.stdout, stderr: escapingOut(given.stderr) };
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(MAIN_HELP);
    return EXIT.USAGE;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(MAIN_HELP);
    return EXIT.OK;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) io.stdout.write(MAIN_HELP);
    else if (Object.hasOwn(COMMAND_HELP, topic)) io.stdout.write(COMMAND_HELP[topic]!);
    else return usage(io, new UsageError(`no such command: ${topic}`));
    return EXIT.OK;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.stdout.write(`${version()}\n`);
    return EXIT.OK;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first]!() : undefined;
  if (!command) {
    const near = Object.keys(COMMANDS).filter((c) => c.startsWith(first.slice(0, 2)));
    return usage(io, new UsageError(`unknown command "${first}"${near.length && !first.startsWith('-') ? ` (did you mean ${near.join(' or ')}?)` : ''}`));
  }

  let ctx: CommandContext | undefined;
  try {
    const args = parseArgs(rest, [...COMMON_OPTIONS, ...(command.options ?? [])], first);
    if (flag(args, 'help')) {
      io.stdout.write(COMMAND_HELP[first]!);
      return EXIT.OK;
    }
    const [min, max] = command.arity;
    const n = args.positionals.length;
    if (n < min) throw new UsageError(`${first}: missing argument${min - n > 1 ? 's' : ''} (${COMMAND_HELP[first]!.split('\n')[0]!.replace('Usage: ', '')})`, first);
    if (n > max) throw new UsageError(`${first}: too many arguments: ${args.positionals.slice(max).map((a) => JSON.stringify(a)).join(' ')} (quote the expression as one argument: '${args.positionals.slice(1).join(' ')}')`, first);
    if (flag(args, 'raw') && flag(args, 'pretty')) throw new UsageError('--raw and --pretty do not go together', first);
    const mode: OutputMode = flag(args, 'raw') ? 'raw' : flag(args, 'pretty') ? 'pretty' : 'json';
    ctx = { command: first, args, io, verbose: flag(args, 'verbose'), timeoutMs: secondsOption(args, 'timeout', first), mode };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err);
    io.stderr.write(formatError(err, { verbose: ctx?.verbose ?? false, chain: ctx?.chain }));
    return exitCodeFor(err);
  }
}

function usage(io: Io, err: UsageError): number {
  io.stderr.write(`remoteobj: ${err.message}\n`);
  io.stderr.write(err.command ? `Run 'remoteobj ${err.command} --help' for usage and examples.\n` : `Run 'remoteobj --help' for the commands.\n`);
  return EXIT.USAGE;
}
