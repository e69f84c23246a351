/** The implementations by name, baseline first (kept apart from their code, so tests can list them without loading the peers). */
export const IMPL_NAMES = ['raw', 'remoteobj', 'remoteobj+secret', 'vscode-jsonrpc', 'birpc', 'raw-tls', 'raw-port', 'comlink'] as const;

/** Implementations whose "host" is a worker thread of the client process (message ports): their host CPU is in the client's. */
export const IN_CLIENT_PROCESS: readonly string[] = ['raw-port', 'comlink'];
