/** remoteobj: talk to a live object in another process. */
export { serve, Host, DEFAULT_FUNCTIONS } from './host/host';
export { ref } from './ref';
export { release } from './peer/release';
export type { Ref } from './ref';
export type { ServeOptions, PortServeOptions, PasstoFunction } from './host/host';
export type { ConcurrentOption, ConcurrentPredicate } from './host/concurrent';
export { currentSignal } from './host/cancel';
export { connect, waitUntilListening } from './client/connect';
export type { ConnectOptions, PortConnectOptions, WaitOptions } from './client/connect';
export type { MessagePortLike } from './transport/message-port-link';
export type { Connection, ConnectionEvents } from './client/connection';
export type { GetOptions } from './client/proxy';
export type {
  Remote,
  RemoteValue,
  RemoteMethod,
  RemoteMember,
  RemoteMembers,
  RemoteControls,
  RemotePromise,
  RemoteSuper,
  RemoteAny,
  RemoteAnyRoot,
  RemoteRoot,
  Resolved,
  RemoteHandle,
} from './client/types';
export type { RemoteData, NotSendable, RemoteFunction, RemoteIterable } from './client/data';
export type { Description, MemberInfo } from './evaluate';
export type { AccessOptions, AccessPolicy, AccessRequest, AccessKind } from './access';
export { socketPath, checkSocketPath, MAX_SOCKET_PATH_BYTES } from './transport/socket-path';
export { parseAddress, formatAddress } from './transport/address';
export type { Address, AddressKind } from './transport/address';
export type { TlsOptions } from './transport/tls';
export type { SshOptions } from './transport/ssh';
export {
  RemoteObjError,
  RemoteError,
  HostUnavailableError,
  NotListeningError,
  ShutdownError,
  ConnectionClosedError,
  ReleasedError,
  AbortError,
  ProtocolError,
  EncodeError,
  AccessError,
  AuthError,
  LimitError,
  MissingMemberError,
  TimeoutError,
  ProcessExitedError,
  AddressError,
  TlsRefusedError,
  SshError,
  ErrorCodes,
} from './errors';
export type { ErrorCode, ErrorOrigin, RemoteErrorOptions } from './errors';
export type { ServeControl } from './cli/load-module';
export { PROTOCOL_NAME, PROTOCOL_VERSION } from './protocol/wire-types';
export { DEFAULT_STREAM_WINDOW, MAX_STREAM_WINDOW, STREAM_WINDOW_BYTES } from './peer/streams';
export { fork, Forked } from './process/fork';
export type { ForkOptions, ForkFunction, ExportRef, ForkResult, ForkYield, ExitInfo } from './process/fork';
export { NotExportedError } from './process/locate';
export { LocalExcept } from './except/local-except';
export type { GetOptions as ExceptGetOptions, ExceptEntry } from './except/local-except';
export { Except } from './except/except';
export { DEFAULT_GROUP } from './except/options';
export type { CatchOptions, ExceptOptions, ErrorType } from './except/options';
