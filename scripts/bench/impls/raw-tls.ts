/**
 * The raw baseline over TLS (TLS 1.3 on the same Unix socket): what any NDJSON request/response
 * over a TLS stream costs, the yardstick for a `tls://` remoteobj call. The certificate is a
 * self-signed one made for the run by `openssl` (tlsMaterial), trusted by the client as its CA.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

export function makeCertificate(dir: string): void {
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`raw-tls needs openssl to make a test certificate: ${r.error?.message ?? r.stderr}`);
}

function transport(): RawTransport {
  const { key, cert } = tlsMaterial();
  return {
    createServer: (onSocket) => tls.createServer({ key, cert, minVersion: 'TLSv1.3' }, onSocket),
    dial: (p) => ({ socket: tls.connect({ path: p, ca: cert, servername: 'localhost', minVersion: 'TLSv1.3' }), ready: 'secureConnect' }),
  };
}

export const rawTls: BenchImpl = {
  name: 'raw-tls',
  bytes: 'as raw, inside TLS records',
  serve: (target: BenchTarget, p: string): Promise<BenchServer> => serveOver(transport(), target, p),
  connect: (p: string): Promise<BenchClient> => connectOver(transport(), p),
};
