/**
 * TLS with real certificates made by openssl (fixtures/tls-certs.ts): mutual authentication by
 * default, and every refusal typed (TlsRefusedError, with OpenSSL's reason) and before any request
 * runs — a foreign, missing or expired client certificate (refused by the host, which says why),
 * a host certificate for another name, expired, or from a CA the client does not trust (refused
 * by the client). requestCert: false only with a secret; a secret on top of TLS.
 */
import tls from 'node:tls';
import { AuthError, connect, serve, TlsRefusedError, type Host } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { makeTestCerts, type KeyPair, type TestCerts } from './fixtures/tls-certs';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.remove());
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A host whose every member read counts, so a test can show that nothing ran. */
async function countingHost(pair: KeyPair = certs.host, extra: Record<string, unknown> = {}): Promise<{ host: Host; runs: () => number }> {
  let runs = 0;
  const target = {
    get value() {
      runs++;
      return 42;
    },
  };
  const host = cleanup.host(await serve(target, 'tls://127.0.0.1:0', { localBypass: false, tls: { key: pair.key, cert: pair.cert, ca: certs.ca }, ...extra }));
  return { host, runs: () => runs };
}

const client = (pair?: KeyPair, ca: Buffer = certs.ca) => ({ ...(pair && { key: pair.key, cert: pair.cert }), ca });

async function refusal(p: Promise<unknown>): Promise<TlsRefusedError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TlsRefusedError);
  expect((e as TlsRefusedError).code).toBe('TLS_REFUSED');
  return e as TlsRefusedError;
}

test('a client with a certificate signed by the host’s CA connects, by IP and by name', async () => {
  const { host, runs } = await countingHost();
  const port = host.path.split(':').pop();
  for (const address of [host.path, `tls://localhost:${port}`]) {
    const remote = cleanup.remote(await connect<{ value: number }>(address, { localBypass: false, tls: client(certs.client) }));
    expect(await remote.value).toBe(42);
  }
  expect(runs()).toBe(2);
});

describe('refused by the host, which says why; nothing runs', () => {
  test.each([
    ['a foreign client certificate', () => client(certs.foreignClient), /not signed by the CA the host trusts/],
    ['no client certificate', () => client(undefined), /a client certificate is required/],
    ['an expired client certificate', () => client(certs.expiredClient), /it has expired/],
  ])('%s', async (_name, options, message) => {
    const { host, runs } = await countingHost();
    const e = await refusal(connect(host.path, { localBypass: false, tls: options() }));
    expect(e.message).toMatch(message);
    expect(runs()).toBe(0);
  });

  test('a client that sends a request anyway, right after the handshake, gets only the refusal', async () => {
    const { host, runs } = await countingHost();
    const port = Number(host.path.split(':').pop());
    const text = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, key: certs.foreignClient.key, cert: certs.foreignClient.cert, ca: certs.ca }, () => {
        socket.write('{"id":1,"ops":[{"op":"get","name":"value"}]}\n');
      });
      let got = '';
      socket.on('data', (d) => (got += d));
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
    });
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ id: null, kind: 'error', error: { name: 'TlsRefusedError', code: 'TLS_REFUSED', reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
    expect(runs()).toBe(0);
  });
});

describe('refused by the client: the host is not who it should be', () => {
  test('a host certificate for another name', async () => {
    const { host, runs } = await countingHost(certs.wrongNameHost);
    const e = await refusal(connect(host.path, { localBypass: false, tls: client(certs.client) }));
    expect(e.reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(runs()).toBe(0);
  });
  test('servername: the name the certificate must carry, when it is not the address’s', async () => {
    const { host } = await countingHost(certs.wrongNameHost);
    const remote = cleanup.remote(await connect<{ value: number }>(host.path, { localBypass: false, tls: { ...client(certs.client), servername: 'elsewhere.example' } }));
    expect(await remote.value).toBe(42);
  });
  test('an expired host certificate', async () => {
    const { host, runs } = await countingHost(certs.expiredHost);
    const e = await refusal(connect(host.path, { localBypass: false, tls: client(certs.client) }));
    expect(e.reason).toBe('CERT_HAS_EXPIRED');
    expect(runs()).toBe(0);
  });
  test('a host certificate from a CA the client does not trust', async () => {
    const { host, runs } = await countingHost();
    const e = await refusal(connect(host.path, { localBypass: false, tls: client(certs.client, certs.foreignCa) }));
    expect(e.message).toMatch(/not signed by a CA this client trusts/);
    expect(runs()).toBe(0);
  });
});

describe('a secret with TLS', () => {
  test('requestCert: false is refused without a secret, and with one lets in clients without a certificate that know it', async () => {
    await expect(serve({}, 'tls://127.0.0.1:0', { tls: { key: certs.host.key, cert: certs.host.cert, requestCert: false } })).rejects.toThrow(/needs a `secret`/);
    const { host, runs } = await countingHost(certs.host, { secret: 'tls-secret', tls: { key: certs.host.key, cert: certs.host.cert, requestCert: false } });
    const remote = cleanup.remote(await connect<{ value: number }>(host.path, { localBypass: false, secret: 'tls-secret', tls: { ca: certs.ca } }));
    expect(await remote.value).toBe(42);
    await expect(connect(host.path, { localBypass: false, secret: 'wrong', tls: { ca: certs.ca } })).rejects.toBeInstanceOf(AuthError);
    expect(runs()).toBe(1);
  });
  test('on top of client certificates: both are required', async () => {
    const { host, runs } = await countingHost(certs.host, { secret: 'both' });
    const remote = cleanup.remote(await connect<{ value: number }>(host.path, { localBypass: false, secret: 'both', tls: client(certs.client) }));
    expect(await remote.value).toBe(42);
    await expect(connect(host.path, { localBypass: false, tls: client(certs.client) })).rejects.toBeInstanceOf(AuthError);
    await refusal(connect(host.path, { localBypass: false, secret: 'both', tls: client(certs.foreignClient) }));
    expect(runs()).toBe(1);
  });
});
