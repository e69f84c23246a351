/**
 * ssh:// through a real sshd on loopback (fixtures/sshd.ts): the CLI through it, a wrong host key
 * refused with ssh's own words, waitUntilListening over ssh, `remoteobj dial-stdio` itself, and
 * plain `ssh -L local.sock:remote.sock` forwarding (docs/transports.md).
 */
import { execFileSync, spawn } from 'node:child_process';
import { ConnectionClosedError, connect, NotListeningError, serve, SshError, waitUntilListening } from 'remoteobj';
import { cli, requireBuild, startCli } from './fixtures/cli-kit';
import { Cleanup } from './fixtures/host-kit';
import { haveSshd, startSshd, type TestSshd } from './fixtures/sshd';
import { exited, tmpSock, until } from './helpers';

jest.setTimeout(90_000);

const maybe = haveSshd() ? describe : describe.skip;
if (!haveSshd()) test('(skipped: no /usr/sbin/sshd; .ci/run installs openssh-server)', () => undefined);

maybe('ssh://', () => {
  let sshd: TestSshd;
  const cleanup = new Cleanup();
  beforeAll(async () => {
    requireBuild();
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());
  afterEach(() => cleanup.run());

  test('the CLI reaches a host through ssh (REMOTEOBJ_SSH, REMOTEOBJ_SSH_REMOTE)', async () => {
    const sock = tmpSock('sshcli');
    cleanup.host(await serve({ cache: { hits: 7 }, add: (a: number, b: number) => a + b }, sock));
    const env = sshd.cliEnv();
    const get = await cli(['get', sshd.address(sock), 'cache.hits', '-t', '60'], { env });
    expect(get).toMatchObject({ code: 0, stdout: '7\n' });
    const call = await cli(['call', sshd.address(sock), 'add(2, 3)', '-t', '60'], { env });
    expect(call).toMatchObject({ code: 0, stdout: '5\n' });
    const none = await cli(['get', sshd.address(`${sock}.none`), 'x', '-t', '60'], { env });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no host is listening/);
  });

  test('a wrong host key: SshError with ssh’s words, and the CLI exits 3', async () => {
    const sock = tmpSock('sshkey');
    let runs = 0;
    cleanup.host(
      await serve(
        {
          get value() {
            return ++runs;
          },
        },
        sock,
      ),
    );
    const e = await connect(sshd.address(sock), { connectTimeout: 60_000, ssh: sshd.sshOptions(sshd.wrongKnownHosts) }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).exitCode).toBe(255);
    expect((e as SshError).stderr).toMatch(/Host key verification failed/);
    expect((e as SshError).message).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    const env = { REMOTEOBJ_SSH: sshd.cliEnv().REMOTEOBJ_SSH!.replace(sshd.knownHosts, sshd.wrongKnownHosts), REMOTEOBJ_SSH_REMOTE: sshd.cliEnv().REMOTEOBJ_SSH_REMOTE! };
    const r = await cli(['get', sshd.address(sock), 'value', '-t', '60'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/Host key verification failed/);
    expect(runs).toBe(0);
  });

  test('a user the server does not know: SshError (Permission denied)', async () => {
    const e = await connect(`ssh://nobody@127.0.0.1:${sshd.port}/tmp/x.sock`, { connectTimeout: 60_000, ssh: sshd.sshOptions() }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).stderr).toMatch(/Permission denied/);
  });

  test('waitUntilListening over ssh: nothing there yet is NotListeningError (retried), then the host comes up', async () => {
    const sock = tmpSock('sshwait');
    await expect(connect(sshd.address(sock), { connectTimeout: 60_000, ssh: sshd.sshOptions() })).rejects.toBeInstanceOf(NotListeningError);
    const waiting = waitUntilListening(sshd.address(sock), { ssh: sshd.sshOptions(), timeout: 80_000 });
    cleanup.host(await serve({ up: true }, sock));
    await waiting;
    const remote = cleanup.remote(await connect<{ up: boolean }>(sshd.address(sock), { connectTimeout: 60_000, ssh: sshd.sshOptions() }));
    expect(await remote.up).toBe(true);
  });

  test('the ssh connection dropping mid-call (ssh killed): ConnectionClosedError, then NotListeningError', async () => {
    const sock = tmpSock('sshdrop');
    let started = false;
    cleanup.host(
      await serve(
        {
          value: 1,
          hang: () => {
            started = true;
            return new Promise<never>(() => undefined);
          },
        },
        sock,
        { closeGraceMs: 100 },
      ),
    );
    const remote = cleanup.remote(await connect<{ value: number; hang(): Promise<never> }>(sshd.address(sock), { connectTimeout: 60_000, ssh: sshd.sshOptions() }));
    expect(await remote.value).toBe(1);
    const call = remote.hang();
    await until(() => started);
    // The ssh client this process started for the connection.
    const pids = execFileSync('pgrep', ['-P', String(process.pid), '-x', 'ssh'], { encoding: 'utf8' }).trim().split('\n');
    expect(pids).toHaveLength(1);
    process.kill(Number(pids[0]), 'SIGKILL');
    await expect(Promise.resolve(call)).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(Promise.resolve(remote.value)).rejects.toBeInstanceOf(NotListeningError);
  });

  test('plain ssh -L local.sock:remote.sock forwarding works with a path address', async () => {
    const remoteSock = tmpSock('fwdr');
    const localSock = tmpSock('fwdl');
    cleanup.host(await serve({ forwarded: 'yes' }, remoteSock));
    const tunnel = spawn('ssh', [...sshd.sshOptions().args!, '-o', 'ExitOnForwardFailure=yes', '-N', '-L', `${localSock}:${remoteSock}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`], { stdio: 'ignore' });
    cleanup.defer(async () => {
      tunnel.kill();
      await exited(tunnel);
    });
    await waitUntilListening(localSock, { timeout: 60_000, process: tunnel });
    const remote = cleanup.remote(await connect<{ forwarded: string }>(localSock));
    expect(await remote.forwarded).toBe('yes');
  });
});

describe('remoteobj dial-stdio', () => {
  beforeAll(() => requireBuild());
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  test('bridges stdin/stdout to the socket: the hello, a request, a reply; the end of stdin ends it', async () => {
    const sock = tmpSock('dial');
    cleanup.host(await serve({ n: 5 }, sock));
    const child = startCli(['dial-stdio', sock]);
    await until(() => child.stdoutText().includes('\n'));
    const hello = JSON.parse(child.stdoutText().split('\n')[0]!) as { kind: string };
    expect(hello.kind).toBe('hello');
    child.stdin!.end('{"id":1,"ops":[{"op":"get","key":"n"}]}\n');
    const r = await child.result;
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l))).toEqual([{ id: 1, kind: 'value', value: 5 }]);
  });

  test('the host closing ends it (exit 0); nothing there is exit 3 with a message', async () => {
    const sock = tmpSock('dial2');
    const host = await serve({}, sock);
    const child = startCli(['dial-stdio', sock]);
    await until(() => child.stdoutText().includes('\n'));
    await host.close();
    expect((await child.result).code).toBe(0);
    const none = await cli(['dial-stdio', tmpSock('none')]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no host is listening/);
  });
});
