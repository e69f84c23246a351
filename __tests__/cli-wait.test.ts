/** `remoteobj wait`: for start-up scripts, against a host that starts late, one that never does, and an impostor. */
import net from 'node:net';
import { sleep, tmpSock } from './helpers';
import { APP, cli, killCliChildren, requireBuild, startCli, startServe } from './fixtures/cli-kit';

beforeAll(requireBuild);
afterEach(killCliChildren);

test('a host that starts late: wait keeps trying, then exits 0 once it answers', async () => {
  const sock = tmpSock('late');
  const waiting = startCli(['wait', sock, '--timeout', '20']);
  await sleep(400); // nobody listens yet: it must still be waiting
  expect(waiting.exitCode).toBeNull();
  await startServe([APP, '--path', sock]);
  const r = await waiting.result;
  expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
  expect((await cli(['get', sock, 'name'])).stdout).toBe('"cli-app"\n');
});

test('a host that never starts: exit 4 at the timeout, with TimeoutError on stderr', async () => {
  const r = await cli(['wait', tmpSock('never'), '--timeout', '0.5']);
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(/^TimeoutError: no host listened on .* within 500 ms/);
});

test('a host already up: exit 0 at once; --verbose says so', async () => {
  const host = await startServe([APP, '--path', tmpSock('up')]);
  const r = await cli(['wait', host.socketPath, '-v']);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/a host answers on .* \(waited \d+ ms\)/);
});

test('something that is not a remoteobj host: exit 3 at once (waiting cannot fix it)', async () => {
  const sock = tmpSock('imp');
  const server = net.createServer((c) => c.end('SSH-2.0-OpenSSH_9.6\r\n'));
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const r = await cli(['wait', sock, '--timeout', '20']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ProtocolError: .* did not greet as a remoteobj host/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
