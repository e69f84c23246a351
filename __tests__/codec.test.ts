/**
 * The value codec, in isolation: plain JSON stays plain, every tag round-trips through real JSON
 * text, what cannot be copied is refused with a path, and hostile wire input only ever gives
 * ProtocolError BAD_VALUE.
 */
import net from 'node:net';
import vm from 'node:vm';
import { AccessError, EncodeError, ProtocolError, RemoteError, RemoteObjError } from 'remoteobj';
import { decode, encode, MAX_BIGINT_DIGITS, MAX_DEPTH, TAGS } from '../src/protocol/codec';

/** What the other side gets: encode, JSON text, JSON.parse, decode. */
function roundTrip(value: unknown): unknown {
  return decode(JSON.parse(JSON.stringify(encode(value))));
}

/** The EncodeError that encoding `value` throws. */
function encodeError(value: unknown): EncodeError {
  try {
    encode(value);
  } catch (e) {
    expect(e).toBeInstanceOf(EncodeError);
    expect((e as EncodeError).code).toBe('NOT_ENCODABLE');
    return e as EncodeError;
  }
  throw new Error('encode did not throw');
}

/** The ProtocolError that decoding the wire text throws. */
function decodeError(text: string): ProtocolError {
  const json: unknown = JSON.parse(text);
  try {
    decode(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('BAD_VALUE');
    return e as ProtocolError;
  }
  throw new Error(`decode did not throw for ${text.slice(0, 80)}`);
}

/** `[[[...]]]` nested `levels` deep, built as text (JSON.stringify itself would recurse). */
function nestedArraysText(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

function nestedArrays(levels: number): unknown[] {
  const root: unknown[] = [];
  let at = root;
  for (let i = 1; i < levels; i++) {
    const next: unknown[] = [];
    at.push(next);
    at = next;
  }
  return root;
}

afterAll(() => {
  // Nothing any test decoded may have reached a shared prototype.
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('plain JSON stays plain', () => {
  const plain: [string, unknown][] = [
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['a negative float', -12.5],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['a tiny float', 5e-324],
    ['an empty string', ''],
    ['a string that looks like a tag', '$date'],
    ['unicode text', 'héllo 🌍 \u0000 \u2028'],
    ['an empty array', []],
    ['a mixed array', [1, 'a', null, true, [2], { b: 3 }]],
    ['an empty object', {}],
    ['a nested object', { a: 1, b: [{ c: 'd' }], e: { f: { g: null } } }],
    ['an object with an empty key', { '': 1 }],
    ['an object with two keys, one a $ key', { $date: 'x', other: 1 }],
    ['a nested object with $ and other keys', { a: { $x: 1, y: 2 } }],
    ['an object with a key that merely contains $', { a$: 1, 'b$c': 2 }],
    ['numeric-looking keys', { '0': 'a', '10': 'b', '-1': 'c' }],
  ];

  test.each(plain)('%s encodes to itself', (_label, value) => {
    expect(encode(value)).toStrictEqual(value);
  });

  test.each(plain)('%s has the same JSON text as plain JSON.stringify', (_label, value) => {
    expect(JSON.stringify(encode(value))).toBe(JSON.stringify(value));
  });

  test.each(plain)('%s round-trips', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  test('an object without a prototype travels as a plain object', () => {
    const o = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(JSON.stringify(encode(o))).toBe('{"a":1}');
    expect(roundTrip(o)).toStrictEqual({ a: 1 });
  });

  test('encoding does not modify the value', () => {
    const value = { a: [1, { $b: 2 }], m: new Map([[1, 2]]) };
    const before = JSON.stringify([...value.m]) + JSON.stringify(value.a);
    encode(value);
    expect(JSON.stringify([...value.m]) + JSON.stringify(value.a)).toBe(before);
  });

  test('an enumerable key on a polluted Object.prototype does not hide a lone "$" key from its escape', () => {
    // for-in sees inherited keys too: counted as the object's own, { $undefined: true } would look
    // like two keys, go out unescaped, and be read back as undefined.
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(roundTrip({ $undefined: true })).toStrictEqual({ $undefined: true });
      expect(roundTrip([{ $bigint: '5' }])).toStrictEqual([{ $bigint: '5' }]);
    } finally {
      delete proto.polluted;
    }
  });
});

describe('tagged values have a readable, documented wire form', () => {
  const forms: [string, unknown, unknown][] = [
    ['undefined', undefined, { $undefined: true }],
    ['NaN', NaN, { $number: 'NaN' }],
    ['Infinity', Infinity, { $number: 'Infinity' }],
    ['-Infinity', -Infinity, { $number: '-Infinity' }],
    ['-0', -0, { $number: '-0' }],
    ['a BigInt', -12n, { $bigint: '-12' }],
    ['a Date', new Date(0), { $date: '1970-01-01T00:00:00.000Z' }],
    ['an invalid Date', new Date(NaN), { $date: 'Invalid Date' }],
    ['a RegExp', /a+b/gi, { $regexp: { source: 'a+b', flags: 'gi' } }],
    ['a Map', new Map([[1, 'a']]), { $map: [[1, 'a']] }],
    ['a Set', new Set(['a', 2]), { $set: ['a', 2] }],
    ['a Uint8Array', new Uint8Array([1, 2, 3]), { $bytes: 'AQID' }],
    ['a Buffer', Buffer.from('hi'), { $buffer: 'aGk=' }],
    ['an Int16Array', new Int16Array([1, -1]), { $typed: { type: 'Int16Array', base64: Buffer.from(new Int16Array([1, -1]).buffer).toString('base64') } }],
    ['an error', new TypeError('bad'), { $error: expect.objectContaining({ name: 'TypeError', message: 'bad' }) }],
    ['a plain object that looks like a tag', { $date: 'x' }, { $escape: { $date: 'x' } }],
  ];

  test.each(forms)('%s', (_label, value, wire) => {
    expect(encode(value)).toEqual(wire);
  });

  test('every tag the codec lists is written by one of these forms', () => {
    const written = new Set(forms.map(([, value]) => Object.keys(encode(value) as object)[0]));
    expect([...written].sort()).toEqual([...TAGS].sort());
  });
});

describe('round trips', () => {
  const values: [string, unknown][] = [
    ['undefined at top level', undefined],
    ['undefined in an object (the key stays)', { a: undefined, b: 1 }],
    ['undefined in an array', [undefined, 1, undefined]],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-0', -0],
    ['special numbers in an object', { nan: NaN, inf: Infinity, ninf: -Infinity, nz: -0, z: 0 }],
    ['BigInt zero', 0n],
    ['a negative BigInt', -1n],
    ['a BigInt past 64 bits', 2n ** 64n + 1n],
    ['a huge negative BigInt', -(2n ** 4000n)],
    ['a Date', new Date('2024-02-29T12:34:56.789Z')],
    ['the epoch', new Date(0)],
    ['the latest Date', new Date(8.64e15)],
    ['the earliest Date', new Date(-8.64e15)],
    ['a Map with string keys', new Map([['a', 1], ['b', 2]])],
    ['a Map with non-string keys', new Map<unknown, unknown>([[1, 'one'], [true, 'yes'], [null, 'nil'], [undefined, 'undef'], [NaN, 'nan'], [2n, 'big'], [{ k: 1 }, 'object'], [[1, 2], 'array'], [new Date(5), 'date']])],
    ['nested Maps', new Map([['outer', new Map([[1, new Map([[2, 'deep']])]])]])],
    ['an empty Map', new Map()],
    ['a Set', new Set([1, 'a', null, undefined, 3n])],
    ['a Set of objects', new Set([{ a: 1 }, [2], new Date(1)])],
    ['an empty Set', new Set()],
    ['a Uint8Array', new Uint8Array([0, 1, 254, 255])],
    ['an empty Uint8Array', new Uint8Array(0)],
    ['an Int8Array', new Int8Array([-128, 0, 127])],
    ['a Uint8ClampedArray', new Uint8ClampedArray([0, 128, 255])],
    ['an Int16Array', new Int16Array([-32768, 0, 32767])],
    ['a Uint16Array', new Uint16Array([0, 65535])],
    ['an Int32Array', new Int32Array([-(2 ** 31), 2 ** 31 - 1])],
    ['a Uint32Array', new Uint32Array([0, 2 ** 32 - 1])],
    ['a Float32Array', new Float32Array([1.5, -0, Infinity, NaN])],
    ['a Float64Array', new Float64Array([Math.PI, -0, -Infinity, NaN, 5e-324])],
    ['a BigInt64Array', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
    ['a BigUint64Array', new BigUint64Array([0n, 2n ** 64n - 1n])],
    ['a RegExp', /a+b/],
    ['a RegExp with every flag', new RegExp('^x.y$', 'dgimsuy')],
    ['a RegExp with the v flag', new RegExp('[\\p{L}--[a-z]]', 'v')],
    ['a RegExp with slashes and escapes', /\/path\/(\d+)\\n/],
    ['a plain object that looks like a tag', { $date: 'x' }],
    ['an object whose only key is $escape', { $escape: 1 }],
    ['an escape inside an escape', { $escape: { $escape: { $map: 1 } } }],
    ['an object with the key "$"', { $: 1 }],
    ['look-alikes of every tag', Object.fromEntries(TAGS.map((t) => [t, { [t]: 'not a tag' }]))],
    ['look-alikes nested in arrays and Maps', [{ $undefined: true }, new Map([['k', { $set: [1] }]])]],
    ['a nested mix of everything', {
      when: new Date(1),
      ids: new Set([1n, -2n]),
      index: new Map<unknown, unknown>([[{ id: 1 }, [new Uint8Array([1]), Buffer.from('b')]]]),
      numbers: [NaN, -0, Infinity, undefined],
      pattern: /x/g,
      fake: { $bytes: 'AQID' },
      samples: new Float64Array([1, 2]),
      deep: { deeper: { deepest: [new Map([[undefined, new Set([null])]])] } },
    }],
  ];

  test.each(values)('%s', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  test('an invalid Date comes back as an invalid Date', () => {
    const out = roundTrip(new Date(NaN));
    expect(out).toBeInstanceOf(Date);
    expect(Number.isNaN((out as Date).getTime())).toBe(true);
  });

  test('a huge BigInt (30,103 digits) comes back exactly', () => {
    const big = 2n ** 100000n;
    expect(roundTrip(big)).toBe(big);
    expect(roundTrip(-big)).toBe(-big);
  });

  test('a BigInt of the maximum length comes back; one digit more is refused with the path', () => {
    const largest = 10n ** BigInt(MAX_BIGINT_DIGITS) - 1n;
    expect(roundTrip(-largest)).toBe(-largest);
    expect(encodeError({ n: largest + 1n }).message).toMatch(/BigInt of more than 100000 digits at value\.n/);
  });

  test('a Uint8Array view keeps only its own bytes and gets a buffer of its own', () => {
    const backing = new Uint8Array([9, 9, 9, 1, 2, 3, 4, 9]);
    const view = backing.subarray(3, 7);
    expect(view.byteOffset).toBe(3);
    const out = roundTrip(view) as Uint8Array;
    expect(out).toStrictEqual(new Uint8Array([1, 2, 3, 4]));
    expect(Buffer.isBuffer(out)).toBe(false);
    // Not a window on a shared pool: `.buffer` holds exactly these bytes.
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(4);
  });

  test('decoded bytes of every size own exactly their bytes, never a window on a shared pool', () => {
    // Buffer.from pools results under 4 KiB; larger ones come with a buffer of their own, which
    // the decoder hands over without a copy. Either way `.buffer` holds exactly the bytes sent.
    for (const n of [0, 1, 100, 4095, 4096, 4097, 8192, 100_000, 1 << 20]) {
      const sent = new Uint8Array(n).map((_, i) => (i * 7 + n) & 255);
      const pad = Buffer.alloc(16); // something else in the pool
      for (const out of [roundTrip(sent) as Uint8Array, roundTrip(new Float64Array(sent.buffer.slice(0, n - (n % 8)))) as Float64Array]) {
        expect(out.byteOffset).toBe(0);
        expect(out.buffer.byteLength).toBe(out.byteLength);
      }
      const back = roundTrip(sent) as Uint8Array;
      expect(back).toStrictEqual(sent);
      expect(Buffer.isBuffer(back)).toBe(false);
      const twice = roundTrip(sent) as Uint8Array;
      twice[0] = (twice[0]! + 1) & 255; // each decode has its own memory
      if (n > 0) expect(back[0]).toBe(sent[0]);
      expect(pad.length).toBe(16);
    }
  });

  test('a typed-array view with a byteOffset keeps only its elements', () => {
    const backing = new ArrayBuffer(32);
    const all = new Float32Array(backing);
    all.set([0, 0, 1.5, 2.5, 3.5, 0, 0, 0]);
    const view = new Float32Array(backing, 8, 3);
    const out = roundTrip(view) as Float32Array;
    expect(out).toStrictEqual(new Float32Array([1.5, 2.5, 3.5]));
    expect(out.buffer.byteLength).toBe(12);
  });

  test('a Buffer stays a Buffer, a Buffer slice keeps only its bytes', () => {
    const out = roundTrip(Buffer.from('hello'));
    expect(Buffer.isBuffer(out)).toBe(true);
    expect((out as Buffer).toString()).toBe('hello');
    const slice = roundTrip(Buffer.from('hello world').subarray(6));
    expect(Buffer.isBuffer(slice)).toBe(true);
    expect((slice as Buffer).toString()).toBe('world');
  });

  test('a Uint8Array subclass travels as bytes', () => {
    class Bytes extends Uint8Array {}
    expect(roundTrip(new Bytes([1, 2]))).toStrictEqual(new Uint8Array([1, 2]));
  });

  test('a RegExp keeps source, flags, and starts with lastIndex 0', () => {
    const re = /a/g;
    re.lastIndex = 3;
    const out = roundTrip(re) as RegExp;
    expect(out).toBeInstanceOf(RegExp);
    expect([out.source, out.flags, out.lastIndex]).toEqual(['a', 'g', 0]);
  });

  test('a Map keeps insertion order and non-string keys keep their type', () => {
    const out = roundTrip(new Map<unknown, unknown>([['1', 'string'], [1, 'number'], [1n, 'bigint']])) as Map<unknown, unknown>;
    expect([...out.keys()]).toEqual(['1', 1, 1n]);
    expect(out.get(1)).toBe('number');
    expect(out.get('1')).toBe('string');
  });

  test('an array with holes comes back with undefined in the holes', () => {
    // eslint-disable-next-line no-sparse-arrays
    const out = roundTrip([1, , 3]) as unknown[];
    expect(out).toHaveLength(3);
    expect(1 in out).toBe(true);
    expect(out[1]).toBeUndefined();
  });

  test('a shared (non-circular) object is copied at each place it appears', () => {
    const shared = { n: 1 };
    const out = roundTrip({ a: shared, b: [shared] }) as { a: unknown; b: unknown[] };
    expect(out).toStrictEqual({ a: { n: 1 }, b: [{ n: 1 }] });
    expect(out.a).not.toBe(out.b[0]);
  });

  test('MAX_DEPTH levels of nesting are fine both ways', () => {
    const value = nestedArrays(MAX_DEPTH);
    expect(roundTrip(value)).toStrictEqual(value);
    expect(decode(JSON.parse(nestedArraysText(MAX_DEPTH)))).toStrictEqual(value);
  });

  describe('errors as values', () => {
    test.each([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError])('%p keeps its class and message', (Ctor) => {
      const out = roundTrip(new Ctor('boom')) as Error;
      expect(out).toBeInstanceOf(Ctor);
      expect(out.constructor).toBe(Ctor);
      expect(out.message).toBe('boom');
    });

    test('an error inside a structure keeps its own props and stack', () => {
      const err = Object.assign(new RangeError('out of range'), { code: 'E_RANGE', limit: 10 });
      const out = roundTrip({ results: [1, err] }) as { results: [number, RangeError & { code: string; limit: number }] };
      const back = out.results[1];
      expect(back).toBeInstanceOf(RangeError);
      expect([back.message, back.code, back.limit]).toEqual(['out of range', 'E_RANGE', 10]);
      expect(back.stack).toContain(err.stack!.split('\n')[1]!.trim());
    });

    test('a library error as a value keeps its class, code and rule', () => {
      const out = roundTrip(new AccessError('private-name', 'no')) as AccessError;
      expect(out).toBeInstanceOf(AccessError);
      expect([out.code, out.rule, out.message]).toEqual(['ACCESS_DENIED', 'private-name', 'no']);
    });

    test('a custom error as a value comes back as RemoteError with its name', () => {
      class QuotaError extends Error {
        override name = 'QuotaError';
      }
      const out = roundTrip(new QuotaError('full')) as RemoteError;
      expect(out).toBeInstanceOf(RemoteError);
      expect([out.remoteName, out.message]).toEqual(['QuotaError', 'full']);
    });
  });

  describe('__proto__ keys stay own data and never touch a prototype', () => {
    function expectOwnProtoKey(out: unknown, value: unknown): void {
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.hasOwn(out as object, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(out, '__proto__')).toEqual({ value, enumerable: true, writable: true, configurable: true });
      expect((out as Record<string, unknown>).polluted).toBeUndefined();
    }

    test('an own __proto__ key (as JSON.parse makes it) is sent and comes back as an own key', () => {
      const value: unknown = JSON.parse('{"__proto__":{"polluted":1},"a":1}');
      const wire = encode(value);
      expect(JSON.stringify(wire)).toBe('{"__proto__":{"polluted":1},"a":1}');
      const out = roundTrip(value);
      expectOwnProtoKey(out, { polluted: 1 });
      expect((out as { a: number }).a).toBe(1);
    });

    test('an own __proto__ key made with a computed key round-trips', () => {
      const value = { ['__proto__']: 5 };
      expectOwnProtoKey(roundTrip(value), 5);
    });

    test('an own __proto__ key holding a tagged value round-trips', () => {
      const value: Record<string, unknown> = {};
      Object.defineProperty(value, '__proto__', { value: new Date(0), enumerable: true, writable: true, configurable: true });
      expectOwnProtoKey(roundTrip(value), new Date(0));
    });

    test.each([
      ['at top level', '{"__proto__":{"polluted":1}}', (o: any) => o],
      ['with null', '{"__proto__":null}', (o: any) => o],
      ['nested in objects and arrays', '{"a":{"b":[{"__proto__":{"polluted":1}}]}}', (o: any) => o.a.b[0]],
      ['inside $escape', '{"$escape":{"__proto__":{"polluted":1}}}', (o: any) => o],
      ['with an escaped value', '{"$escape":{"__proto__":{"$escape":{"$x":1}}}}', (o: any) => o],
      ['in a Map value', '{"$map":[["k",{"__proto__":{"polluted":1}}]]}', (o: any) => o.get('k')],
      ['in a Set item', '{"$set":[{"__proto__":{"polluted":1}}]}', (o: any) => [...o][0]],
    ])('raw wire JSON with a __proto__ key %s decodes to an own key', (_label, text, pick) => {
      const out = pick(decode(JSON.parse(text)));
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.hasOwn(out, '__proto__')).toBe(true);
      expect(out.polluted).toBeUndefined();
      expect(out.x).toBeUndefined();
    });
  });

  describe('class instances and toJSON', () => {
    test('a class instance is copied as its own enumerable data; methods, getters and private fields stay behind', () => {
      class Point {
        #secret = 'hidden';
        x = 1;
        y = 2;
        get length(): number {
          return Math.hypot(this.x, this.y);
        }
        move(): void {
          this.x += 1;
        }
        peek(): string {
          return this.#secret;
        }
      }
      const point = new Point();
      expect(encode(point)).toStrictEqual({ x: 1, y: 2 });
      const out = roundTrip({ at: point });
      expect(out).toStrictEqual({ at: { x: 1, y: 2 } });
      expect(Object.getPrototypeOf((out as { at: object }).at)).toBe(Object.prototype);
    });

    test('non-enumerable and symbol-keyed own properties are not sent', () => {
      const o: Record<string | symbol, unknown> = { a: 1, [Symbol('s')]: 2 };
      Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
      expect(roundTrip(o)).toStrictEqual({ a: 1 });
    });

    test('a class instance whose data looks like a tag is escaped', () => {
      class Tagged {
        $date = 'x';
      }
      expect(roundTrip(new Tagged())).toStrictEqual({ $date: 'x' });
    });

    test('toJSON() on a class is honoured, and its result is encoded in turn', () => {
      class Money {
        constructor(private cents: bigint) {}
        toJSON(): unknown {
          return { cents: this.cents, at: new Date(0) };
        }
      }
      expect(roundTrip([new Money(150n)])).toStrictEqual([{ cents: 150n, at: new Date(0) }]);
    });

    test('toJSON() on a plain object is honoured, like JSON.stringify', () => {
      const value = { secret: 'x', toJSON: () => 'public view' };
      expect(roundTrip({ v: value })).toStrictEqual({ v: 'public view' });
    });

    test('a toJSON() returning its receiver sends the own data, without looping', () => {
      class Self {
        a = 1;
        toJSON(): this {
          return this;
        }
      }
      expect(roundTrip(new Self())).toStrictEqual({ a: 1 });
      const plain = {
        b: 2,
        toJSON(): unknown {
          return this;
        },
      };
      expect(roundTrip(plain)).toStrictEqual({ b: 2 });
    });

    test('a toJSON() that throws gives an EncodeError naming the path, with the cause', () => {
      const boom = new Error('no json for you');
      const err = encodeError({
        list: [
          {
            toJSON() {
              throw boom;
            },
          },
        ],
      });
      expect(err.message).toMatch(/toJSON\(\).* at value\.list\[0\] threw: no json for you/);
      expect(err.cause).toBe(boom);
    });

    test('a URL travels as its href (toJSON)', () => {
      expect(roundTrip(new URL('https://example.com/a?b=1'))).toBe('https://example.com/a?b=1');
    });

    test('boxed primitives travel as the primitive inside', () => {
      expect(roundTrip([new String('s'), new Number(2), new Boolean(false), Object(3n)])).toStrictEqual(['s', 2, false, 3n]);
    });
  });

  test('values from another realm (vm) travel like local ones', () => {
    const foreign = vm.runInNewContext(`({
      date: new Date(0), map: new Map([[1, 2]]), set: new Set([3]), bytes: new Uint8Array([4]),
      floats: new Float64Array([5]), re: /x/g, error: new TypeError('t'), plain: { a: 1 },
    })`) as Record<string, unknown>;
    const out = roundTrip(foreign) as Record<string, unknown>;
    expect(out.date).toStrictEqual(new Date(0));
    expect(out.map).toStrictEqual(new Map([[1, 2]]));
    expect(out.set).toStrictEqual(new Set([3]));
    expect(out.bytes).toStrictEqual(new Uint8Array([4]));
    expect(out.floats).toStrictEqual(new Float64Array([5]));
    expect(out.re).toStrictEqual(/x/g);
    expect(out.error).toBeInstanceOf(TypeError);
    expect(out.plain).toStrictEqual({ a: 1 });
  });
});

describe('refusals name the path', () => {
  function named(): void {}
  class Thenable {
    then(): void {}
  }
  const circularObject: Record<string, unknown> = { a: 1 };
  circularObject.self = circularObject;
  const circularArray: unknown[] = [1];
  circularArray.push([circularArray]);
  const circularMap = new Map<string, unknown>();
  circularMap.set('me', circularMap);
  const circularSet = new Set<unknown>();
  circularSet.add({ inner: circularSet });
  class Node_ {
    next: unknown = null;
  }
  const circularInstance = new Node_();
  circularInstance.next = { back: circularInstance };

  const refusals: [string, unknown, RegExp][] = [
    ['a function at top level', () => 1, /cannot send a function at value:/],
    ['a named function', named, /a function \(named\) at value:/],
    ['a function in an object', { a: { b: named } }, /at value\.a\.b:/],
    ['a function in an array', [1, [2, named]], /at value\[1\]\[1\]:/],
    ['a function under an odd key', { 'a-b': { 'c d': named } }, /at value\["a-b"\]\["c d"\]:/],
    ['a function as a Map value', new Map([['k', named]]), /at value\.get\("k"\):/],
    ['a function as a Map value under a number key', new Map([[7, named]]), /at value\.get\(7\):/],
    ['a function as a Map value under an object key', new Map([[{}, named]]), /at value<value 0>:/],
    ['a function as a Map key', new Map([[named, 1]]), /at value<key 0>:/],
    ['a function in a Set', new Set([1, named]), /at value<item 1>:/],
    ['a class', class Foo {}, /a function \(Foo\) at value/],
    ['a symbol', Symbol('s'), /cannot send a symbol \(Symbol\(s\)\) at value/],
    ['a symbol in an object', { list: [Symbol.iterator] }, /symbol \(Symbol\(Symbol\.iterator\)\) at value\.list\[0\]/],
    ['a promise', Promise.resolve(1), /cannot send a promise at value: await it first/],
    ['a promise in an object', { p: Promise.resolve(1) }, /a promise at value\.p:/],
    ['a thenable class instance', [new Thenable()], /a promise at value\[0\]/],
    ['a circular object', circularObject, /circular reference at value\.self/],
    ['a circular array', circularArray, /circular reference at value\[1\]\[0\]/],
    ['a circular Map', circularMap, /circular reference at value\.get\("me"\)/],
    ['a circular Set', circularSet, /circular reference at value<item 0>\.inner/],
    ['a circular class instance', circularInstance, /circular reference at value\.next\.back/],
    ['a WeakMap', { w: new WeakMap() }, /an instance of WeakMap at value\.w/],
    ['a WeakSet', new WeakSet(), /an instance of WeakSet at value/],
    ['a WeakRef', new WeakRef({}), /an instance of WeakRef at value/],
    ['an ArrayBuffer', new ArrayBuffer(4), /an instance of ArrayBuffer at value/],
    ['a DataView', new DataView(new ArrayBuffer(4)), /an instance of DataView at value/],
    ['an object holding a method as data', { api: { save: function save() {} } }, /a function \(save\) at value\.api\.save/],
  ];

  test.each(refusals)('%s', (_label, value, message) => {
    expect(encodeError(value).message).toMatch(message);
  });

  test('an EncodeError is a library error with a stable code', () => {
    const err = encodeError(() => 1);
    expect(err).toBeInstanceOf(RemoteObjError);
    expect(err.name).toBe('EncodeError');
  });

  test('encode(value, path) starts the path where the caller says', () => {
    expect(() => encode({ f: named }, 'args[2]')).toThrow(/at args\[2\]\.f:/);
  });

  test('a real net.Socket is refused as a whole, not by one of its internals', () => {
    const socket = new net.Socket();
    try {
      expect(encodeError(socket).message).toMatch(/^cannot send an instance of Socket at value: only data can cross the wire$/);
      expect(encodeError({ conn: [socket] }).message).toMatch(/an instance of Socket at value\.conn\[0\]:/);
    } finally {
      socket.destroy();
    }
  });

  test('a real net.Server is refused too', () => {
    const server = net.createServer();
    expect(encodeError({ server }).message).toMatch(/an instance of Server at value\.server/);
  });

  test('nesting deeper than MAX_DEPTH is refused with the path', () => {
    expect(() => encode(nestedArrays(MAX_DEPTH))).not.toThrow();
    expect(encodeError(nestedArrays(MAX_DEPTH + 1)).message).toMatch(new RegExp(`deeper than ${MAX_DEPTH} levels at value(\\[0\\]){${MAX_DEPTH}}$`));
    let objects: Record<string, unknown> = {};
    const top = objects;
    for (let i = 0; i < 100000; i++) objects = objects.a = {};
    expect(encodeError(top).message).toMatch(/deeper than 200 levels at value(\.a){200}$/);
  });
});

describe('hostile input gives ProtocolError BAD_VALUE', () => {
  const hostile: [string, string][] = [
    ['an unknown tag', '{"$nope":1}'],
    ['a bare "$" key', '{"$":1}'],
    ['a tag in the wrong case', '{"$DATE":"2020-01-01"}'],
    ['an unknown tag nested in an object', '{"a":{"b":{"$nope":1}}}'],
    ['an unknown tag nested in an array', '[1,[{"$nope":1}]]'],
    ['an unknown tag inside a Map', '{"$map":[[{"$nope":1},1]]}'],
    ['$bigint in exponent notation', '{"$bigint":"1e5"}'],
    ['$bigint as a number', '{"$bigint":1}'],
    ['$bigint empty', '{"$bigint":""}'],
    ['$bigint in hex', '{"$bigint":"0x10"}'],
    ['$bigint with a plus sign', '{"$bigint":"+1"}'],
    ['$bigint with spaces', '{"$bigint":" 1"}'],
    ['$bigint with a fraction', '{"$bigint":"1.5"}'],
    ['$bigint with two minus signs', '{"$bigint":"--1"}'],
    ['$bigint too long', `{"$bigint":"${'9'.repeat(MAX_BIGINT_DIGITS + 1)}"}`],
    ['$number "foo"', '{"$number":"foo"}'],
    ['$number "nan"', '{"$number":"nan"}'],
    ['$number as a number', '{"$number":1}'],
    ['$number "0"', '{"$number":"0"}'],
    ['$date as a number', '{"$date":0}'],
    ['$date that is not a date', '{"$date":"garbage"}'],
    ['$date null', '{"$date":null}'],
    ['$map not an array', '{"$map":{"a":1}}'],
    ['$map of non-pairs', '{"$map":[1,2]}'],
    ['$map with a one-element pair', '{"$map":[[1]]}'],
    ['$map with a three-element pair', '{"$map":[[1,2,3]]}'],
    ['$set not an array', '{"$set":"abc"}'],
    ['$bytes as a number', '{"$bytes":5}'],
    ['$bytes with bad characters', '{"$bytes":"!!!!"}'],
    ['$bytes with bad padding', '{"$bytes":"AQ="}'],
    ['$bytes with a lone character', '{"$bytes":"A"}'],
    ['$buffer as an array', '{"$buffer":[1,2]}'],
    ['$buffer with whitespace', '{"$buffer":"aG k="}'],
    ['$typed not an object', '{"$typed":"x"}'],
    ['$typed of an unknown type', '{"$typed":{"type":"Nope","base64":""}}'],
    ['$typed of type constructor', '{"$typed":{"type":"constructor","base64":""}}'],
    ['$typed of type __proto__', '{"$typed":{"type":"__proto__","base64":""}}'],
    ['$typed of type toString', '{"$typed":{"type":"toString","base64":""}}'],
    ['$typed of type Uint8Array (that is $bytes)', '{"$typed":{"type":"Uint8Array","base64":""}}'],
    ['$typed of type DataView', '{"$typed":{"type":"DataView","base64":""}}'],
    ['$typed with a wrong byte length', '{"$typed":{"type":"Int16Array","base64":"AQ=="}}'],
    ['$typed Float64Array with 4 bytes', '{"$typed":{"type":"Float64Array","base64":"AAAAAA=="}}'],
    ['$typed without base64', '{"$typed":{"type":"Int32Array"}}'],
    ['$typed with bad base64', '{"$typed":{"type":"Int8Array","base64":"%%%%"}}'],
    ['$regexp with bad flags', '{"$regexp":{"source":"a","flags":"zz"}}'],
    ['$regexp with repeated flags', '{"$regexp":{"source":"a","flags":"gg"}}'],
    ['$regexp with a bad source', '{"$regexp":{"source":"(","flags":""}}'],
    ['$regexp with a number source', '{"$regexp":{"source":1,"flags":""}}'],
    ['$regexp without flags', '{"$regexp":{"source":"a"}}'],
    ['$regexp as a string', '{"$regexp":"/a/g"}'],
    ['$regexp null', '{"$regexp":null}'],
    ['$escape of a number', '{"$escape":1}'],
    ['$escape of an array', '{"$escape":[1]}'],
    ['$escape of null', '{"$escape":null}'],
    ['$error of a number', '{"$error":1}'],
    ['$error of a string', '{"$error":"boom"}'],
    ['$error of null', '{"$error":null}'],
    ['$error of an array', '{"$error":[]}'],
    ['100000 nested arrays', nestedArraysText(100000)],
    ['100000 nested objects', '{"a":'.repeat(100000) + '1' + '}'.repeat(100000)],
    ['100000 nested $escape tags', '{"$escape":{"a":'.repeat(100000) + '1' + '}}'.repeat(100000)],
    ['100000 nested $set tags', '{"$set":['.repeat(100000) + ']}'.repeat(100000)],
    ['100000 nested $map tags', '{"$map":[[1,'.repeat(100000) + '1' + ']]}'.repeat(100000)],
    ['one level past MAX_DEPTH', nestedArraysText(MAX_DEPTH + 1)],
  ];

  test.each(hostile)('%s', (_label, text) => {
    decodeError(text);
  });

  test('the message says what is wrong', () => {
    expect(decodeError('{"$nope":1}').message).toMatch(/unknown tag "\$nope".*\$escape/);
    expect(decodeError('{"$bigint":"1e5"}').message).toMatch(/\$bigint must be a decimal string/);
    expect(decodeError(nestedArraysText(100000)).message).toMatch(/nests deeper than 200 levels/);
    expect(decodeError('{"$typed":{"type":"Int16Array","base64":"AQ=="}}').message).toMatch(/byte length 1 is not a multiple of 2/);
  });

  // Every tag with every odd payload: either a value or BAD_VALUE, never anything else.
  const oddPayloads = ['null', 'true', '0', '-1', '1e308', '""', '"x"', '"AQID"', '[]', '[[]]', '[[1,2]]', '{}', '{"a":1}', '{"type":"Int8Array","base64":"AQ=="}', '{"source":"a","flags":""}'];
  test.each(TAGS.flatMap((tag) => oddPayloads.map((payload) => [tag, payload] as const)))('%s with payload %s decodes or gives BAD_VALUE', (tag, payload) => {
    let thrown: unknown;
    try {
      decode(JSON.parse(`{"${tag}":${payload}}`));
    } catch (e) {
      thrown = e;
    }
    if (thrown !== undefined) {
      expect(thrown).toBeInstanceOf(ProtocolError);
      expect((thrown as ProtocolError).code).toBe('BAD_VALUE');
    }
  });

  test('a deeply nested hostile $error payload does not crash the decoder', () => {
    const causes = '{"name":"Error","message":"m","cause":'.repeat(100000) + '1' + '}'.repeat(100000);
    const aggregates = '{"name":"AggregateError","message":"m","errors":['.repeat(100000) + ']}'.repeat(100000);
    for (const payload of [causes, aggregates]) {
      const out = decode(JSON.parse(`{"$error":${payload}}`));
      expect(out).toBeInstanceOf(Error);
    }
  });
});
