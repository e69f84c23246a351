/**
 * repl: Node's REPL with `remote` bound to the hosted object. Top-level await works (Node's own),
 * a remote expression left un-awaited is awaited for you, Tab completes member names from the
 * host's describe op, and `.ls [EXPR]` lists members.
 */
import os from 'node:os';
import path from 'node:path';
import nodeRepl from 'node:repl';
import { connect } from '../../client/connect';
import type { Connection } from '../../client/connection';
import type { Description } from '../../evaluate';
import { checkPath, cliTransport, DEFAULT_CONNECT_MS } from '../client';
import type { Command } from '../context';
import { EXIT } from '../exit-codes';
import { parseChain } from '../grammar';
import { formatDescription, formatError } from '../output';
import { gateLines } from '../repl-input';
import { ReplTurns } from '../repl-turns';
import { inspectForTerminal } from '../terminal-text';

/** `remote` followed by a chain of plain reads (no calls: completion never runs one), then `.partial`. */
const COMPLETABLE = /(?:^|[^\p{ID_Continue}$.\]])remote((?:\s*\.\s*[\p{ID_Start}$_][\p{ID_Continue}$]*|\s*\[\s*(?:\d+|"(?:[^"\\]|\\.)*")\s*\])*)\s*\.\s*([\p{ID_Start}$_][\p{ID_Continue}$]*)?$/u;
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$]*$/u;

/**
 * Complete the `remote…` chain at the end of `line`: ask the host to describe the value the
 * chain leads to and offer its members. Returns null when the line does not end in such a chain.
 */
export async function completeRemote(conn: Connection, line: string, timeoutMs = 2000): Promise<[string[], string] | null> {
  const m = COMPLETABLE.exec(line);
  if (!m) return null;
  const prefix = m[2] ?? '';
  let chain;
  try {
    chain = parseChain(m[1] ?? '');
  } catch {
    return [[], prefix];
  }
  const result = await conn.request([...chain.ops, { op: 'describe' }], { timeout: timeoutMs });
  if (result.kind !== 'value') return [[], prefix];
  const names = (result.value as Description).members.map((x) => x.name).filter((n) => IDENTIFIER.test(n) && n.startsWith(prefix));
  return [[...new Set(names)].sort(), prefix];
}

function isRemoteExpression(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'function' && Object.prototype.toString.call(v) === '[object Remote]' && typeof (v as { then?: unknown }).then === 'function';
}

type Completer = (line: string, cb: (err: Error | null, result: [string[], string]) => void) => void;
type Evaluator = (cmd: string, context: object, file: string, cb: (err: Error | null, result?: unknown) => void) => void;

export const repl: Command = {
  arity: [1, 1],
  async run(ctx) {
    const socketPath = ctx.args.positionals[0]!;
    checkPath(socketPath, 'repl');
    const limited = ctx.timeoutMs !== undefined && Number.isFinite(ctx.timeoutMs);
    const remote = await connect(socketPath, {
      ...cliTransport(socketPath, 'repl'),
      localBypass: false,
      connectTimeout: limited ? ctx.timeoutMs : DEFAULT_CONNECT_MS,
      timeout: limited ? ctx.timeoutMs : undefined,
      onUnobservedError: (err) => ctx.io.stderr.write(`(a request nobody awaited failed) ${formatError(err, { verbose: ctx.verbose })}`),
    });
    const conn = remote.$connection as Connection;
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    if (interactive || ctx.verbose) {
      ctx.io.stderr.write(`Connected to pid ${conn.hostPid} at ${conn.path}. \`remote\` is the hosted object; Tab completes; .ls lists members; .exit or Ctrl-D quits.\n`);
    }
    // One input at a time, in order, even when lines arrive faster than the host answers (piped
    // stdin): each waits for the one before it, and an error never leaves a turn open. Piped
    // lines are also handed to the REPL one at a time, so multi-line input reads as typed.
    const turns = new ReplTurns();
    const input = interactive ? undefined : gateLines(process.stdin, turns);
    const server = nodeRepl.start({
      prompt: 'remote> ',
      input: input?.stream ?? process.stdin,
      output: process.stdout,
      terminal: interactive,
      useColors: interactive && !process.env.NO_COLOR,
      ignoreUndefined: true,
      // The input preview evaluates as you type; on a remote proxy that would mean requests (and
      // surprises): results come on Enter only.
      preview: false,
      // The REPL's default writer shows proxies as Proxy [target, handler]; show what a remote value is.
      // Errors are shown through it too ("Uncaught " + writer(error)): a host's control
      // characters in values, messages and stacks are escaped on a terminal.
      writer: (v: unknown) => inspectForTerminal(v, { colors: interactive && !process.env.NO_COLOR, showProxy: false, depth: 4 }, interactive),
    });
    server.context.remote = remote;

    turns.followErrorsOf(server);
    const inTurn = (task: (done: () => void) => void) => turns.run(task);

    // Node's own completer evaluates the expression before the dot (`q.pause().<Tab>` would run
    // `q.pause()`). While it works, nothing may reach the host whatever the proxies are called:
    // no calls are evaluated, and a remote expression is not awaited.
    let completing = 0;

    // `remote.count` shows the value, not a proxy: await a remote expression left un-awaited.
    const defaultEval = server.eval as unknown as Evaluator;
    (server as unknown as { eval: Evaluator }).eval = (cmd, context, file, cb) => {
      if (completing > 0) {
        if (/[(`]/.test(cmd)) return cb(null, undefined);
        return defaultEval.call(server, cmd, context, file, (err, result) => cb(err, isRemoteExpression(result) ? undefined : result));
      }
      inTurn((done) =>
        defaultEval.call(server, cmd, context, file, (err, result) => {
          if (err || !isRemoteExpression(result)) return done(), cb(err, result);
          Promise.resolve(result).then(
            (v) => (done(), cb(null, v)),
            (e: Error) => (done(), cb(e)),
          );
        }),
      );
    };

    const defaultCompleter = (server as unknown as { completer: Completer }).completer;
    (server as unknown as { completer: Completer }).completer = (line, cb) => {
      completeRemote(conn, line).then(
        (r) => {
          if (r) return cb(null, r);
          completing++;
          defaultCompleter.call(server, line, (err, result) => {
            completing--;
            cb(err, result);
          });
        },
        () => cb(null, [[], '']),
      );
    };

    server.defineCommand('ls', {
      help: 'List the members of the hosted object, or of EXPR (e.g. .ls cache.stats)',
      action(expr: string) {
        let ops;
        try {
          ops = parseChain(expr.trim().replace(/^remote\b/, '')).ops;
        } catch (e) {
          ctx.io.stderr.write(formatError(e, { verbose: false }));
          this.displayPrompt();
          return;
        }
        inTurn((done) =>
          conn.request([...ops, { op: 'describe' }]).then(
            (r) => {
              if (r.kind === 'value') this.output.write(formatDescription(r.value as Description, 'pretty', { isTTY: interactive, write: () => undefined }));
              done();
              this.displayPrompt();
            },
            (e: unknown) => {
              ctx.io.stderr.write(formatError(e, { verbose: ctx.verbose }));
              done();
              this.displayPrompt();
            },
          ),
        );
      },
    });

    if (interactive) {
      const history = process.env.REMOTEOBJ_REPL_HISTORY ?? path.join(os.homedir(), '.remoteobj_repl_history');
      if (history) server.setupHistory(history, () => undefined);
    }

    await new Promise<void>((resolve) => server.once('exit', () => resolve()));
    input?.stop();
    // Piped input may end before the host has answered every line: finish them first.
    await turns.drained();
    await remote.$close().catch(() => undefined);
    return EXIT.OK;
  },
};
