/**
 * Request timeouts share one timer per connection (src/peer/deadlines.ts): every request still
 * fails at its own deadline, whatever the order of the deadlines, answered requests never fail
 * late, and a connection with nothing pending does not keep the process alive.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { connect, serve, TimeoutError } from 'remoteobj';
import { tmpSock } from './helpers';

const target = {
  later(ms: number, v: number) {
    return new Promise<number>((r) => setTimeout(() => r(v), ms));
  },
};

test('each request times out at its own deadline, in any order of deadlines, and answered ones are not failed', async () => {
  const sock = tmpSock();
  const host = await serve(target, sock, { closeGraceMs: 50 });
  const remote = await connect<typeof target>(sock, { localBypass: false, timeout: 5000 });
  try {
    const started = performance.now();
    const settle = (p: PromiseLike<unknown>) =>
      Promise.resolve(p).then(
        (v) => ({ ok: true, v, at: performance.now() - started }),
        (e: unknown) => ({ ok: false, e, at: performance.now() - started }),
      );
    // The host runs one request at a time: the answered ones first, then three that outlast their
    // timeouts, later deadlines first (each earlier one must re-arm the shared timer).
    const answered = settle(remote.later(20, 7).$get({ timeout: 300 }));
    const byDefault = settle(remote.later(10, 8)); // the connection's 5 s timeout
    const slow = settle(remote.later(600, 1).$get({ timeout: 400 }));
    const mid = settle(remote.later(600, 2).$get({ timeout: 200 }));
    const fast = settle(remote.later(600, 3).$get({ timeout: 60 }));
    const [s, m, f, a, d] = await Promise.all([slow, mid, fast, answered, byDefault]);
    expect(a).toMatchObject({ ok: true, v: 7 });
    expect(d).toMatchObject({ ok: true, v: 8 });
    for (const [r, ms] of [[f, 60], [m, 200], [s, 400]] as const) {
      expect(r.ok).toBe(false);
      expect((r as { e: unknown }).e).toBeInstanceOf(TimeoutError);
      expect(((r as { e: Error }).e).message).toContain(`within ${ms} ms`);
      expect(r.at).toBeGreaterThanOrEqual(ms - 1); // never early (timer granularity: 1 ms)
    }
    expect(f.at).toBeLessThan(m.at);
    expect(m.at).toBeLessThan(s.at);
    // Thousands of answered requests with a deadline leave nothing behind: the next timeout still fires on time.
    await remote.later(0, 0).$get({ timeout: 5000 }); // the host is through with the three slow ones
    for (let i = 0; i < 2000; i++) await remote.later(0, i).$get({ timeout: 1000 });
    const t0 = performance.now();
    await expect(remote.later(1000, 0).$get({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
  } finally {
    await remote.$close();
    await host.close();
  }
}, 20_000);

test('a client whose requests with a timeout were all answered exits on its own (the shared timer does not hold it)', async () => {
  const sock = tmpSock();
  const host = await serve(target, sock);
  try {
    const lib = path.join(__dirname, '..', 'src', 'index.ts');
    const code = `
      const { connect } = require(${JSON.stringify(lib)});
      (async () => {
        const remote = await connect(${JSON.stringify(sock)}, { localBypass: false, timeout: 60000 });
        console.log(await remote.later(5, 42));
        remote.$close(); // the connection closes; only the (unref'd) deadline timer could keep us alive
      })();`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const started = Date.now();
    const exitCode = await new Promise<number | null>((r) => child.once('exit', r));
    expect({ exitCode, out: out.trim() }).toEqual({ exitCode: 0, out: '42' });
    expect(Date.now() - started).toBeLessThan(30_000); // not the 60 s timeout
  } finally {
    await host.close();
  }
}, 40_000);
