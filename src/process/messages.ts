/**
 * Messages between fork() and its child, over Node's IPC channel (`serialization: 'json'`).
 * Every value inside (arguments, results, yields) is already encoded with the core codec, so
 * Dates, Maps, BigInts... travel exactly as they do over a socket. Each message carries
 * `ro: 1` so a message the user's own code sends with process.send() is never mistaken for one.
 */
import type { Json } from '../protocol/codec';
import type { WireError } from '../protocol/error-wire';

/** How the child finds the function. */
export interface TargetSpec {
  /** An absolute file path, or a specifier the child resolves from its cwd. */
  module: string;
  /** The export holding the function; null: the module's exports object itself is the function. */
  exportName: string | null;
  /** 'require' for modules the parent loaded as CommonJS, 'import' for ES modules, 'auto' to try require then import. */
  load: 'require' | 'import' | 'auto';
}

/** Parent → child, once: what to run. */
export interface StartMessage {
  ro: 1;
  t: 'start';
  name: string;
  target: TargetSpec;
  /** The arguments array, codec-encoded. */
  args: Json;
  /** Yields the child may send before it waits: values with index < upTo; null = no limit. */
  upTo: number | null;
  /**
   * A function of an ES module: where it is defined (1-based, in the code V8 ran). The child runs
   * the export of `target.module` defined there, `target.exportName` being only the first guess.
   */
  at?: { line: number; column: number };
  /** An argument travels by reference (an Except): the child opens its end of the fork link (fork-link.ts) before it reads `args`. */
  link?: true;
}

/** Parent → child: a new allowance for yields (see StartMessage.upTo). */
export interface AllowMessage {
  ro: 1;
  t: 'allow';
  upTo: number | null;
}

/** Parent → child: the consumer stopped reading; end the iterator (its finally blocks run). */
export interface StopMessage {
  ro: 1;
  t: 'stop';
}

export type ToChild = StartMessage | AllowMessage | StopMessage;

/** Child → parent: the module is loaded; this export is the function it runs. */
export interface LoadedMessage {
  ro: 1;
  t: 'loaded';
  exportName: string | null;
}

/** Child → parent: no export of the module is defined at `at` (or several are: `ambiguous`). */
export interface NotExportedMessage {
  ro: 1;
  t: 'notExported';
  ambiguous: string[];
}

/** Child → parent: the function returned an iterator; yields follow. */
export interface StreamMessage {
  ro: 1;
  t: 'stream';
}

/** Child → parent: one yielded value (index = how many came before it). */
export interface YieldMessage {
  ro: 1;
  t: 'yield';
  index: number;
  value: Json;
}

/** Child → parent: the function (or the iterator) finished with a value. */
export interface ReturnMessage {
  ro: 1;
  t: 'return';
  value: Json;
}

/** Child → parent: the function (or the iterator) threw, or the target could not be loaded. */
export interface ThrowMessage {
  ro: 1;
  t: 'throw';
  error: WireError;
}

/** Either way: a message of the fork link (fork-link.ts), which carries an Except's records. */
export interface LinkMessage {
  ro: 1;
  t: 'link';
  /** The message-port link's own message (NDJSON text, or one of its control objects). */
  m: unknown;
}

export type ToParent = LoadedMessage | NotExportedMessage | StreamMessage | YieldMessage | ReturnMessage | ThrowMessage;

export function isProtocolMessage(m: unknown): m is { ro: 1; t: string } {
  return m !== null && typeof m === 'object' && (m as { ro?: unknown }).ro === 1 && typeof (m as { t?: unknown }).t === 'string';
}
