/**
 * Custom error classes thrown by hosted code reach the client with their own `name` and `code`
 * (what users test, and what serialize-error and Comlink keep), over a real socket; `instanceof
 * RemoteError` still says the error came from the host. The library's own classes are still told
 * apart only by code + name: an application error that merely uses one of the library's codes is
 * never mistaken for the library's (so `$get({ default })` does not swallow it).
 */
import { connect, type Host, HostUnavailableError, RemoteError, RemoteObjError, serve, type Remote } from 'remoteobj';
import { tmpSock } from './helpers';

class MyErr extends Error {
  override name = 'MyErr';
  code = 42;
  detail = { field: 'email' };
}

class JobError extends Error {
  override name = 'JobError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const api = {
  custom(): never {
    throw new MyErr('custom failure');
  },
  withCode(code: string): never {
    throw new JobError('job failed', code);
  },
  plainWithCode(code: string): never {
    throw Object.assign(new Error('plain failure'), { code });
  },
  get broken(): number {
    throw new JobError('getter failed', 'NOT_LISTENING');
  },
  wrapped(): never {
    throw new Error('outer', { cause: new MyErr('inner') });
  },
  thrownString(): never {
    throw 'just text';
  },
};

let host: Host<typeof api>;
let remote: Remote<typeof api>;

beforeAll(async () => {
  const path = tmpSock('errc');
  host = await serve(api, path, { localBypass: false });
  remote = await connect<typeof api>(path, { localBypass: false });
});

afterAll(async () => {
  await remote.$close();
  await host.close();
});

/** The error a remote call rejects with (the test fails if it resolves). */
async function failure(p: PromiseLike<unknown>): Promise<any> {
  return Promise.resolve(p).then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

test('a custom class keeps its name, its code (of any type) and its other own properties', async () => {
  const err = await failure(remote.custom());
  expect(err.name).toBe('MyErr');
  expect(err.code).toBe(42);
  expect(err.detail).toEqual({ field: 'email' });
  expect(err.message).toBe('custom failure');
  expect(String(err)).toBe('MyErr: custom failure');
  expect(err.stack.split('\n')[0]).toBe('MyErr: custom failure');
});

test('instanceof RemoteError tells it came from the host; it is an Error, not one of the library’s own', async () => {
  const err = await failure(remote.custom());
  expect(err).toBeInstanceOf(RemoteError);
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(RemoteObjError);
  expect(err.origin).toMatchObject({ pid: process.pid, op: 1, opName: 'call' });
  expect(Object.keys(err).sort()).toEqual(['code', 'detail']);
});

test('the deprecated remoteName and remoteCode still answer, as aliases of name and code', async () => {
  const err = (await failure(remote.custom())) as RemoteError;
  expect(err.remoteName).toBe('MyErr');
  expect(err.remoteCode).toBe(42);
});

test('a cause of a custom class keeps its name and code too', async () => {
  const err = await failure(remote.wrapped());
  expect(err.cause).toBeInstanceOf(RemoteError);
  expect([err.cause.name, err.cause.code]).toEqual(['MyErr', 42]);
});

test('a thrown non-error is a RemoteError named NonError, without a code', async () => {
  const err = await failure(remote.thrownString());
  expect(err).toBeInstanceOf(RemoteError);
  expect(err.name).toBe('NonError');
  expect(err.code).toBeUndefined();
  expect(err.message).toBe('a non-error value was thrown: "just text"');
});

describe.each(['NOT_LISTENING', 'SHUTDOWN', 'CONNECTION_CLOSED', 'TIMEOUT', 'ACCESS_DENIED', 'REMOTE'])('an application error with the code %s', (code) => {
  test('stays an application error, with that code', async () => {
    const custom = await failure(remote.withCode(code));
    expect(custom).toBeInstanceOf(RemoteError);
    expect(custom).not.toBeInstanceOf(RemoteObjError);
    expect([custom.name, custom.code]).toEqual(['JobError', code]);
    const plain = await failure(remote.plainWithCode(code));
    expect(plain.constructor).toBe(Error);
    expect(plain.code).toBe(code);
  });

  test('is not swallowed by $get({ default })', async () => {
    const err = await failure(remote.withCode(code).$get({ default: 'swallowed' }));
    expect(err).not.toBeInstanceOf(HostUnavailableError);
    expect(err.code).toBe(code);
  });
});

test('$get({ default }) on a getter that throws an app error coded NOT_LISTENING rejects with it', async () => {
  const err = await failure(remote.broken.$get({ default: 0 }));
  expect([err.name, err.code]).toEqual(['JobError', 'NOT_LISTENING']);
});
