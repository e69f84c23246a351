/**
 * What the CLI needs beyond an address to reach a host, from the environment (never from
 * arguments, which other users can read in `ps`): REMOTEOBJ_SECRET; REMOTEOBJ_TLS_KEY,
 * REMOTEOBJ_TLS_CERT, REMOTEOBJ_TLS_CA (files, for tls://); REMOTEOBJ_SSH, the ssh command line
 * (`ssh -i ~/.ssh/deploy -o UserKnownHostsFile=...`, split at spaces like GIT_SSH_COMMAND) and
 * REMOTEOBJ_SSH_REMOTE, the words that start remoteobj on the far side (default `remoteobj`).
 */
import fs from 'node:fs';
import type { ConnectOptions } from '../client/connection';
import type { TlsOptions } from '../transport/tls';
import { UsageError } from './exit-codes';

export type TransportOptions = Pick<ConnectOptions, 'secret' | 'tls' | 'ssh'>;

export function transportOptions(command: string, env: NodeJS.ProcessEnv = process.env): TransportOptions {
  const out: TransportOptions = {};
  if (env.REMOTEOBJ_SECRET) out.secret = env.REMOTEOBJ_SECRET;
  const tls: TlsOptions = {};
  for (const [name, key] of [
    ['REMOTEOBJ_TLS_KEY', 'key'],
    ['REMOTEOBJ_TLS_CERT', 'cert'],
    ['REMOTEOBJ_TLS_CA', 'ca'],
  ] as const) {
    const file = env[name];
    if (!file) continue;
    try {
      tls[key] = fs.readFileSync(file);
    } catch (e) {
      throw new UsageError(`${name}: cannot read ${file}: ${(e as Error).message}`, command);
    }
  }
  if (Object.keys(tls).length > 0) out.tls = tls;
  const ssh = words(env.REMOTEOBJ_SSH);
  const remote = words(env.REMOTEOBJ_SSH_REMOTE);
  if (ssh.length > 0 || remote.length > 0) {
    out.ssh = {
      ...(ssh.length > 0 && { binary: ssh[0], args: ssh.slice(1) }),
      ...(remote.length > 0 && { command: remote }),
    };
  }
  return out;
}

/** The TLS options for a tls:// address only: a CLI with REMOTEOBJ_TLS_* set still reaches Unix sockets. */
export function forAddress(address: string, options: TransportOptions): TransportOptions {
  const isTls = /^tls:\/\//i.test(address);
  return { ...options, tls: isTls ? options.tls : undefined, ssh: /^ssh:\/\//i.test(address) ? options.ssh : undefined };
}

function words(text: string | undefined): string[] {
  return text?.trim() ? text.trim().split(/\s+/) : [];
}
