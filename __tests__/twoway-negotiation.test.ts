/**
 * Protocol v2's negotiation (issue 13 item 8): the host offers `versions:[1,2]` (and the protocol 2
 * `features` it reads) in its hello, our client opts in with `{"kind":"hello","version":2}` (naming
 * the features it reads too), and a client that never does is served exactly as before: the lines
 * of a scripted v1 session are compared with those main's host sent before v2 existed
 * (fixtures/v1-session.golden.json, recorded with fixtures/v1-session.ts), the hello's new
 * `versions` and `features` fields being the only difference. The new message kinds' writers and
 * readers (protocol/wire.ts) round-trip, and malformed ones are refused with a typed fault.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connect, ProtocolError, serve } from 'remoteobj';
import { PROTOCOL_VERSIONS } from '../src/protocol/messages';
import {
  cancelLine,
  clientHelloLine,
  creditLine,
  endLine,
  isClientHello,
  itemLine,
  LineFault,
  readLineV2,
  releaseLine,
  requestLine,
  returnLine,
} from '../src/protocol/wire';
import { exited, ROOT, spawnTs, tmpSock } from './helpers';

test('a v1 session is byte for byte what it was before protocol v2, but for the hello offering versions [1,2] and protocol 2 features', async () => {
  const child = spawnTs(path.join(__dirname, 'fixtures/v1-session.ts'), [path.join(ROOT, 'src/index.ts')]);
  const { code } = await exited(child);
  expect(code).toBe(0);
  const now = JSON.parse(child.output()) as string[];
  const before = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/v1-session.golden.json'), 'utf8')) as string[];
  expect(now[0]).toBe(before[0]!.replace('"version":1,', '"version":1,"versions":[1,2],"features":["items"],'));
  expect(now.slice(1)).toEqual(before.slice(1));
  expect(now.length).toBe(31);
}, 60000);

test('our client speaks v2 when offered, v1 when told to; both work', async () => {
  const sock = tmpSock('neg');
  const host = await serve({ n: 1 }, sock, { localBypass: false });
  try {
    const a = await connect<{ n: number }>(sock);
    const b = await connect<{ n: number }>(sock, { protocol: 1 });
    expect(a.$connection.v2).toBe(true);
    expect(b.$connection.v2).toBe(false);
    expect(await a.n).toBe(1);
    expect(await b.n).toBe(1);
    await a.$close();
    await b.$close();
  } finally {
    await host.close();
  }
});

test('the hello line the host sends, and the client hello line', async () => {
  const sock = tmpSock('neg2');
  const host = await serve({}, sock, { localBypass: false });
  try {
    const hello = await new Promise<string>((resolve, reject) => {
      const c = net.connect(sock);
      c.setEncoding('utf8').once('data', (d: string) => (c.destroy(), resolve(d.split('\n')[0]!)));
      c.once('error', reject);
    });
    expect(JSON.parse(hello).versions).toEqual([1, 2]);
    expect(PROTOCOL_VERSIONS).toEqual([1, 2]);
    expect(clientHelloLine()).toBe('{"kind":"hello","version":2}');
    expect(isClientHello(clientHelloLine())).toBe(true);
    expect(isClientHello('{"kind":"hello","version":3}')).toBe(false);
    expect(isClientHello('{"id":1,"ops":[]}')).toBe(false);
  } finally {
    await host.close();
  }
});

test('v2 lines: writers and readers round-trip, malformed ones are typed faults', () => {
  const read = (l: string) => readLineV2(l, {});
  expect(requestLine(3, [{ op: 'get', key: 'x' }], false, undefined, 7, 9)).toBe('{"id":3,"to":7,"turn":9,"ops":[{"op":"get","key":"x"}]}');
  expect(read('{"id":3,"to":7,"turn":9,"ops":[{"op":"get","key":"x"}]}')).toEqual({ type: 'request', request: { id: 3, to: 7, turn: 9, ops: [{ op: 'get', key: 'x' }] } });
  expect(requestLine(3, [], true)).toBe('{"id":3,"strict":true,"ops":[]}');
  expect(read('{"id":3,"kind":"value","value":1}')).toEqual({ type: 'reply', reply: { id: 3, kind: 'value', value: 1 } });
  for (const line of [releaseLine([[1, 2], [3, 1]]), cancelLine(4), creditLine(2, 16), itemLine(2, { a: 1 }), endLine(2), endLine(2, { name: 'Error', message: 'x' }), returnLine(2)]) {
    const r = read(line);
    expect(r).not.toBeInstanceOf(LineFault);
    expect((r as { type: string }).type).toBe('control');
    expect(JSON.stringify((r as { message: unknown }).message)).toBe(line);
  }
  const bad = [
    '{"kind":"release","refs":[]}',
    '{"kind":"release","refs":[[0,1]]}',
    '{"kind":"release","refs":[[1,0]]}',
    '{"kind":"credit","stream":1,"n":0}',
    '{"kind":"item","stream":1}',
    '{"kind":"end","stream":-1}',
    '{"kind":"return"}',
    '{"kind":"cancel"}',
    '{"kind":"bogus"}',
    '{"id":1,"to":0,"ops":[]}',
    '{"id":1,"turn":"x","ops":[]}',
    '{"id":1,"ops":[],"extra":1}',
    'nope',
  ];
  for (const line of bad) {
    const r = read(line);
    expect(r).toBeInstanceOf(LineFault);
    expect(['BAD_MESSAGE', 'BAD_JSON']).toContain((r as LineFault).code);
  }
  // A reference tag without a context (protocol v1) is an unknown tag, as before.
  expect(read('{"id":1,"ops":[{"op":"call","args":[{"$fn":1}]}]}')).toMatchObject({ code: 'BAD_VALUE' });
});

test('a v1 client that would receive a function or a handle gets a NEEDS_PROTOCOL_2 error reply', async () => {
  const { ref } = await import('remoteobj');
  const sock = tmpSock('neg3');
  const host = await serve({ fn: () => () => 1, handle: () => ref({ a: 1 }), data: () => ({ a: 1 }) }, sock, { localBypass: false });
  try {
    const v1 = await connect<any>(sock, { protocol: 1 });
    await expect(v1.fn().$get()).rejects.toMatchObject({ name: 'ProtocolError', code: 'NEEDS_PROTOCOL_2' });
    await expect(v1.handle().$get()).rejects.toThrow(/speaks protocol 1.*protocol 2/);
    await expect(v1.handle().$get()).rejects.toBeInstanceOf(ProtocolError);
    expect(await v1.data()).toEqual({ a: 1 });
    await v1.$close();
  } finally {
    await host.close();
  }
});
