/**
 * The types of issue 13's control features (checked by `tsc --noEmit`, never run): the events of
 * `remote.$connection`, and serve's `concurrent` option.
 */
import { connect, type ConcurrentPredicate, type Remote, serve } from 'remoteobj';
import { expectType } from './expect';

interface Api {
  watch(): Promise<number>;
}

export async function connectionEvents(remote: Remote<Api>): Promise<void> {
  remote.$connection.on('close', (reason) => expectType<Error>()(reason));
  remote.$connection.once('reconnect', (info) => expectType<{ hostPid: number }>()(info));
  // @ts-expect-error: no such event
  remote.$connection.on('closed', () => undefined);
  // @ts-expect-error: close's listener gets an Error, not a string
  remote.$connection.on('close', (reason: string) => reason);
}

export async function concurrentOption(): Promise<void> {
  await serve({}, '/tmp/x.sock', { concurrent: ['watch', 'longPoll'] });
  const predicate: ConcurrentPredicate = (name, args, path) => {
    expectType<string>()(name);
    expectType<readonly unknown[]>()(args);
    expectType<readonly (string | number)[]>()(path);
    return name.startsWith('wait');
  };
  await serve({}, '/tmp/x.sock', { concurrent: predicate });
  // @ts-expect-error: a single name is not a list
  await serve({}, '/tmp/x.sock', { concurrent: 'watch' });
  await connect<Api>('/tmp/x.sock');
}
