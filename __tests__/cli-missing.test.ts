/**
 * Issue 11 item 7, the CLI side: `remoteobj get SOCK nosuch` printed {"$undefined":true} with
 * exit 0. A member that does not exist is now an error with its own exit code (5), whose message
 * names the close matches; `--allow-missing` reads it as undefined (exit 0) as before. The
 * built bin against `remoteobj serve` of fixtures/cli-app.js.
 */
import { APP, cli, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';
import { tmpSock } from './helpers';

let sock: string;

beforeAll(async () => {
  requireBuild();
  sock = (await startServe([APP, '--path', tmpSock('clim')])).socketPath;
});
afterAll(killCliChildren);

test('get of a member that does not exist: exit 5, the message names it and what it may have meant', async () => {
  const r = await cli(['get', sock, 'nosuch']);
  expect(r).toMatchObject({ code: 5, stdout: '' });
  expect(r.stderr).toBe('MissingMemberError: the hosted object (App) has no member "nosuch"\n  nosuch\n  ^^^^^^ op 0 (get)\n');
  const near = await cli(['get', sock, 'cache.stats.hit']);
  expect(near.code).toBe(5);
  expect(near.stderr).toMatch(/^MissingMemberError: the value \(an object\) has no member "hit"; did you mean "hits"\?\n/);
});

test('--allow-missing reads it as undefined, as before; a member that holds undefined is not missing', async () => {
  expect(await cli(['get', sock, 'nosuch', '--allow-missing'])).toMatchObject({ code: 0, stdout: '{"$undefined":true}\n', stderr: '' });
  expect(await cli(['get', sock, 'nothing'])).toMatchObject({ code: 0, stdout: '{"$undefined":true}\n', stderr: '' });
});

test('call, set, del and ls report a missing member the same way (exit 5)', async () => {
  const call = await cli(['call', sock, 'cache.claer()']);
  expect(call.code).toBe(5);
  expect(call.stderr).toMatch(/^MissingMemberError: the value \(Cache\) has no member "claer"; did you mean "clear"\?/);
  expect((await cli(['set', sock, 'config.nosuch.level', '1'])).code).toBe(5);
  expect((await cli(['set', sock, 'config.fresh', '1'])).code).toBe(0); // the last key is created
  expect((await cli(['del', sock, 'sessions["zzz"]'])).code).toBe(5);
  expect((await cli(['del', sock, 'sessions["zzz"]', '--allow-missing'])).code).toBe(0);
  expect((await cli(['ls', sock, 'cach'])).code).toBe(5);
  // Other errors keep their codes: a remote throw is 1, a refused name is 1.
  expect((await cli(['call', sock, 'fail("x")'])).code).toBe(1);
  expect((await cli(['get', sock, '_secret'])).code).toBe(1);
});

test('the help of each command lists --allow-missing and exit code 5', async () => {
  for (const command of ['get', 'call', 'set', 'del', 'ls']) {
    const help = (await cli([command, '--help'])).stdout;
    expect(help).toContain('--allow-missing');
    expect(help).toMatch(/5 no such member/);
  }
});
