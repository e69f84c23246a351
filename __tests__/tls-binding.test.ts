/**
 * A secret over TLS 1.3: the handshake's proofs are bound to the TLS connection (its
 * tls-exporter channel binding, RFC 9266; docs/protocol.md "Authentication"), and the lines after
 * it carry no mac lines, since TLS already protects every byte between the two ends that proved
 * the secret. What must hold, each checked against a raw TLS peer written from protocol.md (not
 * the library's code): the host offers the binding and answers requests without mac lines; the
 * client proves with it and reads replies without them; a relay that terminates TLS (with a
 * certificate the client trusts) cannot pass the handshake through; a relay that strips the
 * offer only takes the session back to mac lines, which it cannot take part in either; TLS 1.2
 * and clients that answer with the lines method keep mac lines; the bound method is refused where
 * there is no binding.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { AuthError, connect, type Host, serve } from 'remoteobj';
import { channelBinding } from '../src/transport/tls';
import { Cleanup } from './fixtures/host-kit';
import { MacChain, digest as linesDigest, METHOD as LINES_METHOD, nonce, relayThrough } from './fixtures/sec-kit';
import { makeTestCerts, type TestCerts } from './fixtures/tls-certs';
import { tmpSock, until } from './helpers';

const SECRET = 'tls-binding-secret';
const TLS_METHOD = 'hmac-sha256-tls-exporter';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.remove());
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** RFC 9266's tls-exporter: 32 bytes, label "EXPORTER-Channel-Binding", empty context; lowercase hex. */
const exporter = (s: tls.TLSSocket) => s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex');

/** HMAC-SHA256(secret, "remoteobj-auth-v3 <side> <N1> <N2> <B>"), as docs/protocol.md writes it. */
function boundDigest(side: 'client' | 'host', hostNonce: string, clientNonce: string, binding: string, secret = SECRET): string {
  return crypto.createHmac('sha256', secret).update(`remoteobj-auth-v3 ${side} ${hostNonce} ${clientNonce} ${binding}`).digest('hex');
}

/** A host whose every read of `value` counts, with a secret and no client certificates required. */
async function countingHost(): Promise<{ host: Host; runs: () => number }> {
  let runs = 0;
  const target = {
    get value() {
      runs++;
      return 42;
    },
  };
  const host = cleanup.host(
    await serve(target, 'tls://127.0.0.1:0', { localBypass: false, secret: SECRET, tls: { key: certs.host.key, cert: certs.host.cert, requestCert: false } }),
  );
  return { host, runs: () => runs };
}

const portOf = (address: string) => Number(/:(\d+)$/.exec(address)![1]);

/** Lines from a socket, as text, as they arrive. */
class Lines {
  readonly all: string[] = [];
  closed = false;
  #buffer = '';
  constructor(socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buffer += d;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) !== -1) {
        this.all.push(this.#buffer.slice(0, nl));
        this.#buffer = this.#buffer.slice(nl + 1);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }
  async next(count: number): Promise<Record<string, any>> {
    await until(() => this.all.length >= count || this.closed);
    if (this.all.length < count) throw new Error(`closed after ${this.all.length} lines: ${this.all.join(' | ')}`);
    return JSON.parse(this.all[count - 1]!) as Record<string, any>;
  }
}

/** A raw TLS client (no certificate; trusts the test CA), with its lines. */
async function rawClient(port: number, maxVersion?: tls.SecureVersion): Promise<{ socket: tls.TLSSocket; lines: Lines }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, ...(maxVersion && { maxVersion }) });
  cleanup.defer(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return { socket, lines: new Lines(socket) };
}

/**
 * Listen on a free loopback port; the test's cleanup calls `close`, by default: destroy `sockets`
 * (the server's connections, which server.close() would otherwise wait for) and close the server.
 */
async function listenLoopback(server: tls.Server, sockets: Set<net.Socket>, close?: () => Promise<void>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.defer(
    close ??
      (() =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        })),
  );
  return (server.address() as net.AddressInfo).port;
}

const valueRequest = (id: number) => JSON.stringify({ id, ops: [{ op: 'get', key: 'value' }] }) + '\n';

describe('the host', () => {
  test('over TLS 1.3 it offers the binding; a client that proves the secret bound to its connection is answered without mac lines', async () => {
    const { host, runs } = await countingHost();
    const { socket, lines } = await rawClient(portOf(host.path));
    const hello = await lines.next(1);
    expect(hello.auth).toEqual({ method: LINES_METHOD, nonce: expect.stringMatching(/^[0-9a-f]{64}$/), binding: 'tls-exporter' });
    const mine = nonce();
    const b = exporter(socket);
    socket.write(JSON.stringify({ kind: 'auth', method: TLS_METHOD, digest: boundDigest('client', hello.auth.nonce, mine, b), nonce: mine }) + '\n');
    const ok = await lines.next(2);
    expect(ok).toEqual({ kind: 'auth', ok: true, digest: boundDigest('host', hello.auth.nonce, mine, b) });
    // A request with no mac line after it runs, and its reply comes with none.
    socket.write(valueRequest(1) + valueRequest(2));
    expect(await lines.next(3)).toMatchObject({ id: 1, kind: 'value', value: 42 });
    expect(await lines.next(4)).toMatchObject({ id: 2, kind: 'value', value: 42 });
    expect(runs()).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.all.filter((l) => l.includes('"mac"'))).toEqual([]);
  });

  test('a proof bound to another connection (or made without the exporter) is refused, and nothing runs', async () => {
    const { host, runs } = await countingHost();
    const other = await rawClient(portOf(host.path));
    const { socket, lines } = await rawClient(portOf(host.path));
    const hello = await lines.next(1);
    const mine = nonce();
    // What a relay holds: the binding of its own connection to the host, not of the client's.
    expect(exporter(other.socket)).not.toBe(exporter(socket));
    socket.write(JSON.stringify({ kind: 'auth', method: TLS_METHOD, digest: boundDigest('client', hello.auth.nonce, mine, exporter(other.socket)), nonce: mine }) + '\n');
    socket.write(valueRequest(1));
    const refusal = await lines.next(2);
    expect(refusal).toMatchObject({ kind: 'error', error: { code: 'AUTH_FAILED' } });
    await until(() => lines.closed);
    expect(runs()).toBe(0);
    // The lines method's proof for these nonces is not accepted as the bound method's either.
    const again = await rawClient(portOf(host.path));
    const hello2 = await again.lines.next(1);
    const n2 = nonce();
    again.socket.write(JSON.stringify({ kind: 'auth', method: TLS_METHOD, digest: linesDigest(SECRET, 'client', hello2.auth.nonce, n2), nonce: n2 }) + '\n');
    expect(await again.lines.next(2)).toMatchObject({ kind: 'error', error: { code: 'AUTH_FAILED' } });
    expect(runs()).toBe(0);
  });

  test('a client that answers with the lines method over TLS 1.3 (one that does not know the binding) keeps mac lines', async () => {
    const { host, runs } = await countingHost();
    const { socket, lines } = await rawClient(portOf(host.path));
    const hello = await lines.next(1);
    const mine = nonce();
    socket.write(JSON.stringify({ kind: 'auth', method: LINES_METHOD, digest: linesDigest(SECRET, 'client', hello.auth.nonce, mine), nonce: mine }) + '\n');
    expect(await lines.next(2)).toMatchObject({ kind: 'auth', ok: true });
    socket.write(new MacChain(SECRET, 'client', hello.auth.nonce, mine).seal(valueRequest(7)));
    expect(await lines.next(3)).toMatchObject({ id: 7, kind: 'value', value: 42 });
    const hostChain = new MacChain(SECRET, 'host', hello.auth.nonce, mine);
    expect(lines.all[3]).toBe(hostChain.seal(lines.all[2] + '\n').split('\n')[1]);
    // An unsealed request on this session never runs.
    socket.write(valueRequest(8) + JSON.stringify({ mac: '0'.repeat(64) }) + '\n');
    await until(() => lines.closed);
    expect(runs()).toBe(1);
  });

  test('over TLS 1.2 it offers no binding, and refuses the bound method', async () => {
    const { host, runs } = await countingHost();
    const { socket, lines } = await rawClient(portOf(host.path), 'TLSv1.2');
    expect(socket.getProtocol()).toBe('TLSv1.2');
    const hello = await lines.next(1);
    expect(hello.auth).toEqual({ method: LINES_METHOD, nonce: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const mine = nonce();
    // Even with the right secret and the 1.2 connection's own exporter: 1.2 has no binding to trust.
    socket.write(JSON.stringify({ kind: 'auth', method: TLS_METHOD, digest: boundDigest('client', hello.auth.nonce, mine, exporter(socket)), nonce: mine }) + '\n');
    const refusal = await lines.next(2);
    expect(refusal).toMatchObject({ kind: 'error', error: { code: 'AUTH_FAILED', message: expect.stringContaining('TLS 1.3') } });
    expect(runs()).toBe(0);
  });

  test('over a Unix socket the bound method is refused', async () => {
    const path = tmpSock('nobind');
    cleanup.host(await serve({ value: 1 }, path, { localBypass: false, secret: SECRET }));
    const socket = net.connect(path);
    cleanup.defer(() => socket.destroy());
    const lines = new Lines(socket);
    const hello = await lines.next(1);
    expect(hello.auth.binding).toBeUndefined();
    const mine = nonce();
    socket.write(JSON.stringify({ kind: 'auth', method: TLS_METHOD, digest: boundDigest('client', hello.auth.nonce, mine, '0'.repeat(64)), nonce: mine }) + '\n');
    expect(await lines.next(2)).toMatchObject({ kind: 'error', error: { code: 'AUTH_FAILED', message: expect.stringContaining('TLS 1.3') } });
  });
});

describe('the client', () => {
  /** A TLS host written from protocol.md: offers the binding, checks the client's bound proof, answers requests for `value` without mac lines. */
  async function rawHost() {
    const received: string[] = [];
    const sockets = new Set<tls.TLSSocket>();
    const server = tls.createServer({ key: certs.host.key, cert: certs.host.cert }, (s) => {
      sockets.add(s);
      const n1 = nonce();
      const lines = new Lines(s);
      let seen = 0;
      s.write(JSON.stringify({ kind: 'hello', protocol: 'remoteobj', version: 1, pid: 4242, auth: { method: LINES_METHOD, nonce: n1, binding: 'tls-exporter' } }) + '\n');
      const pump = setInterval(() => {
        while (seen < lines.all.length) {
          const line = lines.all[seen++]!;
          received.push(line);
          const msg = JSON.parse(line) as Record<string, any>;
          if (msg.kind === 'auth') {
            const ok = msg.method === TLS_METHOD && msg.digest === boundDigest('client', n1, msg.nonce, exporter(s));
            s.write(JSON.stringify(ok ? { kind: 'auth', ok: true, digest: boundDigest('host', n1, msg.nonce, exporter(s)) } : { kind: 'error', error: { name: 'AuthError', message: 'no' } }) + '\n');
          } else if (typeof msg.id === 'number') s.write(JSON.stringify({ id: msg.id, kind: 'value', value: 42 }) + '\n');
        }
        if (lines.closed) clearInterval(pump);
      }, 2);
      s.on('close', () => clearInterval(pump));
    });
    return { port: await listenLoopback(server, sockets), received };
  }

  test('it proves the secret bound to the TLS connection, and writes and reads lines without mac lines', async () => {
    const { port, received } = await rawHost();
    const remote = cleanup.remote(await connect<{ value: number }>(`tls://127.0.0.1:${port}`, { localBypass: false, secret: SECRET, protocol: 1, tls: { ca: certs.ca } }));
    expect(await remote.value).toBe(42);
    expect(await remote.value).toBe(42);
    expect(JSON.parse(received[0]!)).toMatchObject({ kind: 'auth', method: TLS_METHOD });
    expect(received.filter((l) => l.includes('"mac"'))).toEqual([]);
    expect(received.length).toBe(3);
  });
});

/**
 * A man in the middle that terminates TLS with a certificate the client trusts (the host's own:
 * the worst case, a stolen key) and opens its own TLS connection to the host, relaying the
 * decrypted lines both ways; `rewriteToClient` edits what the host sends.
 */
async function tlsRelay(hostPort: number) {
  const server = tls.createServer({ key: certs.host.key, cert: certs.host.cert });
  const relay = relayThrough(server, 'secureConnection', () => tls.connect({ host: '127.0.0.1', port: hostPort, ca: certs.ca }));
  return { port: await listenLoopback(server, new Set(), relay.close), state: relay.state };
}

describe('a relay that terminates TLS, with no secret', () => {
  test('cannot pass the handshake through: the host refuses the proof, nothing runs, the client gets AuthError', async () => {
    const { host, runs } = await countingHost();
    const relay = await tlsRelay(portOf(host.path));
    const outcome = await connect(`tls://127.0.0.1:${relay.port}`, { localBypass: false, secret: SECRET, tls: { ca: certs.ca } }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(AuthError);
    expect(String((outcome as Error).message)).toMatch(/not the same TLS connection/);
    await until(() => relay.state.hostHungUp);
    expect(runs()).toBe(0);
  });

  test('that strips the offer takes the session back to mac lines: calls work, and what it injects never runs', async () => {
    const { host, runs } = await countingHost();
    const relay = await tlsRelay(portOf(host.path));
    relay.state.rewriteToClient = (chunk) => chunk.replace(',"binding":"tls-exporter"', '');
    const remote = cleanup.remote(await connect<{ value: number }>(`tls://127.0.0.1:${relay.port}`, { localBypass: false, secret: SECRET, tls: { ca: certs.ca } }));
    expect(await remote.value).toBe(42);
    expect(relay.state.fromHost()).toContain('"binding":"tls-exporter"');
    expect(relay.state.fromHost()).toMatch(/\{"mac":"[0-9a-f]{64}"\}/);
    relay.state.injectToHost(valueRequest(9001));
    const next = Promise.resolve(remote.value).catch((e: unknown) => e);
    await until(() => relay.state.hostHungUp);
    expect(await next).toBeInstanceOf(Error);
    expect(runs()).toBe(1);
    expect(relay.state.fromHost()).not.toContain('"id":9001');
  });
});

test('the library on both ends over TLS 1.3 (the bound method): calls, errors and many requests in flight; a wrong secret refused', async () => {
  const { host } = await countingHost();
  const remote = cleanup.remote(await connect<{ value: number; missing: () => void }>(host.path, { localBypass: false, secret: SECRET, tls: { ca: certs.ca } }));
  const values = await Promise.all(Array.from({ length: 200 }, () => remote.value));
  expect(values.every((v) => v === 42)).toBe(true);
  await expect(remote.missing()).rejects.toThrow();
  await expect(connect(host.path, { localBypass: false, secret: 'wrong', tls: { ca: certs.ca } })).rejects.toBeInstanceOf(AuthError);
});

describe('channelBinding (transport/tls.ts)', () => {
  /** Both ends of one real TLS connection, at `maxVersion`. */
  async function pair(maxVersion?: tls.SecureVersion) {
    let accepted!: (s: tls.TLSSocket) => void;
    const serverSide = new Promise<tls.TLSSocket>((r) => (accepted = r));
    const server = tls.createServer({ key: certs.host.key, cert: certs.host.cert }, accepted);
    const client = await rawClient(await listenLoopback(server, new Set()), maxVersion);
    const host = await serverSide;
    cleanup.defer(() => host.destroy());
    return { client: client.socket, host };
  }

  test('the same 64 hex digits at both ends of a TLS 1.3 connection, another on the next connection', async () => {
    const one = await pair();
    const two = await pair();
    expect(channelBinding(one.client)).toMatch(/^[0-9a-f]{64}$/);
    expect(channelBinding(one.host)).toBe(channelBinding(one.client));
    expect(channelBinding(two.host)).toBe(channelBinding(two.client));
    expect(channelBinding(two.client)).not.toBe(channelBinding(one.client));
  });

  test('none for TLS 1.2, and none (no throw) once the socket is torn down', async () => {
    const old = await pair('TLSv1.2');
    expect(channelBinding(old.client)).toBeUndefined();
    expect(channelBinding(old.host)).toBeUndefined();
    const gone = await pair();
    gone.host.destroy();
    expect(channelBinding(gone.host)).toBeUndefined();
  });
});
