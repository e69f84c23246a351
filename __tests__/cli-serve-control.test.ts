/**
 * The control object `remoteobj serve` hands a module keeps its state in #private fields (issue
 * 10 item 1, the CLI's part): a hosted object that holds it gives a client nothing of it to
 * overwrite or delete. (Refusing chains that reach it at all is the access rules' job.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tmpSock } from './helpers';
import { cli, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';

let dir: string;

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-control-'));
  // A module that keeps its control on the hosted object, as a service might to close itself.
  fs.writeFileSync(
    path.join(dir, 'keeps-control.cjs'),
    `module.exports = function create(control) {
  const seen = control;
  return {
    control,
    check() {
      return {
        own: Object.keys(seen),
        path: seen.path,
        hasHost: seen.host !== undefined && typeof seen.host.close === 'function',
        signal: seen.signal instanceof AbortSignal && !seen.signal.aborted,
        close: typeof seen.close === 'function',
      };
    },
  };
};\n`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killCliChildren);

test('a client cannot overwrite or delete what the module sees through its control object', async () => {
  const sock = tmpSock('control');
  const host = await startServe([path.join(dir, 'keeps-control.cjs'), '--path', sock]);
  // Whatever each of these answers (refused, or a TypeError for a getter), none may change anything.
  for (const args of [
    ['del', sock, 'control.host'],
    ['del', sock, 'control.close'],
    ['del', sock, 'control.signal'],
    ['set', sock, 'control.path', '"/elsewhere.sock"'],
    ['set', sock, 'control.signal', 'null'],
  ]) {
    expect((await cli(args)).stdout).toBe('');
  }
  const r = await cli(['call', sock, 'check()']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ own: [], path: host.socketPath, hasHost: true, signal: true, close: true });
  // And the module can still close its host through it.
  host.kill('SIGTERM');
  expect((await host.result).code).toBe(0);
});
