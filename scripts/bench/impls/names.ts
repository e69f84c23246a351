/** The implementations by name, baseline first (kept apart from their code, so tests can list them without loading the peers). */
export const IMPL_NAMES = ['raw', 'remoteobj', 'remoteobj+secret', 'vscode-jsonrpc', 'birpc'] as const;
