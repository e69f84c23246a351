/**
 * The BUILT package, as someone who installed it sees it: `require('remoteobj')` and
 * `import ... from 'remoteobj'` resolve through package.json "exports" to dist/ (a package can
 * import itself by name), a real serve + connect round trip works from both, the published file
 * list holds dist/ and no tests, and dist/index.d.ts type-checks a small user program.
 *
 * `npm test` runs `npm run build` before jest; run it yourself before running this suite alone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, removeFile, tmpSock } from './helpers';

const run = promisify(execFile);
const DIST = path.join(ROOT, 'dist');
const STALE_HINT = '(is dist/ up to date? run `npm run build`)';

beforeAll(() => {
  for (const file of ['index.js', 'index.d.ts']) {
    if (!fs.existsSync(path.join(DIST, file))) {
      throw new Error(`dist/${file} is missing: run \`npm run build\` first (npm test does it before jest)`);
    }
  }
});

/** Run node with `args` in the repository root, as a user's program would run beside the package. */
async function node(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 15000 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`node ${args[0]} ... failed ${STALE_HINT}:\n${err.stderr || err.message}\n${err.stdout ?? ''}`);
  }
}

/** The hosted object of the round trips: a property, a method, and a method that throws. */
const HOSTED = `{ n: 2, add(a, b) { return a + b; }, fail() { throw new RangeError('nope'); } }`;

/** After serve + connect: read, call, catch a remote error; print what came back as JSON. */
const ROUND_TRIP = `
  const r = await connect(sock, { localBypass: false });
  const err = await r.fail().then(() => null, (e) => e);
  const out = {
    n: await r.n,
    sum: await r.add(2, 3),
    error: err && err.constructor.name,
    marker: /--- remote/.test(err && err.stack),
    kinds: [typeof serve, typeof connect, typeof waitUntilListening, typeof RemoteError],
  };
  await r.$close();
  await host.close();
  console.log(JSON.stringify(out));
`;

const EXPECTED = { n: 2, sum: 5, error: 'RangeError', marker: true, kinds: ['function', 'function', 'function', 'function'] };

describe('the built package, loaded by name', () => {
  let sock: string;
  beforeEach(() => (sock = tmpSock('pkg')));
  afterEach(() => removeFile(sock));

  test("CommonJS: require('remoteobj') serves and connects over a real socket", async () => {
    const script = `
      const { serve, connect, waitUntilListening, RemoteError } = require('remoteobj');
      (async () => {
        const sock = process.argv[1];
        const host = await serve(${HOSTED}, sock);
        ${ROUND_TRIP}
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const out = await node(['-e', script, sock]);
    expect(JSON.parse(out)).toEqual(EXPECTED);
    expect(fs.existsSync(sock)).toBe(false);
  });

  test("ESM: import { serve, connect } from 'remoteobj' serves and connects over a real socket", async () => {
    const script = `
      import { serve, connect, waitUntilListening, RemoteError } from 'remoteobj';
      const sock = process.argv[1];
      const host = await serve(${HOSTED}, sock);
      ${ROUND_TRIP}`;
    const out = await node(['--input-type=module', '-e', script, sock]);
    expect(JSON.parse(out)).toEqual(EXPECTED);
    expect(fs.existsSync(sock)).toBe(false);
  });

  test('require and import give the same module', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import * as esm from 'remoteobj';
      const cjs = createRequire(process.cwd() + '/')('remoteobj');
      console.log(JSON.stringify({ same: esm.connect === cjs.connect && esm.serve === cjs.serve, main: import.meta.resolve('remoteobj') }));`;
    const out = JSON.parse(await node(['--input-type=module', '-e', script])) as { same: boolean; main: string };
    expect(out.same).toBe(true);
    expect(out.main).toBe(new URL(`file://${path.join(DIST, 'index.js')}`).href);
  });
});

test('the published file list holds dist/ (code and types) and no tests or scripts (src/ ships for the source maps: package-files.test.ts)', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 15000 });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/client/types.d.ts']));
  expect(files.filter((f) => /^(__tests__|scripts)\/|^dist\/__tests__\//.test(f))).toEqual([]);
});

describe('dist/index.d.ts', () => {
  test('exports serve, connect and Remote', () => {
    const dts = fs.readFileSync(path.join(DIST, 'index.d.ts'), 'utf8');
    expect(dts).toMatch(/export \{[^}]*\bserve\b[^}]*\}/);
    expect(dts).toMatch(/export \{[^}]*\bconnect\b[^}]*\}/);
    expect(dts).toMatch(/export type \{[^}]*\bRemote\b[^}]*\}/);
  });

  test("type-checks a user's program that installed the package (CommonJS and ESM)", async () => {
    // A throwaway project whose node_modules/remoteobj is this repository, as after `npm install`.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-consumer-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'remoteobj'), 'dir');
      const program = (importLine: string) => `${importLine}
class Counter {
  count = 0;
  toggle(): this { return this; }
}
export async function main(): Promise<void> {
  const host = await serve(new Counter(), '/tmp/x.sock');
  const remote: Remote<Counter> = await connect<Counter>('/tmp/x.sock');
  const count = await remote.count;
  const notAny: 0 extends 1 & typeof count ? 'any' : 'typed' = 'typed';
  const typed: number = count;
  const root: Remote<Counter> = await remote.toggle();
  // @ts-expect-error a remote value is not its plain type until awaited
  const wrong: number = remote.count;
  void [notAny, typed, root, wrong];
  await host.close();
}
`;
      const importLine = "import { serve, connect, type Remote } from 'remoteobj';";
      fs.writeFileSync(path.join(dir, 'use.ts'), program(importLine));
      fs.writeFileSync(path.join(dir, 'use.mts'), program(importLine));
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: 'ES2022',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            noEmit: true,
            // As most users have it (checking every .d.ts, zod's and node's too, costs ~5 s more);
            // an import the shipped .d.ts files could not resolve would still show as `any` below.
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          },
          files: ['use.ts', 'use.mts'],
        }),
      );
      const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { timeout: 60000 }).then(
        () => 'ok',
        (e: { stdout?: string; message: string }) => `tsc failed ${STALE_HINT}:\n${e.stdout || e.message}`,
      );
      expect(result).toBe('ok');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
