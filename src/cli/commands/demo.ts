/**
 * demo: the original remoteobj's counter example, end to end and narrated. A host runs in a
 * separate process (`remoteobj serve` on the bundled counter module); every step is a real CLI
 * command run through `run()`, the same code the shell's `remoteobj` runs, with its output and
 * exit code shown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { secondsOption } from '../args';
import type { Command } from '../context';
import { EXIT, UsageError } from '../exit-codes';
import { useColors } from '../io';
import { run } from '../run';

const EXT = path.extname(__filename); // .js when built, .ts under ts-node
const MAIN = path.join(__dirname, '..', `main${EXT}`);
const COUNTER = path.join(__dirname, '..', `demo-counter${EXT}`);

interface Step {
  code: number;
  stdout: string;
  stderr: string;
}

class DemoFailed extends Error {}

export const demo: Command = {
  options: [{ name: 'pause', value: true }],
  arity: [0, 0],
  async run(ctx) {
    const pauseMs = secondsOption(ctx.args, 'pause', 'demo') ?? 1000;
    if (!Number.isFinite(pauseMs)) throw new UsageError('--pause must be more than 0', 'demo');
    const out = ctx.io.stdout;
    const colors = useColors(out);
    const say = (text: string) => out.write(`${colors ? `\x1b[2m${text}\x1b[22m` : text}\n`);
    const ok = (text: string) => out.write(`  ${colors ? '\x1b[32m✓\x1b[39m' : '✓'} ${text}\n`);
    const sock = path.join(os.tmpdir(), `remoteobj-demo-${process.pid}.sock`);
    const q = (s: string) => (/^[\w./:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

    /** Run one CLI command in this process, through the same run() the shell uses; show it. */
    const cli = async (argv: string[], note?: string): Promise<Step> => {
      out.write(`\n${colors ? '\x1b[1m' : ''}$ remoteobj ${argv.map(q).join(' ')}${colors ? '\x1b[22m' : ''}\n`);
      const step: Step = { code: 0, stdout: '', stderr: '' };
      step.code = await run(argv, {
        stdout: { write: (t: string) => ((step.stdout += t), out.write(indent(t))) },
        stderr: { write: (t: string) => ((step.stderr += t), out.write(indent(t))) },
      });
      say(`  (exit ${step.code}${note ? `: ${note}` : ''})`);
      return step;
    };
    const count = async (): Promise<number> => {
      const s = await cli(['get', sock, 'count']);
      if (s.code !== 0) throw new DemoFailed(`get count failed with exit ${s.code}`);
      return Number(s.stdout.trim());
    };
    /** Read the count until it passes `than` (it should within about one pause). */
    const risesAbove = async (than: number): Promise<number> => {
      say(`  … letting it count for ${pauseMs / 1000} s`);
      await sleep(pauseMs);
      let n = await count();
      for (let tries = 0; n <= than && tries < 20; tries++) {
        await sleep(250); // a slow machine: give the counter a little longer
        n = await count();
      }
      if (n <= than) throw new DemoFailed(`the count stayed at ${n} while on`);
      return n;
    };

    say('remoteobj demo: the counter example of the original remoteobj, across two processes.');
    say('A Counter {count, on, stop, toggle(state = true)} counts every 0.1 s while `on`.');
    say('It is hosted by `remoteobj serve` in a separate process; each step below is a real');
    say('`remoteobj` command, run through the same code as in your shell.');

    out.write(`\n${colors ? '\x1b[1m' : ''}$ remoteobj serve ${q(COUNTER)} --path ${sock} &${colors ? '\x1b[22m' : ''}\n`);
    const child = startHost(sock);
    const cleanup = () => child.kill('SIGKILL');
    // Ctrl-C during the demo: do not leave the host process behind.
    const interrupted = (signal: NodeJS.Signals) => {
      cleanup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('exit', cleanup);
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    try {
      const printed = await firstLine(child);
      out.write(indent(`${printed}\n`));
      say(`  (the host, pid ${child.pid}, printed its socket path once listening)`);

      if ((await cli(['wait', sock, '--timeout', '10'], 'a host answered')).code !== 0) throw new DemoFailed('the host did not come up');
      await cli(['ls', sock, '--pretty'], 'what the host lets a client reach');

      await cli(['call', sock, 'toggle(true)'], 'toggle() returns undefined, so nothing is printed');
      const first = await count();
      const risen = await risesAbove(first);
      ok(`${risen} > ${first}: it counts while on`);

      await cli(['call', sock, 'toggle(false)']);
      const held = await count();
      say(`  … waiting ${pauseMs / 1000} s`);
      await sleep(pauseMs);
      const still = await count();
      if (still !== held) throw new DemoFailed(`the count moved from ${held} to ${still} while off`);
      ok(`${still} == ${held}: it holds while off`);

      await cli(['call', sock, 'toggle()'], 'the default argument is true');
      const again = await risesAbove(still);
      ok(`${again} > ${still}: counting again`);

      await cli(['get', sock, 'on']);
      const refused = await cli(['call', sock, 'constructor.constructor("return process")()'], 'refused by the host; nothing ran');
      if (refused.code !== EXIT.REMOTE) throw new DemoFailed(`the host did not refuse constructor.constructor (exit ${refused.code})`);
      const bad = await cli(['get', sock, 'count +'], 'a syntax error: nothing was sent');
      if (bad.code !== EXIT.USAGE) throw new DemoFailed(`a bad expression exited ${bad.code}`);

      await cli(['set', sock, 'stop', 'true'], 'the counter sees stop and closes its host');
      const exit = await exited(child, 10_000);
      say(`  (the host process exited with code ${exit})`);
      if (exit !== 0) throw new DemoFailed(`the host exited with ${exit}`);

      const gone = await cli(['get', sock, 'count'], 'no host listening any more');
      if (gone.code !== EXIT.UNAVAILABLE) throw new DemoFailed(`get after stop exited ${gone.code}, expected 3`);
      out.write('\n');
      ok('done: toggle, count, hold, stop, exit, like the original. Exit codes: 0 ok, 1 remote error, 2 syntax, 3 no host, 4 timeout.');
      return EXIT.OK;
    } catch (e) {
      if (!(e instanceof DemoFailed)) throw e;
      ctx.io.stderr.write(`remoteobj demo: ${e.message}\n`);
      return EXIT.REMOTE;
    } finally {
      process.off('exit', cleanup);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child, 5000).catch(() => child.kill('SIGKILL'));
      }
    }
  },
};

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

/** `remoteobj serve` on the bundled counter, as a separate process (under ts-node when this is .ts). */
function startHost(sock: string): ChildProcess {
  const execArgv = EXT === '.ts' && !process.execArgv.some((a) => a.includes('ts-node')) ? ['-r', 'ts-node/register'] : process.execArgv;
  return spawn(process.execPath, [...execArgv, MAIN, 'serve', COUNTER, '--path', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The first line the host prints on stdout (its socket path), or its stderr if it dies first. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new DemoFailed(`the host exited (code ${code}) before listening:\n${err}`)));
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new DemoFailed('the host did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

