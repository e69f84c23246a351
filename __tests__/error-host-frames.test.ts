/**
 * Errors the library itself makes on the host (AccessError, LimitError, AuthError, ProtocolError,
 * the lock's TimeoutError, EncodeError, evaluate's TypeErrors) carry no host frames on the wire:
 * their stacks were only the library's frames, naming host file paths (issue 10 item 9). The
 * frames of user code stay, both in errors user code throws (which merely pass through the
 * library) and in a library error raised inside user code. Read as raw lines from a real socket,
 * so what is checked is exactly what a client receives.
 */
import path from 'node:path';
import { AccessError, connect, type Host, serve } from 'remoteobj';
import { Cleanup, Gate, RawClient, type WireReply } from './fixtures/host-kit';
import { sleep, tmpSock, until } from './helpers';

/** The library's code directory: no frame on the wire may name a file in it. */
const LIBRARY = path.resolve(__dirname, '..', 'src') + path.sep;
const THIS_FILE = __filename;

type WireError = NonNullable<WireReply['error']> & { stack?: string; cause?: WireError };

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function frames(stack: string | undefined): string[] {
  return (stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
}

/** A library-made error on the wire: `Name: message` and nothing else, no path of the host. */
function expectNoHostFrames(error: WireError | undefined, name: string): void {
  expect(error?.name).toBe(name);
  const stack = error!.stack;
  if (stack !== undefined) expect(stack).toBe(`${name}: ${error!.message}`);
  expect(JSON.stringify(error)).not.toContain(LIBRARY);
}

class Api {
  _secret = 1;
  gate?: Gate;
  data = { n: 1 };
  hold(): Promise<void> | undefined {
    return this.gate?.promise;
  }
  giveFunction(): () => number {
    return () => 1;
  }
  userFails(): never {
    throw new RangeError('thrown by user code');
  }
  parseBad(): unknown {
    return JSON.parse('{');
  }
  async relay(other: string): Promise<unknown> {
    // A library error raised inside user code: the AccessError of another host, awaited here.
    const remote = await connect<any>(other, { localBypass: false });
    try {
      return await remote._hidden;
    } finally {
      await remote.$close();
    }
  }
}

async function host(options: Parameters<typeof serve>[2] = {}): Promise<{ h: Host<Api>; path: string; api: Api }> {
  const path = tmpSock('frames');
  const api = new Api();
  const h = cleanup.host(await serve(api, path, { localBypass: false, ...options }));
  return { h, path, api };
}

async function raw(path: string): Promise<RawClient> {
  const c = await RawClient.open(path);
  cleanup.defer(() => c.destroy());
  return c;
}

describe('errors the library makes on the host carry no host frames', () => {
  test('AccessError', async () => {
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: '_secret' }] });
    expectNoHostFrames(reply.error, 'AccessError');
  });

  test('TypeError from evaluating a chain (calling a non-function)', async () => {
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: 'data' }, { op: 'call', args: [] }] });
    expectNoHostFrames(reply.error, 'TypeError');
  });

  test('the error of a result a v1 client cannot receive (a function: NEEDS_PROTOCOL_2)', async () => {
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: 'giveFunction' }, { op: 'call', args: [] }] });
    expectNoHostFrames(reply.error, 'ProtocolError');
    expect(reply.error).toMatchObject({ code: 'NEEDS_PROTOCOL_2' });
  });

  test.each([
    ['BAD_JSON', 'not json\n'],
    ['BAD_MESSAGE', '{"id":1,"ops":"none"}\n'],
    ['UNKNOWN_OP', '{"id":1,"ops":[{"op":"nope"}]}\n'],
    ['BAD_VALUE', '{"id":1,"ops":[{"op":"call","args":[{"$nosuchtag":1}]}]}\n'],
  ])('ProtocolError %s', async (code, line) => {
    const { path } = await host();
    const c = await raw(path);
    await c.write(line);
    const reply = await c.next();
    expect(reply.error?.code).toBe(code);
    expectNoHostFrames(reply.error, 'ProtocolError');
  });

  test("TimeoutError from the host's lock", async () => {
    const { h, path, api } = await host({ lockTimeout: 20 });
    api.gate = cleanup.gate(new Gate());
    const c = await raw(path);
    await c.write(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'hold' }, { op: 'call', args: [] }] }) + '\n');
    await c.write(JSON.stringify({ id: 2, ops: [{ op: 'get', key: 'data' }] }) + '\n');
    await until(() => h.queued === 1);
    await sleep(60); // request 2 waits past lockTimeout; it is refused when the lock reaches it
    api.gate.open();
    expect((await c.next()).id).toBe(1);
    const reply = await c.next();
    expect(reply.id).toBe(2);
    expectNoHostFrames(reply.error, 'TimeoutError');
  });

  test('AuthError', async () => {
    const { path } = await host({ secret: 'right secret' });
    const c = await raw(path);
    await c.write(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'data' }] }) + '\n');
    const reply = await c.next();
    expectNoHostFrames(reply.error, 'AuthError');
  });

  test('LimitError', async () => {
    const { path } = await host({ maxConnections: 1 });
    await raw(path);
    const second = await raw(path); // refused: the refusal comes in place of the hello
    const refusal = (second.hello.kind === 'error' ? second.hello : await second.next()) as unknown as WireReply;
    expectNoHostFrames(refusal.error, 'LimitError');
  });
});

describe("user code's frames stay", () => {
  test('an error thrown by user code keeps its frames', async () => {
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: 'userFails' }, { op: 'call', args: [] }] });
    const error = reply.error as WireError;
    expect(error.name).toBe('RangeError');
    expect(frames(error.stack)[0]).toContain(`Api.userFails (${THIS_FILE}:`);
  });

  test('an engine error raised in user code (JSON.parse) keeps every frame down to the user code', async () => {
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: 'parseBad' }, { op: 'call', args: [] }] });
    const lines = frames((reply.error as WireError).stack);
    expect(lines[0]).toContain('JSON.parse');
    expect(lines[1]).toMatch(/parseBad/);
    expect(lines[1]).toContain(`(${THIS_FILE}:`);
  });

  test("a library error raised inside user code keeps the user's frames, and only them", async () => {
    const other = cleanup.host(await serve({ _hidden: 1 }, tmpSock('frames-b'), { localBypass: false }));
    const { path } = await host();
    const reply = await (await raw(path)).ask({ id: 1, ops: [{ op: 'get', key: 'relay' }, { op: 'call', args: [other.path] }] });
    const error = reply.error as WireError;
    expect(error.name).toBe('AccessError');
    expect(error.stack).toMatch(/^AccessError: /);
    expect(error.stack).toMatch(/--- remote: pid \d+ at /); // where the other host raised it
    expect(frames(error.stack).some((l) => l.includes(`Api.relay (${THIS_FILE}:`))).toBe(true);
    expect(error.stack).not.toContain(LIBRARY);
  });

  test('through the client, a library error shows the remote header, then the caller’s frames', async () => {
    const { path } = await host();
    const remote = cleanup.remote(await connect<Api>(path, { localBypass: false }));
    const err = await (remote as any)._secret.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AccessError);
    const [remotePart, localPart] = (err as Error).stack!.split(/\n\s+--- remote: .* ---\n/);
    expect(remotePart).toBe(`AccessError: ${(err as Error).message}`);
    expect(localPart).toContain(THIS_FILE);
  });
});
