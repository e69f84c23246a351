/**
 * Decoded arguments never pollute a prototype. Lines are written by hand on a raw socket (what a
 * hostile client sends, not what the library's client would), with `__proto__`, `constructor` and
 * `prototype` keys at the top level, nested, inside tagged values and in the request envelope.
 * The host runs in this process, so its Object.prototype is this test's: checked after every case.
 */
import { type Host, serve } from 'remoteobj';
import { RawClient } from './fixtures/host-kit';
import { tmpSock } from './helpers';

/** What the host method saw, reported as plain facts (computed host-side, where pollution would happen). */
interface Facts {
  protoIsObjectPrototype: boolean;
  ownProtoKey: boolean;
  inheritedPolluted: unknown;
  freshObjectPolluted: unknown;
}

const received: unknown[] = [];

function facts(v: unknown): Facts {
  const o = v as Record<string, unknown>;
  return {
    protoIsObjectPrototype: Object.getPrototypeOf(o) === Object.prototype,
    ownProtoKey: Object.hasOwn(o, '__proto__'),
    // null, not undefined: these facts travel back as plain JSON on the raw socket.
    inheritedPolluted: o.polluted ?? null,
    freshObjectPolluted: ({} as Record<string, unknown>).polluted ?? null,
  };
}

const target = {
  stored: null as unknown,
  keep(v: unknown): Facts {
    received.push(v);
    return facts(v);
  },
  keepAt(path: string, v: unknown): Facts {
    received.push(v);
    let x: any = v;
    for (const k of path.split('.').filter(Boolean)) x = x instanceof Map ? x.get(k) : x instanceof Set ? [...x][Number(k)] : x[k];
    return facts(x);
  },
  /** Does the host's own code still behave? A merge written the naive way would be the classic victim. */
  sanity(): { plain: boolean; emptyKeys: number } {
    const plain = {} as Record<string, unknown>;
    return { plain: plain.polluted === undefined && plain.isAdmin === undefined, emptyKeys: Object.keys(plain).length };
  },
};

let host: Host<typeof target>;
let path: string;
let raw: RawClient;

const objectProtoNames = () => Reflect.ownKeys(Object.prototype).map(String).sort();
const baseline = objectProtoNames();

beforeAll(async () => {
  path = tmpSock('pol');
  host = await serve(target, path, { localBypass: false });
});
beforeEach(async () => {
  raw = await RawClient.open(path);
});
afterEach(async () => {
  await raw.destroy();
  // Nothing anywhere was polluted: no new Object.prototype key, and a fresh object is clean.
  expect(objectProtoNames()).toEqual(baseline);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
});
afterAll(() => host.close());

let nextId = 1;
/** Send one hand-written line (the ops JSON is spliced in as text, so `__proto__` stays a real JSON key). */
const send = (opsJson: string) => raw.ask(JSON.parse(`{"id":${nextId++},"ops":${opsJson}}`));
const sendText = async (line: string) => {
  await raw.write(line + '\n');
  return raw.next();
};

const CLEAN: Facts = { protoIsObjectPrototype: true, ownProtoKey: true, inheritedPolluted: null, freshObjectPolluted: null };

describe('a __proto__ key in an argument arrives as plain own data', () => {
  // Each payload is raw JSON text; `at` is where the object with the own __proto__ key sits.
  test.each([
    ['at the top level', '{"__proto__":{"polluted":1,"isAdmin":true}}', ''],
    ['holding null', '{"__proto__":null}', ''],
    ['holding an array', '{"__proto__":[1,2]}', ''],
    ['nested in objects', '{"a":{"b":{"__proto__":{"polluted":1}}}}', 'a.b'],
    ['nested in arrays', '{"a":[0,{"__proto__":{"polluted":1}}]}', 'a.1'],
    ['inside $escape', '{"$escape":{"__proto__":{"polluted":1}}}', ''],
    ['as a $map value', '{"$map":[["k",{"__proto__":{"polluted":1}}]]}', 'k'],
    ['as a $set item', '{"$set":[{"__proto__":{"polluted":1}}]}', '0'],
    ['twice in one object', '{"__proto__":{"polluted":1},"x":{"__proto__":{"polluted":2}}}', 'x'],
  ])('%s', async (_what, payload, at) => {
    // JSON.stringify would drop a real __proto__ key; the request is built as text.
    await raw.write(`{"id":${nextId},"ops":[{"op":"get","key":"keepAt"},{"op":"call","args":[${JSON.stringify(at)},${payload}]}]}\n`);
    const reply = await raw.next();
    expect(reply).toMatchObject({ id: nextId++, kind: 'value' });
    expect(reply.value).toEqual(CLEAN);
  });

  test('the top-level object keeps its own __proto__ key with the sent value, readable as data', async () => {
    const reply = await send('[{"op":"get","key":"keep"},{"op":"call","args":[{"__proto__":{"polluted":1},"a":1}]}]');
    expect(reply.value).toEqual(CLEAN);
    const kept = received.at(-1) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(kept, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(kept.a).toBe(1);
  });

  test('constructor and prototype keys are plain data too (no Object.prototype reached through them)', async () => {
    const reply = await send('[{"op":"get","key":"keep"},{"op":"call","args":[{"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1}}]}]');
    expect(reply.kind).toBe('value');
    const kept = received.at(-1) as Record<string, any>;
    expect(Object.hasOwn(kept, 'constructor')).toBe(true);
    expect(kept.constructor).not.toBe(Object);
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  test('in a set value, a has value and a passto argument', async () => {
    expect(await send('[{"op":"set","key":"stored","value":{"__proto__":{"polluted":1}}}]')).toMatchObject({ kind: 'value' });
    expect(facts(target.stored)).toEqual(CLEAN);
    expect(await send('[{"op":"get","key":"stored"},{"op":"has","value":{"__proto__":{"polluted":1}}}]')).toMatchObject({ kind: 'error' }); // "in <object>" needs a key
    expect(await send('[{"op":"get","key":"stored"},{"op":"passto","name":"JSON.stringify","args":[{"__proto__":{"polluted":1}}]}]')).toMatchObject({ kind: 'value' });
  });

  test('in an $error tag (errors are rebuilt from an allowlist, never by a wire name)', async () => {
    const reply = await send('[{"op":"get","key":"keep"},{"op":"call","args":[{"$error":{"name":"TypeError","message":"m","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}]}]');
    expect(reply.kind).toBe('value');
    const err = received.at(-1) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(Object.getPrototypeOf(err)).toBe(TypeError.prototype);
  });

  test('deeply nested __proto__ keys, 150 levels down', async () => {
    let payload = '{"leaf":1}';
    for (let i = 0; i < 150; i++) payload = `{"__proto__":{"polluted":${i}},"n":${payload}}`;
    const reply = await send(`[{"op":"get","key":"keep"},{"op":"call","args":[${payload}]}]`);
    expect(reply.value).toEqual(CLEAN);
    let o = received.at(-1) as Record<string, unknown>;
    for (let i = 0; i < 150; i++) {
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      o = o.n as Record<string, unknown>;
    }
  });
});

describe('__proto__ in the request itself is refused as a bad message', () => {
  test.each([
    ['in the envelope', '{"id":1,"ops":[{"op":"get","key":"sanity"}],"__proto__":{"polluted":1}}'],
    ['in an op', '{"id":1,"ops":[{"op":"get","key":"sanity","__proto__":{"op":"call","polluted":1}}]}'],
    ['as the ops', '{"id":1,"ops":{"__proto__":[]}}'],
    ['replacing an op', '{"id":1,"ops":[{"__proto__":{"op":"get","key":"sanity"}}]}'],
  ])('%s', async (_what, line) => {
    const reply = await sendText(line);
    expect(reply).toMatchObject({ kind: 'error', error: { code: 'BAD_MESSAGE' } });
  });

  test('as a key to get, set or delete: refused by the access rules', async () => {
    for (const op of ['{"op":"get","key":"__proto__"}', '{"op":"set","key":"__proto__","value":{"polluted":1}}', '{"op":"del","key":"__proto__"}']) {
      const reply = await send(`[{"op":"get","key":"stored"},${op}]`);
      expect(reply).toMatchObject({ kind: 'error', error: { code: 'ACCESS_DENIED' } });
    }
  });

  test('after all of it the host and its code are intact and other requests still work', async () => {
    expect((await send('[{"op":"get","key":"sanity"},{"op":"call"}]')).value).toEqual({ plain: true, emptyKeys: 0 });
  });
});
