/**
 * Running the docs' blocks: examples (program blocks grouped by doc and name, with the hosts they
 * talk to), shell sessions and wire sessions, each in a fresh sandbox. docs-snippets.test.ts
 * decides when and compares; this module only runs and reports.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Host, serve, waitUntilListening } from 'remoteobj';
import { App } from './app-host';
import type { Block } from './blocks';
import { commandFor, killGroup, makeSandbox, normalise, type RunResult, type Running, rewritePaths, type Sandbox, start } from './sandbox';

export interface Example {
  key: string;
  doc: string;
  name: string;
  files: Block[];
}

export interface FileRun {
  block: Block;
  result: RunResult;
  server: boolean;
}

export interface ExampleRun {
  dir: string;
  runs: FileRun[];
  problems: string[];
}

export interface SessionRun {
  actual: string;
  problems: string[];
}

/** Files an example runs; its other files (json, text) are data it reads. */
const RUNNABLE = /\.([cm]?[jt]s|py|sh)$/;

/** Socket paths the test serves the App fixture on, for any block that names them. */
const FIXTURE_PATHS = ['/run/app.sock', '/run/a.sock', '/run/b.sock'];
const SOCKET_PATH = /(?<![\w.])\/(?:tmp|run)\/[\w.-]+\.sock\b/g;

/** The runners for one set of blocks (the docs, or the DOCS_ONLY part of them). */
export function docRunner(blocks: Block[], problems: string[]) {
  // --- examples: program blocks grouped by doc and example name ---------------------------------

  const examples = new Map<string, Example>();
  for (const b of blocks) {
    if (b.check !== 'program') continue;
    const key = `${b.doc}#${b.example}`;
    let ex = examples.get(key);
    if (!ex) examples.set(key, (ex = { key, doc: b.doc, name: b.example!, files: [] }));
    if (ex.files.some((f) => f.file === b.file)) problems.push(`${b.doc}:${b.line}: example ${b.example} already has a file ${b.file}`);
    ex.files.push(b);
  }

  /** The example of a doc that serves `socket`, if any. */
  function servedBy(doc: string, socket: string): Example | undefined {
    for (const ex of examples.values()) if (ex.doc === doc && ex.files.some((f) => f.serves === socket)) return ex;
    return undefined;
  }

  function socketsNamed(text: string): string[] {
    return [...new Set(text.match(SOCKET_PATH) ?? [])];
  }

  /** An example's own files plus the files of the doc's hosts it talks to (each a fresh copy). */
  function filesOf(ex: Example): Block[] {
    const files = [...ex.files];
    for (const f of ex.files) {
      for (const sock of socketsNamed(f.code)) {
        const host = servedBy(ex.doc, sock);
        if (!host || host === ex) continue;
        for (const h of host.files) if (!files.some((x) => x.file === h.file)) files.push(h);
      }
    }
    return files;
  }

  /**
   * Files another file of the example names in quotes (`import … from './worker'`, `spawn(…,
   * ['host.js'])`, `fork.ref('./work.js')`): modules and children, not programs of their own.
   * Type-only imports do not count (`import type { Counter } from './host'` runs nothing of host.ts).
   */
  function named(files: Block[]): Set<string> {
    const out = new Set<string>();
    const stem = (n: string) => n.replace(/^\.\//, '').replace(/\.[cm]?[jt]s$/, '');
    for (const f of files) {
      const code = f.code.replace(/^\s*import\s+type\b[^;]*;?/gm, '');
      for (const m of code.matchAll(/['"`]((?:\.\/)?[\w.-]+)['"`]/g)) {
        const hit = files.find((x) => x !== f && (x.file === m[1]!.replace(/^\.\//, '') || (m[1]!.startsWith('./') && stem(x.file!) === stem(m[1]!))));
        if (hit) out.add(hit.file!);
      }
    }
    return out;
  }

  // --- hosts ---------------------------------------------------------------------------------------

  interface Hosts {
    fixtures: Host<App>[];
    servers: Running[];
    failures: string[];
  }

  /** Serve what `text` names in the sandbox: the App fixture, and the doc's own hosts (started from their files). */
  async function startHosts(sb: Sandbox, doc: string, text: string, skip: Set<string> = new Set()): Promise<Hosts> {
    const hosts: Hosts = { fixtures: [], servers: [], failures: [] };
    for (const sock of socketsNamed(text)) {
      if (skip.has(sock)) continue;
      const real = rewritePaths(` ${sock}`, sb.dir).slice(1);
      if (FIXTURE_PATHS.includes(sock)) {
        hosts.fixtures.push(await serve(new App(), real));
        continue;
      }
      const ex = servedBy(doc, sock);
      if (!ex) continue;
      for (const f of ex.files) writeFile(sb, f);
      for (const f of ex.files.filter((x) => x.serves === sock)) hosts.servers.push(await startServer(sb, f, hosts.failures));
    }
    return hosts;
  }

  async function startServer(sb: Sandbox, f: Block, failures: string[]): Promise<Running> {
    const { cmd, args } = commandFor(f.file!);
    const child = start(cmd, args, sb, { timeout: 60000 });
    const real = rewritePaths(` ${f.serves}`, sb.dir).slice(1);
    await waitUntilListening(real, { timeout: 20000, process: child }).catch(async (e: Error) => {
      const r = await child.result;
      failures.push(`${f.doc}:${f.line} (${f.file}) did not serve ${f.serves}: ${e.message}\n${r.stderr}`);
    });
    return child;
  }

  /** Stop the servers (Ctrl-C), and check they end cleanly. */
  async function stopHosts(hosts: Hosts): Promise<{ file: Running; result: RunResult }[]> {
    await Promise.all(hosts.fixtures.map((h) => h.close()));
    return Promise.all(
      hosts.servers.map(async (s) => {
        if (s.exitCode === null && s.signalCode === null) s.kill('SIGINT');
        const timer = setTimeout(() => killGroup(s, 'SIGKILL'), 10000);
        const result = await s.result;
        clearTimeout(timer);
        return { file: s, result };
      }),
    );
  }

  function writeFile(sb: Sandbox, f: Block): void {
    fs.writeFileSync(path.join(sb.dir, f.file!), rewritePaths(f.code, sb.dir));
  }

  // --- running examples ----------------------------------------------------------------------------



  /** CommonJS when the example's .js files are (`module.exports`, `require()`, no import/export). */
  function packageType(files: Block[]): 'module' | 'commonjs' {
    const cjs = files.some((f) => f.file!.endsWith('.js') && /\b(module\.exports|require\()/.test(f.code) && !/^\s*(import|export)\b/m.test(f.code));
    return cjs ? 'commonjs' : 'module';
  }

  async function runExample(ex: Example): Promise<ExampleRun> {
    const files = filesOf(ex);
    const sb = makeSandbox(packageType(files));
    for (const f of files) writeFile(sb, f);
    const ownServes = new Set(ex.files.filter((f) => f.serves).map((f) => f.serves!));
    // Fixtures and the other examples' hosts this one names; its own servers start below.
    const hosts = await startHosts(sb, ex.doc, ex.files.map((f) => f.code).join('\n'), ownServes);
    const serverRuns: { block: Block; child: Running }[] = [];
    for (const f of files.filter((x) => x.serves && ownServes.has(x.serves))) serverRuns.push({ block: f, child: await startServer(sb, f, hosts.failures) });
    const modules = named(files);
    const programs = ex.files.filter((f) => !f.serves && !modules.has(f.file!) && RUNNABLE.test(f.file!)); // json, text: data files
    const runs: FileRun[] = await Promise.all(
      programs.map(async (f) => {
        const { cmd, args } = commandFor(f.file!);
        return { block: f, result: await start(cmd, args, sb, { timeout: 30000 }).result, server: false };
      }),
    );
    hosts.servers.push(...serverRuns.map((s) => s.child));
    const stopped = await stopHosts(hosts);
    for (const s of serverRuns) runs.push({ block: s.block, result: stopped.find((x) => x.file === s.child)!.result, server: true });
    return { dir: sb.dir, runs, problems: hosts.failures };
  }

  /** Why a file's run failed, or undefined when it ran cleanly. */
  function failureOf(run: FileRun, dir: string): string | undefined {
    const { result, block, server } = run;
    const ended = server ? result.code === 0 || result.signal === 'SIGINT' || result.code === 130 : result.code === 0;
    if (ended && !result.timedOut && result.stderr === '') return undefined;
    const how = result.timedOut ? 'did not finish in time' : result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    return `${block.doc}:${block.line} (${block.example}/${block.file}) ${how}${result.stderr ? `; stderr:\n${normalise(result.stderr, dir)}` : ''}${result.stdout ? `\nstdout:\n${normalise(result.stdout, dir)}` : ''}`;
  }

  // --- sessions ------------------------------------------------------------------------------------


  /** A `$ ` session: run each command (stdout and stderr together) and give the transcript as the doc would show it. */
  async function runShellSession(b: Block, commands: string[]): Promise<SessionRun> {
    const sb = makeSandbox();
    const hosts = await startHosts(sb, b.doc, commands.join('\n'));
    const out: string[] = [];
    for (const command of commands) {
      const r = await start('bash', ['-c', `exec 2>&1; ${rewritePaths(command, sb.dir)}`], sb, { timeout: 20000 }).result;
      out.push(`$ ${command}`, normalise(r.stdout, sb.dir));
    }
    await stopHosts(hosts);
    return { actual: out.filter((l) => l !== '').join('\n'), problems: hosts.failures };
  }

  function shellCommands(code: string): string[] {
    return code
      .split('\n')
      .filter((l) => l.startsWith('$ '))
      .map((l) => l.slice(2));
  }

  interface WireStep {
    send?: string;
    expect: string[];
  }

  /** `$ socat - UNIX-CONNECT:PATH` then hello, request, reply, request, reply…; or `<`/`>` lines. */
  function wireSteps(code: string): { socket?: string; steps: WireStep[] } {
    const lines = code.replace(/\n$/, '').split('\n');
    if (lines[0]!.startsWith('$ socat')) {
      const socket = /UNIX-CONNECT:(\S+)/.exec(lines[0]!)?.[1];
      const steps: WireStep[] = [{ expect: [lines[1]!] }];
      for (let i = 2; i < lines.length; i += 2) steps.push({ send: lines[i]!, expect: lines[i + 1] === undefined ? [] : [lines[i + 1]!] });
      return { socket, steps };
    }
    const steps: WireStep[] = [{ expect: [] }];
    for (const l of lines) {
      if (l.startsWith('> ')) steps.push({ send: l.slice(2), expect: [] });
      else if (l.startsWith('< ')) steps[steps.length - 1]!.expect.push(l.slice(2));
    }
    return { steps };
  }

  async function runWireSession(b: Block): Promise<SessionRun> {
    const { socket: named, steps } = wireSteps(b.code);
    const socket = named ?? nearestServer(b)?.serves;
    if (!socket) return { actual: '', problems: [`${b.doc}:${b.line}: a wire session needs a host: name it (\`$ socat - UNIX-CONNECT:PATH\`) or put a block that serves one above it`] };
    const sb = makeSandbox();
    const hosts = await startHosts(sb, b.doc, socket);
    const real = rewritePaths(` ${socket}`, sb.dir).slice(1);
    const out: string[] = [];
    const problems = [...hosts.failures];
    if (!problems.length) {
      const sock = net.connect(real);
      let buffered = '';
      const waiting: (() => void)[] = [];
      sock.setEncoding('utf8').on('data', (d: string) => {
        buffered += d;
        waiting.splice(0).forEach((w) => w());
      });
      sock.on('error', (e) => problems.push(`${b.doc}:${b.line}: ${e.message}`));
      const readLine = async (): Promise<string> => {
        const deadline = Date.now() + 10000;
        while (!buffered.includes('\n')) {
          if (Date.now() > deadline || sock.destroyed) throw new Error('no reply line within 10 s');
          await new Promise<void>((r) => {
            waiting.push(r);
            setTimeout(r, 200);
          });
        }
        const nl = buffered.indexOf('\n');
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      };
      try {
        for (const step of steps) {
          if (step.send !== undefined) {
            sock.write(step.send + '\n');
            if (!named) out.push(`> ${step.send}`);
            else out.push(step.send);
          }
          for (let i = 0; i < step.expect.length; i++) {
            const line = normalise(await readLine(), sb.dir);
            out.push(named ? line : `< ${line}`);
          }
        }
      } catch (e) {
        problems.push(`${b.doc}:${b.line}: ${(e as Error).message}`);
      }
      sock.end();
    }
    await stopHosts(hosts);
    return { actual: named ? [b.code.split('\n')[0]!, ...out].join('\n') : out.join('\n'), problems };
  }

  function nearestServer(b: Block): Block | undefined {
    return blocks.filter((x) => x.doc === b.doc && x.serves && x.line < b.line).pop();
  }

  function nearestExample(b: Block): Example | undefined {
    const prev = blocks.filter((x) => x.doc === b.doc && x.check === 'program' && x.line < b.line).pop();
    return prev ? examples.get(`${prev.doc}#${prev.example}`) : undefined;
  }


  return { examples, filesOf, runExample, failureOf, runShellSession, shellCommands, runWireSession, nearestExample };
}

/** Only what differs from run to run: pids and durations. The rest of a doc's output must be exact. */
export function variable(text: string): string {
  return text
    .replace(/(\bpid\b["']?\s*[:=]?\s*)\d+/g, '$1N')
    .replace(/\b\d+(?:\.\d+)? ms\b/g, 'N ms')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}
