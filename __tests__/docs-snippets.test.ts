/**
 * Every fenced block of README.md and docs/*.md is checked, so the docs cannot drift from the
 * code: ts blocks are type-checked (one program for all) and run, sh/js/python blocks run,
 * shell and wire sessions are replayed against real hosts and compared, json is parsed, and a
 * block that cannot be checked says why, visibly. The conventions: docs/architecture.md, "Code
 * blocks in the docs". `UPDATE_DOCS=1 npx jest __tests__/docs-snippets.test.ts` writes what the
 * runs printed (normalised) into the compared blocks.
 *
 * Runs the built package (dist/) as a user would: `npm test` builds it before jest.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Host, serve, waitUntilListening } from 'remoteobj';
import { App } from './docs/app-host';
import { allBlocks, type Block, ROOT } from './docs/blocks';
import { BIN, commandFor, killAll, killGroup, makeSandbox, normalise, pool, removeSandboxes, type RunResult, type Running, rewritePaths, type Sandbox, start } from './docs/sandbox';
import { publicNames, signatureModule, type SourceFile, typecheck } from './docs/typecheck';
import { Hello, Reply, Request } from '../src/protocol/messages';

const UPDATE = process.env.UPDATE_DOCS === '1';
/** While editing one doc: DOCS_ONLY=README.md,docs/api.md checks only those (the whole set is the default). */
const ONLY = process.env.DOCS_ONLY?.split(',');
const { blocks, problems } = allBlocks(ONLY);

/** Files an example runs; its other files (json, text) are data it reads. */
const RUNNABLE = /\.([cm]?[jt]s|py|sh)$/;

/** Socket paths the test serves the App fixture on, for any block that names them. */
const FIXTURE_PATHS = ['/run/app.sock', '/run/a.sock', '/run/b.sock'];
const SOCKET_PATH = /(?<![\w.])\/(?:tmp|run)\/[\w.-]+\.sock\b/g;

// --- examples: program blocks grouped by doc and example name ---------------------------------

interface Example {
  key: string;
  doc: string;
  name: string;
  files: Block[];
}

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

interface FileRun {
  block: Block;
  result: RunResult;
  server: boolean;
}

interface ExampleRun {
  dir: string;
  runs: FileRun[];
  problems: string[];
}

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

/** Only what differs from run to run: pids and durations. The rest of a doc's output must be exact. */
function variable(text: string): string {
  return text
    .replace(/(\bpid\b["']?\s*[:=]?\s*)\d+/g, '$1N')
    .replace(/\b\d+(?:\.\d+)? ms\b/g, 'N ms')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

/** A `$ ` session: run each command (stdout and stderr together) and give the transcript as the doc would show it. */
async function runShellSession(b: Block, commands: string[]): Promise<{ actual: string; problems: string[] }> {
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

async function runWireSession(b: Block): Promise<{ actual: string; problems: string[] }> {
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

// --- the runs, all started at once (a few at a time), each test awaits its own --------------------

const limit = pool<unknown>(5);
const exampleRuns = new Map<string, Promise<ExampleRun>>();
const sessionRuns = new Map<Block, Promise<{ actual: string; problems: string[] }>>();
const updates: { block: Block; text: string }[] = [];

function exampleRun(ex: Example): Promise<ExampleRun> {
  let p = exampleRuns.get(ex.key);
  if (!p) exampleRuns.set(ex.key, (p = limit(() => runExample(ex)) as Promise<ExampleRun>));
  return p;
}

function sessionRun(b: Block, run: () => Promise<{ actual: string; problems: string[] }>) {
  let p = sessionRuns.get(b);
  if (!p) sessionRuns.set(b, (p = limit(run) as Promise<{ actual: string; problems: string[] }>));
  return p;
}

let typeErrors: Map<Block, string[]>;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  // Start every run now, so they overlap with the type check and with each other.
  for (const ex of examples.values()) void exampleRun(ex);
  for (const b of blocks) {
    if (b.check === 'shell-session') void sessionRun(b, () => runShellSession(b, shellCommands(b.code)));
    if (b.check === 'wire-session') void sessionRun(b, () => runWireSession(b));
    if (b.check === 'output' && b.outputOf?.startsWith('$ ')) void sessionRun(b, () => runShellSession(b, [b.outputOf!.slice(2)]));
  }
  const exported = publicNames();
  const files: SourceFile[] = [];
  for (const ex of examples.values()) {
    for (const f of filesOf(ex)) {
      if (f.lang === 'ts') files.push({ rel: `${ex.key.replace(/[^\w]+/g, '-')}/${f.file}`, text: f.code, block: f });
    }
  }
  for (const b of blocks) {
    if (b.check === 'types') files.push({ rel: `${b.doc.replace(/[^\w]+/g, '-')}-${b.line}/main.ts`, text: b.code, block: b });
    if (b.check === 'signature') {
      const { text, offset } = signatureModule(b, exported);
      files.push({ rel: `${b.doc.replace(/[^\w]+/g, '-')}-${b.line}/signature.ts`, text, block: b, offset });
    }
  }
  typeErrors = typecheck(files);
}, 120000);

afterAll(async () => {
  await Promise.allSettled([...exampleRuns.values(), ...sessionRuns.values()]);
  await killAll();
  removeSandboxes();
  if (UPDATE) writeUpdates();
});

/** UPDATE_DOCS=1: put what the runs printed into the compared blocks. */
function writeUpdates(): void {
  const byDoc = new Map<string, { block: Block; text: string }[]>();
  for (const u of updates) byDoc.set(u.block.doc, [...(byDoc.get(u.block.doc) ?? []), u]);
  for (const [doc, list] of byDoc) {
    const file = path.join(ROOT, doc);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const { block, text } of list.sort((a, b) => b.block.line - a.block.line)) {
      const old = block.code.replace(/\n$/, '').split('\n').length;
      lines.splice(block.line, old, ...text.split('\n').map((l) => (l ? block.indent + l : l)));
    }
    fs.writeFileSync(file, lines.join('\n'));
  }
}

/** Compare a doc's block with what really happened; under UPDATE_DOCS=1, record it instead. */
function compare(b: Block, actual: string, expected = b.code): void {
  if (UPDATE) {
    if (variable(actual) !== variable(expected)) updates.push({ block: b, text: actual.replace(/\n+$/, '') });
    return;
  }
  expect({ where: `${b.doc}:${b.line}`, text: variable(actual) }).toEqual({ where: `${b.doc}:${b.line}`, text: variable(expected) });
}

// --- the tests -----------------------------------------------------------------------------------

const count = (check: Block['check']) => blocks.filter((b) => b.check === check).length;

test('every block has a language and a known marker (docs/architecture.md, "Code blocks in the docs")', () => {
  expect(problems).toEqual([]);
});

test(`${blocks.length} blocks: ${count('program')} run, ${count('types') + count('signature')} type-checked only, ${
  count('shell-session') + count('wire-session') + count('output')
} compared, ${count('json')} parsed, ${count('figure')} figures, ${count('not-run')} not run (with a visible reason)`, () => {
  const notRun = blocks.filter((b) => b.check === 'not-run');
  for (const b of notRun) expect({ where: `${b.doc}:${b.line}`, reason: b.reason!.length >= 10 }).toEqual({ where: `${b.doc}:${b.line}`, reason: true });
  // Most blocks are checked by more than reading.
  if (!ONLY) expect(blocks.length).toBeGreaterThan(50);
  if (!ONLY) expect(notRun.length + count('figure')).toBeLessThan(blocks.length / 3);
});

/** test.each, or a note when DOCS_ONLY leaves nothing of a kind (test.each refuses an empty table). */
function each<T>(rows: (readonly [string, T])[], fn: (label: string, item: T) => unknown, timeout?: number): void {
  if (rows.length) test.each(rows)('%s', fn as (label: string, item: T) => void, timeout);
  else test('(none)', () => undefined);
}

const label = (b: Block) => `${b.doc}:${b.line} ${b.lang}${b.example ? ` ${b.example}/${b.file}` : ''}`;

describe('ts blocks type-check (strict, against the public API)', () => {
  const ts = blocks.filter((b) => b.lang === 'ts' && b.check !== 'not-run');
  each(ts.map((b) => [label(b), b] as const), (_label, b) => {
    expect(typeErrors.get(b) ?? []).toEqual([]);
  });
});

const exampleLabel = (ex: Example) => `${ex.doc} ${ex.name} (${ex.files.map((f) => `${f.file}:${f.line}`).join(', ')})`;
async function expectRuns(ex: Example): Promise<void> {
  const run = await exampleRun(ex);
  expect(run.problems).toEqual([]);
  expect(run.runs.map((r) => failureOf(r, run.dir)).filter(Boolean)).toEqual([]);
}
const knownFailure = (ex: Example) => ex.files.find((f) => f.knownFailure)?.knownFailure;

describe('programs run and exit 0, with nothing on stderr', () => {
  each(
    [...examples.values()].filter((ex) => !knownFailure(ex)).map((ex) => [exampleLabel(ex), ex] as const),
    (_label, ex) => expectRuns(ex),
    90000,
  );
  // Marked `fails: REASON` (a bug being fixed elsewhere): this fails once the example runs; then drop the mark.
  for (const ex of [...examples.values()].filter(knownFailure)) {
    test.failing(`${exampleLabel(ex)} does not run yet: ${knownFailure(ex)}`, () => expectRuns(ex), 90000);
  }
});

describe('sessions and outputs match a real run', () => {
  const compared = blocks.filter((b) => b.check === 'shell-session' || b.check === 'wire-session' || b.check === 'output');
  each(
    compared.map((b) => [label(b), b] as const),
    async (_label, b) => {
      if (b.check === 'output' && !b.outputOf?.startsWith('$ ')) {
        const [name, file] = (b.outputOf ?? '').split('/');
        const ex = b.outputOf ? examples.get(`${b.doc}#${name}`) : nearestExample(b);
        expect(ex ? ex.key : `no example for the output at ${b.doc}:${b.line}`).toBe(ex?.key);
        const run = await exampleRun(ex!);
        const printed = run.runs.filter((r) => !r.server && (!file || r.block.file === file));
        expect(printed.length).toBe(1);
        compare(b, normalise(printed[0]!.result.stdout, run.dir));
        return;
      }
      const { actual, problems: why } = await sessionRuns.get(b)!;
      expect(why).toEqual([]);
      if (b.check === 'output') compare(b, actual.split('\n').slice(1).join('\n'));
      else compare(b, actual);
    },
    90000,
  );
});

describe('json blocks parse (protocol messages by the protocol schemas)', () => {
  each(blocks.filter((b) => b.lang === 'json' && b.check !== 'not-run').map((b) => [label(b), b] as const), (_label, b) => {
    let values: unknown[];
    try {
      values = [JSON.parse(b.code)];
    } catch {
      values = b.code
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown);
    }
    for (const v of values) {
      const o = v as Record<string, unknown>;
      const schema = 'ops' in o ? Request : o.kind === 'hello' ? Hello : 'id' in o && 'kind' in o ? Reply : undefined;
      if (schema) expect({ line: JSON.stringify(v), ok: schema.safeParse(v).success }).toEqual({ line: JSON.stringify(v), ok: true });
    }
  });
});
