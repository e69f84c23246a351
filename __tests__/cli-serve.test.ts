/**
 * `remoteobj serve` as a real process: modules of every kind (CommonJS, ESM, .mjs, TypeScript;
 * objects, classes, factories), the socket path on stdout, SIGTERM/SIGINT with requests in
 * flight (run per fulfillFinal, then the socket file is gone), and its failures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, tmpSock, until } from './helpers';
import { APP, cli, killCliChildren, requireBuild, startCli, startServe } from './fixtures/cli-kit';

let dir: string;

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-serve-'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  write('object.mjs', 'export default { n: 1, inc(by = 1) { this.n += by; return this.n; } };\n');
  write('classes.cjs', 'class Store { items = []; add(x) { this.items.push(x); return this.items.length; } }\nmodule.exports = { Store, version: 2 };\n');
  write('plain.cjs', 'module.exports = { kind: "plain", twice(x) { return 2 * x; } };\n');
  fs.mkdirSync(path.join(dir, 'esm'));
  write('esm/package.json', '{"type": "module"}\n');
  write('esm/named.js', 'export async function make(control) { await new Promise((r) => setTimeout(r, 10)); return { path: control.path }; }\n');
  write('two.mjs', 'export const a = {}; export const b = {};\n');
  write('broken.cjs', 'throw new Error("the module broke while loading");\n');
  write('factory-throws.cjs', 'module.exports = () => { throw new TypeError("no config"); };\n');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killCliChildren);

test('hosts an object, a class (by export name), a plain CommonJS module, an async ESM factory and a TypeScript class', async () => {
  const [obj, store, plain, esm, typed] = await Promise.all([
    startServe([path.join(dir, 'object.mjs'), '--path', tmpSock('obj')]),
    startServe([path.join(dir, 'classes.cjs'), 'Store', '--path', tmpSock('cls')]),
    startServe([path.join(dir, 'plain.cjs'), '--path', tmpSock('plain')]),
    startServe([path.join(dir, 'esm', 'named.js'), '--path', tmpSock('esm')]),
    startServe([path.join(ROOT, '__tests__', 'fixtures', 'cli-typed.ts'), '--path', tmpSock('ts')]),
  ]);
  const results = await Promise.all([
    cli(['call', obj.socketPath, 'inc(2)']),
    cli(['call', store.socketPath, 'add("x")']),
    cli(['call', plain.socketPath, 'twice(21)']),
    cli(['get', esm.socketPath, 'path']),
    cli(['call', typed.socketPath, 'greet("ts")']),
  ]);
  expect(results.map((r) => [r.code, r.stdout])).toEqual([
    [0, '3\n'],
    [0, '1\n'],
    [0, '42\n'],
    [0, `${JSON.stringify(esm.socketPath)}\n`],
    [0, '"hello ts (1)"\n'],
  ]);
  // The printed path is the socket, absolute.
  for (const s of [obj, store, plain, esm, typed]) {
    expect(path.isAbsolute(s.socketPath)).toBe(true);
    expect(fs.statSync(s.socketPath).isSocket()).toBe(true);
  }
  // The host's default access rules hold for served modules too.
  expect((await cli(['get', typed.socketPath, 'constructor'])).code).toBe(1);
});

test('SIGTERM with requests in flight: the running one and the queued one both finish, then the socket file is removed', async () => {
  const sock = tmpSock('term');
  const mark = path.join(dir, 'term.mark');
  const go = path.join(dir, 'term.go');
  const host = await startServe([APP, '--path', sock, '--verbose', '--grace', '0']);
  const running = startCli(['call', sock, `hold(${JSON.stringify(mark)}, ${JSON.stringify(go)})`]);
  await until(() => fs.existsSync(mark));
  const queued = startCli(['call', sock, 'echo("queued")']);
  await until(() => fs.readFileSync(mark, 'utf8') === '1'); // the host has it queued behind `hold`

  host.kill('SIGTERM');
  await until(() => host.stderrText().includes('SIGTERM: closing'));
  expect(host.stderrText()).toContain('(1 request(s) queued)');
  // A newcomer is turned away while the host drains.
  const late = await cli(['get', sock, 'name']);
  expect(late.code).toBe(3);

  fs.writeFileSync(go, '');
  const [a, b, h] = await Promise.all([running.result, queued.result, host.result]);
  expect([a.code, a.stdout]).toEqual([0, '"released"\n']);
  expect([b.code, b.stdout]).toEqual([0, '["queued"]\n']);
  expect(h.code).toBe(0);
  expect(h.stderr).toContain('closed; socket file removed');
  expect(fs.existsSync(sock)).toBe(false);
});

test('--no-fulfill-final: on SIGTERM a queued request gets ShutdownError (exit 3); the running one still finishes', async () => {
  const sock = tmpSock('nff');
  const mark = path.join(dir, 'nff.mark');
  const go = path.join(dir, 'nff.go');
  const host = await startServe([APP, '--path', sock, '--no-fulfill-final', '-v', '--grace', '0']);
  const running = startCli(['call', sock, `hold(${JSON.stringify(mark)}, ${JSON.stringify(go)})`]);
  await until(() => fs.existsSync(mark));
  const queued = startCli(['call', sock, 'echo("queued")']);
  await until(() => fs.readFileSync(mark, 'utf8') === '1');
  host.kill('SIGTERM');
  await until(() => host.stderrText().includes('SIGTERM: closing'));
  const b = await queued.result; // rejected at once, without waiting for `hold`
  expect(b.code).toBe(3);
  expect(b.stderr).toMatch(/^ShutdownError: .*closed before running this request/);
  fs.writeFileSync(go, '');
  const [a, h] = await Promise.all([running.result, host.result]);
  expect([a.code, a.stdout]).toEqual([0, '"released"\n']);
  expect(h.code).toBe(0);
  expect(fs.existsSync(sock)).toBe(false);
});

test('SIGINT closes too; a second signal exits at once without waiting for a request that never ends', async () => {
  const sock = tmpSock('int');
  const mark = path.join(dir, 'int.mark');
  const host = await startServe([APP, '--path', sock, '--grace', '0', '-v']);
  // A request that holds the host's lock and is never released (no go file).
  const hung = startCli(['call', sock, `hold(${JSON.stringify(mark)}, ${JSON.stringify(path.join(dir, 'never'))})`]);
  await until(() => fs.existsSync(mark));
  host.kill('SIGINT');
  await until(() => host.stderrText().includes('SIGINT: closing'));
  host.kill('SIGINT');
  const h = await host.result;
  expect(h.code).toBe(130);
  expect(h.stderr).toContain('SIGINT again, exiting without waiting');
  expect(h.stderr).not.toContain('closed; socket file removed');
  expect(fs.existsSync(sock)).toBe(false); // removed on the way out all the same
  const c = await hung.result;
  expect(c.code).toBe(3); // ConnectionClosedError: the request may or may not have run
  expect(c.stderr).toMatch(/^ConnectionClosedError/);
});

test('--grace: a request still running after it is cut off (exit 3 for its client); serve exits 0', async () => {
  const sock = tmpSock('grace');
  const mark = path.join(dir, 'grace.mark');
  const host = await startServe([APP, '--path', sock, '--grace', '0.2', '-v']);
  const hung = startCli(['call', sock, `hold(${JSON.stringify(mark)}, ${JSON.stringify(path.join(dir, 'never'))})`]);
  await until(() => fs.existsSync(mark));
  host.kill('SIGTERM');
  const [h, c] = await Promise.all([host.result, hung.result]);
  expect(h.code).toBe(0);
  expect(h.stderr).toContain('closed; socket file removed');
  expect(fs.existsSync(sock)).toBe(false);
  expect(c.code).toBe(3);
  expect(c.stderr).toMatch(/^ConnectionClosedError/);
});

test('the module can close its own host (control.close()): serve exits 0 and removes the socket', async () => {
  const sock = tmpSock('self');
  const host = await startServe([APP, '--path', sock]);
  const r = await cli(['call', sock, 'shutdown()']);
  expect([r.code, r.stdout]).toEqual([0, '"closing"\n']);
  expect((await host.result).code).toBe(0);
  expect(fs.existsSync(sock)).toBe(false);
});

test('an uncaught error in the module: the error on stderr, the host closed, the socket removed, exit 1', async () => {
  const sock = tmpSock('crash');
  const host = await startServe([APP, '--path', sock]);
  expect((await cli(['call', sock, 'crashLater()'])).stdout).toBe('"ok"\n');
  const h = await host.result;
  expect(h.code).toBe(1);
  expect(h.stderr).toMatch(/the hosted module failed:\nError: a timer of the module crashed/);
  expect(fs.existsSync(sock)).toBe(false);
});

test('without --path: socketPath(module name) under $XDG_RUNTIME_DIR', async () => {
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-xdg-'));
  try {
    const host = await startServe([APP], { env: { XDG_RUNTIME_DIR: runtime } });
    expect(host.socketPath).toBe(path.join(runtime, 'remoteobj', 'cli-app.sock'));
    expect((await cli(['get', host.socketPath, 'name'])).stdout).toBe('"cli-app"\n');
    host.kill('SIGTERM');
    expect((await host.result).code).toBe(0);
    expect(fs.existsSync(host.socketPath)).toBe(false);
  } finally {
    fs.rmSync(runtime, { recursive: true, force: true });
  }
});

test('--readonly and --expose pass the host’s access options', async () => {
  const [ro, exposed] = await Promise.all([
    startServe([APP, '--path', tmpSock('ro'), '--readonly']),
    startServe([APP, '--path', tmpSock('exp'), '--expose', 'name,cache']),
  ]);
  const [set, get, hidden, shown, ls] = await Promise.all([
    cli(['set', ro.socketPath, 'name', '"x"']),
    cli(['get', ro.socketPath, 'name']),
    cli(['get', exposed.socketPath, 'config']),
    cli(['get', exposed.socketPath, 'cache.stats.hits']),
    cli(['ls', exposed.socketPath, '--raw']),
  ]);
  expect(set.code).toBe(1);
  expect(set.stderr).toMatch(/^AccessError: cannot set "name": the host is read-only/);
  expect(get.stdout).toBe('"cli-app"\n');
  expect(hidden.code).toBe(1);
  expect(hidden.stderr).toMatch(/^AccessError: "config" is not exposed/);
  expect(shown.stdout).toBe('3\n');
  expect(ls.stdout).toBe('name\ncache\n');
});

test('failures: no such module or export (2), a module or factory that throws (1), a path already served (1)', async () => {
  const live = await startServe([APP, '--path', tmpSock('live')]);
  const [missing, noExport, ambiguous, broken, factory, taken] = await Promise.all([
    cli(['serve', path.join(dir, 'nope.js'), '--path', tmpSock('x')]),
    cli(['serve', path.join(dir, 'classes.cjs'), 'Nope', '--path', tmpSock('x')]),
    cli(['serve', path.join(dir, 'two.mjs'), '--path', tmpSock('x')]),
    cli(['serve', path.join(dir, 'broken.cjs'), '--path', tmpSock('x')]),
    cli(['serve', path.join(dir, 'factory-throws.cjs'), '--path', tmpSock('x')]),
    cli(['serve', APP, '--path', live.socketPath]),
  ]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/no such module: .*nope\.js/);
  expect(noExport.code).toBe(2);
  expect(noExport.stderr).toMatch(/has no export "Nope" \(it exports: Store, version\)/);
  expect(ambiguous.code).toBe(2);
  expect(ambiguous.stderr).toMatch(/no default export; name the one to host: a, b/);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toMatch(/^Error: the module broke while loading/);
  expect(factory.code).toBe(1);
  expect(factory.stderr).toMatch(/^TypeError: no config/);
  expect(taken.code).toBe(1);
  expect(taken.stderr).toMatch(/a host is already listening on/);
  for (const r of [missing, noExport, ambiguous, broken, factory, taken]) expect(r.stdout).toBe('');
  // The live host was not disturbed.
  expect((await cli(['get', live.socketPath, 'name'])).stdout).toBe('"cli-app"\n');
});
