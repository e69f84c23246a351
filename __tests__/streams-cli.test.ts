/**
 * `remoteobj watch SOCKET EXPR` (issue 13 item 8), the built CLI as a child process against a host
 * in another (fixtures/stream-host.ts): items as NDJSON lines until the stream ends; Ctrl-C
 * (SIGINT) stops the host's iterator (its finally runs) and exits 0; a mid-stream error exits 1
 * after the items before it; an expression that gives no stream is refused.
 */
import { connect } from 'remoteobj';
import { killChildren, spawnTs, tmpSock, until } from './helpers';
import { cli, killCliChildren, requireBuild, startCli } from './fixtures/cli-kit';

let sock: string;
beforeAll(async () => {
  requireBuild();
  sock = tmpSock('swatch');
  const host = spawnTs('__tests__/fixtures/stream-host.ts', [sock]);
  await until(() => host.output().includes('ready'), { timeout: 20000 });
});
afterEach(killCliChildren);
afterAll(killChildren);

test('prints each item as one JSON line until the stream ends, then exits 0', async () => {
  const r = await cli(['watch', sock, 'count(3)']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toBe('{"i":0}\n{"i":1}\n{"i":2}\n');
});

test('Ctrl-C stops the host’s iterator (its finally runs) and exits 0', async () => {
  const remote = await connect<{ finallyRan: number }>(sock, { localBypass: false });
  const before = await remote.finallyRan;
  const watching = startCli(['watch', sock, 'forever(5)']);
  await until(() => watching.stdoutText().split('\n').length > 3);
  watching.kill('SIGINT');
  const r = await watching.result;
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(0, 3)).toEqual(['0', '1', '2']);
  await until(async () => (await remote.finallyRan) === before + 1);
  await remote.$close();
});

test('an error mid-stream: the items before it, then the error on stderr and exit 1', async () => {
  const r = await cli(['watch', sock, 'failing()']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('1\n2\n');
  expect(r.stderr).toMatch(/FeedError: the feed broke/);
});

test('an expression that gives no stream is refused (exit 2)', async () => {
  const r = await cli(['watch', sock, 'ping()']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/watch needs an expression that gives an async iterable/);
});
