/**
 * fork() does not trust its child beyond the protocol: a child that yields past the credit it was
 * granted, or sends malformed traffic, is stopped and the Forked rejects with ProtocolError; plain
 * data shaped like an Except's wire form stays plain data (a live handle comes only from the
 * value codec's own tag). Real misbehaving children that write raw IPC messages.
 */
import os from 'node:os';
import path from 'node:path';
import { Except, fork, type Forked, ProtocolError } from 'remoteobj';
import { argKinds, badTraffic, echoArgs, exceptLookAlike, floodYields, returnsLookAlike, yieldsLookAlike } from './fixtures/proc-rogue';

const started: Forked<any, any>[] = [];
function track<P extends Forked<any, any>>(p: P): P {
  started.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.running ? p.kill('SIGKILL') : undefined)));
});

function unexpected(v: unknown): never {
  throw new Error(`expected a rejection, got ${String(v)}`);
}

describe('credit', () => {
  test('a child that yields past the credit it was granted is stopped; the loop gets the values allowed, then ProtocolError', async () => {
    const p = track(fork.with({ highWaterMark: 4 })(floodYields, 1000));
    // A consumer that has read nothing yet: the child may send 4 values, and sends 1000.
    const it = p[Symbol.asyncIterator]();
    const err = await p.result.then(unexpected, (e: unknown) => e as ProtocolError);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.code).toBe('BAD_MESSAGE');
    expect(err.message).toMatch(/^floodYields-\d+ \(pid \d+\) broke the fork protocol: yield 4 is past the 4 values it was allowed; the child was stopped$/);
    expect((await p.exited).signal).toBe('SIGKILL');
    // Nothing past the window was kept: the 4 values allowed, then the error.
    const seen: unknown[] = [];
    for (;;) {
      const r = await it.next().catch((e: unknown) => e);
      if (r === err || (r as IteratorResult<unknown>).done) break;
      seen.push((r as IteratorResult<unknown>).value);
    }
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  test('malformed traffic (a repeated index, a yield before the stream, a bad index, an undecodable value, an unknown message): ProtocolError, the child is stopped', async () => {
    const cases = [
      ['repeated index', /yield 0 came after yield 0/],
      ['yield without stream', /a yield before the stream message/],
      ['bad index', /malformed yield message/],
      ['bad value', /undecodable yield: .*unknown tag "\$nosuchtag"/],
      ['unknown message', /unknown message "surprise"/],
    ] as const;
    // All at once: five children start in the time of one or two.
    await Promise.all(
      cases.map(async ([kind, message]) => {
        const p = track(fork(badTraffic, kind));
        const err = await p.result.then(unexpected, (e: unknown) => e as ProtocolError);
        expect(err).toBeInstanceOf(ProtocolError);
        expect(err.message).toMatch(message);
        expect(err.message).toMatch(/the child was stopped$/);
        expect((await p.exited).signal).toBe('SIGKILL');
      }),
    );
  });
});

describe('Except handles come only from the codec tag', () => {
  // An address nobody serves: a handle on it would send caught errors wherever the data said.
  const address = path.join(os.tmpdir(), `ro-lookalike-${process.pid}.sock`);

  test('a result shaped like an Except wire form arrives as the same plain data, at top level and nested', async () => {
    const result = await track(fork(returnsLookAlike, address)).result;
    expect(result).toStrictEqual({ top: exceptLookAlike(address), list: [exceptLookAlike(address)] });
    const r = result as { top: unknown; list: unknown[] };
    expect(r.top).not.toBeInstanceOf(Except);
    expect(r.list[0]).not.toBeInstanceOf(Except);
  });

  test('yields shaped like it too', async () => {
    const seen: unknown[] = [];
    for await (const v of track(fork(yieldsLookAlike, address))) seen.push(v);
    expect(seen).toStrictEqual([exceptLookAlike(address), [exceptLookAlike(address)]]);
  });

  test('arguments shaped like it reach the child as plain data and come back as sent', async () => {
    const args = [exceptLookAlike(address), [exceptLookAlike(address)], { inner: exceptLookAlike(address) }];
    expect(await track(fork(argKinds, ...args)).result).toEqual(['Object', 'Array', 'Object']);
    expect(await track(fork(echoArgs, ...args)).result).toStrictEqual(args);
  });

  test('a real Except still arrives as a handle, and comes back as the owner', async () => {
    const exc = new Except();
    try {
      const kinds = await track(fork(argKinds, exc, [exc], exceptLookAlike(address))).result;
      expect(kinds).toEqual(['Except', 'Array', 'Object']);
      const back = (await track(fork(echoArgs, exc, exceptLookAlike(address))).result) as unknown[];
      expect(back[0]).toBe(exc);
      expect(back[1]).toStrictEqual(exceptLookAlike(address));
    } finally {
      await exc.close();
    }
  });
});
