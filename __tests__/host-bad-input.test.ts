/**
 * What the host does with bytes the library's client would never send, over a raw socket:
 * every bad line gets an error reply with a stable code (and the request id when one was given),
 * the connection stays usable (except after TOO_LARGE), and other clients are not disturbed.
 * Also the framing cases a hand-written client produces: split lines, split characters, batches, CRLF.
 */
import { connect, type Host, ProtocolError, serve } from 'remoteobj';
import { RawClient, range, tick, type WireReply } from './fixtures/host-kit';
import { tmpSock } from './helpers';

const MAX = 1024;

const target = {
  n: 5,
  'héllo€': 'unicode',
  add(a: number, b: number): number {
    return a + b;
  },
  echo<T>(x: T): T {
    return x;
  },
};
type Target = typeof target;

let host: Host<Target>;
let path: string;
const raws: RawClient[] = [];

beforeAll(async () => {
  path = tmpSock('bad');
  host = await serve(target, path, { maxMessageBytes: MAX });
});

afterEach(async () => {
  await Promise.all(raws.splice(0).map((r) => r.destroy()));
});

afterAll(async () => {
  await host.close();
});

async function raw(): Promise<RawClient> {
  const r = await RawClient.open(path);
  raws.push(r);
  return r;
}

const get = (id: number | string, key: string) => ({ id, ops: [{ op: 'get', key }] });

function expectError(reply: WireReply, code: string, id: number | string | null): void {
  expect(reply).toMatchObject({ id, kind: 'error', error: { code } });
  expect(typeof reply.error!.message).toBe('string');
}

/** Each bad line, what the host must answer, and the id it must echo. */
const BAD_LINES: { what: string; line: string | Buffer; code: string; id: number | string | null }[] = [
  { what: 'garbage bytes', line: 'hello there\n', code: 'BAD_JSON', id: null },
  { what: 'truncated JSON', line: '{"id":3,"ops":[\n', code: 'BAD_JSON', id: null },
  { what: 'invalid UTF-8', line: Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x7d, 0x0a]), code: 'BAD_JSON', id: null },
  { what: 'a JSON array', line: '[1,2,3]\n', code: 'BAD_MESSAGE', id: null },
  { what: 'a number', line: '42\n', code: 'BAD_MESSAGE', id: null },
  { what: 'a string', line: '"get n"\n', code: 'BAD_MESSAGE', id: null },
  { what: 'null', line: 'null\n', code: 'BAD_MESSAGE', id: null },
  { what: 'ops of the wrong type', line: '{"id":11,"ops":"n"}\n', code: 'BAD_MESSAGE', id: 11 },
  { what: 'an op missing its key', line: '{"id":12,"ops":[{"op":"get"}]}\n', code: 'BAD_MESSAGE', id: 12 },
  { what: 'an op with an extra field', line: '{"id":13,"ops":[{"op":"len","x":1}]}\n', code: 'BAD_MESSAGE', id: 13 },
  { what: 'a string id', line: '{"id":"req-a","ops":{}}\n', code: 'BAD_MESSAGE', id: 'req-a' },
  { what: 'a missing id', line: '{"ops":[{"op":"get","key":"n"}]}\n', code: 'BAD_MESSAGE', id: null },
  { what: 'a fractional id', line: '{"id":1.5,"ops":[]}\n', code: 'BAD_MESSAGE', id: null },
  { what: 'an unknown op', line: '{"id":14,"ops":[{"op":"explode","key":"n"}]}\n', code: 'UNKNOWN_OP', id: 14 },
  {
    what: 'an unknown tag',
    line: '{"id":15,"ops":[{"op":"get","key":"echo"},{"op":"call","args":[{"$nope":1}]}]}\n',
    code: 'BAD_VALUE',
    id: 15,
  },
  {
    what: 'a bad tag value',
    line: '{"id":16,"ops":[{"op":"get","key":"echo"},{"op":"call","args":[{"$bigint":"12x"}]}]}\n',
    code: 'BAD_VALUE',
    id: 16,
  },
  {
    what: 'a bad tag value in set',
    line: '{"id":17,"ops":[{"op":"set","key":"m","value":{"$number":"lots"}}]}\n',
    code: 'BAD_VALUE',
    id: 17,
  },
];

describe('each bad line gets an error reply with a stable code, and the connection stays usable', () => {
  test.each(BAD_LINES)('$what → $code', async ({ line, code, id }) => {
    const r = await raw();
    await r.write(line);
    expectError(await r.next(), code, id);
    expect(await r.ask(get(100, 'n'))).toEqual({ id: 100, kind: 'value', value: 5 });
  });
});

test('a bad request does not run any of its ops', async () => {
  const r = await raw();
  await r.write('{"id":1,"ops":[{"op":"set","key":"n","value":99},{"op":"explode"}]}\n');
  expectError(await r.next(), 'UNKNOWN_OP', 1);
  expect(await r.ask(get(2, 'n'))).toMatchObject({ value: 5 });
});

test('another client is served correctly while one connection sends nothing but bad lines', async () => {
  const good = await connect<Target>(path, { localBypass: false });
  const r = await raw();
  const goodWork = (async () => {
    const results: number[] = [];
    for (const i of range(100)) results.push(await good.add(i, 1000));
    return results;
  })();
  for (const _ of range(5)) {
    for (const { line, code, id } of BAD_LINES) {
      await r.write(line);
      expectError(await r.next(), code, id);
    }
  }
  expect(await goodWork).toEqual(range(100).map((i) => i + 1000));
  expect(await good.n).toBe(5);
  await good.$close();
});

describe('maxMessageBytes', () => {
  /** A valid request line of exactly `bytes` bytes (without its newline). */
  function lineOfBytes(id: number, bytes: number): string {
    const base = JSON.stringify({ id, ops: [{ op: 'get', key: 'echo' }, { op: 'call', args: [''] }] });
    const line = JSON.stringify({ id, ops: [{ op: 'get', key: 'echo' }, { op: 'call', args: ['x'.repeat(bytes - base.length)] }] });
    expect(Buffer.byteLength(line)).toBe(bytes);
    return line;
  }

  test('the hello announces the limit', async () => {
    const r = await raw();
    expect(r.hello).toMatchObject({ kind: 'hello', protocol: 'remoteobj', version: 1, limits: { maxMessageBytes: MAX } });
  });

  test('a line of exactly the limit is served', async () => {
    const r = await raw();
    const reply = await r.ask(JSON.parse(lineOfBytes(7, MAX)));
    expect(reply).toMatchObject({ id: 7, kind: 'value' });
    expect((reply.value as string).length).toBeGreaterThan(900);
  });

  test('a longer line gets TOO_LARGE and the connection is closed; other connections go on', async () => {
    const other = await raw();
    const r = await raw();
    await r.write(lineOfBytes(8, MAX + 1) + '\n');
    expectError(await r.next(), 'TOO_LARGE', null);
    await r.closed;
    expect(await other.ask(get(9, 'n'))).toEqual({ id: 9, kind: 'value', value: 5 });
  });

  test('an endless line without a newline is cut off once it passes the limit', async () => {
    const r = await raw();
    await r.write('{"id":1,"ops":[{"op":"get","key":"');
    for (const _ of range(3)) {
      await r.write('y'.repeat(600));
      await tick();
    }
    expectError(await r.next(), 'TOO_LARGE', null);
    await r.closed;
  });

  test('the library client refuses to send a request over the announced limit', async () => {
    const good = await connect<Target>(path, { localBypass: false });
    await expect(Promise.resolve(good.echo('z'.repeat(MAX)))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(Promise.resolve(good.echo('z'.repeat(MAX)))).rejects.toBeInstanceOf(ProtocolError);
    expect(await good.echo('small')).toBe('small');
    await good.$close();
  });
});

describe('framing', () => {
  test('a line split across several writes is parsed whole', async () => {
    const r = await raw();
    const line = JSON.stringify(get(1, 'n')) + '\n';
    for (const part of [line.slice(0, 3), line.slice(3, 10), line.slice(10, -1), line.slice(-1)]) {
      await r.write(part);
      await tick();
    }
    expect(await r.next()).toEqual({ id: 1, kind: 'value', value: 5 });
  });

  test('a line split inside a multi-byte UTF-8 character is decoded whole', async () => {
    const r = await raw();
    const line = Buffer.from(JSON.stringify(get(2, 'héllo€')) + '\n');
    const euro = line.indexOf(Buffer.from('€'));
    // Cut after the first, then after the second of the character's three bytes.
    for (const cut of [euro + 1, euro + 2]) {
      await r.write(line.subarray(0, cut));
      await tick();
      await r.write(line.subarray(cut));
      expect(await r.next()).toEqual({ id: 2, kind: 'value', value: 'unicode' });
    }
    // A four-byte character split in its middle, echoed back.
    const b = Buffer.from(JSON.stringify({ id: 3, ops: [{ op: 'get', key: 'echo' }, { op: 'call', args: ['é€𝄞'] }] }) + '\n');
    const at = b.indexOf(Buffer.from('𝄞')) + 2;
    await r.write(b.subarray(0, at));
    await tick();
    await r.write(b.subarray(at));
    expect(await r.next()).toEqual({ id: 3, kind: 'value', value: 'é€𝄞' });
  });

  test('many messages in one write are all answered, in order', async () => {
    const r = await raw();
    const batch = range(200).map((i) => JSON.stringify({ id: i, ops: [{ op: 'get', key: 'add' }, { op: 'call', args: [i, 1] }] }) + '\n');
    await r.write(batch.join(''));
    for (const i of range(200)) expect(await r.next()).toEqual({ id: i, kind: 'value', value: i + 1 });
  });

  test('a batch mixing good and bad lines answers each one, in order', async () => {
    const r = await raw();
    await r.write(`${JSON.stringify(get(1, 'n'))}\nnot json\n${JSON.stringify(get(2, 'n'))}\n[]\n${JSON.stringify(get(3, 'n'))}\n`);
    expect(await r.next()).toMatchObject({ id: 1, value: 5 });
    expectError(await r.next(), 'BAD_JSON', null);
    expect(await r.next()).toMatchObject({ id: 2, value: 5 });
    expectError(await r.next(), 'BAD_MESSAGE', null);
    expect(await r.next()).toMatchObject({ id: 3, value: 5 });
  });

  test('CRLF line endings and blank lines are accepted', async () => {
    const r = await raw();
    await r.write(`${JSON.stringify(get(1, 'n'))}\r\n\r\n\n${JSON.stringify(get(2, 'héllo€'))}\r\n`);
    expect(await r.next()).toEqual({ id: 1, kind: 'value', value: 5 });
    expect(await r.next()).toEqual({ id: 2, kind: 'value', value: 'unicode' });
    // A CR split from its LF across writes.
    await r.write(JSON.stringify(get(3, 'n')) + '\r');
    await tick();
    await r.write('\n');
    expect(await r.next()).toEqual({ id: 3, kind: 'value', value: 5 });
  });
});
