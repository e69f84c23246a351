/** The shared secret handshake and the host's limits, over real sockets and in process. */
import net from 'node:net';
import { AuthError, connect, LimitError, serve, TimeoutError } from 'remoteobj';
import { tmpSock, until } from './helpers';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

async function host<T>(target: T, options: Parameters<typeof serve>[2] = {}) {
  const path = tmpSock();
  const h = await serve(target, path, { closeGraceMs: 200, ...options });
  closers.push(() => h.close());
  return { path, host: h };
}

describe.each([false, true])('secret (local bypass %s)', (localBypass) => {
  test('the right secret connects and works', async () => {
    const { path } = await host({ v: 1 }, { secret: 's3cret' });
    const r = await connect<{ v: number }>(path, { secret: 's3cret', localBypass });
    closers.push(() => r.$close());
    expect(await r.v).toBe(1);
  });

  test('a wrong secret, a missing one, and a secret for a host that asks none are AuthErrors', async () => {
    const { path } = await host({ v: 1 }, { secret: Buffer.from('s3cret') });
    await expect(connect(path, { secret: 'wrong', localBypass })).rejects.toBeInstanceOf(AuthError);
    await expect(connect(path, { localBypass })).rejects.toThrow(/requires a secret/);
    const open = await host({ v: 1 });
    await expect(connect(open.path, { secret: 's3cret', localBypass })).rejects.toThrow(/did not ask for the secret/);
  });
});

/** A raw socket: read lines as they come. */
async function raw(path: string) {
  const s = net.connect(path);
  const lines: any[] = [];
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.on('error', () => undefined);
  closers.push(async () => s.destroy());
  await until(() => lines.length >= 1);
  return { s, lines, closed };
}

test('a request before authenticating is refused and the connection closed; nothing runs', async () => {
  const target = { n: 0, inc() { return ++this.n; } };
  const { path } = await host(target, { secret: 'k' });
  const c = await raw(path);
  expect(c.lines[0].auth).toMatchObject({ method: 'hmac-sha256-lines', nonce: expect.stringMatching(/^[0-9a-f]{64}$/) });
  c.s.write(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'inc' }, { op: 'call', args: [] }] }) + '\n');
  await c.closed;
  expect(c.lines[1]).toMatchObject({ id: null, kind: 'error', error: { code: 'AUTH_FAILED' } });
  expect(target.n).toBe(0);
});

test('a client that never authenticates is cut off after authTimeoutMs', async () => {
  const { path } = await host({}, { secret: 'k', authTimeoutMs: 100 });
  const c = await raw(path);
  await c.closed;
  expect(c.lines[1]).toMatchObject({ error: { code: 'AUTH_FAILED', message: expect.stringMatching(/did not authenticate/) } });
});

test('maxConnections: one connection too many gets a LimitError; closing one makes room', async () => {
  const { path, host: h } = await host({ v: 1 }, { maxConnections: 2 });
  const a = await connect(path, { localBypass: false });
  const b = await connect(path, { localBypass: false });
  const err = await connect(path, { localBypass: false }).catch((e) => e);
  expect(err).toBeInstanceOf(LimitError);
  expect(err.limit).toBe('maxConnections');
  await a.$close();
  await until(() => h.connections === 1);
  const c = await connect<{ v: number }>(path, { localBypass: false });
  expect(await c.v).toBe(1);
  await b.$close();
  await c.$close();
});

test('lockTimeout: a request that waited too long for the lock is answered with TimeoutError and not run', async () => {
  let release!: () => void;
  const target = { n: 0, block() { return new Promise<void>((r) => (release = r)); }, inc() { return ++this.n; } };
  const { path, host: h } = await host(target, { lockTimeout: 50 });
  const r = await connect<typeof target>(path, { localBypass: false });
  closers.push(() => r.$close());
  const blocked = r.block();
  const late = r.inc().then((v) => v, (e) => e);
  await until(() => h.queued === 1);
  await new Promise((res) => setTimeout(res, 120));
  release();
  await blocked;
  expect(await late).toBeInstanceOf(TimeoutError);
  expect(target.n).toBe(0);
  expect(await r.inc()).toBe(1); // a fresh request runs
});

test('maxQueuedPerConnection: a client pipelining far more requests than the cap gets every answer', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const target = { n: 0, async wait() { await gate; }, inc() { return ++this.n; } };
  const { path, host: h } = await host(target, { maxQueuedPerConnection: 8 });
  const r = await connect<typeof target>(path, { localBypass: false });
  closers.push(() => r.$close());
  closers.push(async () => release());
  const first = r.wait();
  const all = Array.from({ length: 500 }, () => r.inc());
  await until(() => h.queued >= 7);
  await new Promise((res) => setTimeout(res, 50));
  const queuedWhileBlocked = h.queued;
  release();
  expect(queuedWhileBlocked).toBeLessThanOrEqual(8); // the host stopped reading: the rest waited in the socket
  await first;
  const values = await Promise.all(all);
  expect(values).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
});

describe('socketPath(name)', () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const nodePath = require('node:path') as typeof import('node:path');
  let runtime: string;
  const saved = process.env.XDG_RUNTIME_DIR;
  beforeEach(() => {
    runtime = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'ro-xdg-'));
    process.env.XDG_RUNTIME_DIR = runtime;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    fs.rmSync(runtime, { recursive: true, force: true });
  });

  test('creates an owner-only directory under $XDG_RUNTIME_DIR and a host can serve there', async () => {
    const { socketPath } = await import('remoteobj');
    const p = socketPath('svc');
    expect(p).toBe(nodePath.join(runtime, 'remoteobj', 'svc.sock'));
    expect(fs.statSync(nodePath.dirname(p)).mode & 0o777).toBe(0o700);
    const h = await serve({ v: 3 }, p);
    closers.push(() => h.close());
    const r = await connect<{ v: number }>(p, { localBypass: false });
    expect(await r.v).toBe(3);
    await r.$close();
  });

  test('refuses a directory others can write, and a symlinked one', async () => {
    const { socketPath } = await import('remoteobj');
    fs.mkdirSync(nodePath.join(runtime, 'remoteobj'), { mode: 0o777 });
    fs.chmodSync(nodePath.join(runtime, 'remoteobj'), 0o777);
    expect(() => socketPath('svc')).toThrow(/mode 777/);
    fs.rmdirSync(nodePath.join(runtime, 'remoteobj'));
    fs.mkdirSync(nodePath.join(runtime, 'elsewhere'), { mode: 0o700 });
    fs.symlinkSync(nodePath.join(runtime, 'elsewhere'), nodePath.join(runtime, 'remoteobj'));
    expect(() => socketPath('svc')).toThrow(/symbolic link/);
  });

  test('refuses names that are not plain file names', async () => {
    const { socketPath } = await import('remoteobj');
    for (const bad of ['', '../x', 'a/b', 'x'.repeat(65)]) expect(() => socketPath(bad)).toThrow(TypeError);
  });
});

describe('expose', () => {
  class Account {
    count = 1;
    password = 'hunter2';
    nested = { deep: 1, deeper: { x: 2 } };
    reset() {
      this.count = 0;
      return this;
    }
  }

  test('guards the hosted object wherever a chain meets it, also through a method returning this', async () => {
    const { AccessError } = await import('remoteobj');
    const { path } = await host(new Account(), { expose: ['count', 'reset', 'nested'] });
    const r = await connect<Account>(path, { localBypass: false });
    closers.push(() => r.$close());
    expect(await r.count).toBe(1);
    await expect(Promise.resolve(r.password)).rejects.toMatchObject({ rule: 'not-exposed' });
    const viaThis = await Promise.resolve(r.reset().password).catch((e) => e);
    expect(viaThis).toBeInstanceOf(AccessError);
    expect(viaThis.rule).toBe('not-exposed');
    expect(await r.count).toBe(0); // reset() itself ran: it is exposed
    await expect(r.$passto('JSON.stringify')).rejects.toMatchObject({ rule: 'not-exposed' });
    expect(await r.nested.$passto('JSON.stringify')).toBe('{"deep":1,"deeper":{"x":2}}'); // below the root, passto is fine
  });

  test('describe lists exposed members at the root and every member below it', async () => {
    const { path } = await host(new Account(), { expose: ['count', 'nested'] });
    const r = await connect<Account>(path, { localBypass: false });
    closers.push(() => r.$close());
    expect((await r.$describe()).members.map((m) => m.name).sort()).toEqual(['count', 'nested']);
    expect((await r.nested.$describe()).members.map((m) => m.name).sort()).toEqual(['deep', 'deeper']);
  });

  test('a policy hook sees calls too, and can refuse one', async () => {
    const seen: string[] = [];
    const { path } = await host(new Account(), { policy: (req) => (seen.push(`${req.kind}:${req.key}`), !(req.kind === 'call' && req.key === 'reset')) });
    const r = await connect<Account>(path, { localBypass: false });
    closers.push(() => r.$close());
    await expect(Promise.resolve(r.reset())).rejects.toMatchObject({ rule: 'policy' });
    expect(seen).toEqual(['get:reset', 'call:reset']);
    expect(await r.count).toBe(1);
  });
});

test('waitUntilListening sees a host that asks for a secret, with or without the secret', async () => {
  const { waitUntilListening } = await import('remoteobj');
  const { path } = await host({ v: 1 }, { secret: 'k' });
  await waitUntilListening(path, { timeout: 5000 });
  await waitUntilListening(path, { timeout: 5000, secret: 'k' });
  await expect(waitUntilListening(path, { timeout: 5000, secret: 'wrong' })).rejects.toBeInstanceOf(AuthError);
});

test('an empty secret is refused on both sides', async () => {
  await expect(serve({}, tmpSock(), { secret: '' })).rejects.toThrow(/secret must not be empty/);
  const { path } = await host({}, { secret: 'k' });
  await expect(connect(path, { secret: Buffer.alloc(0) })).rejects.toThrow(/secret must not be empty/);
});
