/**
 * Issue 14's address syntax, exhaustively: every form serve, connect, waitUntilListening and the
 * CLI accept, what each parses to, and every near miss refused with an AddressError that says
 * what to write instead — before anything is opened or created.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AddressError, connect, formatAddress, parseAddress, serve, waitUntilListening } from 'remoteobj';
import { checkAddressOptions, isLoopback } from '../src/transport/address';
import { cli, requireBuild } from './fixtures/cli-kit';

describe('parseAddress: the forms', () => {
  test.each([
    ['/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['unix:///run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['UNIX:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['\\\\.\\pipe\\remoteobj-app', { kind: 'pipe', path: '\\\\.\\pipe\\remoteobj-app' }],
    ['\\\\?\\pipe\\x', { kind: 'pipe', path: '\\\\?\\pipe\\x' }],
    ['unix:\\\\.\\pipe\\x', { kind: 'pipe', path: '\\\\.\\pipe\\x' }],
    ['tls://example.com:443', { kind: 'tls', host: 'example.com', port: 443 }],
    ['TLS://Example.com:443/', { kind: 'tls', host: 'Example.com', port: 443 }],
    ['tls://10.1.2.3:7000', { kind: 'tls', host: '10.1.2.3', port: 7000 }],
    ['tls://[::1]:7000', { kind: 'tls', host: '::1', port: 7000 }],
    ['tls://[2001:db8::1]:7000', { kind: 'tls', host: '2001:db8::1', port: 7000 }],
    ['tls://127.0.0.1:0', { kind: 'tls', host: '127.0.0.1', port: 0 }],
    ['tcp://127.0.0.1:7777', { kind: 'tcp', host: '127.0.0.1', port: 7777 }],
    ['tcp://127.9.8.7:1', { kind: 'tcp', host: '127.9.8.7', port: 1 }],
    ['tcp://localhost:7777', { kind: 'tcp', host: 'localhost', port: 7777 }],
    ['tcp://[::1]:7777', { kind: 'tcp', host: '::1', port: 7777 }],
    ['tcp://127.0.0.1:65535', { kind: 'tcp', host: '127.0.0.1', port: 65535 }],
    ['ssh://db1/run/app.sock', { kind: 'ssh', host: 'db1', path: '/run/app.sock' }],
    ['ssh://app@db1.example.com/run/app.sock', { kind: 'ssh', user: 'app', host: 'db1.example.com', path: '/run/app.sock' }],
    ['ssh://app@db1:2222/run/app.sock', { kind: 'ssh', user: 'app', host: 'db1', port: 2222, path: '/run/app.sock' }],
    ['ssh://app@[2001:db8::1]:22/run/a.sock', { kind: 'ssh', user: 'app', host: '2001:db8::1', port: 22, path: '/run/a.sock' }],
    ['ssh://db1/~/app.sock', { kind: 'ssh', host: 'db1', path: '~/app.sock' }],
    ['ssh://db1/tmp/my%20app.sock', { kind: 'ssh', host: 'db1', path: '/tmp/my app.sock' }],
  ])('%s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });

  test('relative paths resolve against the working directory; ":" inside a name stays a path', () => {
    for (const p of ['app.sock', './app.sock', '../x/app.sock', 'data:v2/app.sock', 'app:v2.sock', '2024-01-01T10:00/app.sock', './127.0.0.1:7777']) {
      expect(parseAddress(p)).toEqual({ kind: 'unix', path: path.resolve(p) });
    }
    expect(parseAddress('unix:127.0.0.1:7777')).toEqual({ kind: 'unix', path: path.resolve('127.0.0.1:7777') });
  });

  test('formatAddress gives the canonical text back, and it parses to the same address', () => {
    for (const text of ['/run/app.sock', 'tls://example.com:443', 'tcp://[::1]:7777', 'ssh://app@db1:2222/run/app.sock', 'ssh://db1/~/app.sock', 'ssh://db1/tmp/my%20app.sock']) {
      const a = parseAddress(text);
      expect(formatAddress(a)).toBe(text);
      expect(parseAddress(formatAddress(a))).toEqual(a);
    }
  });

  test('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'a.localhost']) expect(isLoopback(h)).toBe(true);
    for (const h of ['128.0.0.1', '10.0.0.1', '0.0.0.0', '::', '::2', 'example.com', 'localhost.example.com', '192.168.1.1']) expect(isLoopback(h)).toBe(false);
  });
});

describe('parseAddress: near misses are AddressErrors that say what to write', () => {
  test.each([
    ['127.0.0.1:7777', /looks like a host:port address.*tls:\/\/127\.0\.0\.1:7777.*tcp:\/\/127\.0\.0\.1:7777.*\.\/127\.0\.0\.1:7777/],
    ['localhost:7777', /host:port.*tls:\/\/localhost:7777/],
    ['[::1]:7777', /host:port/],
    ['::1', /IPv6 address.*tls:\/\/\[::1\]:PORT/],
    ['tcp:127.0.0.1:7777', /host:port/],
    ['user@example.com:/run/app.sock', /ssh address.*write ssh:\/\/user@example\.com\/run\/app\.sock/],
    ['example.com:/run/app.sock', /ssh address.*write ssh:\/\/example\.com\/run\/app\.sock/],
    ['user@example.com:app.sock', /write ssh:\/\/user@example\.com\/~\/app\.sock/],
    ['http://example.com/x', /unknown scheme "http:\/\/"/],
    ['tcp://10.0.0.5:7777', /only for loopback.*tls:\/\/10\.0\.0\.5:7777.*ssh:\/\/10\.0\.0\.5\/PATH/],
    ['tcp://0.0.0.0:7777', /only for loopback/],
    ['tcp://example.com:7777', /only for loopback/],
    ['tcp://127.0.0.1', /tcp:\/\/HOST:PORT/],
    ['tcp://127.0.0.1:', /tcp:\/\/HOST:PORT/],
    ['tcp://127.0.0.1:70000', /over 65535/],
    ['tcp://127.0.0.1:77/x', /tcp:\/\/HOST:PORT/],
    ['tls://user@example.com:443', /tls:\/\/HOST:PORT/],
    ['tls://example.com:443/path', /tls:\/\/HOST:PORT/],
    ['tls://example.com:https', /tls:\/\/HOST:PORT/],
    ['tls://-oProxy:443', /not a host name/],
    ['ssh://db1', /names the socket on the far machine/],
    ['ssh://db1/', /names the socket on the far machine/],
    ['ssh://db1:0/run/a.sock', /not 1-65535/],
    ['ssh://-oProxyCommand=x/run/a.sock', /not a host name/],
    ['ssh://-oProxyCommand=x@db1/run/a.sock', /not a plain name/],
    ['ssh://db1/run/%ZZ.sock', /bad %-escape/],
    ['ssh://db1/run/a%0Ab.sock', /NUL or line break/],
    ['unix:', /needs a path/],
    ['', /non-empty/],
  ])('%s', (text, message) => {
    let err: unknown;
    try {
      parseAddress(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddressError);
    expect((err as AddressError).code).toBe('BAD_ADDRESS');
    expect((err as AddressError).address).toBe(text);
    expect((err as Error).message).toMatch(message);
  });
});

test('a path the OS would truncate stays a RangeError, as before addresses', () => {
  expect(() => parseAddress(`/tmp/${'x'.repeat(200)}.sock`)).toThrow(RangeError);
});

describe('checkAddressOptions: what each address needs', () => {
  const check = (text: string, side: 'serve' | 'connect', options: Parameters<typeof checkAddressOptions>[2]) => () =>
    checkAddressOptions(parseAddress(text), side, options, text);
  const tls = { key: 'k', cert: 'c', ca: 'a' };

  test('tcp:// needs a secret on both sides', () => {
    expect(check('tcp://127.0.0.1:1', 'serve', {})).toThrow(/needs a secret.*tls:\/\/ or ssh:\/\//);
    expect(check('tcp://127.0.0.1:1', 'connect', {})).toThrow(AddressError);
    expect(check('tcp://127.0.0.1:1', 'connect', { secret: 's' })).not.toThrow();
  });
  test('a TLS host needs key, cert and a CA for its clients, or requestCert: false with a secret', () => {
    expect(check('tls://127.0.0.1:1', 'serve', {})).toThrow(/needs the `tls` option/);
    expect(check('tls://127.0.0.1:1', 'serve', { tls: { ca: 'a' } })).toThrow(/tls.key and tls.cert/);
    expect(check('tls://127.0.0.1:1', 'serve', { tls: { key: 'k', cert: 'c' } })).toThrow(/needs tls.ca/);
    expect(check('tls://127.0.0.1:1', 'serve', { tls: { key: 'k', cert: 'c', requestCert: false } })).toThrow(/requestCert: false lets anyone connect; it needs a `secret`/);
    expect(check('tls://127.0.0.1:1', 'serve', { tls: { key: 'k', cert: 'c', requestCert: false }, secret: 's' })).not.toThrow();
    expect(check('tls://127.0.0.1:1', 'serve', { tls })).not.toThrow();
    expect(check('tls://127.0.0.1:1', 'connect', {})).not.toThrow(); // Node's CAs, no client certificate
  });
  test('ssh:// is for clients; port 0 is for hosts; tls options only for tls://', () => {
    expect(check('ssh://db1/run/a.sock', 'serve', {})).toThrow(/ssh:\/\/ is for clients/);
    expect(check('tls://127.0.0.1:0', 'connect', {})).toThrow(/port 0 is for serve/);
    expect(check('/run/a.sock', 'serve', { tls })).toThrow(/only for tls:\/\//);
  });
});

describe('serve, connect and waitUntilListening refuse before creating anything', () => {
  test.each(['127.0.0.1:7777', 'tcp://127.0.0.1:7777', 'tcp://10.0.0.1:7777', 'tls://127.0.0.1:7777', 'ssh://db1/run/a.sock', 'user@db1:/run/a.sock', 'ftp://x/y'])(
    '%s',
    async (address) => {
      const before = fs.readdirSync(process.cwd());
      // A client may dial tls:// without options (Node's CAs) and ssh://: only serve must refuse those.
      const clientToo = !/^(tls|ssh):/.test(address);
      const attempts = [() => serve({}, address), ...(clientToo ? [() => connect(address), () => waitUntilListening(address, { timeout: 5000 })] : [])];
      for (const attempt of attempts) {
        const err = await attempt().then(
          () => 'resolved',
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(AddressError);
      }
      expect(fs.readdirSync(process.cwd())).toEqual(before);
    },
    60_000,
  );
});

test('the CLI: a bad address is a usage error (exit 2) that says what to write, creating nothing', async () => {
  requireBuild();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-addr-'));
  try {
    for (const [args, message] of [
      [['get', '127.0.0.1:7777', 'x'], /tcp:\/\/127\.0\.0\.1:7777/],
      [['wait', 'tcp://10.0.0.1:7777', '-t', '5'], /only for loopback/],
      [['get', 'tcp://127.0.0.1:7777', 'x'], /needs a secret/],
      [['serve', path.join(__dirname, 'fixtures', 'cli-app.js'), '--path', '127.0.0.1:7777'], /host:port/],
      [['dial-stdio', 'tls://127.0.0.1:7777'], /a socket on this machine/],
    ] as const) {
      const r = await cli([...args], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.readdirSync(cwd)).toEqual([]);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});
