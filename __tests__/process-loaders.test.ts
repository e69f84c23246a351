/**
 * fork() from real user projects under each way of running them: plain ES modules (.mjs),
 * CommonJS, tsx in a `"type": "module"` project and in a CommonJS one, ts-node (the command, CommonJS)
 * and ts-node's ES module loader. Each project
 * is a temporary directory whose node_modules/remoteobj is this repository (its built dist/, through
 * package.json "exports"), as after `npm install`. Its worker module counts how often its top-level
 * code runs, per process: once in the parent (fork never loads a second copy to find the
 * function) and once in the child.
 *
 * `npm test` runs `npm run build` before jest; run it yourself before running this suite alone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers';

const DIST_INDEX = path.join(ROOT, 'dist', 'index.js');

beforeAll(() => {
  if (!fs.existsSync(DIST_INDEX)) throw new Error('dist/index.js is missing: run `npm run build` first (npm test does it before jest)');
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A throwaway project: package.json of this `type`, these files, and node_modules linked to this repository's. */
function project(type: 'module' | 'commonjs', files: Record<string, string>, links: string[] = []): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ro-loader-')));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'remoteobj'), 'dir');
  for (const name of links) fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name), 'dir');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

interface Outcome {
  pid: number;
  results: Record<string, unknown>;
  childPid: number;
  /** pids that ran the worker module's top-level code, one line per run. */
  loads: number[];
}

/** Run the project's main program; it prints one JSON line. Its children are gone when it exits (daemon children). */
function runMain(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const marks = path.join(dir, 'loads.txt');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: dir, timeout: 60000, env: { ...process.env, ...env, LOADS_FILE: marks } },
      (err, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (err || !line) return reject(new Error(`node ${args.join(' ')} failed (is dist/ up to date? run \`npm run build\`):\n${stderr}\n${stdout}`));
        const out = JSON.parse(line) as Omit<Outcome, 'loads'>;
        const loads = fs.existsSync(marks) ? fs.readFileSync(marks, 'utf8').trim().split('\n').map(Number) : [];
        resolve({ ...out, loads });
      },
    );
  });
}

function expectLoadedOnceEach(o: Outcome): void {
  expect(o.loads.filter((p) => p === o.pid)).toHaveLength(1); // the parent: its own import, no second copy
  expect(o.loads.filter((p) => p === o.childPid)).toHaveLength(1); // the child imports it to run the function
}

/** The worker module: counts its loads, and exports functions in the usual ways. */
const WORKER_ESM = `
import fs from 'node:fs';
fs.appendFileSync(process.env.LOADS_FILE, process.pid + '\\n');
export function add(a, b) { return a + b; }
export async function* upTo(n) { for (let i = 0; i < n; i++) yield i; }
function times(a, b) { return a * b; }
export { times as mul };
export default function (x) { return -x; }
export function pid() { return process.pid; }
function hidden() { return 'not exported'; }
export function getHidden() { return hidden; }
`;

/**
 * The program: fork each export by reference (at once, so the children start together), print
 * the results. An inline arrow is refused at the call; a top-level function its module does not
 * export is refused by the child (which looked for it among the module's exports).
 */
const MAIN_ESM = (workerFile: string) => `
import { fork, NotExportedError } from 'remoteobj';
import negate, { add, upTo, mul, pid, getHidden } from './${workerFile}';
const collect = async (p) => { const out = []; for await (const v of p) out.push(v); return out; };
const aliased = fork(mul, 6, 7);
const hidden = (async () => fork(getHidden(), 1).result)().then(() => 'ran', (e) => e instanceof NotExportedError && e.message);
const [a, m, n, u, childPid, refused] = await Promise.all([fork(add, 2, 40).result, aliased.result, fork(negate, 5).result, collect(fork(upTo, 3)), fork(pid).result, hidden]);
let inline = false;
try { fork((x) => x, 1); } catch (e) { inline = e instanceof NotExportedError; }
const results = { add: a, mul: m, negate: n, upTo: u, mulExport: aliased.target.exportName, inline, refused };
console.log(JSON.stringify({ pid: process.pid, results, childPid }));
`;

const EXPECTED = {
  add: 42,
  mul: 42,
  negate: -5,
  upTo: [0, 1, 2],
  mulExport: 'mul',
  inline: true,
  refused: expect.stringMatching(/^fork\(\): function hidden \(defined at .*work\.(mjs|ts):\d+:\d+\) is a top-level function of .*work\.(mjs|ts), which does not export it/),
};

test('plain ES modules (.mjs): an export, an alias, a default export and a generator; the worker module is not loaded again', async () => {
  const dir = project('commonjs', { 'work.mjs': WORKER_ESM, 'main.mjs': MAIN_ESM('work.mjs') });
  const o = await runMain(dir, ['main.mjs']);
  expect(o.results).toEqual(EXPECTED);
  expectLoadedOnceEach(o);
}, 60000);

test('CommonJS: exports found among the loaded modules; the worker module is not loaded again', async () => {
  const worker = `
const fs = require('node:fs');
fs.appendFileSync(process.env.LOADS_FILE, process.pid + '\\n');
exports.add = function add(a, b) { return a + b; };
exports.mul = (a, b) => a * b;
exports.pid = () => process.pid;
`;
  const main = `
const { fork } = require('remoteobj');
const { add, mul, pid } = require('./work.js');
(async () => {
  const results = { add: await fork(add, 2, 40).result, mul: await fork(mul, 6, 7).result };
  const childPid = await fork(pid).result;
  console.log(JSON.stringify({ pid: process.pid, results, childPid }));
})();
`;
  const dir = project('commonjs', { 'work.js': worker, 'main.js': main });
  const o = await runMain(dir, ['main.js']);
  expect(o.results).toEqual({ add: 42, mul: 42 });
  expectLoadedOnceEach(o);
}, 60000);

/** TypeScript versions of the worker and program (the same for every loader). */
const WORKER_TS = `
import fs from 'node:fs';
fs.appendFileSync(process.env.LOADS_FILE!, process.pid + '\\n');
export function add(a: number, b: number): number { return a + b; }
export async function* upTo(n: number): AsyncGenerator<number> { for (let i = 0; i < n; i++) yield i; }
function times(a: number, b: number): number { return a * b; }
export { times as mul };
export default function (x: number): number { return -x; }
export function pid(): number { return process.pid; }
function hidden(): string { return 'not exported'; }
export function getHidden(): () => string { return hidden; }
`;

/** `cjs`: the same minus the default export and the generator (require.cache finds every export by identity alike). */
const MAIN_TS = (workerSpecifier: string, cjs = false) => `
import { fork, type Forked, NotExportedError } from 'remoteobj';
import negate, { add, upTo, mul, pid, getHidden } from '${workerSpecifier}';
async function collect<T>(p: Forked<unknown, T>): Promise<T[]> { const out: T[] = []; for await (const v of p) out.push(v); return out; }
async function main(): Promise<void> {
  const aliased = fork(mul, 6, 7);
  // Refused at the call (CommonJS) or by the child (ES module): a rejection either way here.
  const hidden = (async () => fork(getHidden()).result)().then(() => 'ran', (e: unknown) => e instanceof NotExportedError && e.message);
  const [a, m, n, u, childPid, refused] = await Promise.all([
    fork(add, 2, 40).result,
    aliased.result,
    ${cjs ? 'undefined' : 'fork(negate, 5).result'},
    ${cjs ? 'undefined' : 'collect(fork(upTo, 3))'},
    fork(pid).result,
    hidden,
  ]);
  let inline = false;
  try { fork((x: number) => x, 1); } catch (e) { inline = e instanceof NotExportedError; }
  const results = { add: a, mul: m, negate: n, upTo: u, mulExport: aliased.target.exportName, inline, refused };
  console.log(JSON.stringify({ pid: process.pid, results, childPid }));
}
void main();
`;

/** For CommonJS (tsx's require hook, ts-node) every export is found in require.cache, by identity: also a module-level function that is not exported. */
const EXPECTED_CJS = { ...EXPECTED, negate: undefined, upTo: undefined, refused: expect.stringMatching(/^fork\(\): function hidden .*is not exported by any loaded module/) };

test('tsx in a "type": "module" project (node --import tsx): found among the loaded ES modules, not loaded again', async () => {
  const dir = project('module', { 'work.ts': WORKER_TS, 'main.ts': MAIN_TS('./work.ts') }, ['tsx']);
  const o = await runMain(dir, ['--import', 'tsx', 'main.ts']);
  expect(o.results).toEqual(EXPECTED);
  expectLoadedOnceEach(o);
}, 60000);

test('tsx in a CommonJS project (node --import tsx): found among the loaded modules, not loaded again', async () => {
  const dir = project('commonjs', { 'work.ts': WORKER_TS, 'main.ts': MAIN_TS('./work', true) }, ['tsx']);
  const o = await runMain(dir, ['--import', 'tsx', 'main.ts']);
  expect(o.results).toEqual(EXPECTED_CJS);
  expectLoadedOnceEach(o);
}, 60000);

test('ts-node (the ts-node command, CommonJS): found among the loaded modules, not loaded again', async () => {
  const tsconfig = { compilerOptions: { module: 'commonjs', target: 'ES2022', esModuleInterop: true, strict: true }, 'ts-node': { transpileOnly: true } };
  const dir = project('commonjs', { 'work.ts': WORKER_TS, 'main.ts': MAIN_TS('./work', true), 'tsconfig.json': JSON.stringify(tsconfig) }, [
    'ts-node',
    'typescript',
  ]);
  const tsNode = path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js');
  const o = await runMain(dir, [tsNode, 'main.ts']);
  expect(o.results).toEqual(EXPECTED_CJS);
  expectLoadedOnceEach(o);
}, 60000);

test('ts-node\'s ES module loader (node --loader ts-node/esm) in a "type": "module" project: not loaded again', async () => {
  const tsconfig = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true }, 'ts-node': { transpileOnly: true, esm: true } };
  const dir = project('module', { 'work.ts': WORKER_TS, 'main.ts': MAIN_TS('./work.js'), 'tsconfig.json': JSON.stringify(tsconfig) }, ['ts-node', 'typescript']);
  const o = await runMain(dir, ['--loader', 'ts-node/esm', 'main.ts']);
  expect(o.results).toEqual(EXPECTED);
  expectLoadedOnceEach(o);
}, 60000);
