/**
 * The raw baseline over TLS (TLS 1.3 on the same Unix socket): what any NDJSON request/response
 * over a TLS stream costs, the yardstick for a `tls://` remoteobj call. The certificate is a
 * self-signed one made for the run by `openssl` (tlsMaterial), trusted by the client as its CA.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import tls from 'node:tls';
import type { BenchTarget } from '../target';
import { connectOver, type RawTransport, serveOver } from './raw';
import type { BenchClient, BenchImpl, BenchServer } from './types';

/**
 * A key and a self-signed certificate for CN=localhost, made once per benchmark run (run.ts sets
 * BENCH_TLS_DIR, the worker and host processes read it) or, without it, once per process.
 */
export function tlsMaterial(): { key: Buffer; cert: Buffer } {
  let dir = process.env.BENCH_TLS_DIR;
  if (!dir || !fs.existsSync(path.join(dir, 'cert.pem'))) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-bench-tls-'));
    makeCertificate(dir);
    process.env.BENCH_TLS_DIR = dir;
  }
  return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the TLS cases need openssl to make test certificates: ${r.error?.message ?? r.stderr}`);
}

/**
 * The run's certificates: a self-signed one for raw-tls (cert.pem, key.pem), and for case (i),
 * where remoteobj's tls:// requires client certificates, a CA (ca.crt) that signed a host
 * certificate for 127.0.0.1 (host.crt) and a client certificate (client.crt), as
 * docs/transports.md makes them.
 */
export function makeCertificate(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const f = (name: string) => path.join(dir, name);
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=localhost', '-keyout', f('key.pem'), '-out', f('cert.pem')]);
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=bench-ca', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  fs.writeFileSync(f('host.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['host', 'localhost'],
    ['client', 'bench-client'],
  ] as const) {
    openssl(['req', ...ec, '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)]);
    openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`)]);
  }
}

export interface KeyPair {
  key: Buffer;
  cert: Buffer;
}

/** Case (i)'s certificates (made as tlsMaterial makes its own). */
export function tlsPki(): { ca: Buffer; host: KeyPair; client: KeyPair } {
  tlsMaterial();
  const dir = process.env.BENCH_TLS_DIR!;
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  return { ca: read('ca.crt'), host: { key: read('host.key'), cert: read('host.crt') }, client: { key: read('client.key'), cert: read('client.crt') } };
}

function transport(): RawTransport {
  const { key, cert } = tlsMaterial();
  return {
    createServer: (onSocket) => tls.createServer({ key, cert, minVersion: 'TLSv1.3' }, onSocket),
    dial: (p) => ({ socket: tls.connect({ path: p, ca: cert, servername: 'localhost', minVersion: 'TLSv1.3' }), ready: 'secureConnect' }),
  };
}

/**
 * Case (i)'s yardstick: raw's code over TLS 1.3 on TCP loopback (127.0.0.1, a free port), with the
 * same certificates and the same checks as remoteobj's tls:// (client certificates required,
 * Nagle off on both sides), so the two differ only in what runs above the TLS socket.
 */
function tcpTransport(): RawTransport {
  const { ca, host, client } = tlsPki();
  return {
    createServer: (onSocket) =>
      tls.createServer({ key: host.key, cert: host.cert, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => {
        socket.setNoDelay(true);
        onSocket(socket);
      }),
    listen: (server) =>
      new Promise((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as net.AddressInfo).port}`)),
      ),
    dial: (address) => {
      const [hostName, port] = address.split(':');
      const socket = tls.connect({ host: hostName, port: Number(port), key: client.key, cert: client.cert, ca, minVersion: 'TLSv1.3' });
      socket.setNoDelay(true);
      return { socket, ready: 'secureConnect' };
    },
  };
}

export const rawTlsTcp: BenchImpl = {
  name: 'raw-tls-tcp',
  bytes: 'as raw, inside TLS records',
  serve: (target: BenchTarget, p: string): Promise<BenchServer> => serveOver(tcpTransport(), target, p),
  connect: (address: string): Promise<BenchClient> => connectOver(tcpTransport(), address),
};

export const rawTls: BenchImpl = {
  name: 'raw-tls',
  bytes: 'as raw, inside TLS records',
  serve: (target: BenchTarget, p: string): Promise<BenchServer> => serveOver(transport(), target, p),
  connect: (p: string): Promise<BenchClient> => connectOver(transport(), p),
};
