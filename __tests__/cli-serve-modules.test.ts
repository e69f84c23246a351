/**
 * `remoteobj serve` loads a module the way its project means it (issue 11 item 11): real
 * temporary projects, one CommonJS (no "type") and one with "type": "module", each with .js,
 * .cjs, .mjs, .ts, .cts and .mts modules; plain, under `node --import tsx`, under
 * `node -r ts-node/register`, and from an install of remoteobj with no TypeScript loader at all.
 * Every module's top-level code runs exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tmpSock } from './helpers';
import { cli, type CliOptions, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';

// Each test starts several serve processes, some loading TypeScript: room for a busy machine.
jest.setTimeout(120_000);

let base: string;
let cjs: string;
let esm: string;
let log: string;

const TSX_LOADER = pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href;
const TS_NODE_REGISTER = require.resolve('ts-node/register', { paths: [ROOT] });

beforeAll(() => {
  requireBuild();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-serve-mod-'));
  log = path.join(base, 'loads.log');
  cjs = path.join(base, 'proj-cjs');
  esm = path.join(base, 'proj-esm');
  const logLine = (name: string) => `appendFileSync(${JSON.stringify(log)}, ${JSON.stringify(name + '\n')});`;
  const files: Record<string, string> = {
    // A CommonJS project: no "type".
    'proj-cjs/package.json': '{ "name": "proj-cjs", "private": true }\n',
    'proj-cjs/counter.js': `const { appendFileSync } = require('node:fs'); ${logLine('cjs/counter.js')}
class Counter { kind = 'commonjs .js'; n = 0; inc() { return ++this.n; } }
module.exports = function createCounter(control) { const c = new Counter(); c.path = control.path; return c; };\n`,
    'proj-cjs/esm-syntax.js': `import { appendFileSync } from 'node:fs'; ${logLine('cjs/esm-syntax.js')}
export default class Counter { kind = 'ES module syntax in a commonjs .js'; n = 0; inc() { return ++this.n; } }\n`,
    'proj-cjs/m.mjs': `import { appendFileSync } from 'node:fs'; ${logLine('cjs/m.mjs')}
export default { kind: 'esm .mjs ' + typeof import.meta.url, n: 0, inc() { return ++this.n; } };\n`,
    'proj-cjs/t.ts': `import { appendFileSync } from 'node:fs'; ${logLine('cjs/t.ts')}
export default class Counter { kind: string = 'typescript .ts'; n: number = 0; inc(): number { return ++this.n; } }\n`,
    'proj-cjs/m.mts': `import { appendFileSync } from 'node:fs'; ${logLine('cjs/m.mts')}
export default class Counter { kind: string = 'typescript .mts ' + typeof import.meta.url; n: number = 0; inc(): number { return ++this.n; } }\n`,
    // tsconfig for ts-node (TypeScript 6 refuses ts-node's default moduleResolution).
    'proj-cjs/tsconfig.json': '{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "strict": true } }\n',

    // An ES module project.
    'proj-esm/package.json': '{ "name": "proj-esm", "private": true, "type": "module" }\n',
    'proj-esm/counter.js': `import { appendFileSync } from 'node:fs'; ${logLine('esm/counter.js')}
class Counter { kind = 'esm .js ' + typeof import.meta.url; n = 0; inc() { return ++this.n; } }
export default function createCounter(control) { const c = new Counter(); c.path = control.path; return c; }\n`,
    // The docs' CommonJS counter copied into an ES module project (issue 11 item 11).
    'proj-esm/legacy.js': `'use strict';
const { appendFileSync } = require('node:fs'); ${logLine('esm/legacy.js')}
class Counter { kind = 'commonjs syntax in an esm .js'; n = 0; inc() { return ++this.n; } }
module.exports = function createCounter() { return new Counter(); };\n`,
    'proj-esm/tla.js': `import { appendFileSync } from 'node:fs'; ${logLine('esm/tla.js')}
const kind = await Promise.resolve('esm .js with top-level await');
export default { kind, n: 0, inc() { return ++this.n; } };\n`,
    'proj-esm/c.cjs': `const { appendFileSync } = require('node:fs'); ${logLine('esm/c.cjs')}
module.exports = { kind: 'commonjs .cjs', n: 0, inc() { return ++this.n; } };\n`,
    'proj-esm/t.ts': `import { appendFileSync } from 'node:fs'; ${logLine('esm/t.ts')}
export default class Counter { kind: string = 'typescript esm .ts ' + typeof import.meta.url; n: number = 0; inc(): number { return ++this.n; } }\n`,
    'proj-esm/c.cts': `import { appendFileSync } from 'node:fs'; ${logLine('esm/c.cts')}
class Counter { kind: string = 'typescript .cts'; n: number = 0; inc(): number { return ++this.n; } }
export = Counter;\n`,
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(base, name)), { recursive: true });
    fs.writeFileSync(path.join(base, name), text);
  }
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
afterEach(killCliChildren);

/** Serve `file` (run in its project's directory), read its `kind`, stop the host; what serve wrote on stderr. */
async function hostedKind(file: string, opts: CliOptions & { serveArgs?: string[] } = {}): Promise<{ kind: unknown; stderr: string }> {
  const host = await startServe([file, '--path', tmpSock('mod'), ...(opts.serveArgs ?? [])], { cwd: path.dirname(file), ...opts });
  const kind = await cli(['get', host.socketPath, 'kind']);
  host.kill('SIGTERM');
  const done = await host.result;
  expect(done.code).toBe(0);
  return { kind: kind.code === 0 ? JSON.parse(kind.stdout) : kind.stderr, stderr: done.stderr };
}

const kinds = (files: string[], opts?: CliOptions) => Promise.all(files.map((f) => hostedKind(f, opts).then((r) => r.kind)));

function loads(): string[] {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).sort() : [];
}

beforeEach(() => fs.rmSync(log, { force: true }));

test('a CommonJS project: .js (either syntax), .mjs, .ts, .mts', async () => {
  const names = ['counter.js', 'esm-syntax.js', 'm.mjs', 't.ts', 'm.mts'];
  expect(await kinds(names.map((n) => path.join(cjs, n)))).toEqual([
    'commonjs .js',
    'ES module syntax in a commonjs .js',
    'esm .mjs string',
    'typescript .ts',
    'typescript .mts string',
  ]);
  expect(loads()).toEqual(names.map((n) => `cjs/${n}`).sort());
});

test('a "type": "module" project: .js (ES module, with top-level await), .cjs, .ts, .cts', async () => {
  const names = ['counter.js', 'tla.js', 'c.cjs', 't.ts', 'c.cts'];
  expect(await kinds(names.map((n) => path.join(esm, n)))).toEqual([
    'esm .js string',
    'esm .js with top-level await',
    'commonjs .cjs',
    'typescript esm .ts string',
    'typescript .cts',
  ]);
  expect(loads()).toEqual(names.map((n) => `esm/${n}`).sort());
});

test('a "type": "module" project: a CommonJS .js (the docs’ counter) is loaded as CommonJS, once; --verbose says so', async () => {
  const r = await hostedKind(path.join(esm, 'legacy.js'), { serveArgs: ['--verbose'] });
  expect(r.kind).toBe('commonjs syntax in an esm .js');
  expect(r.stderr).toMatch(/legacy\.js has no import or export, so it is loaded as CommonJS \(though "type": "module" in .*package\.json/);
  // It ran once: it was not first tried as an ES module (which runs it up to `require`/`module`).
  expect(loads()).toEqual(['esm/legacy.js']);
});

test('under `node --import tsx`: TypeScript in both projects', async () => {
  expect(await kinds([path.join(cjs, 't.ts'), path.join(esm, 't.ts')], { nodeArgs: ['--import', TSX_LOADER] })).toEqual([
    'typescript .ts',
    'typescript esm .ts string',
  ]);
  expect(loads()).toEqual(['cjs/t.ts', 'esm/t.ts']);
});

test('under `node -r ts-node/register`: CommonJS TypeScript loads; an ES module .ts gets a message naming tsx (exit 2)', async () => {
  const opts = { nodeArgs: ['-r', TS_NODE_REGISTER], env: { TS_NODE_TRANSPILE_ONLY: '1' } };
  expect(await kinds([path.join(cjs, 't.ts')], opts)).toEqual(['typescript .ts']);
  const r = await cli(['serve', path.join(esm, 't.ts'), '--path', tmpSock('tsn')], { ...opts, cwd: esm });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/t\.ts is an ES module \("type": "module" in .*\), .*node --import tsx/);
  expect(r.stdout).toBe('');
});

test('an install of remoteobj where no TypeScript loader can be found: exit 2, and the message names both loaders', async () => {
  // node_modules/remoteobj: the built package (copied: Node would follow a symlink back to this
  // checkout, whose node_modules has tsx and ts-node) and links to its runtime dependencies only.
  const project = path.join(base, 'bare');
  const pkg = path.join(project, 'node_modules', 'remoteobj');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true, filter: (src) => !/\.(map|d\.ts)$/.test(src) });
  const deps = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies);
  for (const dep of deps) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(project, 'node_modules', dep));
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "bare", "private": true }\n');
  fs.copyFileSync(path.join(cjs, 't.ts'), path.join(project, 't.ts'));

  const r = await cli(['serve', 't.ts', '--path', tmpSock('bare')], { bin: path.join(pkg, 'dist', 'cli', 'main.js'), cwd: project });
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^remoteobj: cannot load t\.ts: TypeScript needs a loader/);
  expect(r.stderr).toContain('node --import tsx $(command -v remoteobj) serve t.ts');
  expect(r.stderr).toContain('node -r ts-node/register');
  expect(loads()).toEqual([]); // nothing ran
});
