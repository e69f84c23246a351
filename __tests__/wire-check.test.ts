/**
 * The hello, the client's opt-in to protocol 2 and error replies are read without zod when they
 * are plainly well-formed (wire.ts isPlainHello, plainClientHelloFeatures, isPlainErrorReply), so
 * that a session of canonical lines (and failed calls) never loads zod. Whatever they accept, the schema must accept with the same data; what
 * they leave to the schema, the schema decides. Checked on the library's own lines, on edits of
 * every field, and on random JSON; and a real session of canonical lines leaves zod unloaded.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { ClientHello, ControlSchema, Hello, MAX_ITEMS_PER_LINE, ReplySchema } from '../src/protocol/messages';
import { readCanonicalItem, readCanonicalItems } from '../src/protocol/line-reader';
import { clientHelloLine, errorReplyLine, helloLine, isPlainErrorReply, isPlainHello, isPlainItemMessage, plainClientHelloFeatures, readClientHello, readHello, readLineV2 } from '../src/protocol/wire';
import { connect, ProtocolError } from 'remoteobj';
import { ROOT, tmpSock } from './helpers';

const run = promisify(execFile);

/** Values a field may be given by a peer: right, wrong type, edge numbers, nested. */
const ODD_VALUES: unknown[] = [
  undefined, null, true, 0, -0, 1, 2, -1, 1.5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53) + 1, -(2 ** 53), 1e300, '1', '', 'hello', 'remoteobj', 'Remoteobj',
  [], [1], ['items'], {}, { a: 1 },
];

function helloVariants(): unknown[] {
  const base = JSON.parse(helloLine({ pid: 4242, maxMessageBytes: 1 << 20 })) as Record<string, unknown>;
  const withAuth = JSON.parse(helloLine({ pid: 7, maxMessageBytes: 65536, auth: { method: 'hmac-sha256-lines', nonce: 'ab'.repeat(32) } })) as Record<string, unknown>;
  const out: unknown[] = [base, withAuth, null, [], 'hello', 1, [base]];
  for (const b of [base, withAuth]) {
    for (const key of ['kind', 'protocol', 'version', 'pid', 'versions', 'features', 'limits', 'auth', 'extra']) {
      for (const v of ODD_VALUES) {
        const m: Record<string, unknown> = { ...b };
        if (v === undefined) delete m[key];
        else m[key] = v;
        out.push(m);
      }
    }
  }
  return out;
}

function clientHelloVariants(): unknown[] {
  const lines = [clientHelloLine(), clientHelloLine(['items'])];
  const out: unknown[] = lines.map((l) => JSON.parse(l));
  const featureLists: unknown[] = [
    undefined, null, [], ['items'], ['x'.repeat(64)], ['x'.repeat(65)], Array(64).fill('a'), Array(65).fill('a'), ['é'], ['😀'.repeat(32)], ['😀'.repeat(33)], [1], [null], ['items', 2], 'items', {}, ['\n'], ['~'], [' '],
  ];
  for (const version of [2, 1, 3, '2', 2.5, null, undefined]) {
    for (const kind of ['hello', 'Hello', undefined, 1]) {
      for (const features of featureLists) {
        for (const extra of [undefined, 1]) {
          const m: Record<string, unknown> = {};
          if (kind !== undefined) m.kind = kind;
          if (version !== undefined) m.version = version;
          if (features !== undefined) m.features = features;
          if (extra !== undefined) m.extra = extra;
          out.push(m);
        }
      }
    }
  }
  return [...out, null, [], 'hello', [{ kind: 'hello', version: 2 }]];
}

/** Random JSON values of a few levels, biased towards the keys and values the checks look at. */
function randomJson(seed: number, n: number): unknown[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const keys = ['kind', 'protocol', 'version', 'pid', 'features', 'auth', 'limits', 'x'];
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 2 || r < 0.6) return pick(ODD_VALUES.filter((v) => v !== undefined));
    if (r < 0.8) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): Record<string, unknown> => {
    const m: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 5); i > 0; i--) m[pick(keys)] = value(depth);
    return m;
  };
  return Array.from({ length: n }, () => {
    const m = object(0);
    if (rnd() < 0.5) m.kind = 'hello';
    if (rnd() < 0.4) m.version = pick([1, 2, 2.5]);
    if (rnd() < 0.3) m.protocol = 'remoteobj';
    if (rnd() < 0.3) m.pid = pick([1, 12345, 1.5, -3]);
    return m;
  });
}

test("the library's own hello and opt-in lines are read without zod", () => {
  expect(isPlainHello(JSON.parse(helloLine({ pid: 4242, maxMessageBytes: 1 << 20 })))).toBe(true);
  expect(isPlainHello(JSON.parse(helloLine({ pid: 7, maxMessageBytes: 65536, auth: { method: 'hmac-sha256-lines', nonce: 'ab'.repeat(32) } })))).toBe(true);
  expect(plainClientHelloFeatures(JSON.parse(clientHelloLine()))).toEqual([]);
  expect(plainClientHelloFeatures(JSON.parse(clientHelloLine(['items'])))).toEqual(['items']);
});

test('a hello read without zod is one the schema accepts, to the same data; readHello gives what the schema gives for every variant', () => {
  const all = [...helloVariants(), ...randomJson(1, 3000)];
  let plain = 0;
  for (const msg of all) {
    const parsed = Hello.safeParse(msg);
    if (isPlainHello(msg)) {
      plain++;
      if (!parsed.success || !isDeepStrictEqual(parsed.data, msg)) throw new Error(`read without zod, but the schema says otherwise: ${JSON.stringify(msg)}`);
    }
    const got = readHello(JSON.stringify(msg) ?? 'undefined');
    // What the schema accepts is a hello, unless its "auth" is there and not an object (the test below).
    const auth = parsed.success ? (parsed.data as { auth?: unknown }).auth : undefined;
    const hello = parsed.success && (auth === undefined || (typeof auth === 'object' && auth !== null && !Array.isArray(auth)));
    if ((got.kind === 'hello') !== hello) throw new Error(`readHello ${got.kind}, the schema ${parsed.success}: ${JSON.stringify(msg)}`);
    if (got.kind === 'hello' && parsed.success && (got.version !== parsed.data.version || got.pid !== parsed.data.pid)) throw new Error(`readHello's fields differ: ${JSON.stringify(msg)}`);
  }
  expect(plain).toBeGreaterThan(100);
});

test("an opt-in read without zod is one the schema accepts, to the same features; readClientHello gives what the schema gives for every variant", () => {
  const all = [...clientHelloVariants(), ...randomJson(2, 3000)];
  let plain = 0;
  for (const msg of all) {
    const parsed = ClientHello.safeParse(msg);
    const features = plainClientHelloFeatures(msg);
    if (features !== undefined) {
      plain++;
      if (!parsed.success || !isDeepStrictEqual(parsed.data.features ?? [], features)) throw new Error(`read without zod, but the schema says otherwise: ${JSON.stringify(msg)}`);
    }
    const line = JSON.stringify(msg) ?? 'undefined';
    const got = readClientHello(line);
    const want = line.includes('"hello"') && parsed.success ? { features: (parsed.data.features ?? []).filter((f) => f === 'items') } : undefined;
    if (!isDeepStrictEqual(got, want)) throw new Error(`readClientHello ${JSON.stringify(got)}, the schema ${JSON.stringify(want)}: ${line}`);
  }
  expect(plain).toBeGreaterThan(20);
});

test("an error reply read without zod is one the schema accepts, to the same data; readLineV2 gives what the schema gives for every variant", () => {
  const wire = { name: 'TypeError', message: 'x is not a function', stack: 'TypeError: x\n    at f (a.js:1:1)', code: 'E', origin: { pid: 1 } };
  const out: unknown[] = [JSON.parse(errorReplyLine(7, wire as never)), JSON.parse(errorReplyLine(null, wire as never)), JSON.parse(errorReplyLine('abc', wire as never))];
  const ids: unknown[] = [undefined, null, 0, 7, -1, 1.5, 2 ** 53 - 1, 2 ** 53, '', 'x'.repeat(128), 'x'.repeat(129), '😀'.repeat(64), '😀'.repeat(65), true, [], {}];
  const errors: unknown[] = [undefined, null, [], 'boom', {}, { name: 'E' }, { message: 'm' }, { name: 'E', message: 'm' }, { name: 1, message: 'm' }, { name: 'E', message: null }, { name: 'E', message: 'm', cause: { name: 'C', message: 'c' } }, wire];
  for (const id of ids) {
    for (const error of errors) {
      for (const extra of [undefined, 1]) {
        const m: Record<string, unknown> = { kind: 'error' };
        if (id !== undefined) m.id = id;
        if (error !== undefined) m.error = error;
        if (extra !== undefined) m.extra = extra;
        out.push(m);
      }
    }
  }
  let plain = 0;
  for (const msg of [...out, ...randomJson(3, 2000).map((m) => ({ ...(m as object), kind: 'error' }))]) {
    const parsed = ReplySchema.safeParse(msg);
    if (isPlainErrorReply(msg as object)) {
      plain++;
      if (!parsed.success || !isDeepStrictEqual(parsed.data, msg)) throw new Error(`read without zod, but the schema says otherwise: ${JSON.stringify(msg)}`);
    }
    const got = readLineV2(JSON.stringify(msg), {}) as { type?: string; reply?: unknown };
    if ((got.type === 'reply') !== parsed.success) throw new Error(`readLineV2 ${got.type ?? 'a fault'}, the schema ${parsed.success}: ${JSON.stringify(msg)}`);
    if (parsed.success && !isDeepStrictEqual(got.reply, parsed.data)) throw new Error(`readLineV2's reply differs from the schema's: ${JSON.stringify(msg)}`);
  }
  expect(plain).toBeGreaterThan(30);
});

test("a stream's item and items lines read without zod are ones the schema accepts, to the same data; readLineV2 gives what the schema gives for every variant", () => {
  const streams = ['0', '1', '7', '9007199254740991', '9007199254740992', '99999999999999999999', '01', '-1', '1.5', '1e3', '"1"', 'null'];
  const lists = ['[]', '[1]', '[{"n":1},"x",null]', `[${Array(MAX_ITEMS_PER_LINE).fill('0').join(',')}]`, `[${Array(MAX_ITEMS_PER_LINE + 1).fill('0').join(',')}]`, '{"a":1}', '1', '"x"', '[1,]'];
  const lines: string[] = [];
  for (const stream of streams) {
    lines.push(`{"kind":"item","stream":${stream},"value":{"n":1}}`, `{"kind":"item","stream":${stream},"value":{"$bytes":"AAEC"}}`);
    for (const list of lists) lines.push(`{"kind":"items","stream":${stream},"values":${list}}`);
  }
  for (const extra of ['', ',"x":1']) {
    lines.push(`{"kind":"item","stream":1,"value":1${extra}}`, `{"kind":"items","stream":1,"values":[1]${extra}}`, `{"stream":1,"kind":"items","values":[1]${extra}}`);
  }
  for (const v of randomJson(5, 500)) lines.push(`{"kind":"item","stream":3,"value":${JSON.stringify(v)}}`, `{"kind":"items","stream":3,"values":[${JSON.stringify(v)}]}`);
  let plain = 0;
  for (const line of lines) {
    let parsed: { success: boolean; data?: unknown };
    try {
      parsed = ControlSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = { success: false };
    }
    const got = readLineV2(line, {}) as { type?: string; message?: unknown };
    if ((got.type === 'control') !== parsed.success) throw new Error(`readLineV2 ${got.type ?? 'a fault'}, the schema ${parsed.success}: ${line.slice(0, 200)}`);
    if (parsed.success && !isDeepStrictEqual(got.message, parsed.data)) throw new Error(`readLineV2's message differs from the schema's: ${line.slice(0, 200)}`);
    const item = readCanonicalItems(line) ?? readCanonicalItem(line);
    if (item !== undefined && isPlainItemMessage(item)) plain++;
  }
  expect(plain).toBeGreaterThan(1000);
});

test('a session of canonical lines (connect, get, call, bytes, a failed call, close) does not load zod', async () => {
  // The built package, in a fresh process: what a user's process (the CLI, a host) loads.
  const script = `
    const lib = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    const zod = () => Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]zod[\\\\/]/.test(k));
    const sock = require('node:path').join(require('node:os').tmpdir(), 'ro-wcheck-' + process.pid + '.sock');
    (async () => {
      const seen = { loaded: zod() };
      const host = await lib.serve({ kind: 'counter', add: (x) => x + 1, tags: ['a'], bytes: new Uint8Array([1, 2]) }, sock, { localBypass: false });
      const r = await lib.connect(sock, { localBypass: false });
      seen.connected = zod();
      await r.kind; await r.add(2); await r.tags; await r.bytes;
      seen.canonical = zod();
      await r.nothere().catch(() => {});
      seen.afterError = zod();
      await r.$close(); await host.close();
      console.log(JSON.stringify(seen));
    })();
  `;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT });
  expect(JSON.parse(stdout)).toEqual({ loaded: false, connected: false, canonical: false, afterError: false });
});

test('a hello whose "auth" is there but not an object is a malformed hello (ProtocolError BAD_MESSAGE over a real socket), not a TypeError', async () => {
  for (const auth of [null, 1, 'hmac-sha256-lines', []]) {
    expect(readHello(JSON.stringify({ kind: 'hello', protocol: 'remoteobj', version: 1, pid: 1, auth }))).toMatchObject({ kind: 'other' });
  }
  // A host that greets so, on a real socket.
  const sock = tmpSock('wcheck');
  const server = net.createServer((s) => s.end('{"kind":"hello","protocol":"remoteobj","version":1,"versions":[1,2],"pid":1,"auth":null}\n'));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    const err = await connect(sock, { localBypass: false, timeout: 5000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('"auth" is not an object') });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
