/**
 * serve: host an object exported by a module. Prints the socket path on stdout once listening
 * (so a script can read it), and on SIGINT/SIGTERM closes the host (per --no-fulfill-final),
 * which removes the socket file, then ends.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Host, serve as serveObject } from '../../host/host';
import { socketPath as defaultSocketPath } from '../../transport/socket-path';
import { flag, secondsOption, stringOption } from '../args';
import { parseAddress } from '../../transport/address';
import { checkPath, cliTransport } from '../client';
import type { Command } from '../context';
import { EXIT, UsageError } from '../exit-codes';
import { loadModule, materialize, pickExport } from '../load-module';
import { formatError } from '../output';
import { ServeControlObject } from '../serve-control';
import { markLibraryOwned } from '../../owned';

/** The longest a Node timer can wait: `--grace 0` (no limit) becomes this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function pathFor(moduleFile: string, given: string | undefined): string {
  if (given !== undefined) {
    checkPath(given, 'serve');
    const address = parseAddress(given);
    return address.kind === 'unix' ? address.path : given;
  }
  const name = path.basename(moduleFile).replace(/\.[^.]*$/, '').replace(/[^\w.-]/g, '_').slice(0, 64) || 'remoteobj';
  const p = defaultSocketPath(name);
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
  return p;
}

export const serve: Command = {
  options: [
    { name: 'path', value: true },
    { name: 'readonly' },
    { name: 'expose', value: true },
    { name: 'no-fulfill-final' },
    { name: 'grace', value: true },
  ],
  arity: [1, 2],
  async run(ctx) {
    const [moduleFile, exportName] = ctx.args.positionals as [string, string | undefined];
    const socketPath = pathFor(moduleFile, stringOption(ctx.args, 'path'));
    const log = (line: string) => {
      if (ctx.verbose) ctx.io.stderr.write(`remoteobj serve: ${line}\n`);
    };
    const expose = stringOption(ctx.args, 'expose')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (expose && expose.length === 0) throw new UsageError('--expose needs a comma-separated list of names', 'serve');

    const grace = secondsOption(ctx.args, 'grace', 'serve');

    const { loaded, esm } = await loadModule(moduleFile, log);
    const exported = pickExport(loaded, esm, exportName, moduleFile);

    let host: Host | undefined;
    let socketIno: number | undefined;
    let closing: Promise<number> | undefined;
    let finish!: (code: number) => void;
    const finished = new Promise<number>((resolve) => (finish = resolve));
    const aborter = new AbortController();

    const shutdown = (why: string, code: number = EXIT.OK): Promise<number> => {
      closing ??= (async () => {
        log(`${why}: closing ${socketPath}${host && host.queued ? ` (${host.queued} request(s) queued)` : ''}`);
        aborter.abort();
        await host?.close();
        log('closed; socket file removed');
        finish(code);
        return code;
      })();
      return closing;
    };
    const control = new ServeControlObject(socketPath, aborter.signal, () => shutdown('closed by the module').then(() => undefined));
    markLibraryOwned(control, 'the serve control');

    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        // A second signal: stop waiting for requests in flight.
        ctx.io.stderr.write(`remoteobj serve: ${signal} again, exiting without waiting\n`);
        removeOurSocketFile(socketPath, socketIno);
        finish(signal === 'SIGINT' ? 130 : 143);
        return;
      }
      void shutdown(signal);
    };
    const onCrash = (err: unknown) => {
      ctx.io.stderr.write(`remoteobj serve: the hosted module failed:\n${formatError(err, { verbose: true })}`);
      void shutdown('crash', EXIT.REMOTE);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    try {
      const target = await materialize(exported, control);
      if (closing) return await finished; // the factory closed already
      host = await serveObject(target, socketPath, {
        readonly: flag(ctx.args, 'readonly'),
        expose,
        fulfillFinal: !flag(ctx.args, 'no-fulfill-final'),
        closeGraceMs: grace === undefined ? undefined : Math.min(grace, MAX_TIMER_MS),
        ...cliTransport(socketPath, 'serve'),
      });
      ServeControlObject.attach(control, host);
      if (closing) {
        // A signal arrived while listening started.
        await host.close();
        return await finished;
      }
      socketIno = fs.statSync(host.path, { throwIfNoEntry: false })?.ino;
      ctx.io.stdout.write(`${host.path}\n`);
      log(`hosting ${describeTarget(target)} from ${moduleFile} on ${host.path} (pid ${process.pid}); SIGINT or SIGTERM to stop`);
      return await finished;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
  },
};

/**
 * The forced exit skips the end of host.close(), which would remove the file. Only our own
 * file goes: a newer host may already listen at the path.
 */
function removeOurSocketFile(p: string, ino: number | undefined): void {
  try {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (ino !== undefined && st?.isSocket() && st.ino === ino) fs.unlinkSync(p);
  } catch {
    /* gone already */
  }
}

function describeTarget(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v;
  return (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'object';
}
