/**
 * `npm run fuzz -- [--seed N] [--count N] [--time-limit MS] [--connections N] [--max-message-bytes N] [--json]`
 *
 * Throws random and mutated lines at a live host in a child process — truncated JSON, wrong types,
 * huge numbers, deep nesting, unknown ops, invalid UTF-8, NUL bytes, enormous strings, hostile
 * keys, valid-but-weird requests — written in random-sized chunks (so lines and multi-byte
 * characters are split across writes, and many lines share one write), while a well-behaved
 * client keeps working and checks every answer it gets.
 *
 * It passes when: the host never exits, every fuzz connection answers a probe after its batch
 * (no hang), every reply line the host sends is a well-formed reply, every checked request (a
 * valid request with a known answer) got exactly that answer, the good client saw every answer
 * correct, and a fresh client is served after the run and close() completes (exit code 0).
 *
 * Reproducible: the same --seed and --count send the same lines (the good client's timing varies).
 * Bounded: stops after --count lines or --time-limit ms, whichever comes first.
 * Exit code 0 on success, 1 on any failure (listed).
 *
 * Also the host side: `fuzz.ts --host <socketPath> <maxMessageBytes>` (what the runner spawns).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inspect, isDeepStrictEqual } from 'node:util';
import { connect, type Remote, serve, waitUntilListening } from '../src/index';
import { decode, encode } from '../src/protocol/codec';
import { CONTROL_KINDS, ControlSchema, RequestV2Schema } from '../src/protocol/messages';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32): same seed, same sequence, on every platform.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** A size skewed towards small values: most inputs are short, a few are long. */
  size(max: number): number {
    return Math.floor(Math.pow(this.next(), 3) * max);
  }
}

// ---------------------------------------------------------------------------------------------
// The hosted object.

/** Names the good client relies on: the host's policy refuses set/del of them at the root. */
export const PROTECTED = new Set(['goodEcho', 'add', 'bumpSlot', 'constants', 'probe', 'memory', 'stats']);

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export const CONSTANTS = { answer: 42, list: [1, 'two', { three: 3 }], text: 'héllo €𝄞' };

export class FuzzTarget {
  n = 1;
  s = 'text';
  flag = true;
  nothing = null;
  /** Frozen: a fuzzed `set length` cannot turn it into a billion-element array. */
  items = Object.freeze([1, 2, 3]);
  map = new Map<unknown, unknown>([['k', 1]]);
  nested = { a: { b: { c: [1, { d: 2 }] } } };
  scratch: Record<string, unknown> = {};
  readonly constants = deepFreeze(structuredClone(CONSTANTS));
  private readonly _slots = new Map<string, number>();
  private _calls = 0;

  goodEcho<T>(x: T): T {
    this._calls++;
    return x;
  }
  add(a: number, b: number): number {
    this._calls++;
    return a + b;
  }
  /** The good client's own counter, under a random key only it knows. */
  bumpSlot(key: string, by: number): number {
    this._calls++;
    const v = (this._slots.get(String(key)) ?? 0) + Number(by);
    this._slots.set(String(key), v);
    return v;
  }
  concat(...xs: unknown[]): string {
    return xs.map(String).join('').slice(0, 1000);
  }
  async later<T>(x: T): Promise<T> {
    await new Promise((r) => setImmediate(r));
    return x;
  }
  throws(message: unknown): never {
    throw new TypeError(String(message).slice(0, 100));
  }
  probe(): string {
    return 'alive';
  }
  stats(): { calls: number; slots: number } {
    return { calls: this._calls, slots: this._slots.size };
  }
  memory(): NodeJS.MemoryUsage {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage();
  }
}

async function runHost(socketPath: string, maxMessageBytes: number): Promise<void> {
  const host = await serve(new FuzzTarget(), socketPath, {
    maxMessageBytes,
    localBypass: false,
    acceptRegExp: true, // every tag round-trips here; the default refusal of $regexp is security-regexp.test.ts's
    // The fuzzer may send any valid request: it must not replace what the good client relies on.
    policy: (req) => !((req.kind === 'set' || req.kind === 'del') && req.path.length === 1 && PROTECTED.has(req.key)),
  });
  process.once('SIGTERM', () => {
    void host.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

// ---------------------------------------------------------------------------------------------
// Line generators. Each returns the bytes of one line without its "\n".

const VOCAB = ['n', 's', 'flag', 'nothing', 'items', 'map', 'nested', 'a', 'b', 'c', 'd', 'scratch', 'concat', 'later', 'throws', 'get', 'size', 'length', 'has', 'includes', 'at', 'x', '0', '1', ''];
const HOSTILE = [
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
  'prototype',
  '_calls',
  '_slots',
  '$get',
  '$escape',
  '$',
  '_',
  'then',
  'toJSON',
];
const OPS = ['get', 'call', 'set', 'del', 'has', 'len', 'passto', 'super', 'describe'];
const FUNCS = ['String', 'Number', 'Boolean', 'Object.keys', 'Object.entries', 'Array.from', 'JSON.stringify', 'eval', 'require'];
const UNICODE = ['é', '€', '𝄞', '😀', '中文', '\u0000', '\u2028', '\ud800', '\udfff', '\ufeff', '"', '\\', '\n', '\r', '\t'];

export interface GenContext {
  rng: Rng;
  maxMessageBytes: number;
  /** Checked requests: id → the reply value the host must send (encoded). */
  expect: Map<string, unknown>;
  nextCheckId: number;
  /** How often each generator ran. */
  kinds: Record<string, number>;
}

function randomKey(g: GenContext): string | number {
  const { rng } = g;
  const r = rng.next();
  if (r < 0.55) return rng.pick(VOCAB);
  if (r < 0.75) return rng.pick(HOSTILE);
  if (r < 0.85) return rng.int(0, 5);
  return randomString(g, 20);
}

function randomString(g: GenContext, max: number): string {
  const { rng } = g;
  let s = '';
  const n = rng.size(max);
  for (let i = 0; i < n; i++) s += rng.chance(0.2) ? rng.pick(UNICODE) : String.fromCharCode(rng.int(32, 126));
  return s;
}

/** A random value that the codec can send (for args, set values, checked echoes). */
function randomValue(g: GenContext, depth = 0): unknown {
  const { rng } = g;
  const r = rng.int(0, depth > 3 ? 6 : 14);
  switch (r) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.int(-1e6, 1e6);
    case 3:
      return rng.pick([0.5, -0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, 1e308]);
    case 4:
      return randomString(g, 40);
    case 5:
      return undefined;
    case 6:
      return BigInt(rng.int(-1e9, 1e9)) * 10n ** BigInt(rng.int(0, 30));
    case 7:
      return Array.from({ length: rng.size(6) }, () => randomValue(g, depth + 1));
    case 8: {
      const o: Record<string, unknown> = {};
      // Own keys, `__proto__` included (assigning it would set the object's prototype instead).
      for (let i = rng.size(5); i > 0; i--) {
        Object.defineProperty(o, String(randomKey(g)), { value: randomValue(g, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    case 9:
      return new Map(Array.from({ length: rng.size(4) }, () => [randomValue(g, depth + 1), randomValue(g, depth + 1)] as const));
    case 10:
      return new Set(Array.from({ length: rng.size(4) }, () => randomString(g, 8)));
    case 11:
      return new Date(rng.int(-1e12, 4e12));
    case 12:
      return new Uint8Array(Array.from({ length: rng.size(16) }, () => rng.int(0, 255)));
    case 13:
      return { [`$${randomString(g, 5)}`]: randomValue(g, depth + 1) }; // looks like a tag: must travel escaped
    default:
      return /a+b?[cd]/giu;
  }
}

/** A random op chain, mostly well-formed (the "valid but weird" end of the spectrum). */
function randomOps(g: GenContext): unknown[] {
  const { rng } = g;
  const ops: unknown[] = [];
  const n = rng.chance(0.02) ? rng.int(200, 300) : rng.size(6);
  for (let i = 0; i < n; i++) {
    const op = rng.chance(0.9) ? rng.pick(['get', 'get', 'get', 'call', 'call', 'set', 'del', 'has', 'len', 'passto', 'super', 'describe']) : rng.pick(OPS);
    switch (op) {
      case 'get':
      case 'del':
        ops.push({ op, key: randomKey(g) });
        break;
      case 'call':
        ops.push({ op, args: Array.from({ length: rng.size(4) }, () => safeEncode(randomValue(g))) });
        break;
      case 'set':
        ops.push({ op, key: randomKey(g), value: safeEncode(randomValue(g)) });
        break;
      case 'has':
        ops.push({ op, value: safeEncode(randomValue(g)) });
        break;
      case 'passto':
        ops.push({ op, name: rng.pick(FUNCS), args: rng.chance(0.5) ? [] : [rng.int(0, 4)] });
        break;
      case 'super':
        ops.push({ op, key: randomKey(g), depth: rng.int(1, 3) });
        break;
      default:
        ops.push({ op });
    }
  }
  return ops;
}

/**
 * A value as the other side sees it: encoded, written as JSON text, parsed, decoded. (The codec may
 * hand back null-prototype objects in process; only the text form says what travels.)
 */
export function throughWire(v: unknown): unknown {
  return decode(JSON.parse(JSON.stringify(encode(v, 'wire'))));
}

function safeEncode(v: unknown): unknown {
  try {
    return encode(v, 'fuzz');
  } catch {
    return null;
  }
}

function randomId(g: GenContext): unknown {
  const { rng } = g;
  return rng.pick<() => unknown>([
    () => rng.int(0, 1e6),
    () => `s-${rng.int(0, 1000)}`,
    () => rng.pick([0, -1, 2 ** 53, 2 ** 53 + 2, 1e308, -0, 0.5, null, true, [], {}, 'x'.repeat(200)]),
  ])();
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v) ?? 'null');
}

function nested(depth: number, open: string, close: string, leaf: string): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

type Gen = (g: GenContext) => Buffer;

const GENERATORS: [name: string, weight: number, gen: Gen][] = [
  ['random-bytes', 8, ({ rng }) => Buffer.from(Array.from({ length: rng.size(300) }, () => rng.int(0, 255)))],
  ['random-ascii', 5, (g) => Buffer.from(randomString(g, 200))],
  [
    'truncated-json',
    12,
    (g) => {
      const full = json({ id: randomId(g), ops: randomOps(g) });
      return full.subarray(0, g.rng.int(0, Math.max(0, full.length - 1)));
    },
  ],
  [
    'wrong-types',
    10,
    (g) => {
      const { rng } = g;
      const req: Record<string, unknown> = { id: rng.int(0, 1e6), ops: randomOps(g) };
      const wrong = () => rng.pick<unknown>([null, true, 1.5, -7, 'str', [], {}, [1, 'a'], { op: 'get' }]);
      const where = rng.int(0, 5);
      if (where === 0) req.id = wrong();
      else if (where === 1) req.ops = wrong();
      else if (where === 2) req.kind = wrong();
      else {
        const ops = (req.ops as Record<string, unknown>[]).length ? (req.ops as Record<string, unknown>[]) : [{ op: 'get', key: 'n' }];
        req.ops = ops;
        const op = rng.pick(ops);
        op[rng.pick(['op', 'key', 'args', 'value', 'name', 'depth', 'extra'])] = wrong();
      }
      return rng.chance(0.2) ? json(rng.pick([wrong(), [req], 'request', 42])) : json(req);
    },
  ],
  [
    'huge-numbers',
    6,
    ({ rng }) => {
      const big = rng.pick(['1e400', '-1e400', '9'.repeat(rng.int(20, 5000)), '123456789012345678901234567890', '1e-400', '-0', '0.0000000000000000001', '2e308']);
      const where = rng.int(0, 3);
      if (where === 0) return Buffer.from(`{"id":${big},"ops":[]}`);
      if (where === 1) return Buffer.from(`{"id":1,"ops":[{"op":"get","key":${big}}]}`);
      if (where === 2) return Buffer.from(`{"id":1,"ops":[{"op":"super","key":"x","depth":${big}}]}`);
      return Buffer.from(`{"id":1,"ops":[{"op":"get","key":"add"},{"op":"call","args":[${big},${big}]}]}`);
    },
  ],
  [
    'deep-nesting',
    6,
    ({ rng }) => {
      const depth = rng.pick([50, 199, 200, 201, 1000, 10_000, rng.int(1, 100_000)]);
      const [open, close] = rng.pick([
        ['[', ']'],
        ['{"a":', '}'],
        ['{"$escape":{"a":', '}}'],
        ['{"$map":[["k",', ']]}'],
      ] as const);
      const inner = nested(depth, open, close, '1');
      return Buffer.from(rng.chance(0.3) ? inner : `{"id":1,"ops":[{"op":"get","key":"goodEcho"},{"op":"call","args":[${inner}]}]}`);
    },
  ],
  [
    'unknown-ops',
    6,
    (g) => {
      const ops = randomOps(g);
      ops.splice(g.rng.int(0, ops.length), 0, { op: g.rng.pick(['exec', 'eval', 'import', 'GET', 'Get', '', 'constructor', '__proto__', randomString(g, 30)]), key: 'x' });
      return json({ id: g.rng.int(0, 1e6), ops });
    },
  ],
  [
    'invalid-utf8',
    6,
    (g) => {
      const base = json({ id: g.rng.int(0, 1e6), ops: [{ op: 'get', key: 'éé€€' }] });
      const bad = g.rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf0, 0x9f, 0x98]]);
      const at = g.rng.int(0, base.length);
      return Buffer.concat([base.subarray(0, at), Buffer.from(bad), base.subarray(at)]);
    },
  ],
  [
    'nul-bytes',
    5,
    (g) => {
      const { rng } = g;
      if (rng.chance(0.5)) return json({ id: rng.int(0, 1e6), ops: [{ op: 'get', key: 'n\u0000' }, { op: 'get', key: '\u0000' }] }); // escaped: valid JSON
      const base = json({ id: rng.int(0, 1e6), ops: [{ op: 'get', key: 'n' }] });
      const at = rng.int(0, base.length);
      return Buffer.concat([base.subarray(0, at), Buffer.alloc(rng.int(1, 10)), base.subarray(at)]);
    },
  ],
  [
    'enormous-string',
    1,
    (g) => {
      const { rng } = g;
      // Near, at and past the limit: the host must refuse the long ones without buffering them whole.
      const target = rng.pick([g.maxMessageBytes - 100, g.maxMessageBytes - 20, g.maxMessageBytes + 1, g.maxMessageBytes * 2, rng.int(1000, g.maxMessageBytes)]);
      const prefix = `{"id":${rng.int(0, 1e6)},"ops":[{"op":"get","key":"goodEcho"},{"op":"call","args":["`;
      const suffix = '"]}]}';
      const fill = Math.max(0, target - prefix.length - suffix.length);
      return Buffer.from(prefix + rng.pick(['x', 'é', '€']).repeat(Math.ceil(fill / 3)) + suffix);
    },
  ],
  [
    'hostile-keys',
    10,
    (g) => {
      const { rng } = g;
      const key = rng.pick(HOSTILE);
      const chain = [rng.pick(['n', 'items', 'map', 'nested', 'scratch', 'add']), key, 'constructor', 'call'].slice(0, rng.int(1, 4));
      const ops: unknown[] = chain.map((k) => ({ op: 'get', key: k }));
      ops.push(rng.pick([{ op: 'call', args: ['return process'] }, { op: 'set', key, value: { polluted: true } }, { op: 'del', key }, { op: 'super', key, depth: rng.int(1, 3) }, { op: 'passto', name: key }]));
      // Build the text by hand so "__proto__" can be a real JSON key inside an argument.
      const arg = `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"${key}":1}`;
      return Buffer.from(`{"id":${rng.int(0, 1e6)},"ops":${JSON.stringify(ops).slice(0, -1)},{"op":"call","args":[${arg}]}]}`);
    },
  ],
  [
    'valid-weird',
    15,
    (g) => {
      const { rng } = g;
      const line = json({ id: randomId(g), ops: randomOps(g), ...(rng.chance(0.1) ? { kind: 'request' } : {}) });
      const wrap = rng.int(0, 9);
      if (wrap === 0) return Buffer.concat([Buffer.from('  \t'), line, Buffer.from('  ')]);
      if (wrap === 1) return Buffer.concat([line, Buffer.from('\r')]); // CRLF
      if (wrap === 2) return Buffer.alloc(0); // a blank line
      if (wrap === 3) return json({ kind: rng.pick(['hello', 'auth', 'value', 'self', 'error']), protocol: 'remoteobj', version: 1, pid: 1, id: 1, ok: true, digest: 'ab' });
      return line;
    },
  ],
  [
    // Protocol 2's message kinds (docs/protocol.md, "Protocol 2"), valid and mutated: on a v2
    // connection each is judged by the host's v2 reader, on a v1 one it is a bad request.
    'v2-messages',
    8,
    (g) => {
      const { rng } = g;
      const id = () => rng.pick<unknown>([rng.int(1, 50), rng.int(0, 1e6), 0, -1, 2 ** 53, 'x', null, 1.5]);
      const refs = () => Array.from({ length: rng.size(5) }, () => rng.pick<unknown>([[id(), id()], [id()], id(), []]));
      const value = () => safeEncode(randomValue(g));
      const tag = () => ({ [rng.pick(['$fn', '$handle', '$stream', '$yours'])]: id() });
      const msgs: (() => unknown)[] = [
        () => ({ kind: 'release', refs: refs() }),
        () => ({ kind: 'cancel', id: id() }),
        () => ({ kind: 'credit', stream: id(), n: id() }),
        () => ({ kind: 'item', stream: id(), value: value() }),
        () => ({ kind: 'end', stream: id(), ...(rng.chance(0.5) ? { error: rng.pick<unknown>([{ name: 'Error', message: 'x' }, 'x', null]) } : {}) }),
        () => ({ kind: 'return', stream: id() }),
        () => ({ id: rng.int(0, 1e6), to: id(), ops: randomOps(g) }),
        () => ({ id: rng.int(0, 1e6), turn: id(), ops: randomOps(g) }),
        () => ({ id: rng.int(0, 1e6), ops: [{ op: 'get', key: 'goodEcho' }, { op: 'call', args: [tag(), value()] }] }),
        () => ({ kind: 'hello', version: rng.pick([2, 1, 3, '2']) }),
        () => ({ id: id(), kind: rng.pick(['value', 'self', 'error']), value: value(), error: { name: 'E', message: 'm' } }),
      ];
      const msg = rng.pick(msgs)() as Record<string, unknown>;
      if (rng.chance(0.2)) msg[rng.pick(['extra', 'kind', 'stream', 'refs'])] = rng.pick<unknown>([1, 'bogus', null, [], {}]);
      return json(msg);
    },
  ],
  [
    'checked',
    10,
    (g) => {
      // A valid request whose answer is known: the reply must be exactly that.
      const { rng } = g;
      const id = `chk-${g.nextCheckId++}`;
      const r = rng.int(0, 3);
      let ops: unknown[];
      let value: unknown;
      if (r === 0) {
        const arg = safeEncode(randomValue(g));
        ops = [{ op: 'get', key: 'goodEcho' }, { op: 'call', args: [arg] }];
        // What the reply carries: the host decodes the argument from the line, echoes it, encodes it again.
        const onHost = decode(JSON.parse(JSON.stringify(arg)));
        value = JSON.parse(JSON.stringify(safeEncode(onHost)));
      } else if (r === 1) {
        const a = rng.int(-1e9, 1e9);
        const b = rng.int(-1e9, 1e9);
        ops = [{ op: 'get', key: 'add' }, { op: 'call', args: [a, b] }];
        value = a + b;
      } else if (r === 2) {
        ops = [{ op: 'get', key: 'constants' }, { op: 'get', key: 'list' }, { op: 'get', key: 2 }, { op: 'get', key: 'three' }];
        value = 3;
      } else {
        ops = [{ op: 'get', key: 'constants' }, { op: 'get', key: 'text' }, { op: 'len' }];
        value = CONSTANTS.text.length;
      }
      g.expect.set(id, value);
      return json({ id, ops });
    },
  ],
];

const TOTAL_WEIGHT = GENERATORS.reduce((n, [, w]) => n + w, 0);

export function generateLine(g: GenContext): Buffer {
  let r = g.rng.next() * TOTAL_WEIGHT;
  for (const [name, weight, gen] of GENERATORS) {
    r -= weight;
    if (r < 0) {
      g.kinds[name] = (g.kinds[name] ?? 0) + 1;
      return gen(g);
    }
  }
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------
// Running a host in a child process.

const ROOT = path.resolve(__dirname, '..');
const NEWLINE = Buffer.from('\n');

/** Spawn this file (or another script exporting a `--host` mode) as a host; resolves once listening. */
export async function startChildHost(script: string, args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--expose-gc', '-r', 'ts-node/register', script, '--host', ...args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never leave the host behind, even if this process dies of an error.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitUntilListening(args[0]!, { process: child, timeout: 20_000 });
  return { child, output: () => out };
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    child.kill(signal);
  });
}

export function tmpSocketPath(tag: string): string {
  return path.join(os.tmpdir(), `ro-${tag}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
}

// ---------------------------------------------------------------------------------------------
// A raw fuzz connection.

/**
 * What is wrong with a line the host sent (parsed), or undefined when it is well-formed: a reply
 * (value, self, or an error with a message, its id a number, string or null), or on a protocol-2
 * connection one of the protocol's other messages, as its schema says (docs/protocol.md,
 * "Protocol 2"). The host sends those to a fuzz connection too: a `release` of the `$fn` tags
 * the fuzz lines passed it once the target's gc() has collected their stand-ins, an `end` of a
 * stream it made of a `$stream` tag it was passed and echoed, a request calling a passed `$fn`.
 */
export function hostLineProblem(line: Record<string, unknown>, v2: boolean): string | undefined {
  const kind = line.kind;
  if (typeof kind === 'string' && (CONTROL_KINDS as readonly string[]).includes(kind)) {
    if (!v2) return `a ${kind} message on a protocol-1 connection`;
    return ControlSchema.safeParse(line).success ? undefined : `a malformed ${kind} message`;
  }
  if ('ops' in line) {
    if (!v2) return 'a request on a protocol-1 connection';
    return RequestV2Schema.safeParse(line).success ? undefined : 'a malformed request';
  }
  const idOk = line.id === null || typeof line.id === 'number' || typeof line.id === 'string';
  const kindOk = kind === 'value' || kind === 'self' || (kind === 'error' && typeof (line.error as { message?: unknown })?.message === 'string');
  if (!idOk) return 'a reply without a valid id';
  if (!kindOk) return 'neither a reply nor a message of the protocol';
  return undefined;
}

class FuzzConnection {
  replies = 0;
  /** Error codes of the last replies (for diagnostics). */
  lastCodes: string[] = [];
  malformed: string[] = [];
  closed = false;
  private buffer = '';
  private readonly waiters = new Map<string, (reply: Record<string, unknown>) => void>();
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(
    private readonly socket: net.Socket,
    private readonly onReply: (reply: Record<string, unknown>) => void,
    /** Opted into protocol 2: the host may also send the protocol's other messages (hostLineProblem). */
    private readonly v2: boolean,
  ) {}

  /** `v2`: opt into protocol 2 right after the hello, as a v2 client does. */
  static open(socketPath: string, onReply: (reply: Record<string, unknown>) => void, v2 = false): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const conn = new FuzzConnection(socket, onReply, v2);
      let greeted = false;
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => {
        conn.buffer += text;
        let nl: number;
        while ((nl = conn.buffer.indexOf('\n')) !== -1) {
          const line = conn.buffer.slice(0, nl);
          conn.buffer = conn.buffer.slice(nl + 1);
          if (!greeted) {
            greeted = true;
            if (v2) socket.write('{"kind":"hello","version":2}\n');
            resolve(conn);
            continue;
          }
          conn.take(line);
        }
      });
      socket.on('error', (e) => {
        if (!greeted) reject(e);
      });
      // After refusing a line (TOO_LARGE) the host half-closes and stops reading: give up the
      // rest of what we were sending, or our unsent bytes would keep the socket open forever.
      socket.on('end', () => socket.destroy());
      socket.on('close', () => {
        conn.closed = true;
        for (const w of conn.closeWaiters.splice(0)) w();
      });
    });
  }

  private take(line: string): void {
    this.replies++;
    let reply: Record<string, unknown>;
    try {
      reply = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.malformed.push(line.slice(0, 200));
      return;
    }
    if (hostLineProblem(reply, this.v2) !== undefined) this.malformed.push(line.slice(0, 200));
    if (reply.kind === 'error') {
      this.lastCodes.push(`${String(reply.id)}:${String((reply.error as { code?: unknown }).code ?? (reply.error as { name?: unknown }).name)}`);
      if (this.lastCodes.length > 10) this.lastCodes.shift();
    }
    this.onReply(reply);
    if (typeof reply.id === 'string') {
      const w = this.waiters.get(reply.id);
      if (w) {
        this.waiters.delete(reply.id);
        w(reply);
      }
    }
  }

  /** Write in random-sized chunks; resolves when the OS has taken it (or the host hung up). */
  async write(data: Buffer, rng: Rng): Promise<void> {
    let at = 0;
    while (at < data.length && !this.closed) {
      const n = rng.chance(0.3) ? rng.int(1, 16) : rng.int(1, 65_536);
      const chunk = data.subarray(at, at + n);
      at += n;
      const flushed = this.socket.write(chunk);
      if (!flushed && !this.closed) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.socket.off('drain', done);
            this.closeWaiters.splice(this.closeWaiters.indexOf(done) >>> 0, 1);
            resolve();
          };
          this.socket.on('drain', done);
          this.closeWaiters.push(done);
        });
      }
    }
  }

  /** Send a probe and wait for its answer. Resolves false if the host had closed this connection first. */
  probe(id: string, timeoutMs: number): Promise<'answered' | 'closed' | 'timeout'> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      this.waiters.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply.kind === 'value' && reply.value === 'alive' ? 'answered' : 'timeout');
      });
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve('closed');
      });
      this.socket.write(`{"id":${JSON.stringify(id)},"ops":[{"op":"get","key":"probe"},{"op":"call","args":[]}]}\n`);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The well-behaved client.

/** Describe a value for a failure message (String() throws on an object whose toString is data). */
const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity, maxStringLength: 200 });

interface GoodReport {
  requests: number;
  correct: number;
  wrong: string[];
}

async function goodClient(socketPath: string, until: () => boolean, seed: number): Promise<GoodReport> {
  const remote = (await connect<FuzzTarget>(socketPath, { localBypass: false, timeout: 30_000 })) as Remote<FuzzTarget>;
  const rng = new Rng(seed ^ 0x5bd1e995);
  const g: GenContext = { rng, maxMessageBytes: 0, expect: new Map(), nextCheckId: 0, kinds: {} };
  const slot = crypto.randomBytes(16).toString('hex');
  let counter = 0;
  const report: GoodReport = { requests: 0, correct: 0, wrong: [] };
  const check = (what: string, got: unknown, want: unknown) => {
    report.requests++;
    if (isDeepStrictEqual(got, want) || (Number.isNaN(want) && Number.isNaN(got))) report.correct++;
    else report.wrong.push(`${what}: got ${show(got)}, want ${show(want)}`);
  };
  while (!until()) {
    try {
      // A small pipelined batch each round: echoes of random values, sums, the private counter, frozen data.
      const values = Array.from({ length: 4 }, () => randomValue(g));
      const sendable = values.filter((v) => {
        try {
          encode(v, 'x');
          return true;
        } catch {
          return false;
        }
      });
      const a = rng.int(-1e6, 1e6);
      const [echoes, sum, bumped, three] = await Promise.all([
        Promise.all(sendable.map((v) => remote.goodEcho(v))),
        remote.add(a, 7),
        Promise.all([remote.bumpSlot(slot, 1), remote.bumpSlot(slot, 1)]),
        (remote.constants.list[2] as unknown as Remote<{ three: number }>).three,
      ]);
      sendable.forEach((v, i) => check('goodEcho', echoes[i], throughWire(v)));
      check('add', sum, a + 7);
      check('bumpSlot', bumped, [counter + 1, counter + 2]);
      counter += 2;
      check('constants', three, 3);
    } catch (e) {
      report.requests++;
      report.wrong.push(`request failed: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  await remote.$close();
  return report;
}

// ---------------------------------------------------------------------------------------------
// The run.

export interface FuzzOptions {
  seed: number;
  count: number;
  timeLimitMs: number;
  connections: number;
  maxMessageBytes: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  linesSent: number;
  bytesSent: number;
  kinds: Record<string, number>;
  replies: number;
  replyCodes: Record<string, number>;
  malformedReplies: string[];
  checked: number;
  checkedWrong: string[];
  /** Checked requests that got no reply (only possible if the host hung up on them). */
  unansweredChecks: number;
  /** Hang-ups after a batch with no line past the limit (should not happen): evidence. */
  unexpectedHangups: { lines: number; longest: number; last: string; codes: string[] }[];
  reconnects: number;
  probes: { answered: number; closed: number; timeout: number };
  good: GoodReport;
  hostAlive: boolean;
  hostExit: { code: number | null; signal: NodeJS.Signals | null };
  hostOutput: string;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  elapsedMs: number;
  failures: string[];
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const socketPath = tmpSocketPath('fuzz');
  const { child, output } = await startChildHost(__filename, [socketPath, String(opts.maxMessageBytes)]);
  let hostDied = false;
  /** A connection's loop failed (a bug of this script): the others stop too, and the run reports it. */
  let aborted = false;
  child.once('exit', () => (hostDied = true));
  const report: FuzzReport = {
    seed: opts.seed,
    linesSent: 0,
    bytesSent: 0,
    kinds: {},
    replies: 0,
    replyCodes: {},
    malformedReplies: [],
    checked: 0,
    checkedWrong: [],
    unansweredChecks: 0,
    unexpectedHangups: [],
    reconnects: 0,
    probes: { answered: 0, closed: 0, timeout: 0 },
    good: { requests: 0, correct: 0, wrong: [] },
    hostAlive: false,
    hostExit: { code: null, signal: null },
    hostOutput: '',
    rssBefore: 0,
    rssAfter: 0,
    heapBefore: 0,
    heapAfter: 0,
    elapsedMs: 0,
    failures: [],
  };
  try {
    const meter = await connect<FuzzTarget>(socketPath, { localBypass: false });
    const before = await meter.memory();
    report.rssBefore = before.rss;
    report.heapBefore = before.heapUsed;
    await meter.$close();

    const deadline = started + opts.timeLimitMs;
    let fuzzing = true;
    /** Count a reply; check it when it answers a request of known outcome sent on that connection. */
    const onReplyFor = (g: GenContext) => (reply: Record<string, unknown>) => {
      report.replies++;
      const code = reply.kind === 'error' ? String((reply.error as { code?: unknown })?.code ?? (reply.error as { name?: unknown })?.name) : String(reply.kind);
      report.replyCodes[code] = (report.replyCodes[code] ?? 0) + 1;
      if (typeof reply.id === 'string' && g.expect.has(reply.id)) {
        const want = g.expect.get(reply.id);
        g.expect.delete(reply.id);
        report.checked++;
        if (reply.kind !== 'value' || !isDeepStrictEqual(reply.value, want)) {
          report.checkedWrong.push(`${reply.id}: got ${JSON.stringify(reply).slice(0, 300)}, want ${JSON.stringify(want)?.slice(0, 300)}`);
        }
      }
    };
    const good = goodClient(socketPath, () => !fuzzing, opts.seed).catch((e: unknown) => {
      report.failures.push(`the good client failed: ${(e as Error).stack}`);
      return { requests: 0, correct: 0, wrong: [] } as GoodReport;
    });

    // Each fuzz connection generates its share lazily from its own seeded sequence (reproducible
    // per connection, whatever the timing), sends it in batches, and after each batch a probe
    // must be answered.
    let probeNo = 0;
    await Promise.all(
      Array.from({ length: opts.connections }, async (_, c) => {
        try {
          const share = Math.floor(opts.count / opts.connections) + (c < opts.count % opts.connections ? 1 : 0);
          const g: GenContext = { rng: new Rng(opts.seed * 1_000_003 + c), maxMessageBytes: opts.maxMessageBytes, expect: new Map(), nextCheckId: 0, kinds: report.kinds };
          const chunkRng = new Rng(opts.seed * 7919 + c);
          const onReply = onReplyFor(g);
          // Every other connection speaks protocol 2: the same lines meet both readers.
          const v2 = c % 2 === 1;
          let conn = await FuzzConnection.open(socketPath, onReply, v2);
          for (let made = 0; made < share && Date.now() < deadline && !hostDied && !aborted; ) {
            // A batch ends after a line past the limit: the host refuses it and hangs up, and the
            // lines after it would never be read (each line sent should be a line the host judged).
            const batchSize = chunkRng.int(1, 200);
            const batch: Buffer[] = [];
            while (made < share && batch.length < batchSize) {
              const line = generateLine(g);
              made++;
              batch.push(line, NEWLINE);
              if (line.length > opts.maxMessageBytes) break;
            }
            const data = Buffer.concat(batch);
            await conn.write(data, chunkRng);
            report.linesSent += batch.length / 2;
            report.bytesSent += data.length;
            const result = await conn.probe(`probe-${probeNo++}`, 30_000);
            report.probes[result]++;
            const lastLine = batch[batch.length - 2]!;
            if (result === 'closed' && lastLine.length <= opts.maxMessageBytes && report.unexpectedHangups.length < 20) {
              // The host hung up although no line of this batch was past the limit: keep the evidence.
              report.unexpectedHangups.push({
                lines: batch.length / 2,
                longest: Math.max(...batch.map((b) => b.length)),
                last: lastLine.subarray(0, 300).toString('latin1'),
                codes: conn.lastCodes.slice(-5),
              });
            }
            if (result === 'timeout') report.failures.push(`connection ${c}: no answer to a probe within 30 s (host hung?)`);
            if (result !== 'answered' || conn.closed) {
              // The host hung up (a line past maxMessageBytes): count it, and carry on on a new connection.
              report.malformedReplies.push(...conn.malformed);
              conn.destroy();
              if (hostDied) break;
              conn = await FuzzConnection.open(socketPath, onReply, v2);
              report.reconnects++;
            }
            if (report.linesSent % 10_000 < batch.length / 2) log(`${report.linesSent} lines, ${report.replies} replies, ${report.reconnects} reconnects`);
          }
          report.malformedReplies.push(...conn.malformed);
          conn.destroy();
          report.unansweredChecks += g.expect.size;
        } catch (e) {
          aborted = true;
          report.failures.push(`fuzz connection ${c} failed: ${(e as Error).stack}`);
        }
      }),
    );
    fuzzing = false;
    report.good = await good;

    // Afterwards: the host is alive, answers a fresh client, and closes cleanly.
    const after = await connect<FuzzTarget>(socketPath, { localBypass: false, timeout: 10_000 });
    report.hostAlive = (await after.probe()) === 'alive';
    const mem = await after.memory();
    report.rssAfter = mem.rss;
    report.heapAfter = mem.heapUsed;
    await after.$close();
  } catch (e) {
    report.failures.push(`run failed: ${(e as Error).stack}`);
  } finally {
    report.hostExit = await stopChild(child);
    report.hostOutput = output();
    report.elapsedMs = Date.now() - started;
  }

  if (report.hostExit.code !== 0) report.failures.push(`host did not close cleanly: ${JSON.stringify(report.hostExit)}`);
  if (!report.hostAlive) report.failures.push('host did not answer a fresh client after the run');
  if (report.malformedReplies.length) report.failures.push(`${report.malformedReplies.length} malformed reply lines, e.g. ${report.malformedReplies[0]}`);
  if (report.checkedWrong.length) report.failures.push(`${report.checkedWrong.length} checked requests answered wrongly, e.g. ${report.checkedWrong[0]}`);
  if (report.unexpectedHangups.length) report.failures.push(`${report.unexpectedHangups.length}+ hang-ups with no line past the limit, e.g. ${JSON.stringify(report.unexpectedHangups[0])}`);
  if (report.good.wrong.length) report.failures.push(`the good client saw ${report.good.wrong.length} wrong answers, e.g. ${report.good.wrong[0]}`);
  if (report.good.requests === 0) report.failures.push('the good client made no request');
  if (/uncaught|unhandled/i.test(report.hostOutput)) report.failures.push(`host output: ${report.hostOutput.slice(0, 500)}`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Command line.

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`${name} needs a number`);
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--host') return runHost(args[1]!, Number(args[2]));
  const opts: FuzzOptions = {
    seed: flag(args, '--seed', 1),
    count: flag(args, '--count', 100_000),
    timeLimitMs: flag(args, '--time-limit', 300_000),
    connections: flag(args, '--connections', 8),
    maxMessageBytes: flag(args, '--max-message-bytes', 1 << 20),
    log: (l) => console.error(`  ${l}`),
  };
  console.error(`fuzz: seed ${opts.seed}, ${opts.count} lines, ${opts.connections} connections, maxMessageBytes ${opts.maxMessageBytes}, time limit ${opts.timeLimitMs} ms`);
  const r = await runFuzz(opts);
  if (args.includes('--json')) console.log(JSON.stringify({ ...r, hostOutput: r.hostOutput.slice(0, 2000) }, null, 2));
  else {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    console.log(`seed ${r.seed}: ${r.linesSent} lines (${mib(r.bytesSent)}) in ${(r.elapsedMs / 1000).toFixed(1)} s`);
    console.log(`  generators: ${JSON.stringify(r.kinds)}`);
    console.log(`  host replies: ${r.replies} ${JSON.stringify(r.replyCodes)}`);
    console.log(`  checked requests: ${r.checked} answered, ${r.checkedWrong.length} wrong, ${r.unansweredChecks} unanswered`);
    if (r.unexpectedHangups.length) console.log(`  unexpected hang-ups: ${JSON.stringify(r.unexpectedHangups, null, 1)}`);
    console.log(`  probes: ${JSON.stringify(r.probes)}; reconnects after the host hung up: ${r.reconnects}`);
    console.log(`  good client: ${r.good.requests} checks, ${r.good.correct} correct, ${r.good.wrong.length} wrong`);
    console.log(`  host RSS ${mib(r.rssBefore)} → ${mib(r.rssAfter)}, heap ${mib(r.heapBefore)} → ${mib(r.heapAfter)} (after gc); exit ${JSON.stringify(r.hostExit)}`);
  }
  if (r.failures.length) {
    console.error(`FAILED:\n  ${r.failures.join('\n  ')}`);
    process.exitCode = 1;
  } else console.error('OK');
}

if (require.main === module) {
  main().catch((e) => {
    console.error((e as Error).stack);
    process.exit(1);
  });
}
