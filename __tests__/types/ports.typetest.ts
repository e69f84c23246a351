/**
 * serve(obj, { port }) and connect({ port }) accept every port-shaped thing issue 14 names, with
 * Node's own types and with Electron's (declared here, trimmed from electron.d.ts: Electron cannot
 * be installed in this project): checked by `tsc --noEmit`, never run. __tests__/ports.test.ts
 * runs the same shapes with Node's real ports.
 */
import type { ChildProcess } from 'node:child_process';
import type { MessagePort, Worker } from 'node:worker_threads';
import { connect, type Host, type MessagePortLike, type Remote, serve } from 'remoteobj';
import { expectType } from './expect';

interface MessageEventMain {
  data: any;
  ports: MessagePortMain[];
}
/** Electron's MessagePortMain (a MessageChannelMain's end). */
interface MessagePortMain {
  on(event: 'message', listener: (messageEvent: MessageEventMain) => void): this;
  on(event: 'close', listener: Function): this;
  off(event: 'message', listener: (messageEvent: MessageEventMain) => void): this;
  postMessage(message: any, transfer?: MessagePortMain[]): void;
  start(): void;
  close(): void;
}
/** Electron's `process.parentPort` in a utility process. */
interface ParentPort {
  on(event: 'message', listener: (messageEvent: MessageEventMain) => void): this;
  off(event: 'message', listener: (messageEvent: MessageEventMain) => void): this;
  postMessage(message: any): void;
}
/** Electron's UtilityProcess, as utilityProcess.fork() returns it in the main process. */
interface UtilityProcess {
  pid: number | undefined;
  postMessage(message: any, transfer?: MessagePortMain[]): void;
  on(event: 'message', listener: (message: any) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
  kill(): boolean;
}

class Counter {
  count = 0;
  toggle(_on = true): void {}
}

export async function ports(port: MessagePort, worker: Worker, child: ChildProcess, main: MessagePortMain, parent: ParentPort, utility: UtilityProcess): Promise<void> {
  const all: MessagePortLike[] = [port, worker, child, process, main, parent, utility];
  void all;
  expectType<Host<Counter>>()(await serve(new Counter(), { port, secret: 's', maxMessageBytes: 1024 }));
  expectType<Host<Counter>>()(await serve(new Counter(), { port: parent }));
  expectType<Remote<Counter>>()(await connect<Counter>({ port: utility, timeout: 1000 }));
  expectType<Remote<Counter>>()(await connect<Counter>({ port: main }));
  // @ts-expect-error a number is not a port
  await serve(new Counter(), { port: 42 });
  // @ts-expect-error a port has one connection and no address: localBypass means nothing there
  await serve(new Counter(), { port, localBypass: false });
  // @ts-expect-error the port form takes its options in the same object
  await connect<Counter>({ port }, { timeout: 1 });
  // @ts-expect-error a port's one connection cannot be dialled again
  await connect<Counter>({ port, reconnect: true });
}
