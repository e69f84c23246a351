/**
 * The shipped `.d.ts` files compile for a user on every TypeScript version we state
 * (docs/api.md, "Install and import": TypeScript 5.5 to 7.0), as that user checks them: a
 * throwaway project whose node_modules/remoteobj is this repository (as after `npm install`),
 * strict, `skipLibCheck: false` (so our declaration files are checked, and zod's and node's that
 * they pull in), once with `module: nodenext` (a CommonJS and an ESM file) and once with
 * bundler-style resolution. Each program is the type tests of __tests__/types/ run against the
 * built declarations, plus a small program per module kind: so a type that behaves differently
 * on the oldest or newest compiler fails here too, not only one that does not compile.
 *
 * The oldest and newest versions are devDependencies under aliases (`typescript-5.5`,
 * `typescript-7`); the version we build with (6.0) checks the same type tests on the sources in
 * `npm run typecheck`. `npm test` builds dist/ before jest runs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers';

const run = promisify(execFile);

/** The versions we state: the oldest and the newest (the alias names in package.json). */
const COMPILERS = [
  { alias: 'typescript-5.5', version: /^5\.5\./ },
  { alias: 'typescript-7', version: /^7\.0\./ },
];

/** What the consumer's tsconfig has in common: strict, and every declaration file checked. */
const COMMON = {
  strict: true,
  skipLibCheck: false,
  noUncheckedIndexedAccess: true,
  target: 'ES2022',
  lib: ['ES2022'],
  noEmit: true,
  types: ['node'],
};

const MODULE_KINDS = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
} as const;

/** A user's program: serve, connect, a typed remote, controls, errors. */
const PROGRAM = `
class Counter {
  count = 0;
  tags = new Set<string>();
  add(n = 1): number { return (this.count += n); }
  toggle(): this { return this; }
}
export async function main(path: string): Promise<number> {
  const host: Host<Counter> = await serve(new Counter(), path, { readonly: false });
  const remote: Remote<Counter> = await connect<Counter>(path, { timeout: 1000 });
  const count: number = await remote.count;
  const added: number = await remote.add(2);
  const same: Remote<Counter> = await remote.toggle();
  const has: boolean = await remote.tags.$has('x');
  await remote.$set('count', 3);
  const fallback: number | null = await remote.count.$get({ default: null });
  // @ts-expect-error a remote value is not its plain type until awaited
  const wrong: number = remote.count;
  try {
    await remote.add(1);
  } catch (err) {
    if (err instanceof RemoteError) console.log(err.name, err.code, err.origin?.pid);
    else if (err instanceof AccessError) console.log(err.rule);
    else if (err instanceof RemoteObjError) console.log(err.code satisfies ErrorCode);
  }
  void [same, has, fallback, wrong];
  await remote.$close();
  await host.close();
  return count + added;
}
`;
const IMPORTS = "import { AccessError, connect, type ErrorCode, type Host, type Remote, RemoteError, RemoteObjError, serve } from 'remoteobj';";

let dir: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'))) {
    throw new Error('dist/index.d.ts is missing: run `npm run build` first (npm test does it before jest)');
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-tsrange-'));
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'remoteobj'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  fs.writeFileSync(path.join(dir, 'use.cts'), `${IMPORTS}\n${PROGRAM}`);
  fs.writeFileSync(path.join(dir, 'use.mts'), `${IMPORTS}\n${PROGRAM}\nawait main('/tmp/x.sock');\n`);
  fs.writeFileSync(path.join(dir, 'use.ts'), `${IMPORTS}\n${PROGRAM}`);
  // The repository's own type tests, importing 'remoteobj' by name: here that is the built package.
  fs.mkdirSync(path.join(dir, 'types'));
  const typeTests = fs.readdirSync(path.join(ROOT, '__tests__', 'types')).filter((f) => f.endsWith('.ts'));
  for (const f of typeTests) fs.copyFileSync(path.join(ROOT, '__tests__', 'types', f), path.join(dir, 'types', f));
  const typeTestFiles = typeTests.map((f) => `types/${f}`);
  const write = (name: string, kind: keyof typeof MODULE_KINDS, files: string[]) =>
    fs.writeFileSync(path.join(dir, name), JSON.stringify({ compilerOptions: { ...COMMON, ...MODULE_KINDS[kind] }, files: [...files, ...typeTestFiles] }));
  write('tsconfig.nodenext.json', 'nodenext', ['use.cts', 'use.mts']);
  write('tsconfig.bundler.json', 'bundler', ['use.ts']);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run one compiler on one consumer config: its diagnostics, or 'ok'. */
async function check(alias: string, config: string): Promise<string> {
  const tsc = path.join(ROOT, 'node_modules', alias, 'bin', 'tsc');
  return run(process.execPath, [tsc, '-p', path.join(dir, config)], { cwd: dir, timeout: 120_000 }).then(
    () => 'ok',
    (e: { stdout?: string; stderr?: string; message: string }) => `${alias} on ${config}:\n${e.stdout || e.stderr || e.message}`,
  );
}

describe.each(COMPILERS)('$alias', ({ alias, version }) => {
  test('is the version we state', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'node_modules', alias, 'bin', 'tsc'), '--version']);
    expect(stdout.replace(/^Version /, '').trim()).toMatch(version);
  });

  test.each(Object.keys(MODULE_KINDS))('the shipped .d.ts and the type tests compile (module: %s, skipLibCheck: false)', async (kind) => {
    expect(await check(alias, `tsconfig.${kind}.json`)).toBe('ok');
  }, 120_000);
});

test("a user's program holds no declaration file of another package but Node's (zod's stay out: ~95 files, ~2 s of 5.5's check)", async () => {
  const tsc = path.join(ROOT, 'node_modules', COMPILERS[0]!.alias, 'bin', 'tsc');
  for (const kind of Object.keys(MODULE_KINDS)) {
    const { stdout } = await run(process.execPath, [tsc, '-p', path.join(dir, `tsconfig.${kind}.json`), '--listFilesOnly'], { cwd: dir });
    const files = stdout.split('\n').filter(Boolean).map((f) => fs.realpathSync(f));
    // The package itself (node_modules/remoteobj is this checkout), the compiler's lib files, and Node's types (with the undici types they import).
    const others = files.filter((f) => !f.startsWith(dir) && !f.startsWith(path.join(ROOT, 'dist') + path.sep) && !/[\\/]node_modules[\\/](typescript-5\.5[\\/]lib|@types[\\/]node|undici-types)[\\/]/.test(f));
    expect({ kind, others }).toEqual({ kind, others: [] });
    expect(files.some((f) => f.endsWith(`${path.sep}index.d.ts`) && f.startsWith(path.join(ROOT, 'dist')))).toBe(true);
  }
}, 60_000);
