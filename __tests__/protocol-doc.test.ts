/**
 * The statements of docs/protocol.md that a client author relies on and that no transcript on
 * that page shows, tried against a real host over a raw socket (issue 11 item 15): the secret's
 * bytes, the digest's case, requests pipelined behind the auth line, a second auth line,
 * "characters" as code points, which tag payloads are well-formed, far dates, `$error` values
 * without `origin`, what `describe` says about strings, null and accessors, and what the
 * TypeScript client does with a tag it does not know.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { connect, type Host, ProtocolError, serve } from 'remoteobj';
import { tmpSock } from './helpers';

/** A raw connection: write lines, read lines. */
class Raw {
  private buffered = '';
  private wake?: () => void;
  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8').on('data', (d: string) => {
      this.buffered += d;
      this.wake?.();
    });
    sock.on('end', () => this.wake?.());
  }
  static open(path: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(path, () => resolve(new Raw(sock)));
      sock.once('error', reject);
    });
  }
  write(...lines: string[]): void {
    this.sock.write(lines.map((l) => l + '\n').join(''));
  }
  /** With a secret: the client's line key, for the mac line after each write (docs/protocol.md, "Line authentication"). */
  sealKey?: string;
  private prevMac = '';
  /** Write `lines` as one batch followed by its mac line. */
  writeSealed(...lines: string[]): void {
    const batch = lines.map((l) => l + '\n').join('');
    const mac = hmac(this.sealKey!, this.prevMac + batch);
    this.prevMac = mac;
    this.write(...lines, JSON.stringify({ mac }));
  }
  /** The next message (the host's mac lines are skipped: this test does not check them). */
  async line(): Promise<Record<string, any>> {
    for (;;) {
      const msg = await this.rawLine();
      if (!(Object.keys(msg).length === 1 && typeof msg.mac === 'string')) return msg;
    }
  }
  private async rawLine(): Promise<Record<string, any>> {
    while (!this.buffered.includes('\n')) {
      if (this.sock.readableEnded) throw new Error('the host closed the connection');
      await new Promise<void>((r) => (this.wake = r));
    }
    const nl = this.buffered.indexOf('\n');
    const line = this.buffered.slice(0, nl);
    this.buffered = this.buffered.slice(nl + 1);
    return JSON.parse(line) as Record<string, any>;
  }
  async request(ops: unknown[], id: unknown = 1): Promise<Record<string, any>> {
    if (this.sealKey) this.writeSealed(JSON.stringify({ id, ops }));
    else this.write(JSON.stringify({ id, ops }));
    return this.line();
  }
  close(): void {
    this.sock.destroy();
  }
}

const hmac = (key: Buffer | string, text: string) => crypto.createHmac('sha256', key).update(text).digest('hex');
/** The auth message answering the hello's nonce `n1`, and the client's line key (docs/protocol.md, "Authentication"). */
function answer(key: Buffer, n1: string, digestCase: 'lower' | 'upper' = 'lower'): { line: string; lineKey: string } {
  const n2 = crypto.randomBytes(32).toString('hex');
  const digest = hmac(key, `remoteobj-auth-v2 client ${n1} ${n2}`);
  const line = JSON.stringify({ kind: 'auth', method: 'hmac-sha256-lines', digest: digestCase === 'upper' ? digest.toUpperCase() : digest, nonce: n2 });
  return { line, lineKey: hmac(key, `remoteobj-lines-v2 client ${n1} ${n2}`) };
}
const authLine = (key: Buffer, n1: string) => answer(key, n1).line;

class Thing {
  name = 'thing';
  when = new Date(8.64e15); // the last date JavaScript has: year 275760
  bc = new Date('-000001-01-01T00:00:00.000Z');
  str = 'ab';
  nothing = null;
  get g() {
    return 1;
  }
  get gs() {
    return 1;
  }
  set gs(_v: number) {}
  echo(...args: unknown[]) {
    return args;
  }
  kinds(...args: unknown[]) {
    return args.map((a) => (a instanceof Date ? `Date ${Number.isNaN(a.getTime()) ? 'invalid' : a.toISOString()}` : `${typeof a} ${String(a)}`));
  }
  made() {
    return new RangeError('made, not thrown', { cause: new TypeError('inner') });
  }
  fail() {
    throw new RangeError('outer', { cause: new TypeError('inner') });
  }
}

describe('authentication (hosts with a secret)', () => {
  let host: Host<Thing>;
  let path: string;
  const secret = 'pässwörd ✓';
  beforeAll(async () => {
    path = tmpSock('pdoc');
    host = await serve(new Thing(), path, { secret });
  });
  afterAll(() => host.close());

  test('the secret is the HMAC key as bytes: a string secret as its UTF-8 encoding', async () => {
    const utf8 = await Raw.open(path);
    utf8.write(authLine(Buffer.from(secret, 'utf8'), (await utf8.line()).auth.nonce));
    expect(await utf8.line()).toMatchObject({ kind: 'auth', ok: true });
    utf8.close();
    const latin1 = await Raw.open(path);
    latin1.write(authLine(Buffer.from(secret, 'latin1'), (await latin1.line()).auth.nonce));
    expect(await latin1.line()).toMatchObject({ id: null, kind: 'error', error: { code: 'AUTH_FAILED' } });
    latin1.close();
  });

  test('digests are lowercase hex: the right digest in uppercase is refused', async () => {
    const raw = await Raw.open(path);
    const { nonce } = (await raw.line()).auth;
    raw.write(answer(Buffer.from(secret), nonce, 'upper').line);
    expect(await raw.line()).toMatchObject({ id: null, kind: 'error', error: { code: 'AUTH_FAILED' } });
    raw.close();
  });

  test('requests may follow the auth line at once (even past the 1024-byte pre-auth limit); they run after it', async () => {
    const raw = await Raw.open(path);
    const { nonce } = (await raw.line()).auth;
    const long = 'x'.repeat(3000);
    const { line, lineKey } = answer(Buffer.from(secret), nonce);
    raw.write(line); // the requests below go out in the same write (the socket buffers them)
    raw.sealKey = lineKey;
    raw.writeSealed(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'name' }] }), JSON.stringify({ id: 2, ops: [{ op: 'get', key: 'echo' }, { op: 'call', args: [long] }] }));
    expect(await raw.line()).toMatchObject({ kind: 'auth', ok: true });
    expect(await raw.line()).toEqual({ id: 1, kind: 'value', value: 'thing' });
    expect(await raw.line()).toEqual({ id: 2, kind: 'value', value: [long] });
    raw.close();
  });

  test('a second auth line is a bad request (BAD_MESSAGE, id null); the connection stays open', async () => {
    const raw = await Raw.open(path);
    const { nonce } = (await raw.line()).auth;
    const { line, lineKey } = answer(Buffer.from(secret), nonce);
    raw.write(line);
    expect(await raw.line()).toMatchObject({ kind: 'auth', ok: true });
    raw.sealKey = lineKey;
    raw.writeSealed(authLine(Buffer.from(secret), nonce));
    expect(await raw.line()).toMatchObject({ id: null, kind: 'error', error: { code: 'BAD_MESSAGE' } });
    expect(await raw.request([{ op: 'get', key: 'name' }], 3)).toEqual({ id: 3, kind: 'value', value: 'thing' });
    raw.close();
  });
});

describe('requests, values and replies', () => {
  let host: Host<Thing>;
  let raw: Raw;
  beforeAll(async () => {
    const path = tmpSock('pdoc');
    host = await serve(new Thing(), path);
    raw = await Raw.open(path);
    await raw.line(); // hello
  });
  afterAll(async () => {
    raw.close();
    await host.close();
  });
  const call = (method: string, args: unknown[]) => raw.request([{ op: 'get', key: method }, { op: 'call', args }]);

  test('"characters" in the limits are code points: 128 emoji make a valid id, 129 do not; a 4096-emoji key is valid', async () => {
    const ok = '😀'.repeat(128);
    expect(await raw.request([], ok)).toEqual({ id: ok, kind: 'self' });
    expect(await raw.request([], '😀'.repeat(129))).toMatchObject({ kind: 'error', error: { code: 'BAD_MESSAGE' } });
    expect(await raw.request([{ op: 'get', key: '😀'.repeat(4096) }])).toEqual({ id: 1, kind: 'value', value: { $undefined: true } });
    expect(await raw.request([{ op: 'get', key: 'a'.repeat(4097) }])).toMatchObject({ kind: 'error', error: { code: 'BAD_MESSAGE' } });
  });

  test('well-formed tag payloads: $undefined takes any payload; $bigint is -?digits ("-0", "007" yes; "+5", "", "1e3" no)', async () => {
    expect(await call('kinds', [{ $undefined: false }, { $undefined: null }])).toEqual({ id: 1, kind: 'value', value: ['undefined undefined', 'undefined undefined'] });
    expect(await call('kinds', [{ $bigint: '-0' }, { $bigint: '007' }, { $bigint: '-12' }])).toEqual({ id: 1, kind: 'value', value: ['bigint 0', 'bigint 7', 'bigint -12'] });
    for (const bad of ['+5', '', '1e3', ' 5', '5n', 5]) {
      expect(await call('kinds', [{ $bigint: bad }])).toMatchObject({ kind: 'error', error: { name: 'ProtocolError', code: 'BAD_VALUE' } });
    }
    for (const bad of ['nan', 'Inf', '+0', 0]) {
      expect(await call('kinds', [{ $number: bad }])).toMatchObject({ kind: 'error', error: { code: 'BAD_VALUE' } });
    }
  });

  test('$date takes what JavaScript’s Date parses (not only ISO 8601), or "Invalid Date"; anything else is BAD_VALUE', async () => {
    const r = await call('kinds', [{ $date: '2024-05-06' }, { $date: '2024-05-06T07:08:09Z' }, { $date: '+275760-09-13T00:00:00.000Z' }, { $date: 'Invalid Date' }]);
    expect(r.value.slice(0, 3)).toEqual(['Date 2024-05-06T00:00:00.000Z', 'Date 2024-05-06T07:08:09.000Z', 'Date +275760-09-13T00:00:00.000Z']);
    expect(r.value[3]).toBe('Date invalid');
    expect((await call('kinds', [{ $date: 'May 6, 2024' }])).kind).toBe('value');
    for (const bad of ['yesterday', '', 0]) expect(await call('kinds', [{ $date: bad }])).toMatchObject({ kind: 'error', error: { code: 'BAD_VALUE' } });
  });

  test('dates before year 0 or after 9999 come in the extended ISO form (sign and six-digit year)', async () => {
    expect(await raw.request([{ op: 'get', key: 'when' }])).toEqual({ id: 1, kind: 'value', value: { $date: '+275760-09-13T00:00:00.000Z' } });
    expect(await raw.request([{ op: 'get', key: 'bc' }])).toEqual({ id: 1, kind: 'value', value: { $date: '-000001-01-01T00:00:00.000Z' } });
  });

  test('$error values (a returned error, a cause) carry no origin; the reply’s own error does', async () => {
    const made = await call('made', []);
    expect(made.value.$error).toMatchObject({ name: 'RangeError', message: 'made, not thrown', cause: { name: 'TypeError', message: 'inner' } });
    expect(made.value.$error.origin).toBeUndefined();
    expect(made.value.$error.cause.origin).toBeUndefined();
    const failed = await call('fail', []);
    expect(failed.error.origin).toMatchObject({ pid: process.pid, op: 1, opName: 'call' });
    expect(failed.error.cause.origin).toBeUndefined();
  });

  test('protocol errors carry no stack', async () => {
    const r = await raw.request([{ op: 'jump' }]);
    expect(r.error).toMatchObject({ name: 'ProtocolError', code: 'UNKNOWN_OP' });
    expect(r.error.stack).toBeUndefined();
  });

  test('__defineGetter__ is refused by the underscore rule (it comes before builtin-member)', async () => {
    expect((await raw.request([{ op: 'get', key: '__defineGetter__' }])).error).toMatchObject({ code: 'ACCESS_DENIED', rule: 'underscore' });
    expect((await raw.request([{ op: 'get', key: 'toString' }])).error).toMatchObject({ code: 'ACCESS_DENIED', rule: 'builtin-member' });
  });

  test('describe: a string lists its indexes; null has no className and no members; an accessor has no type, writable = has a setter', async () => {
    const str = (await raw.request([{ op: 'get', key: 'str' }, { op: 'describe' }])).value;
    expect(str).toMatchObject({ type: 'string', className: 'String', length: 2 });
    expect(str.members.slice(0, 3)).toEqual([
      { name: '0', kind: 'property', type: 'string', own: true, writable: false },
      { name: '1', kind: 'property', type: 'string', own: true, writable: false },
      { name: 'length', kind: 'property', type: 'number', own: true, writable: false },
    ]);
    expect((await raw.request([{ op: 'get', key: 'nothing' }, { op: 'describe' }])).value).toEqual({ type: 'null', members: [] });
    const members = (await raw.request([{ op: 'describe' }])).value.members as { name: string }[];
    expect(members.filter((m) => m.name === 'g' || m.name === 'gs')).toEqual([
      { name: 'g', kind: 'getter', own: false, writable: false },
      { name: 'gs', kind: 'getter', own: false, writable: true },
    ]);
  });
});

test('the TypeScript client fails only the request whose value has a tag it does not know, and carries on', async () => {
  const path = tmpSock('pdoc');
  // A host from a later version: it answers request 1 with a new tag, and every other request plainly.
  const server = net.createServer((sock) => {
    sock.write(JSON.stringify({ kind: 'hello', protocol: 'remoteobj', version: 1, pid: 1, limits: { maxMessageBytes: 1 << 20 } }) + '\n');
    let buf = '';
    sock.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const { id } = JSON.parse(buf.slice(0, nl)) as { id: number };
        buf = buf.slice(nl + 1);
        sock.write(JSON.stringify({ id, kind: 'value', value: id === 1 ? { $stream: 7 } : 'plain' }) + '\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const remote = await connect<{ a: string; b: string }>(path);
  const first = await remote.a.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(first).toBeInstanceOf(ProtocolError);
  expect(first).toMatchObject({ code: 'BAD_VALUE' });
  expect(await remote.b).toBe('plain');
  await remote.$close();
  await new Promise<void>((r) => server.close(() => r()));
});
