/**
 * Hosts of this process by socket path, so connect() to a path hosted here can skip the socket
 * (the local bypass). Keyed on the resolved path.
 */
import path from 'node:path';
import { isWindowsPipe } from '../transport/socket-path';

export interface LocalHost {
  acceptLocal(toClient: (line: string) => void, onEnd: () => void): { send(line: string): void; end(): void };
}

const hosts = new Map<string, LocalHost>();

export function normalizePath(p: string): string {
  return isWindowsPipe(p) ? p : path.resolve(p);
}

export function registerLocal(p: string, host: LocalHost): void {
  hosts.set(normalizePath(p), host);
}

export function unregisterLocal(p: string, host: LocalHost): void {
  const key = normalizePath(p);
  if (hosts.get(key) === host) hosts.delete(key);
}

export function findLocal(p: string): LocalHost | undefined {
  return hosts.get(normalizePath(p));
}
